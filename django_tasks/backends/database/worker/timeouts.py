"""Task timeouts in the worker: how long a task may run, and the thread pool's timekeeper.

A task's timeout is its own (``@task(timeout=...)``), or else its backend's OPTIONS["TIMEOUT"].
Under ``db_worker --pool process`` the runner thread that supervises the task's child process
kills the child at the deadline (processes.py). Under the thread pool nothing can stop a
thread in Python, so the ``Timekeeper`` does what can be done: at the deadline it records the
attempt FAILED with TaskTimeoutError (the one path every failed attempt takes, the runner's
``record``), and the thread runs on, its slot counted as busy (``Executor.overrunning``) until
the function returns, when its outcome is dropped.
"""

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

Claim = TypeVar("Claim", bound=Hashable)
"""What a Timekeeper watches: the executor's claims."""


def timeout_of(task: Any, default: float | None) -> float | None:
    """The seconds one attempt of ``task`` may run (None: no limit)."""
    own: float | None = getattr(task, "timeout", None)
    return own if own is not None else default


class Timekeeper(Generic[Claim]):
    """Calls ``expire(claim, seconds)`` once a running claim passes its deadline, from a thread
    of its own (started with the first deadline). At most one deadline per runner thread is
    kept, so a look at them all is cheap."""

    def __init__(self, expire: Callable[[Claim, float], None]) -> None:
        self._expire = expire
        self._deadlines: dict[Claim, tuple[float, float]] = {}
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False

    def start(self, claim: Claim, seconds: float) -> None:
        """Watch ``claim``, which starts now and may run ``seconds``."""
        with self._changed:
            self._deadlines[claim] = (time.monotonic() + seconds, seconds)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._watch, name="db_worker-timekeeper", daemon=True
                )
                self._thread.start()
            self._changed.notify()

    def finish(self, claim: Claim) -> None:
        """Stop watching ``claim`` (it ended, in time or not)."""
        with self._changed:
            self._deadlines.pop(claim, None)

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify()

    def _watch(self) -> None:
        while True:
            with self._changed:
                expired = self._wait_for_expired()
                if expired is None:
                    return
            for claim, seconds in expired:
                self._expire(claim, seconds)

    def _wait_for_expired(self) -> list[tuple[Claim, float]] | None:
        """Under the lock: wait until a deadline passes (or the keeper closes: None), and
        take the claims whose deadlines have passed."""
        while not self._closed:
            now = time.monotonic()
            expired = [
                (claim, seconds)
                for claim, (deadline, seconds) in self._deadlines.items()
                if deadline <= now
            ]
            if expired:
                for claim, _ in expired:
                    del self._deadlines[claim]
                return expired
            soonest = min((deadline for deadline, _ in self._deadlines.values()), default=None)
            self._changed.wait(None if soonest is None else soonest - now)
        return None
