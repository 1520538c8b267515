"""The worker behind ``manage.py db_worker``: claim tasks, run them, record how they ended.

Threads. The main thread owns the worker's database connection and does all its bookkeeping:
it claims tasks, writes their outcomes, renews their leases, takes back the tasks of dead
workers and reacts to signals. Task functions run in executor threads (executor.py), at most
``concurrency`` at once; a finished task hands its outcome to the main thread, which writes
the outcomes that arrived together in one statement (recording.py).

Claims. The main thread claims tasks in batches sized and timed by pacing.py. Each claimed
task is leased to this worker for OPTIONS["LEASE_SECONDS"], renewed every
OPTIONS["HEARTBEAT_SECONDS"]; a worker that stops renewing (killed, frozen, cut off from the
database) loses its tasks to the next worker that looks for expired leases, which every worker
does at each heartbeat.

Waiting. On PostgreSQL an idle worker LISTENs and wakes when a task is enqueued on one of its
queues (waking.py), and polls for tasks whose run_after has come. Elsewhere it polls, backing
off to ``interval`` while the queue stays empty.

Stopping. SIGTERM, SIGINT, SIGHUP or SIGQUIT: claim nothing more, hand back claimed tasks that
have not started, finish the running ones, exit 0. A second signal: hand back the running ones
too (they start again elsewhere; their attempt counts) and exit 1 at once. Signal handlers only
count; a Stopper thread (stopping.py) ends the process if the database keeps this thread from
acting on a second signal for STOP_NOW_SECONDS.

Database errors. An error of the worker's own statements (the database restarts, the
connection is killed) closes the connection; the worker retries after a backoff of up to
MAX_BACKOFF seconds, stays responsive to signals, and keeps finished outcomes until it can
write them. Its own connection is bounded (Queries.connection_bounds), so a network path that
stops answering, without a reset, fails its statements within about DEAD_PATH_SECONDS too."""

import logging
import random
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import DatabaseError, connections

from django_tasks.backends.database.backend import DatabaseBackend
from django_tasks.backends.database.exceptions import LeaseExpiredError
from django_tasks.backends.database.executor import DONE, READY, RUNNING, Claim, Executor
from django_tasks.backends.database.pacing import Pacing
from django_tasks.backends.database.queries import (
    ClaimedRow,
    Queries,
    connection_bounds,
    queries_for,
)
from django_tasks.backends.database.recording import (
    Outbox,
    PendingFinish,
    outcome_finish,
    rejection_finish,
)
from django_tasks.backends.database.rows import result_from_claim
from django_tasks.backends.database.stopping import STOP_NOW_SECONDS, Stopper
from django_tasks.backends.database.waking import Alarm
from django_tasks.exceptions import InvalidTaskError
from django_tasks.execution import Outcome
from django_tasks.task import ResultStatus
from django_tasks.utils import class_path

logger = logging.getLogger("django_tasks.worker")

R = TypeVar("R")

MAX_BACKOFF = 5.0
"""The longest wait between attempts to reach the database."""

STOP_SIGNALS = tuple(
    getattr(signal, name)
    for name in ("SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT")
    if hasattr(signal, name)
)
"""The signals that stop the worker (see the module docstring). SIGHUP too: a terminal that
closes sends it, and a worker has no configuration to reload; a supervisor that restarts it
after it exits turns the stop into a reload. SIGQUIT too, as the reference's worker takes it
(Ctrl-\\ in a terminal; some process managers stop with it)."""


