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

# Changes to the settings of some databases, as JSON: {alias: {"HOST": ..., "OPTIONS": {...}}};
# OPTIONS are added to the database's own.
for _alias, _changes in json.loads(os.environ.get("DJANGO_TASKS_TEST_DATABASE", "{}")).items():
    _options = {**cast(dict[str, Any], DATABASES[_alias].get("OPTIONS", {}))}
    _options.update(_changes.pop("OPTIONS", {}))
    DATABASES[_alias].update(_changes, OPTIONS=_options)

if "DJANGO_TASKS_TEST_SQLITE_TIMEOUT" in os.environ:  # Seconds SQLite waits for a lock.
    _options = cast(dict[str, Any], DATABASES["default"].setdefault("OPTIONS", {}))
    _options["timeout"] = float(os.environ["DJANGO_TASKS_TEST_SQLITE_TIMEOUT"])

if "DJANGO_TASKS_TEST_CLOCK_AHEAD" in os.environ:  # Seconds; see tests/database/clock.py.
    from tests.database import clock

    clock.install(float(os.environ["DJANGO_TASKS_TEST_CLOCK_AHEAD"]))

if "DJANGO_TASKS_TEST_FAST_CLOCK" in os.environ:  # "ORIGIN RATE"; see tests/database/fast_clock.py.
    from tests.database import fast_clock

    _origin, _rate = os.environ["DJANGO_TASKS_TEST_FAST_CLOCK"].split()
    fast_clock.install(float(_origin), float(_rate))

if "DJANGO_TASKS_TEST_SPANS" in os.environ:  # A file for the worker's spans; see tests/spans.py.
    from tests import spans

    spans.export_to_file(os.environ["DJANGO_TASKS_TEST_SPANS"])

if "DJANGO_TASKS_TEST_WORKER_SIGNALS" in os.environ:  # A file; see tests/database/signal_log.py.
    from tests.database import signal_log

    signal_log.install(os.environ["DJANGO_TASKS_TEST_WORKER_SIGNALS"])
