"""The database backend: tasks are rows in a table of the project's database, run by db_worker.

Add ``"django_tasks.backends.database"`` to INSTALLED_APPS, migrate, and configure::

    TASKS = {"default": {"BACKEND": "django_tasks.backends.database.DatabaseBackend"}}
"""

from django_tasks.backends.database.backend import DatabaseBackend

__all__ = ["DatabaseBackend"]
