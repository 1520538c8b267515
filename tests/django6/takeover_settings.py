"""Settings of the projects tests/django6/test_take_over.py runs: the test database named by
DJANGO_TASKS_TAKEOVER_DATABASE as ``default``, django-tasks-db 0.13 installed beside our database
app, and TASKS naming django-tasks-db's backend (DJANGO_TASKS_TAKEOVER_PHASE "before") or ours
("after")."""

import os

from tests.worker_settings import *  # noqa: F403  # These settings extend the workers'.
from tests.worker_settings import DATABASES

DATABASES = {"default": DATABASES[os.environ["DJANGO_TASKS_TAKEOVER_DATABASE"]]}
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django_tasks",
    "django_tasks.backends.database",
    "django_tasks_db",
    "tests.django6",
]
BACKENDS = {
    "before": "django_tasks_db.DatabaseBackend",
    "after": "django_tasks.backends.database.DatabaseBackend",
}
TASKS = {"default": {"BACKEND": BACKENDS[os.environ["DJANGO_TASKS_TAKEOVER_PHASE"]]}}
