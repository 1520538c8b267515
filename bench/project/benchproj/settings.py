"""Settings of the benchmark project, chosen by the environment variables the runner sets.

- ``BENCH_SYSTEM``: ``ours``, ``dtdb`` (django-tasks-db), ``ours-celery`` (our Celery backend)
  or ``celery``.
- ``BENCH_STORE``: ``sqlite``, ``postgresql``, ``mysql`` (MariaDB), or a broker: ``redis``,
  ``rabbitmq``.
- ``BENCH_DB_NAME``: the database (or SQLite file stem) of this system and store.
- ``BENCH_DATA_DIR``: where SQLite files live.
- ``BENCH_REDIS_URL``: the Redis broker; Celery's result backend is the next database number.
- ``BENCH_RABBITMQ_URL``: the RabbitMQ broker.

Both Celery-based systems run the same Celery app (benchproj.celery_app) with the same
configuration; ``ours-celery`` reaches it through our CeleryBackend.

Every Django database keeps its connection open (``CONN_MAX_AGE=None``) and is otherwise left
at Django's defaults; both database backends get the same ``DATABASES``.
"""

import os
from pathlib import Path
from typing import Any

SYSTEM = os.environ["BENCH_SYSTEM"]
STORE = os.environ["BENCH_STORE"]
DB_NAME = os.environ.get("BENCH_DB_NAME", "bench")
DATA_DIR = Path(os.environ.get("BENCH_DATA_DIR", "."))

SECRET_KEY = "django-tasks-bench"  # A throwaway project that serves no requests.
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

_APPS = {
    "ours": ["django_tasks", "django_tasks.backends.database", "benchtasks"],
    "dtdb": ["django_tasks", "django_tasks_db", "benchtasks"],
    "ours-celery": ["django_tasks", "django_tasks.backends.celery", "benchtasks"],
    "celery": ["benchcelery"],
}
_BACKENDS = {
    "ours": "django_tasks.backends.database.DatabaseBackend",
    "dtdb": "django_tasks_db.DatabaseBackend",
}
INSTALLED_APPS = _APPS[SYSTEM]


def _database(name: str) -> dict[str, Any]:
    common: dict[str, Any] = {"CONN_MAX_AGE": None}
    if STORE == "sqlite":
        return {
            **common,
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / f"{name}.sqlite3",
        }
    if STORE == "postgresql":
        return {
            **common,
            "ENGINE": "django.db.backends.postgresql",
            "HOST": "127.0.0.1",
            "PORT": 5432,
            "USER": "postgres",
            "NAME": name,
        }
    if STORE == "mysql":
        return {
            **common,
            "ENGINE": "django.db.backends.mysql",
            "HOST": "127.0.0.1",
            "PORT": 3306,
            "USER": "root",
            "NAME": name,
            "OPTIONS": {"charset": "utf8mb4"},
        }
    raise ValueError(f"BENCH_STORE {STORE!r} is not a database; use sqlite, postgresql or mysql.")


if SYSTEM in _BACKENDS:
    DATABASES = {"default": _database(DB_NAME)}
    if STORE != "sqlite":
        # The server's own database, to create the benchmark's database from.
        DATABASES["server"] = _database("postgres" if STORE == "postgresql" else "")
    TASKS: dict[str, Any] = {"default": {"BACKEND": _BACKENDS[SYSTEM]}}
else:
    DATABASES = {}  # The tasks touch no database.
    _REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
    _REDIS_BASE, _, _REDIS_DB = _REDIS_URL.rpartition("/")
    CELERY_BROKER_URL = (
        os.environ.get("BENCH_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")
        if STORE == "rabbitmq"
        else _REDIS_URL
    )
    # A result store, so that finished tasks can be counted (Celery keeps none by default).
    CELERY_RESULT_BACKEND = f"{_REDIS_BASE}/{int(_REDIS_DB) + 1}"
    CELERY_WORKER_HIJACK_ROOT_LOGGER = False
    if SYSTEM == "ours-celery":
        TASKS = {
            "default": {
                "BACKEND": "django_tasks.backends.celery.CeleryBackend",
                "OPTIONS": {"APP": "benchproj.celery_app.app"},
            }
        }