class QueueTableMissing(Exception):  # noqa: N818  # Says what is wrong, like DoesNotExist.
    """The queue table does not exist: the migrations have not been applied."""


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkerOptions:
    """What ``db_worker``'s command line sets."""

    queues: Sequence[str] | None = ("default",)
    """The queues to take tasks from; None for every queue."""
    exclude_queues: Sequence[str] = ()
    """Queues not to take tasks from (with ``queues`` None: every queue but these)."""
    startup_delay: float = 0.0
    """The longest random wait before the first claim, which spreads the first polls of many
    workers started together (db_worker's default: up to a second; 0 for none)."""
    interval: float = 1.0
    batch: bool = False
    max_tasks: int | None = None
    worker_id: str
    concurrency: int = 1


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
        self.alias = backend.database
        self._json_columns = backend.json_columns
        self.tally = Tally()
        self._held: dict[str, Claim] = {}
        self._outbox = Outbox(self._settle)
        self._dropped: deque[Claim] = deque()
        self._alarm = Alarm()
        self._stopper = Stopper(self._alarm.wake, self._give_up)
        self._executor = Executor(options.concurrency, type(backend), self._store, self._drop)
        self._signals = 0
        self._stopping = False
        self._claiming = True
        self._pacing = Pacing(
            concurrency=options.concurrency, interval=options.interval, max_tasks=options.max_tasks
        )
        self._next_heartbeat = 0.0
        self._backoff = 0.0
        self._retry_at = 0.0
        self._started = time.monotonic()
        # The startup delay: no claim before this (random: it spreads workers started together).
        self._claim_from = self._started + random.uniform(0.0, options.startup_delay)

    def run(self) -> int:
        """Work until stopped; return the exit status (0, or 1 after a forced stop)."""
        bound_connection(self.alias)
        restore = self._install_signal_handlers()
        self._executor.start()
        logger.info(
            "Worker started id=%s backend=%s queues=%s concurrency=%s",
            self.options.worker_id,
            self.backend.alias,
            "*" if self.options.queues is None else ",".join(self.options.queues),
            self.options.concurrency,
        )
        status = None
        try:
            status = self._loop()
        finally:
            restore()
            self._stopper.close()
            # After a forced stop (1) or a crash (None), executors may wait on this thread.
            self._executor.stop(wait=status == 0)
            self._alarm.close()
        self._log_summary(status)
        return status

    def stop(self) -> None:
        """Ask the worker to stop as SIGTERM does; a second call stops it at once."""
        self._signals += 1
        self._stopper.request()
        self._alarm.wake()

    def _loop(self) -> int:
        self._wait_for_table()
        while True:
            if self._signals >= 2:
                return self._stop_now()
            if self._signals == 1 and not self._stopping:
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
        self._listen()  # Before claiming: a task enqueued after the claim wakes the worker.
        self._release_dropped()
        self._flush()
        self._keep_leases()
        if self._claiming and time.monotonic() >= self._claim_from:
            self._fill()

    def _finished(self) -> bool:
        if self._held or self._outbox or self._dropped:
            return False
        if self._stopping or not self._claiming:
            return True
        now = time.monotonic()
        if (
            self.options.batch
            and not self._pacing.more
            and now >= max(self._retry_at, self._claim_from)
        ):
            logger.info("No task is ready; exiting (--batch).")
            return True
        return False

    def _wait_for_table(self) -> None:
        """Check that the queue table exists, waiting (responsive to signals) for the
        database to be reachable; raise QueueTableMissing if it is not there."""
        # Imported here: models cannot be imported while Django loads the apps.
        from django_tasks.backends.database.models import DBTaskResult

        table = DBTaskResult._meta.db_table
        while self._signals == 0:
            try:
                tables = self._db(connections[self.alias].introspection.table_names)
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
                exclude=self.options.exclude_queues,
                limit=limit,
                lease_seconds=self.backend.options.LEASE_SECONDS,
            )
        )
        self.tally.claimed += len(rows)
        self._pacing.claimed(len(rows), limit, listening=self._alarm.listening)
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
        return self._pacing.limit(
            active=active, claimed=self.tally.claimed, pace=self._executor.pace
        )

    def _accept(self, row: ClaimedRow, lease_until: float) -> None:
        try:
            result = result_from_claim(row, self.backend.alias)
        except InvalidTaskError as e:  # Also InvalidTaskArgumentsError.
            self._reject(row, e)
            return
        except Exception as e:  # A row no check foresaw must not stop the worker.
            logger.exception("Unexpected error reading the row of task id=%s.", row.id)
            self._reject(row, e)
            return
        claim = Claim(row.id, row.attempts, result, lease_until)
        self._held[row.id] = claim
        self._executor.submit(claim)

    def _reject(self, row: ClaimedRow, error: Exception) -> None:
        """Fail a row that cannot run (unknown task, bad arguments) without running anything."""
        self.tally.rejected += 1
        logger.error(
            "Task rejected id=%s path=%s queue=%s error=%s",
            row.id,
            row.task_path[:200],
            row.queue_name,
            error,
            exc_info=error,
        )
        self._outbox.put(rejection_finish(row, error))

    # Recording outcomes.

    def _store(self, claim: Claim, outcome: Outcome) -> None:
        """The executor's Store, in a runner thread: hand the outcome to the main thread,
        which writes it (see _flush) and tells the executor (see _settle)."""
        self._outbox.put(outcome_finish(claim, outcome, self._json_columns))
        self._alarm.wake()

    def _flush(self) -> None:
        """Write outcomes that wait to be written (see recording.Outbox)."""
        self._outbox.flush(
            lambda finishes: self._db(
                lambda cursor: self._queries().finish(
                    cursor, worker_id=self.options.worker_id, finishes=finishes
                )
            ),
            self._database_reachable,
        )

    def _settle(self, pending: PendingFinish, stored: bool) -> None:
        claim = pending.claim
        if claim is None:
            return
        self._held.pop(claim.row_id, None)
        if not stored:
            self.tally.lost += 1
        elif pending.finish.status == ResultStatus.SUCCEEDED:
            self.tally.succeeded += 1
        else:
            self.tally.failed += 1
        path = claim.result.task.module_path
        if pending.replaced:
            logger.error(
                "Task outcome not stored id=%s path=%s: %s; stored as FAILED instead.",
                claim.row_id,
                path,
                pending.replaced,
            )
        elif not stored:
            logger.warning(
                "Task lost its lease id=%s path=%s attempt=%s; its outcome was not stored "
                "(another worker has taken the task over).",
                claim.row_id,
                path,
                claim.attempts,
            )
        succeeded = stored and not pending.replaced
        self._executor.stored(claim, pending.outcome if succeeded else None)

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

    def _drop(self, claim: Claim) -> None:
        """The executor's callback for a claim it did not start: its lease was lost."""
        self._dropped.append(claim)
        self._alarm.wake()

    def _release_dropped(self) -> None:
        """Give back the claims that executors skipped, if they are still this worker's."""
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
        running = sum(1 for claim in self._held.values() if claim.state == RUNNING)
        logger.info("Stopping: finishing %s running task(s).", running)
        self._stopping = True
        self._claiming = False
        unstarted = self._take_unstarted()
        if unstarted:
            try:
                self._release(unstarted, started=False)
            except DatabaseError as e:
                self._database_error(e)

    def _take_unstarted(self) -> list[str]:
        unstarted = [claim.row_id for claim in self._executor.take_unstarted()]
        for row_id in unstarted:
            self._held.pop(row_id, None)
        return unstarted

    def _stop_now(self) -> int:
        self._stopping = True
        self._claiming = False
        self._take_unstarted()
        logger.warning("Stopping at once: handing %s task(s) back to the queue.", len(self._held))
        try:
            while self._outbox:
                self._flush()
            running = [claim.row_id for claim in self._held.values() if claim.state != DONE]
            if running:
                self._release(running, started=True)
        except DatabaseError as e:
            logger.error(
                "Could not hand tasks back (%s); they are retaken when their leases expire.", e
            )
        return 1

    # Waiting and the database connection.

    def _wait(self) -> None:
        """Sleep until there is something to do: an outcome to write, a signal, a
        notification, the next poll or heartbeat, or the end of a backoff."""
        now = time.monotonic()
        if self._retry_at > now:
            self._alarm.sleep(self._retry_at - now)
            return
        if self._outbox or self._dropped or (self._signals and not self._stopping):
            return
        deadline = self._next_heartbeat
        if self._claiming:
            if now < self._claim_from:  # The startup delay.
                deadline = min(deadline, self._claim_from)
            elif self._claim_limit() > 0:
                return
            else:
                deadline = min(deadline, self._pacing.next_poll)
        try:
            if self._notified():
                return
            self._alarm.sleep(deadline - now)
            self._notified()
        except DatabaseError as e:
            self._database_error(e)

    def _listen(self) -> None:
        connection = connections[self.alias]
        if connection.vendor == "postgresql" and self.backend.options.NOTIFY:
            self._alarm.listen(connection)

    def _notified(self) -> bool:
        if self._alarm.notified(
            connections[self.alias], self.options.queues, self.options.exclude_queues
        ):
            self._pacing.notified()
            return True
        return False

    def _queries(self) -> Queries:
        return queries_for(self.alias)

    def _db(self, operation: Callable[[Any], R]) -> R:
        with self._queries().cursor() as cursor:
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
        connection = connections[self.alias]
        try:
            connection.close()
        except DatabaseError:
            connection.connection = None
        self._alarm.unlisten()

    def _database_reachable(self) -> bool:
        try:
            self._db(lambda cursor: cursor.execute("SELECT 1"))
        except DatabaseError:
            return False
        return True

    # Signals and the summary.

    def _install_signal_handlers(self) -> Callable[[], None]:
        if threading.current_thread() is not threading.main_thread():
            return lambda: None  # Under --reload the reloader owns the signals.
        previous = {number: signal.signal(number, self._on_signal) for number in STOP_SIGNALS}
        previous_fd = signal.set_wakeup_fd(self._stopper.wakeup_fd, warn_on_full_buffer=False)
        self._stopper.start()

        def restore() -> None:
            signal.set_wakeup_fd(previous_fd)
            for number, handler in previous.items():
                signal.signal(number, handler)

        return restore

    def _on_signal(self, number: int, frame: object) -> None:
        self._signals += 1

    def _give_up(self) -> None:
        """The Stopper's last call, from its thread: a second signal came, and the database
        has not let this thread hand the tasks back and exit within STOP_NOW_SECONDS."""
        logger.error(
            "Stopping at once: the database did not answer within %s s; exiting without "
            "handing back %s task(s), which are retaken when their leases expire.",
            STOP_NOW_SECONDS,
            len(self._held),
        )
        self._log_summary(1)

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
