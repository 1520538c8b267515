"""A fast clock for the schedules of the worker processes that the tests start.

A worker started with DJANGO_TASKS_TEST_FAST_CLOCK="ORIGIN RATE" (tests/worker_settings.py calls
``install``) reads schedule time as ORIGIN (a Unix time) plus RATE times the real seconds since
ORIGIN: every worker of a test reads the same fast time, and minutes of ticks pass in seconds.
"""

import time
from datetime import UTC, datetime

from django_tasks.backends.database.scheduler import Scheduler


def install(origin: float, rate: float) -> None:
    def now() -> datetime:
        return datetime.fromtimestamp(origin + (time.time() - origin) * rate, UTC)

    Scheduler.clock = staticmethod(now)
    Scheduler.clock_rate = rate
