"""The worker's own connection to the queue's database, used by its main thread only.

Every statement of the worker's bookkeeping runs through ``Connection.run``. An error of one of
them (the database restarts, the connection is killed) closes the connection; ``failed`` sets a
backoff, doubling up to MAX_BACKOFF seconds, before the loop tries again (``ready``). The
connection is bounded (Queries.connection_bounds, applied by ``bound_connection``), so a network
path that stops answering, without a reset, fails its statements within about
DEAD_PATH_SECONDS too.
"""

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.db import DatabaseError, connections
from django.db.backends.base.base import BaseDatabaseWrapper

from django_tasks.backends.database.queries import Queries, connection_bounds, queries_for

logger = logging.getLogger("django_tasks.worker")

R = TypeVar("R")

MAX_BACKOFF = 5.0
"""The longest wait between attempts to reach the database."""


class Connection:
    """This thread's connection to database ``alias``, with the backoff after an error."""

    def __init__(self, alias: str) -> None:
        self.alias = alias
        self._backoff = 0.0
        self.retry_at = 0.0
        """time.monotonic() before which the worker leaves the database alone, after an error."""

    @property
    def wrapper(self) -> BaseDatabaseWrapper:
        """Django's connection object (this thread's)."""
        return connections[self.alias]

    @property
    def queries(self) -> Queries:
        return queries_for(self.alias)

    def run(self, operation: Callable[[Any], R]) -> R:
        """Run ``operation`` with a cursor; DatabaseError if the database fails it."""
        with self.queries.cursor() as cursor:
            return operation(cursor)

    def ready(self) -> bool:
        """Whether the backoff after the last error is over."""
        return time.monotonic() >= self.retry_at

    def succeeded(self) -> None:
        """The worker's statements went through: the next error starts a new backoff."""
        self._backoff = 0.0

    def failed(self, error: DatabaseError) -> None:
        """Log ``error``, close the connection, and back off before the next attempt."""
        self._backoff = min(MAX_BACKOFF, max(0.1, self._backoff * 2))
        self.retry_at = time.monotonic() + self._backoff
        logger.warning(
            "Database error on %r (%s: %s); retrying in %.1f s.",
            self.alias,
            type(error).__name__,
            str(error).strip(),
            self._backoff,
        )
        connection = self.wrapper
        try:
            connection.close()
        except DatabaseError:
            connection.connection = None

    def reachable(self) -> bool:
        """Whether the database answers a trivial statement."""
        try:
            self.run(lambda cursor: cursor.execute("SELECT 1"))
        except DatabaseError:
            return False
        return True


def bound_connection(alias: str) -> None:
    """Bound how long this thread's connection to ``alias`` waits on a dead network path (see
    Queries.connection_bounds): the worker's defaults, under the project's OPTIONS. The
    connections of the tasks, in other threads, keep the project's settings as they are."""
    connection = connections[alias]
    settings = connection.settings_dict
    options = {**connection_bounds(alias), **settings.get("OPTIONS", {})}
    connection.settings_dict = {**settings, "OPTIONS": options}
    if connection.connection is not None:  # Opened without them (by a system check).
        connection.close()
