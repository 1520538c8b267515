"""The worker behind ``manage.py db_worker``: claim tasks, run them, record how they ended.

Threads. The main thread owns the worker's database connection and does all of its
bookkeeping: it claims tasks, writes their outcomes, renews their leases, takes back the tasks
of dead workers and reacts to signals. Task functions run in executor threads, at most
``concurrency`` at once. A finished task hands its outcome to the main thread and waits for
the write (``run_task``'s ``record`` step), but frees its slot first, so the next task starts
while the outcome is being written; outcomes that arrive together are written together.

Claims. The main thread claims several tasks per statement when tasks are short (enough for
about PREFETCH_WINDOW seconds of work, at most MAX_PREFETCH beyond the free slots) and one per
free slot when they are long, so a slow task never holds back tasks that another worker could
run. Each claimed task is leased to this worker for OPTIONS["LEASE_SECONDS"], renewed every
OPTIONS["HEARTBEAT_SECONDS"]; a worker that stops renewing (killed, frozen, cut off from the
database) loses its tasks to the next worker that looks for expired leases.

Waiting. On PostgreSQL an idle worker LISTENs and wakes when a task is enqueued on one of its
queues; elsewhere it polls, backing off from POLL_START to ``interval``. It always polls at
``interval`` for tasks whose run_after has come.

Stopping. SIGTERM or SIGINT: claim nothing more, hand back claimed tasks that have not started,
finish the running ones, exit 0. A second signal: hand back the running ones too (they start
again elsewhere; their attempt counts) and exit 1 at once. Signal handlers only count.

Database errors. Any error of the worker's own statements (the database restarts, the
connection is killed) closes the connection; the worker retries with a backoff of up to
MAX_BACKOFF seconds, stays responsive to signals, and keeps finished outcomes until it can
write them.
"""

import contextlib
import json
import logging
import os
import queue
import selectors
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from django.db import DatabaseError, close_old_connections, connections
from django.utils import timezone

from django_tasks.backends.database.backend import DatabaseBackend, result_from_claim
from django_tasks.backends.database.exceptions import LeaseExpiredError
from django_tasks.backends.database.queries import ClaimedRow, Finish, Queries, queries_for
from django_tasks.backends.database.schema import NOTIFY_CHANNEL
from django_tasks.exceptions import InvalidTaskError
from django_tasks.execution import Outcome, finish_task, run_task
from django_tasks.signals import task_started
from django_tasks.task import ResultStatus, TaskResult
from django_tasks.utils import class_path, format_exception

logger = logging.getLogger("django_tasks.worker")

R = TypeVar("R")

PREFETCH_WINDOW = 0.05
"""Seconds of work (at the recent pace) to claim beyond the free slots."""
MAX_PREFETCH = 100
"""The most tasks claimed beyond the free slots."""
RECORD_THREADS = 8
"""Executor threads beyond ``concurrency``: finished tasks waiting for their outcome's write."""
MAX_FINISH_BATCH = 200
"""The most outcomes written in one statement."""
POLL_START = 0.05
"""The first poll delay once the queue runs dry, doubled up to ``interval``."""
MAX_BACKOFF = 5.0
"""The longest wait between attempts to reach the database."""
STORE_ATTEMPTS = 3
"""Attempts to write an outcome (while the database is otherwise reachable) before a
replacement FAILED outcome is written instead; as many again before giving up on it."""

READY, RUNNING, DONE = "ready", "running", "done"


class QueueTableMissing(Exception):  # noqa: N818  # Says what is wrong, like DoesNotExist.
    """The queue table does not exist: the migrations have not been applied."""


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkerOptions:
    """What ``db_worker``'s command line sets."""

    backend: str = "default"
    queues: Sequence[str] | None = ("default",)
    """The queues to take tasks from; None for every queue."""
    interval: float = 1.0
    batch: bool = False
    max_tasks: int | None = None
    worker_id: str
    concurrency: int = 1


@dataclass(slots=True, eq=False)
class Claim:
    """A task this worker holds a lease on."""

    row_id: str
    attempts: int
    queue_name: str
    result: TaskResult[Any]
    lease_until: float
    """time.monotonic() by which the lease certainly still holds."""
    state: str = READY
    cancelled: bool = False
    """The lease was lost before the task started: skip it."""
    started: float = 0.0
    slot_held: bool = False


