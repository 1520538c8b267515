"""A task module that cannot be imported."""

raise RuntimeError("This module is broken.")
