"""When a worker claims tasks, and how many: its pacing. Plain bookkeeping, no database.

A worker claims several tasks per statement when tasks are short (enough for about
PREFETCH_WINDOW seconds of work, at most MAX_PREFETCH beyond the free slots) and one per free
slot when they are long, so a slow task never holds back tasks another worker could run.

It claims when there may be tasks: at once at the start and after a notification; again once
half its room is free after a claim that filled it (the queue had more); otherwise at the next
poll, after a delay that doubles up to the poll interval while nothing turns up. That delay
starts at POLL_START after finding tasks, or, when notifications wake the worker, at
NOTIFY_WINDOW after a claim a notification prompted: the enqueues that follow a notification
closely skip theirs (see queries/postgresql.py).
"""

import time
from dataclasses import dataclass

from django_tasks.backends.database.schema import NOTIFY_WINDOW

PREFETCH_WINDOW = 0.05
"""Seconds of work (at the recent pace) to claim beyond the free slots."""
MAX_PREFETCH = 100
"""The most tasks claimed beyond the free slots."""
POLL_START = 0.05
"""The first poll delay once the queue runs dry, doubled up to the interval."""


@dataclass(slots=True, kw_only=True)
class Pacing:
    """A worker's claim schedule; see the module docstring."""

    concurrency: int
    interval: float
    """The longest delay between two looks at the queue."""
    max_tasks: int | None = None
    """The most tasks to claim in all (--max-tasks), None for no limit."""
    more: bool = True
    """The last claim was full: the queue may have more."""
    claim_now: bool = True
    """Claim as soon as there is room (at the start, and after a notification)."""
    woken: bool = False
    """A notification arrived since the last claim."""
    poll_delay: float = POLL_START
    next_poll: float = 0.0
    """time.monotonic() of the next look, unless something else prompts one."""

    def limit(self, *, active: int, claimed: int, pace: float | None) -> int:
        """How many tasks to claim now (0: not now), with ``active`` claimed tasks not yet
        finished, ``claimed`` tasks claimed in all, and ``pace`` the recent seconds per task."""
        target = self.concurrency + self._prefetch(pace)
        if self.max_tasks is not None:
            target = min(target, self.max_tasks - claimed + active)
        free = target - active
        if free <= 0:
            return 0
        if self.claim_now:
            return free
        if self.more:  # Claim again once half the room is free.
            return free if free >= max(1, target // 2) else 0
        return free if time.monotonic() >= self.next_poll else 0

    def requeued(self) -> None:
        """A task this worker ran went back to the queue (a retry): look again at once, so
        that a retry that is due now is claimed (even by a --batch worker)."""
        self.more = self.claim_now = True

    def notified(self) -> None:
        """A notification about one of the worker's queues arrived."""
        self.claim_now = self.woken = True

    def claimed(self, count: int, limit: int, *, listening: bool) -> None:
        """A claim of up to ``limit`` tasks returned ``count``; ``listening``: notifications
        wake the worker."""
        woken = self.woken
        self.claim_now = self.woken = False
        self.more = count == limit
        if self.more:
            self.poll_delay = POLL_START
            return
        if listening:
            if woken:
                self.poll_delay = NOTIFY_WINDOW
        elif count:
            self.poll_delay = POLL_START
        self.next_poll = time.monotonic() + self.poll_delay
        self.poll_delay = min(self.poll_delay * 2, self.interval)

    def _prefetch(self, pace: float | None) -> int:
        if pace is None:
            return 0
        per_second = self.concurrency / max(pace, 1e-6)
        return min(MAX_PREFETCH, int(per_second * PREFETCH_WINDOW))
