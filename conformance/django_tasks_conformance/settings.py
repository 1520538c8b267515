"""Settings to run the suite with when a backend's project has none at hand::

    DJANGO_TASKS_CONFORMANCE_APPS=django_tasks_db pytest --pyargs django_tasks_conformance \\
        --ds=django_tasks_conformance.settings --tasks-backend=django_tasks_db.DatabaseBackend \\
        --tasks-worker-command="db_worker --batch --queue-name * --backend {alias}"

The apps the backend needs (its models, its worker command) are named in the
``DJANGO_TASKS_CONFORMANCE_APPS`` environment variable, comma-separated. The database is SQLite,
in a file (worker processes share it) in ``DJANGO_TASKS_CONFORMANCE_DIR`` (the current directory
by default); with ``DJANGO_TASKS_CONFORMANCE_DATABASE=postgresql`` it is PostgreSQL, reached as
libpq's ``PGHOST``, ``PGPORT``, ``PGUSER`` and ``PGPASSWORD`` say, in the database
``DJANGO_TASKS_CONFORMANCE_DATABASE_NAME`` (``tasks_conformance`` by default; the suite runs in
``test_`` and that name). The suite sets TASKS itself.
"""

import os
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

_DIRECTORY = Path(os.environ.get("DJANGO_TASKS_CONFORMANCE_DIR", "."))
_APPS = [app for app in os.environ.get("DJANGO_TASKS_CONFORMANCE_APPS", "").split(",") if app]
_DATABASE = os.environ.get("DJANGO_TASKS_CONFORMANCE_DATABASE", "sqlite")
_NAME = os.environ.get("DJANGO_TASKS_CONFORMANCE_DATABASE_NAME", "tasks_conformance")

_ENGINES: dict[str, dict[str, Any]] = {
    "sqlite": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(_DIRECTORY / "conformance.sqlite3"),
        "TEST": {"NAME": str(_DIRECTORY / "test_conformance.sqlite3")},
    },
    "postgresql": {"ENGINE": "django.db.backends.postgresql", "NAME": _NAME},
}
if _DATABASE not in _ENGINES:
    raise ImproperlyConfigured(
        f"DJANGO_TASKS_CONFORMANCE_DATABASE is {_DATABASE!r}; allowed: {', '.join(_ENGINES)}."
    )

SECRET_KEY = "django-tasks-conformance"  # Test-only settings.
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
INSTALLED_APPS = ["django.contrib.contenttypes", *_APPS, "django_tasks_conformance"]
DATABASES = {"default": _ENGINES[_DATABASE]}
TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
