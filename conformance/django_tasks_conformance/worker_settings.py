"""The settings of the worker processes that our harnesses start (``db_worker`` for
``DatabaseHarness``, ``celery worker`` for ``CeleryHarness``).

They are the settings of the run that starts the workers, with what the run changed at run
time: ``TASKS`` is the suite's (the backend under test under each of its aliases), and each
database's ``NAME`` is the one the run uses (the test database that pytest-django created,
rather than the development database the settings name). The harness passes these as JSON in
the ``DJANGO_TASKS_CONFORMANCE_WORKER`` environment variable::

    {"settings": "myproject.settings", "databases": {"default": "test_myproject"},
     "tasks": {"default": {"BACKEND": "...", ...}, ...}}

A database's entry is its NAME, or a dict of settings to change (``{"NAME": ..., "OPTIONS":
{...}}``), whose OPTIONS are added to the database's own. Without "tasks", TASKS stays the
settings module's.
"""

import copy
import importlib
import json
import os
from typing import Any

from django.core.exceptions import ImproperlyConfigured

ENVIRONMENT_VARIABLE = "DJANGO_TASKS_CONFORMANCE_WORKER"  # launcher.ENVIRONMENT_VARIABLE

try:
    _worker: dict[str, Any] = json.loads(os.environ[ENVIRONMENT_VARIABLE])
except KeyError:
    raise ImproperlyConfigured(
        f"{__name__} is the settings module of the workers that our harnesses start; it "
        f"needs the {ENVIRONMENT_VARIABLE} environment variable, which the harness sets."
    ) from None

_base = importlib.import_module(_worker["settings"])
globals().update({name: value for name, value in vars(_base).items() if name.isupper()})

DATABASES: dict[str, dict[str, Any]] = copy.deepcopy(_base.DATABASES)
for _alias, _changes in _worker.get("databases", {}).items():
    _changes = {"NAME": _changes} if isinstance(_changes, str) else dict(_changes)
    _options = {**DATABASES[_alias].get("OPTIONS", {}), **_changes.pop("OPTIONS", {})}
    DATABASES[_alias].update(_changes, OPTIONS=_options)

if "tasks" in _worker:
    TASKS: dict[str, Any] = _worker["tasks"]
