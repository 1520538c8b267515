"""Settings to run the suite with when a backend's project has none at hand::

    DJANGO_TASKS_CONFORMANCE_APPS=django_tasks_db pytest --pyargs django_tasks_conformance \\
        --ds=django_tasks_conformance.settings --tasks-backend=django_tasks_db.DatabaseBackend \\
        --tasks-worker-command="db_worker --batch --queue-name * --backend {alias}"

The apps the backend needs (its models, its worker command) are named in the
``DJANGO_TASKS_CONFORMANCE_APPS`` environment variable, comma-separated; the database is SQLite,
in a file (worker processes share it) in ``DJANGO_TASKS_CONFORMANCE_DIR`` (the current directory
by default). The suite sets TASKS itself.
"""

import os
from pathlib import Path

_DIRECTORY = Path(os.environ.get("DJANGO_TASKS_CONFORMANCE_DIR", "."))
_APPS = [app for app in os.environ.get("DJANGO_TASKS_CONFORMANCE_APPS", "").split(",") if app]

SECRET_KEY = "django-tasks-conformance"  # Test-only settings.
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
INSTALLED_APPS = ["django.contrib.contenttypes", *_APPS, "django_tasks_conformance"]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(_DIRECTORY / "conformance.sqlite3"),
        "TEST": {"NAME": str(_DIRECTORY / "test_conformance.sqlite3")},
    }
}
TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
