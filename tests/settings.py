"""Django settings for the test suite.

Three databases: SQLite as ``default``, and the real PostgreSQL and MariaDB servers as
``postgres`` and ``mysql``, so the database backend is tested against each one in one run.
Set DJANGO_TASKS_TEST_DB_SUFFIX to give the test databases other names (parallel runs).
"""

import importlib.util
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
_SUFFIX = os.environ.get("DJANGO_TASKS_TEST_DB_SUFFIX", "")

SECRET_KEY = "django-tasks-tests"  # Test-only settings.
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
ROOT_URLCONF = "tests.urls"
STATIC_URL = "/static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",  # The dashboard's script, in the browser tests.
    "django_tasks",
    "django_tasks.backends.database",
    "django_tasks.backends.celery",
    "django_tasks_conformance",  # Its fixture tasks must be in an installed app (conformance).
    "tests",
]
if importlib.util.find_spec("django.tasks") is not None:  # Django 6: its dialect's tests.
    INSTALLED_APPS.append("tests.django6")

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": BASE_DIR / f"test{_SUFFIX}.sqlite3",
        "TEST": {"NAME": str(BASE_DIR / f"test_django_tasks{_SUFFIX}.sqlite3")},
    },
    "postgres": {
        "ENGINE": "django.db.backends.postgresql",
        "HOST": "127.0.0.1",
        "PORT": 5432,
        "USER": "postgres",
        "NAME": "postgres",
        "TEST": {"NAME": f"test_django_tasks{_SUFFIX}"},
    },
    "mysql": {
        "ENGINE": "django.db.backends.mysql",
        "HOST": "127.0.0.1",
        "PORT": 3306,
        "USER": "root",
        "NAME": "test",
        "OPTIONS": {"charset": "utf8mb4"},
        "TEST": {"NAME": f"test_django_tasks{_SUFFIX}", "CHARSET": "utf8mb4"},
    },
}

TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
