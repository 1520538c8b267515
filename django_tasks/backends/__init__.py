"""Task backends, addressed by dotted path in the TASKS setting."""
