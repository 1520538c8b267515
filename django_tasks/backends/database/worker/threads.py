"""The threads that run a worker's task functions, at most ``concurrency`` at once.

Why threads: most background tasks wait on I/O (mail, HTTP, the database), which threads
overlap well, and a thread shares the worker's imported code and warm state. Each thread has
its own Django database connections, as a request would. CPU-bound work is held back by the
GIL: run more worker processes for it (one per core), which is also how a team scales a
worker past one machine. Coroutine tasks run in their thread's own event loop.
``db_worker --pool process`` runs them in child processes instead (processes.py, a subclass
of this class whose runner threads each supervise a child).

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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial

from django.db import close_old_connections, connections
from django.utils import timezone

from django_tasks import tracing
from django_tasks.backends.database.worker.claims import Claim, ClaimState
from django_tasks.backends.database.worker.timeouts import Timekeeper, timeout_of
from django_tasks.exceptions import TaskTimeoutError
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
        *,
        timeout: float | None = None,
    ) -> None:
        self.concurrency = concurrency
        self.sender = sender
        self._store = store
        self._dropped = dropped
        self.timeout = timeout
        """The backend's OPTIONS["TIMEOUT"]: the timeout of tasks that set none."""
        self._claim_lock = threading.Lock()
        """Held while a claim becomes FINISHED: its runner and the timekeeper may race to it."""
        self._timekeeper = Timekeeper[Claim](self._overran)
        self.overrunning = 0
        """Runner threads still running a task recorded as timed out (thread pool only)."""
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
        self._timekeeper.close()

    def _thread(self, target: Callable[[], None], name: str) -> threading.Thread:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        return thread

    # Runners.

    def _run_claims(self) -> None:
        with self._runner() as run:
            while True:
                claim = self._ready.get()
                if claim is None:
                    return
                if claim.cancelled or time.monotonic() >= claim.lease_until:
                    self._dropped(claim)
                    continue
                run(claim)

    @contextmanager
    def _runner(self) -> Iterator[Callable[[Claim], None]]:
        """What runs one runner thread's claims, for the thread's life: here the thread itself
        (the process pool runs them in a child process of the thread's)."""
        try:
            yield self._run
        finally:
            connections.close_all()

    def _run(self, claim: Claim) -> None:
        result = claim.result
        record = partial(self._record, claim)
        close_old_connections()
        claim.state = ClaimState.STARTED
        claim.started = time.perf_counter()
        seconds = timeout_of(result.task, self.timeout)
        if seconds is not None:
            self._timekeeper.start(claim, seconds)
        try:
            now = timezone.now()
            result._update(started_at=now, last_attempted_at=now)
            task_started.send(self.sender, task_result=result)
            fields = None if claim.row is None else claim.row.trace_context
            tracing.consuming(result, fields, partial(run_task, result, self.sender, record))
        except BaseException as e:  # A task raising KeyboardInterrupt, or a failing receiver.
            if claim.state != ClaimState.FINISHED:
                finish_task(result, self.sender, record, Outcome.failed(e))
            else:
                logger.exception("Error after task id=%s finished.", claim.row_id)
        finally:
            if seconds is not None:
                self._ended_in_thread(claim)
            close_old_connections()

    def _record(self, claim: Claim, result: AnyResult, outcome: Outcome) -> bool:
        """run_task's record step: hand the outcome over (see _hand_over). False tells
        run_task that it is not signalled here. An outcome that comes after the claim's
        (a timed-out task that returned at last) is dropped."""
        if self._done(claim):
            self._hand_over(claim, outcome)
        return False

    def _done(self, claim: Claim, timed_out: BaseException | None = None) -> bool:
        """Make the claim FINISHED, unless it is already (False): once per claim."""
        with self._claim_lock:
            if claim.state == ClaimState.FINISHED:
                return False
            claim.state = ClaimState.FINISHED
            if timed_out is not None:
                claim.timed_out = timed_out
                self.overrunning += 1
            return True

    def _hand_over(self, claim: Claim, outcome: Outcome) -> None:
        """The one way an attempt's outcome leaves the executor, whatever ended it (a return,
        an exception, a timeout, a child process that died on its last attempt): to the
        worker, which writes it (outbox.outcome_finish); a finisher then signals it."""
        seconds = time.perf_counter() - claim.started
        self.pace = seconds if self.pace is None else 0.8 * self.pace + 0.2 * seconds
        self._room.acquire()
        self._store(claim, outcome)

    # Timeouts (thread pool: see timeouts.py).

    def _overran(self, claim: Claim, seconds: float) -> None:
        """The timekeeper's call: ``claim`` ran past its timeout of ``seconds``. Record the
        attempt FAILED; its thread runs on, and its slot counts as busy until it returns."""
        error = TaskTimeoutError.after(seconds, stopped=False)
        if not self._done(claim, timed_out=error):
            return  # It ended just in time.
        logger.error(
            "Task timed out id=%s path=%s timeout=%ss; its thread cannot be stopped and runs on.",
            claim.row_id,
            claim.result.task.module_path,
            seconds,
        )
        self._hand_over(claim, Outcome.failed(error))

    def _ended_in_thread(self, claim: Claim) -> None:
        self._timekeeper.finish(claim)
        with self._claim_lock:
            if claim.timed_out is not None:
                self.overrunning -= 1
                logger.warning(
                    "Task id=%s returned after its timeout; its outcome was dropped.",
                    claim.row_id,
                )

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
