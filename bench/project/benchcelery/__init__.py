"""The benchmark's tasks for Celery."""
