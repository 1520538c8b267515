"""Settings of the demo project: SQLite, with the database backend and its recommended setup."""

import os
from pathlib import Path

SECRET_KEY = "django-tasks-demo"  # A demo, never deployed.
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django_tasks",
    "django_tasks.backends.database",
    "demo",
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("DJANGO_TASKS_DEMO_DB", Path(__file__).parent / "demo.sqlite3"),
        "OPTIONS": {
            # Writers queue up for the lock instead of failing, and a commit does not wait
            # for the disk: what a queue on SQLite needs (see the README).
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
        },
    }
}

TASKS = {
    "default": {
        "BACKEND": "django_tasks.backends.database.DatabaseBackend",
        "OPTIONS": {"LEASE_SECONDS": 30, "HEARTBEAT_SECONDS": 10},
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"worker": {"format": "    worker | %(message)s"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "worker",
            "stream": "ext://sys.stdout",
        }
    },
    "loggers": {"django_tasks": {"handlers": ["console"], "level": "INFO"}},
}
