"""When a worker claims tasks, and how many: its pacing. Plain bookkeeping, no database.

A worker claims several tasks per statement when tasks are short (enough for about
PREFETCH_WINDOW seconds of work, at most MAX_PREFETCH beyond the free slots) and one per free
slot when they are long, so a slow task never holds back tasks another worker could run.

It claims when there may be tasks: at once at the start and after a notification; again once
half its room is free after a claim that filled it (the queue had more); when a task it knows
of is due (a retry it wrote, or one a notification announced with its delay: ``due``);
otherwise at the next poll, after a delay that doubles up to the poll interval while nothing
turns up. That delay starts at POLL_START after finding tasks, or, when notifications wake the
worker, at NOTIFY_WINDOW after a claim a notification prompted: the enqueues that follow a
notification closely skip theirs (see queries/postgresql.py).
"""

import heapq
import time
from dataclasses import dataclass, field

from django_tasks.backends.database.schema import NOTIFY_WINDOW

PREFETCH_WINDOW = 0.05
"""Seconds of work (at the recent pace) to claim beyond the free slots."""
MAX_PREFETCH = 100
"""The most tasks claimed beyond the free slots."""
POLL_START = 0.05
"""The first poll delay once the queue runs dry, doubled up to the interval."""
DUE_MARGIN = 0.01
"""Seconds added to a due time, so that the look finds the task's row due."""
MAX_DUE_TIMES = 10_000
"""The most due times kept; past that, the polls find the tasks."""


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
    due_times: list[float] = field(default_factory=list)
    """time.monotonic() of each task known to come due (a heap): the worker looks then."""

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
        return free if time.monotonic() >= self.next_look else 0

    @property
    def next_look(self) -> float:
        """time.monotonic() of the next look: the next poll, or the next task due."""
        return min(self.next_poll, self.due_times[0]) if self.due_times else self.next_poll

    def requeued(self, delay: float) -> None:
        """A task this worker ran went back to the queue (a retry), due in ``delay``
        seconds: look again then, or at once if it is due now (even a --batch worker)."""
        if delay > 0:
            self.due(delay)
        else:
            self.more = self.claim_now = True

    def due(self, delay: float) -> None:
        """A task will be due in ``delay`` seconds: look again then, whatever the poll
        interval (it is a little later than the moment the task's row says, never sooner)."""
        if len(self.due_times) < MAX_DUE_TIMES:
            heapq.heappush(self.due_times, time.monotonic() + delay + DUE_MARGIN)

    def notified(self) -> None:
        """A notification about one of the worker's queues arrived."""
        self.claim_now = self.woken = True

    def claimed(self, count: int, limit: int, *, listening: bool) -> None:
        """A claim of up to ``limit`` tasks returned ``count``; ``listening``: notifications
        wake the worker."""
        woken = self.woken
        self.claim_now = self.woken = False
        now = time.monotonic()
        while self.due_times and self.due_times[0] <= now:
            heapq.heappop(self.due_times)
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
