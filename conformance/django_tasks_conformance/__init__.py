"""The conformance suite for task backends (to come)."""
