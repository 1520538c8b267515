"""The threads that run a worker's task functions, at most ``concurrency`` at once.

Why threads: most background tasks wait on I/O (mail, HTTP, the database), which threads
overlap well, and a thread shares the worker's imported code and warm state. Each thread has
its own Django database connections, as a request would. CPU-bound work is held back by the
GIL: run more worker processes for it (one per core), which is also how a team scales a
worker past one machine. Coroutine tasks run to completion in their thread's own event loop.
Processes would isolate crashes and allow killing a task (per-task timeouts, on the roadmap);
this class is the one place that would change.

A task frees its slot as soon as its function returns, before its outcome is written, so the
next task starts while the main thread writes: PIPELINE threads beyond ``concurrency`` hold
finished tasks waiting for that write (``run_task``'s record step).
"""

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.db import close_old_connections, connections
from django.utils import timezone

from django_tasks.execution import Outcome, finish_task, run_task
from django_tasks.signals import task_started
from django_tasks.task import TaskResult

logger = logging.getLogger("django_tasks.worker")

PIPELINE = 8
"""Threads beyond ``concurrency``, for finished tasks whose outcome is being written."""

READY, RUNNING, DONE = "ready", "running", "done"


@dataclass(slots=True, eq=False)
class Claim:
    """A task the worker holds a lease on, from its claim until its outcome is written."""

    row_id: str
    attempts: int
    result: TaskResult[Any]
    lease_until: float
    """time.monotonic() until which the lease certainly holds."""
    state: str = READY
    """READY (waiting for a slot), RUNNING, or DONE (its outcome is being written)."""
    cancelled: bool = False
    """The lease was lost before the task started: it must not start."""
    started: float = 0.0
    slot_held: bool = False


Store = Callable[[Claim, TaskResult[Any], Outcome], bool]
"""Writes a finished claim's outcome; False if the lease was lost (nothing was written)."""


class Executor:
    """Runs submitted claims in threads; see the module docstring."""

    def __init__(
        self,
        concurrency: int,
        sender: type,
        store: Store,
        dropped: Callable[[Claim], None],
    ) -> None:
        self.concurrency = concurrency
        self.sender = sender
        self._store = store
        self._dropped = dropped
        self._ready: queue.SimpleQueue[Claim | None] = queue.SimpleQueue()
        self._slots = threading.Semaphore(concurrency)
        self._threads: list[threading.Thread] = []
        self.pace: float | None = None
        """Recent seconds per task (a moving average), None before the first one."""

    def start(self) -> None:
        for number in range(self.concurrency + PIPELINE):
            thread = threading.Thread(target=self._work, name=f"db_worker-{number}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def submit(self, claim: Claim) -> None:
        self._ready.put(claim)

    def take_unstarted(self) -> list[Claim]:
        """Take back the submitted claims no thread has started."""
        taken: list[Claim] = []
        while True:
            try:
                claim = self._ready.get_nowait()
            except queue.Empty:
                return taken
            if claim is not None:
                taken.append(claim)

    def stop(self, *, wait: bool) -> None:
        """Stop the threads once they are idle; ``wait`` for them (a finished task's
        task_finished receivers) unless stopping at once: they are daemon threads."""
        for _ in self._threads:
            self._ready.put(None)
        if wait:
            for thread in self._threads:
                thread.join()

    def _work(self) -> None:
        try:
            while True:
                self._slots.acquire()
                claim = self._ready.get()
                if claim is None:
                    self._slots.release()
                    return
                claim.slot_held = True
                if claim.cancelled or time.monotonic() >= claim.lease_until:
                    self._free_slot(claim)
                    self._dropped(claim)
                    continue
                self._run(claim)
        finally:
            connections.close_all()

    def _run(self, claim: Claim) -> None:
        result = claim.result
        record = partial(self._record, claim)
        close_old_connections()
        claim.state = RUNNING
        claim.started = time.perf_counter()
        try:
            result._update(started_at=timezone.now())
            task_started.send(self.sender, task_result=result)
            run_task(result, self.sender, record)
        except BaseException as e:  # A task raising KeyboardInterrupt, or a failing receiver.
            if claim.state != DONE:
                finish_task(result, self.sender, record, Outcome.failed(e))
            else:
                logger.exception("Error after task id=%s finished.", claim.row_id)
        finally:
            self._free_slot(claim)
            close_old_connections()

    def _record(self, claim: Claim, result: TaskResult[Any], outcome: Outcome) -> bool:
        """run_task's record step: free the slot, then wait for the outcome's write."""
        seconds = time.perf_counter() - claim.started
        self.pace = seconds if self.pace is None else 0.8 * self.pace + 0.2 * seconds
        claim.state = DONE
        self._free_slot(claim)
        return self._store(claim, result, outcome)

    def _free_slot(self, claim: Claim) -> None:
        if claim.slot_held:
            claim.slot_held = False
            self._slots.release()