@dataclass(slots=True, eq=False)
class PendingFinish:
    """An outcome waiting to be written; ``done`` is set once it is (or cannot be)."""

    claim: Claim | None
    finish: Finish
    done: threading.Event = field(default_factory=threading.Event)
    stored: bool = False
    failures: int = 0


@dataclass(slots=True)
class Tally:
    claimed: int = 0
    succeeded: int = 0
    failed: int = 0
    rejected: int = 0
    lost: int = 0
    handed_back: int = 0


class Worker:
    """Runs the tasks of one DatabaseBackend until told to stop. See the module docstring."""

    def __init__(self, backend: DatabaseBackend, options: WorkerOptions) -> None:
        self.backend = backend
        self.options = options
        self.sender = type(backend)
        self.alias = backend.database
        self.tally = Tally()
        self._held: dict[str, Claim] = {}
        self._ready: queue.SimpleQueue[Claim | None] = queue.SimpleQueue()
        self._finishes: deque[PendingFinish] = deque()
        self._dropped: deque[Claim] = deque()
        self._slots = threading.Semaphore(options.concurrency)
        self._threads: list[threading.Thread] = []
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        os.set_blocking(self._wake_write, False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._wake_read, selectors.EVENT_READ)
        self._listening: Any = None
        self._signals = 0
        self._stopping = False
        self._claiming = True
        self._more = True
        self._claim_now = True
        self._poll_delay = POLL_START
        self._next_poll = 0.0
        self._next_heartbeat = 0.0
        self._backoff = 0.0
        self._retry_at = 0.0
        self._pace: float | None = None
        self._started = time.monotonic()

    # Running.

    def run(self) -> int:
        """Work until stopped; return the exit status (0, or 1 after a forced stop)."""
        restore = self._install_signal_handlers()
        self._start_threads()
        logger.info(
            "Worker started id=%s backend=%s queues=%s concurrency=%s",
            self.options.worker_id,
            self.backend.alias,
            "*" if self.options.queues is None else ",".join(self.options.queues),
            self.options.concurrency,
        )
        try:
            status = self._loop()
        finally:
            restore()
            self._stop_threads()
            self._selector.close()
            os.close(self._wake_read)
            os.close(self._wake_write)
        self._log_summary(status)
        return status

    def stop(self) -> None:
        """Ask the worker to stop as after SIGTERM; a second call stops it at once."""
        self._signals += 1
        self._wake()

    def _loop(self) -> int:
        self._wait_for_table()
        while True:
            self._drain_wakeups()
            if self._signals >= 2:
                return self._stop_now()
            if self._signals == 1 and not self._stopping:
                logger.info("Stopping: finishing %s running task(s).", self._running_count())
                self._begin_stop()
            if time.monotonic() >= self._retry_at:
                try:
                    self._step()
                    self._backoff = 0.0
                except DatabaseError as e:
                    self._database_error(e)
            if self._finished():
                return 0
            self._wait()

    def _step(self) -> None:
        self._release_dropped()
        self._flush()
        self._keep_leases()
        if self._claiming:
            self._fill()

    def _finished(self) -> bool:
        if self._held or self._finishes or self._dropped:
            return False
        if self._stopping or not self._claiming:
            return True
        if self.options.batch and not self._more and time.monotonic() >= self._retry_at:
            logger.info("No task is ready; exiting (--batch).")
            return True
        return False

    def _wait_for_table(self) -> None:
        """Check that the queue table exists, waiting (responsive to signals) for the
        database to be reachable; raise QueueTableMissing if it is not there."""
        from django_tasks.backends.database.models import DBTaskResult

        table = DBTaskResult._meta.db_table
        while self._signals == 0:
            try:
                with connections[self.alias].cursor() as cursor:
                    tables = connections[self.alias].introspection.table_names(cursor)
            except DatabaseError as e:
                self._database_error(e)
                self._wait()
                continue
            if table not in tables:
                raise QueueTableMissing(
                    f"The task table {table!r} does not exist in database {self.alias!r}; "
                    f"run 'manage.py migrate --database {self.alias}'."
                )
            return

    # Claiming.

    def _fill(self) -> None:
        limit = self._claim_limit()
        if limit <= 0:
            return
        sent = time.monotonic()
        rows = self._db(
            lambda cursor: self._queries().claim(
                cursor,
                worker_id=self.options.worker_id,
                backend=self.backend.alias,
                queues=self.options.queues,
                limit=limit,
                lease_seconds=self.backend.options.LEASE_SECONDS,
            )
        )
        self.tally.claimed += len(rows)
        self._claim_now = False
        self._more = len(rows) == limit
        if self._more:
            self._poll_delay = POLL_START
        elif self._listening is not None:  # New tasks wake it: poll only for run_after.
            self._next_poll = time.monotonic() + self.options.interval
        else:
            self._next_poll = time.monotonic() + self._poll_delay
            self._poll_delay = min(self._poll_delay * 2, self.options.interval)
        lease_until = sent + self.backend.options.LEASE_SECONDS
        for row in sorted(rows, key=_claim_order):
            self._accept(row, lease_until)
        if self.options.max_tasks is not None and self.tally.claimed >= self.options.max_tasks:
            logger.info(
                "Claimed %s task(s); exiting once they finish (--max-tasks).", self.tally.claimed
            )
            self._claiming = False

    def _claim_limit(self) -> int:
        active = sum(1 for claim in self._held.values() if claim.state != DONE)
        target = self.options.concurrency + self._prefetch()
        free = target - active
        if self.options.max_tasks is not None:
            free = min(free, self.options.max_tasks - self.tally.claimed)
        if free <= 0:
            return 0
        if self._claim_now or time.monotonic() >= self._next_poll:
            return free
        if self._more and free >= max(1, target // 2):
            return free
        return 0

    def _prefetch(self) -> int:
        if self._pace is None:
            return 0
        per_second = self.options.concurrency / max(self._pace, 1e-6)
        return min(MAX_PREFETCH, int(per_second * PREFETCH_WINDOW))

    def _accept(self, row: ClaimedRow, lease_until: float) -> None:
        try:
            result = result_from_claim(row, self.backend.alias)
        except InvalidTaskError as e:  # Also InvalidTaskArgumentsError.
            self._reject(row, e)
            return
        claim = Claim(row.id, row.attempts, row.queue_name, result, lease_until)
        self._held[row.id] = claim
        self._ready.put(claim)

    def _reject(self, row: ClaimedRow, error: InvalidTaskError) -> None:
        """Fail a row that cannot run (unknown task, bad arguments) without running anything."""
        self.tally.rejected += 1
        logger.error(
            "Task rejected id=%s path=%s queue=%s error=%s",
            row.id,
            row.task_path[:200],
            row.queue_name,
            error,
        )
        now = timezone.now()
        finish = Finish(
            id=row.id,
            attempts=row.attempts,
            status=ResultStatus.FAILED.value,
            started_at=now,
            finished_at=now,
            return_value=None,
            exception_class_path=class_path(type(error)),
            traceback=format_exception(error),
        )
        self._finishes.append(PendingFinish(None, finish))

    # Recording outcomes.

    def _flush(self) -> None:
        """Write the outcomes that finished tasks are waiting on; wake their threads."""
        if not self._finishes:
            return
        isolate = self._finishes[0].failures > 0
        count = 1 if isolate else min(len(self._finishes), MAX_FINISH_BATCH)
        batch = [self._finishes.popleft() for _ in range(count)]
        try:
            stored = self._db(
                lambda cursor: self._queries().finish(
                    cursor,
                    worker_id=self.options.worker_id,
                    finishes=[pending.finish for pending in batch],
                )
            )
        except DatabaseError as e:
            self._finishes.extendleft(reversed(batch))
            self._unstored(batch, e)
            raise
        for pending in batch:
            self._settle(pending, pending.finish.id in stored)

    def _unstored(self, batch: list[PendingFinish], error: DatabaseError) -> None:
        """Count a failed write against its outcomes if the database is otherwise reachable
        (the outcome itself is the problem), and replace or give up on the stubborn ones."""
        if not self._database_reachable():
            return
        for pending in batch:
            pending.failures += 1
            if pending.failures == STORE_ATTEMPTS:
                pending.finish = _storage_failure(pending.finish, error)
            elif pending.failures >= 2 * STORE_ATTEMPTS:
                self._finishes.remove(pending)
                logger.error(
                    "Outcome not stored id=%s error=%s; the task will be retaken when its "
                    "lease expires.",
                    pending.finish.id,
                    error,
                )
                self._settle(pending, False)

    def _settle(self, pending: PendingFinish, stored: bool) -> None:
        pending.stored = stored
        claim = pending.claim
        if claim is not None:
            self._held.pop(claim.row_id, None)
            if not stored:
                self.tally.lost += 1
            elif pending.finish.status == ResultStatus.SUCCEEDED:
                self.tally.succeeded += 1
            else:
                self.tally.failed += 1
        pending.done.set()

    def _record(self, claim: Claim, result: TaskResult[Any], outcome: Outcome) -> bool:
        """run_task's record step, in an executor thread: hand the outcome to the main thread
        and wait until it is written. Frees the slot first, so the next task can start."""
        self._observe(time.perf_counter() - claim.started)
        claim.state = DONE
        self._release_slot(claim)
        returned = outcome.status == ResultStatus.SUCCEEDED
        finish = Finish(
            id=claim.row_id,
            attempts=claim.attempts,
            status=outcome.status.value,
            started_at=result.started_at or outcome.finished_at,
            finished_at=outcome.finished_at,
            return_value=json.dumps(outcome.return_value) if returned else None,
            exception_class_path=class_path(type(outcome.exception)) if outcome.exception else "",
            traceback=outcome.traceback or "",
        )
        pending = PendingFinish(claim, finish)
        self._finishes.append(pending)
        self._wake()
        pending.done.wait()
        if not pending.stored:
            logger.warning(
                "Task lost its lease id=%s path=%s attempt=%s; its outcome was not stored "
                "(another worker has taken the task over).",
                claim.row_id,
                result.task.module_path,
                claim.attempts,
            )
        return pending.stored

    def _observe(self, seconds: float) -> None:
        self._pace = seconds if self._pace is None else 0.8 * self._pace + 0.2 * seconds

    # Leases.

    def _keep_leases(self) -> None:
        """Every HEARTBEAT_SECONDS: renew this worker's leases, and take back the tasks of
        workers whose leases have expired."""
        now = time.monotonic()
        if now < self._next_heartbeat:
            return
        options = self.backend.options
        if self._held:
            ids = list(self._held)
            owned = self._db(
                lambda cursor: self._queries().renew(
                    cursor,
                    worker_id=self.options.worker_id,
                    ids=ids,
                    lease_seconds=options.LEASE_SECONDS,
                )
            )
            self._renewed(ids, owned, now + options.LEASE_SECONDS)
        failed, requeued = self._db(self._reap)
        if failed or requeued:
            logger.warning(
                "Took back tasks whose worker stopped renewing its lease: %s requeued, "
                "%s failed after %s attempts.",
                requeued,
                failed,
                options.MAX_ATTEMPTS,
            )
        self._next_heartbeat = now + options.HEARTBEAT_SECONDS

    def _renewed(self, ids: list[str], owned: set[str], lease_until: float) -> None:
        for row_id in ids:
            claim = self._held.get(row_id)
            if claim is None:
                continue
            if row_id in owned:
                claim.lease_until = lease_until
            elif claim.state == READY:
                claim.cancelled = True

    def _reap(self, cursor: Any) -> tuple[int, int]:
        options = self.backend.options
        error = LeaseExpiredError(
            f"The task's lease expired on its last attempt ({options.MAX_ATTEMPTS} of "
            f"MAX_ATTEMPTS {options.MAX_ATTEMPTS}): its worker stopped renewing it (killed, "
            f"frozen, or cut off from the database), so it is not retaken."
        )
        return self._queries().reap(
            cursor,
            backend=self.backend.alias,
            max_attempts=options.MAX_ATTEMPTS,
            lost_class_path=class_path(LeaseExpiredError),
            lost_traceback=f"{class_path(LeaseExpiredError)}: {error}\n",
        )

    def _release_dropped(self) -> None:
        """Give back claims that executors skipped because their lease was lost."""
        dropped = []
        while self._dropped:
            claim = self._dropped.popleft()
            self._held.pop(claim.row_id, None)
            dropped.append(claim.row_id)
        if dropped:
            self._release(dropped, started=False)

    def _release(self, ids: list[str], *, started: bool) -> None:
        self.tally.handed_back += self._db(
            lambda cursor: self._queries().release(
                cursor, worker_id=self.options.worker_id, ids=ids, started=started
            )
        )

    # Stopping.

    def _begin_stop(self) -> None:
        self._stopping = True
        self._claiming = False
        unstarted = self._take_ready()
        if unstarted:
            try:
                self._release(unstarted, started=False)
            except DatabaseError as e:
                self._database_error(e)

    def _take_ready(self) -> list[str]:
        """Take the claims no executor has started out of the queue and out of ``_held``."""
        taken = []
        while True:
            try:
                claim = self._ready.get_nowait()
            except queue.Empty:
                break
            if claim is not None:
                self._held.pop(claim.row_id, None)
                taken.append(claim.row_id)
        return taken

    def _stop_now(self) -> int:
        self._stopping = True
        self._claiming = False
        self._take_ready()
        logger.warning("Stopping at once: handing %s task(s) back to the queue.", len(self._held))
        try:
            self._flush_all()
            running = [c.row_id for c in self._held.values() if c.state != DONE]
            if running:
                self._release(running, started=True)
        except DatabaseError as e:
            logger.error(
                "Could not hand tasks back (%s); they are retaken when their leases expire.", e
            )
        return 1

    def _flush_all(self) -> None:
        while self._finishes:
            self._flush()

    # Executor threads.

    def _start_threads(self) -> None:
        for number in range(self.options.concurrency + RECORD_THREADS):
            thread = threading.Thread(target=self._execute, name=f"db_worker-{number}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def _stop_threads(self) -> None:
        """Let executors finish what they are doing (a finished task's task_finished
        receivers), unless stopping at once: executors are daemon threads."""
        for _ in self._threads:
            self._ready.put(None)
        if self._signals < 2:
            for thread in self._threads:
                thread.join()

    def _execute(self) -> None:
        try:
            while True:
                self._slots.acquire()
                claim = self._ready.get()
                if claim is None:
                    self._slots.release()
                    return
                claim.slot_held = True
                if claim.cancelled or time.monotonic() >= claim.lease_until:
                    self._release_slot(claim)
                    self._dropped.append(claim)
                    self._wake()
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
            self._release_slot(claim)
            close_old_connections()

    def _release_slot(self, claim: Claim) -> None:
        if claim.slot_held:
            claim.slot_held = False
            self._slots.release()

    def _running_count(self) -> int:
        return sum(1 for claim in self._held.values() if claim.state == RUNNING)

    # Waiting, waking and the database connection.

    def _wait(self) -> None:
        """Sleep until there is something to do: an outcome to write, a signal, a
        notification, the next poll or heartbeat, or the end of a backoff."""
        now = time.monotonic()
        if self._retry_at > now:
            self._selector.select(self._retry_at - now)
            return
        if self._finishes or self._dropped or (self._signals and not self._stopping):
            return
        deadline = self._next_heartbeat
        if self._claiming:
            if self._claim_limit() > 0:
                return
            deadline = min(deadline, self._next_poll)
        self._listen()
        if self._notified():
            return
        self._selector.select(max(0.0, deadline - now))
        self._notified()

    def _wake(self) -> None:
        # A full pipe means the main thread has wake-ups to read already.
        with contextlib.suppress(BlockingIOError):
            os.write(self._wake_write, b"\0")

    def _drain_wakeups(self) -> None:
        try:
            while os.read(self._wake_read, 512):
                pass
        except BlockingIOError:
            pass

    def _queries(self) -> Queries:
        return queries_for(self.alias)

    def _db(self, operation: Callable[[Any], R]) -> R:
        with connections[self.alias].cursor() as cursor:
            return operation(cursor)

    def _database_error(self, error: DatabaseError) -> None:
        self._backoff = min(MAX_BACKOFF, max(0.1, self._backoff * 2))
        self._retry_at = time.monotonic() + self._backoff
        logger.warning(
            "Database error on %r (%s: %s); retrying in %.1f s.",
            self.alias,
            type(error).__name__,
            str(error).strip(),
            self._backoff,
        )
        self._close_connection()

    def _close_connection(self) -> None:
        connection = connections[self.alias]
        try:
            connection.close()
        except DatabaseError:
            connection.connection = None
        self._unlisten()

    def _database_reachable(self) -> bool:
        try:
            self._db(lambda cursor: cursor.execute("SELECT 1"))
        except DatabaseError:
            return False
        return True

    # LISTEN/NOTIFY (PostgreSQL).

    def _listen(self) -> None:
        """LISTEN on the worker's connection, again after each reconnection."""
        connection = connections[self.alias]
        if connection.vendor != "postgresql" or not self.backend.options.NOTIFY:
            return
        raw = connection.connection
        if raw is self._listening and raw is not None:
            return
        self._unlisten()
        try:
            self._db(lambda cursor: cursor.execute(f'LISTEN "{NOTIFY_CHANNEL}"'))
        except DatabaseError as e:
            self._database_error(e)
            return
        raw = connection.connection
        if not hasattr(raw, "notifies"):  # psycopg2: poll instead.
            return
        self._listening = raw
        self._selector.register(raw.fileno(), selectors.EVENT_READ)
        logger.debug("Listening for new tasks on channel %r.", NOTIFY_CHANNEL)

    def _unlisten(self) -> None:
        if self._listening is not None:
            for key in list(self._selector.get_map().values()):
                if key.fd != self._wake_read:
                    self._selector.unregister(key.fd)
            self._listening = None

    def _notified(self) -> bool:
        """Read pending notifications; True if one is about a queue of this worker."""
        raw = self._listening
        if raw is None or raw is not connections[self.alias].connection:
            return False
        try:
            with connections[self.alias].wrap_database_errors:
                payloads = [notify.payload for notify in raw.notifies(timeout=0)]
        except DatabaseError as e:
            self._database_error(e)
            return False
        queues = self.options.queues
        if any(queues is None or payload in queues for payload in payloads):
            self._claim_now = True
            self._poll_delay = POLL_START
            return True
        return False

    # Signals and the summary.

    def _install_signal_handlers(self) -> Callable[[], None]:
        if threading.current_thread() is not threading.main_thread():
            return lambda: None  # Under --reload the reloader owns the signals.
        previous = {
            number: signal.signal(number, self._on_signal)
            for number in (signal.SIGTERM, signal.SIGINT)
        }
        previous_fd = signal.set_wakeup_fd(self._wake_write, warn_on_full_buffer=False)

        def restore() -> None:
            signal.set_wakeup_fd(previous_fd)
            for number, handler in previous.items():
                signal.signal(number, handler)

        return restore

    def _on_signal(self, number: int, frame: object) -> None:
        self._signals += 1

    def _log_summary(self, status: int) -> None:
        tally = self.tally
        logger.info(
            "Worker stopped id=%s status=%s uptime=%.1fs claimed=%s succeeded=%s failed=%s "
            "rejected=%s lost=%s handed_back=%s",
            self.options.worker_id,
            status,
            time.monotonic() - self._started,
            tally.claimed,
            tally.succeeded,
            tally.failed,
            tally.rejected,
            tally.lost,
            tally.handed_back,
        )


def configure_logging(verbosity: int) -> None:
    """Show the worker's log lines on stderr, unless the project has configured logging for
    ``django_tasks`` (or the root logger): verbosity 0 shows warnings and errors, 1 also a
    line per finished task, 2 and 3 also a line per started task."""
    tasks_logger = logging.getLogger("django_tasks")
    if tasks_logger.hasHandlers():
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    tasks_logger.addHandler(handler)
    levels = {0: logging.WARNING, 1: logging.INFO}
    tasks_logger.setLevel(levels.get(verbosity, logging.DEBUG))


def _claim_order(row: ClaimedRow) -> tuple[int, Any, str]:
    return (-row.priority, row.run_after or row.enqueued_at, row.id)


def _storage_failure(finish: Finish, error: DatabaseError) -> Finish:
    """A FAILED outcome saying why the real one could not be stored."""
    message = (
        f"The task finished ({finish.status}), but its outcome could not be stored: "
        f"{type(error).__name__}: {str(error).strip()[:500]}"
    )
    return Finish(
        id=finish.id,
        attempts=finish.attempts,
        status=ResultStatus.FAILED.value,
        started_at=finish.started_at,
        finished_at=finish.finished_at,
        return_value=None,
        exception_class_path=class_path(type(error)),
        traceback=f"{class_path(type(error))}: {message}\n",
    )
