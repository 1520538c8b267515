"""A worker process whose clock runs ahead, for the tests of clock skew on SQLite.

SQLite has no server: ``STRFTIME(..., 'now')`` reads the clock of the process that runs the
statement. A worker started with DJANGO_TASKS_TEST_CLOCK_AHEAD=SECONDS (tests/worker_settings.py
calls ``install``) reads a clock that far ahead, in SQL on its SQLite connections and in
``timezone.now()``, as if its host's clock were wrong.
"""

import sqlite3
import threading
from datetime import datetime, timedelta
from typing import Any

from django.db.backends.signals import connection_created
from django.utils import timezone

_sqlite = sqlite3.connect(":memory:", check_same_thread=False)
"""Computes STRFTIME for a given time, on behalf of every connection of the process."""
_lock = threading.Lock()


def install(seconds: float) -> None:
    offset = timedelta(seconds=seconds)
    real_now = timezone.now

    def now() -> datetime:
        return real_now() + offset

    def strftime(pattern: str, when: str, *modifiers: Any) -> Any:
        if when == "now":
            when = now().strftime("%Y-%m-%d %H:%M:%S.%f")
        placeholders = ", ?" * len(modifiers)
        with _lock:
            row = _sqlite.execute(
                f"SELECT STRFTIME(?, ?{placeholders})", (pattern, when, *modifiers)
            )
            return row.fetchone()[0]

    def skew(sender: type, connection: Any, **kwargs: Any) -> None:
        if connection.vendor == "sqlite":  # Replaces the built-in function.
            connection.connection.create_function("STRFTIME", -1, strftime)

    timezone.now = now
    connection_created.connect(skew, weak=False)
