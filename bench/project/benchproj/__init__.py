"""The Django project every benchmarked system runs in, configured by environment variables."""
