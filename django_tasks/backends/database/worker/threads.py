"""The threads that run a worker's task functions, at most ``concurrency`` at once.

Why threads: most background tasks wait on I/O (mail, HTTP, the database), which threads
overlap well, and a thread shares the worker's imported code and warm state. Each thread has
its own Django database connections, as a request would. CPU-bound work is held back by the
GIL: run more worker processes for it (one per core), which is also how a team scales a
worker past one machine. Coroutine tasks run in their thread's own event loop.
Processes would isolate crashes and allow killing a task (per-task timeouts, on the roadmap);
this module is the one place that would change.

Two kinds of threads:

- ``concurrency`` runners each run one task at a time. A runner hands the outcome of a task to
  the worker's main thread, which writes it, and starts its next task at once: it never waits
  for the write, so a worker holds at most ``concurrency`` database connections for its tasks,
  and outcomes that finish while a write is under way are written together in the next one.
- ``concurrency`` finishers, once an outcome is stored, update the result and send
  ``task_finished`` (for a failure, while its exception is being handled: see
  ``send_finished``). Receivers of ``task_finished`` run in a finisher, not in the thread that
  ran the task; ``task_started`` receivers run in the runner, before the task.

At most MAX_UNFINISHED outcomes wait to be written or signalled: past that, runners wait, so a
worker cut off from its database, or with slow ``task_finished`` receivers, stops running tasks
instead of piling up outcomes.
"""

import logging
import queue
import threading
import time
from collections.abc import Callable
from functools import partial

from django.db import close_old_connections, connections
from django.utils import timezone

from django_tasks.backends.database.worker.claims import Claim, ClaimState
from django_tasks.execution import Outcome, finish_task, run_task, send_finished
from django_tasks.results import AnyResult
from django_tasks.signals import task_started

logger = logging.getLogger("django_tasks.worker")

MAX_UNFINISHED = 200
"""The most outcomes waiting to be written or signalled before runners wait."""

Store = Callable[[Claim, Outcome], None]
"""Hands a finished claim's outcome over to be written; ``Executor.stored`` follows."""


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
        self._stored: queue.SimpleQueue[tuple[Claim, Outcome] | None] = queue.SimpleQueue()
        self._room = threading.BoundedSemaphore(MAX_UNFINISHED)
        self._runners: list[threading.Thread] = []
        self._finishers: list[threading.Thread] = []
        self.pace: float | None = None
        """Recent seconds per task (a moving average), None before the first one."""

    def start(self) -> None:
        for number in range(self.concurrency):
            self._runners.append(self._thread(self._run_claims, f"db_worker-{number}"))
            self._finishers.append(self._thread(self._finish, f"db_worker-finish-{number}"))

    def submit(self, claim: Claim) -> None:
        self._ready.put(claim)

    def stored(self, claim: Claim, outcome: Outcome | None) -> None:
        """The main thread's answer to ``store``: the outcome was written (send
        task_finished), or None: it was not, or was replaced (nothing more to do)."""
        if outcome is None:
            self._room.release()
        else:
            self._stored.put((claim, outcome))

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
        """Stop the threads once they are idle; ``wait`` for them (the task_finished receivers
        of outcomes already stored) unless stopping at once: they are daemon threads."""
        for _ in self._runners:
            self._ready.put(None)
        if wait:
            for thread in self._runners:
                thread.join()
        for _ in self._finishers:
            self._stored.put(None)
        if wait:
            for thread in self._finishers:
                thread.join()

    def _thread(self, target: Callable[[], None], name: str) -> threading.Thread:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        return thread

    # Runners.

    def _run_claims(self) -> None:
        try:
            while True:
                claim = self._ready.get()
                if claim is None:
                    return
                if claim.cancelled or time.monotonic() >= claim.lease_until:
                    self._dropped(claim)
                    continue
                self._run(claim)
        finally:
            connections.close_all()

    def _run(self, claim: Claim) -> None:
        result = claim.result
        record = partial(self._record, claim)
        close_old_connections()
        claim.state = ClaimState.STARTED
        claim.started = time.perf_counter()
        try:
            now = timezone.now()
            result._update(started_at=now, last_attempted_at=now)
            task_started.send(self.sender, task_result=result)
            run_task(result, self.sender, record)
        except BaseException as e:  # A task raising KeyboardInterrupt, or a failing receiver.
            if claim.state != ClaimState.FINISHED:
                finish_task(result, self.sender, record, Outcome.failed(e))
            else:
                logger.exception("Error after task id=%s finished.", claim.row_id)
        finally:
            close_old_connections()

    def _record(self, claim: Claim, result: AnyResult, outcome: Outcome) -> bool:
        """run_task's record step: hand the outcome over, to be written and then signalled by
        a finisher; False tells run_task that it is not signalled here."""
        seconds = time.perf_counter() - claim.started
        self.pace = seconds if self.pace is None else 0.8 * self.pace + 0.2 * seconds
        claim.state = ClaimState.FINISHED
        self._room.acquire()
        self._store(claim, outcome)
        return False

    # Finishers.

    def _finish(self) -> None:
        try:
            while True:
                item = self._stored.get()
                if item is None:
                    return
                claim, outcome = item
                try:
                    send_finished(claim.result, self.sender, outcome)
                except BaseException:  # A failing task_finished receiver.
                    logger.exception("Error after task id=%s finished.", claim.row_id)
                finally:
                    self._room.release()
                    close_old_connections()
        finally:
            connections.close_all()
