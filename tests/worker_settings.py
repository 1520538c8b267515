"""Settings of the db_worker processes that the tests start.

The same as tests.settings, but on the test databases (which the test run has created), and
with TASKS taken from the DJANGO_TASKS_TEST_TASKS environment variable (JSON), so that each test
starts workers with the backend options it needs.
"""

import json
import os
from typing import Any, cast

from tests.settings import *  # noqa: F403  # These settings extend the test settings.
from tests.settings import DATABASES

_database: dict[str, Any]
for _database in DATABASES.values():
    _database["NAME"] = cast(dict[str, Any], _database["TEST"])["NAME"]

if "DJANGO_TASKS_TEST_TASKS" in os.environ:
    TASKS = json.loads(os.environ["DJANGO_TASKS_TEST_TASKS"])

if "DJANGO_TASKS_TEST_SQLITE_TIMEOUT" in os.environ:  # Seconds SQLite waits for a lock.
    _options = cast(dict[str, Any], DATABASES["default"].setdefault("OPTIONS", {}))
    _options["timeout"] = float(os.environ["DJANGO_TASKS_TEST_SQLITE_TIMEOUT"])
