"""Settings of the projects tests/django6/test_take_over.py runs: the test database named by
DJANGO_TASKS_TAKEOVER_DATABASE as ``default``, django-tasks-db 0.13 installed beside our database
app, and TASKS naming django-tasks-db's backend (DJANGO_TASKS_TAKEOVER_PHASE "before") or ours
("after")."""

import os

from tests.worker_settings import *  # noqa: F403  # These settings extend the workers'.
from tests.worker_settings import DATABASES, INSTALLED_APPS

DATABASES = {"default": DATABASES[os.environ["DJANGO_TASKS_TAKEOVER_DATABASE"]]}
# Not the tests app: one of its tasks waits for commits, which django-tasks-db cannot do.
INSTALLED_APPS = [*(app for app in INSTALLED_APPS if app != "tests"), "django_tasks_db"]
BACKENDS = {
    "before": "django_tasks_db.DatabaseBackend",
    "after": "django_tasks.backends.database.DatabaseBackend",
}
TASKS = {"default": {"BACKEND": BACKENDS[os.environ["DJANGO_TASKS_TAKEOVER_PHASE"]]}}
