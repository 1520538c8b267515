"""What a worker's main thread sleeps on, and what wakes it.

- A self-pipe: executor threads write to it when a task finishes, and the Stopper thread
  (stopping.py) when a signal arrives, so neither waits for a timeout.
- On PostgreSQL, the worker's connection, LISTENing on the channel that enqueues NOTIFY
  (payload: the queue name; "<queue> <seconds>" for a task requeued to run that many seconds
  from now, a retry after its backoff). Notifications that arrived while the connection ran other
  statements wait in psycopg's backlog; ``notified()`` reads both. An enqueue right after
  another one's notification skips its own (see queries/postgresql.py), so a worker that a
  notification woke looks again NOTIFY_WINDOW after its claim.
"""

import contextlib
import logging
import os
import selectors
from collections.abc import Sequence
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper

from django_tasks.backends.database.schema import NOTIFY_CHANNEL

logger = logging.getLogger("django_tasks.worker")


class Alarm:
    """A selector over the self-pipe and, once ``listen()`` succeeds, the LISTENing socket."""

    def __init__(self) -> None:
        self._read, self.wakeup_fd = os.pipe()
        os.set_blocking(self._read, False)
        os.set_blocking(self.wakeup_fd, False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._read, selectors.EVENT_READ)
        self._listening: Any = None
        """The raw psycopg connection that LISTENs, if any."""

    @property
    def listening(self) -> bool:
        return self._listening is not None

    def wake(self) -> None:
        """Wake the sleeping thread (from any thread)."""
        # A full pipe means the sleeper has wake-ups to read already.
        with contextlib.suppress(BlockingIOError):
            os.write(self.wakeup_fd, b"\0")

    def sleep(self, seconds: float) -> None:
        """Sleep until woken, a notification arrives, or ``seconds`` pass."""
        self._selector.select(max(0.0, seconds))
        self.drain()

    def drain(self) -> None:
        with contextlib.suppress(BlockingIOError):
            while os.read(self._read, 512):
                pass

    def listen(self, connection: BaseDatabaseWrapper) -> None:
        """LISTEN on ``connection`` (PostgreSQL with psycopg 3), again after a reconnection.

        Raises DatabaseError if the LISTEN fails.
        """
        raw = connection.connection
        if raw is not None and raw is self._listening:
            return
        self.unlisten()
        with connection.cursor() as cursor:
            cursor.execute(f'LISTEN "{NOTIFY_CHANNEL}"')
        raw = connection.connection
        if not hasattr(raw, "notifies"):  # psycopg2: the worker polls instead.
            return
        self._listening = raw
        self._selector.register(raw.fileno(), selectors.EVENT_READ)
        logger.debug("Listening for new tasks on channel %r.", NOTIFY_CHANNEL)

    def unlisten(self) -> None:
        """Forget the LISTENing connection (it was closed: a new one must LISTEN again)."""
        if self._listening is None:
            return
        for key in list(self._selector.get_map().values()):
            if key.fd != self._read:
                self._selector.unregister(key.fd)
        self._listening = None

    def notified(
        self,
        connection: BaseDatabaseWrapper,
        queues: Sequence[str] | None,
        exclude: Sequence[str] = (),
    ) -> list[float]:
        """Read the pending notifications; return, for each about one of ``queues`` (None:
        any) but none of ``exclude``, in how many seconds its task is due (0: now). Raises
        DatabaseError if the connection is broken."""
        raw = self._listening
        if raw is None or raw is not connection.connection:
            return []
        with connection.wrap_database_errors:
            payloads = [notify.payload for notify in raw.notifies(timeout=0)]
        due = []
        for payload in payloads:
            queue, delay = _parse(payload)
            if (queues is None or queue in queues) and queue not in exclude:
                due.append(delay)
        return due

    def close(self) -> None:
        self._selector.close()
        os.close(self._read)
        os.close(self.wakeup_fd)


def _parse(payload: str) -> tuple[str, float]:
    """A notification's queue, and the seconds until its task is due (see the docstring)."""
    queue, _, delay = payload.rpartition(" ")
    try:
        seconds = float(delay)
    except ValueError:
        return payload, 0.0
    return (queue, seconds) if queue and seconds >= 0 else (payload, 0.0)
