"""The worker's loop, in its main thread: claim tasks, hand them to the executor threads, write
how they ended, keep the leases, wait, and stop when told to. The package docstring
(``__init__.py``) describes the whole; each step's details are in the module it names.
"""

import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.db import DatabaseError

from django_tasks.backends.database.backend import DatabaseBackend
from django_tasks.backends.database.models import DBTaskResult, DBWorker
from django_tasks.backends.database.presence import Presence
from django_tasks.backends.database.queries import ClaimedRow
from django_tasks.backends.database.rows import result_from_claim
from django_tasks.backends.database.scheduler import Scheduler, discover_schedules
from django_tasks.backends.database.worker.claims import Claim, ClaimState, claim
from django_tasks.backends.database.worker.connection import Connection, bound_connection
from django_tasks.backends.database.worker.leases import Leases
from django_tasks.backends.database.worker.outbox import (
    Outbox,
    PendingFinish,
    lost_attempt,
    outcome_finish,
    rejection_finish,
)
from django_tasks.backends.database.worker.pacing import Pacing
from django_tasks.backends.database.worker.processes import PoolOptions, ProcessPool
from django_tasks.backends.database.worker.reporting import Tally, log_summary
from django_tasks.backends.database.worker.stopping import (
    STOP_NOW_SECONDS,
    Stopper,
    install_signal_handlers,
)
from django_tasks.backends.database.worker.threads import Executor
from django_tasks.backends.database.worker.waking import Alarm
from django_tasks.cancellation import forget as forget_stop
from django_tasks.exceptions import InvalidTaskError
from django_tasks.execution import Outcome
from django_tasks.task import ResultStatus

logger = logging.getLogger("django_tasks.worker")


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
    metrics_port: int | None = None
    """Serve this worker's Prometheus counters on this port (metrics.WorkerMetrics)."""

    pool: str = "thread"
    """Where tasks run: "thread" (threads.py) or "process" (processes.py)."""
    max_tasks_per_child: int | None = None
    """With the process pool: replace a child process after this many tasks."""
    verbosity: int | None = None
    """The verbosity configure_logging() was given (None: the project configures logging)."""


class Worker:
    """Runs the tasks of one DatabaseBackend until told to stop. See the package docstring."""

    def __init__(self, backend: DatabaseBackend, options: WorkerOptions) -> None:
        backend.retry_defaults  # noqa: B018  # Raises now, not per task, if RETRY_ON is wrong.
        self.backend = backend
        self.options = options
        self.alias = backend.database
        self._json_columns = backend.json_columns
        self.tally = Tally()
        self._connection = Connection(self.alias)
        self._leases = Leases(
            self._connection,
            backend=backend.alias,
            options=backend.options,
            worker_id=options.worker_id,
            lost_attempt=partial(lost_attempt, backend),
        )
        self._outbox = Outbox(self._outcome_written)
        self._alarm = Alarm()
        self._stopper = Stopper(self._alarm.wake, self._give_up)
        self._executor = self._make_executor()
        self._signals = 0
        self._stopping = False
        self._claiming = True
        self._pacing = Pacing(
            concurrency=options.concurrency, interval=options.interval, max_tasks=options.max_tasks
        )
        self._started = time.monotonic()
        # The startup delay: no claim before this (random: it spreads workers started together).
        self._claim_from = self._started + random.uniform(0.0, options.startup_delay)
        self._presence = Presence(
            database=self.alias,
            worker_id=options.worker_id,
            backend=backend.alias,
            queues=options.queues,
            excluded_queues=options.exclude_queues,
            concurrency=options.concurrency,
        )
        self._metrics: Any = None
        """A metrics.WorkerMetrics with --metrics-port (prometheus_client is optional)."""
        self._scheduler = Scheduler(backend, discover_schedules(backend))

    def _make_executor(self) -> Executor:
        args = (self.options.concurrency, type(self.backend), self._store, self._drop)
        timeout = self.backend.options.TIMEOUT
        if self.options.pool == "thread":
            return Executor(*args, timeout=timeout)
        pool = PoolOptions(
            backend_alias=self.backend.alias,
            max_tasks_per_child=self.options.max_tasks_per_child,
            max_attempts=self.backend.options.MAX_ATTEMPTS,
            verbosity=self.options.verbosity,
        )
        return ProcessPool(*args, timeout=timeout, options=pool)

    def run(self) -> int:
        """Work until stopped; return the exit status (0, or 1 after a forced stop)."""
        bound_connection(self.alias)
        if self.options.metrics_port is not None:
            # Imported here: prometheus_client is an optional dependency (the "prometheus" extra).
            from django_tasks.backends.database.metrics import WorkerMetrics

            self._metrics = WorkerMetrics(self.options.metrics_port)
        restore = install_signal_handlers(self._on_signal, self._stopper)
        self._executor.start()
        logger.info(
            "Worker started id=%s backend=%s queues=%s concurrency=%s pool=%s",
            self.options.worker_id,
            self.backend.alias,
            "*" if self.options.queues is None else ",".join(self.options.queues),
            self.options.concurrency,
            self.options.pool,
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
            self._leave()
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
            if self._connection.ready():
                try:
                    self._step()
                    self._connection.succeeded()
                except DatabaseError as e:
                    self._database_error(e)
            if self._finished():
                return 0
            self._wait()

    def _step(self) -> None:
        self._listen()  # Before claiming: a task enqueued after the claim wakes the worker.
        unstarted, started = self._leases.release_dropped()
        self.tally.handed_back += unstarted + started
        if started:
            self._pacing.notified()  # Tasks are back in the queue: look again (--batch too).
        self._flush()
        if time.monotonic() >= self._leases.next_heartbeat:
            self._presence.beat()  # The worker's own heartbeat row (presence.py).
        self._leases.keep()
        if self._claiming and time.monotonic() >= self._claim_from:
            self._scheduler.step()  # Periodic tasks: enqueues the ticks that have come.
            self._claim()

    def _finished(self) -> bool:
        if len(self._leases) or self._outbox or self._leases.has_dropped:
            return False
        if self._stopping or not self._claiming:
            return True
        if (
            self.options.batch
            and not self._pacing.more
            and self._connection.ready()
            and time.monotonic() >= self._claim_from
        ):
            logger.info("No task is ready; exiting (--batch).")
            return True
        return False

    def _wait_for_table(self) -> None:
        """Check that the queue table exists, waiting (responsive to signals) for the
        database to be reachable; raise QueueTableMissing if it is not there."""
        while self._signals == 0:
            try:
                tables = self._connection.run(self._connection.wrapper.introspection.table_names)
            except DatabaseError as e:
                self._database_error(e)
                self._wait()
                continue
            for table in (DBTaskResult._meta.db_table, DBWorker._meta.db_table):
                if table not in tables:
                    raise QueueTableMissing(
                        f"The task table {table!r} does not exist in database {self.alias!r}; "
                        f"run 'manage.py migrate --database {self.alias}'."
                    )
            return

    # Claiming: the one step that takes tasks from the queue.

    def _claim(self) -> None:
        """Claim as many tasks as pacing allows, and hand them to the executor."""
        limit = self._claim_limit()
        if limit <= 0:
            return
        sent = time.monotonic()
        rows = self._connection.run(
            lambda cursor: claim(
                self._connection.queries,
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
        for row in rows:
            self._accept(row, lease_until)
        if self.options.max_tasks is not None and self.tally.claimed >= self.options.max_tasks:
            logger.info(
                "Claimed %s task(s); exiting once they finish (--max-tasks).", self.tally.claimed
            )
            self._claiming = False

    def _claim_limit(self) -> int:
        active = self._leases.count(ClaimState.UNSTARTED, ClaimState.STARTED)
        active += self._executor.overrunning  # Threads still running a task that timed out.
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
        claimed = Claim(row.id, row.attempts, result, lease_until, row=row)
        self._leases.hold(claimed)
        self._executor.submit(claimed)

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

    # Recording outcomes: an attempt's outcome goes into the outbox (_store), is written
    # (_flush), and is then recorded (_outcome_written).

    def _store(self, claimed: Claim, outcome: Outcome) -> None:
        """The executor's Store, in a runner thread: hand the outcome to the main thread,
        which writes it (see _flush) and tells the executor (see _outcome_written)."""
        policy = self.backend.retry_policy(claimed.result.task)
        self._outbox.put(outcome_finish(claimed, outcome, self._json_columns, policy))
        self._alarm.wake()

    def _flush(self) -> None:
        """Write outcomes that wait to be written (see outbox.Outbox)."""
        self._outbox.flush(
            lambda finishes: self._connection.run(
                lambda cursor: self._connection.queries.finish(
                    cursor, worker_id=self.options.worker_id, finishes=finishes
                )
            ),
            self._connection.reachable,
        )

    def _outcome_written(self, pending: PendingFinish, stored: bool) -> None:
        """An attempt's outcome was written (``stored``), or was not and never will be: count
        it, log what went wrong, and let the executor send task_finished."""
        claimed = pending.claim
        if claimed is None:
            return
        self._leases.let_go(claimed.row_id)
        forget_stop(claimed.row_id)
        if not stored:
            self.tally.lost += 1
        elif pending.finish.status == ResultStatus.SUCCEEDED:
            self.tally.succeeded += 1
        elif pending.finish.status == ResultStatus.NEW:
            self.tally.retried += 1
            self._pacing.requeued(pending.finish.retry_in)
        else:
            self.tally.failed += 1
        path = claimed.result.task.module_path
        if pending.replaced:
            logger.error(
                "Task outcome not stored id=%s path=%s: %s; stored as FAILED instead.",
                claimed.row_id,
                path,
                pending.replaced,
            )
        elif not stored:
            logger.warning(
                "Task lost its lease id=%s path=%s attempt=%s; its outcome was not stored "
                "(another worker has taken the task over).",
                claimed.row_id,
                path,
                claimed.attempts,
            )
        succeeded = stored and not pending.replaced
        if self._metrics is not None and stored:
            finish = pending.finish
            self._metrics.finished(
                backend=self.backend.alias,
                queue=claimed.result.task.queue_name,
                task=path,
                status=finish.status,
                run_seconds=(finish.finished_at - finish.started_at).total_seconds(),
            )
        self._executor.stored(claimed, pending.outcome if succeeded else None)

    def _leave(self) -> None:
        """Delete this worker's heartbeat row, and stop serving its metrics."""
        if self._metrics is not None:
            self._metrics.close()
        try:
            self._presence.leave()
        except DatabaseError as e:
            logger.warning("Could not delete this worker's heartbeat row (%s); it expires.", e)

    def _drop(self, claimed: Claim) -> None:
        """The executor's callback for a claim it did not start: its lease was lost."""
        self._leases.drop(claimed)
        self._alarm.wake()

    # Stopping.

    def _begin_stop(self) -> None:
        running = self._leases.count(ClaimState.STARTED)
        logger.info("Stopping: finishing %s running task(s).", running)
        self._stopping = True
        self._claiming = False
        unstarted = self._take_unstarted()
        if unstarted:
            try:
                self.tally.handed_back += self._leases.release(unstarted, started=False)
            except DatabaseError as e:
                self._database_error(e)

    def _take_unstarted(self) -> list[str]:
        unstarted = [claimed.row_id for claimed in self._executor.take_unstarted()]
        for row_id in unstarted:
            self._leases.let_go(row_id)
        return unstarted

    def _stop_now(self) -> int:
        self._stopping = True
        self._claiming = False
        self._take_unstarted()
        logger.warning("Stopping at once: handing %s task(s) back to the queue.", len(self._leases))
        try:
            while self._outbox:
                self._flush()
            running = self._leases.ids(ClaimState.UNSTARTED, ClaimState.STARTED)
            if running:
                self.tally.handed_back += self._leases.release(running, started=True)
        except DatabaseError as e:
            logger.error(
                "Could not hand tasks back (%s); they are retaken when their leases expire.", e
            )
        return 1

    # Waiting.

    def _wait(self) -> None:
        """Sleep until there is something to do: an outcome to write, a signal, a
        notification, the next poll or heartbeat, or the end of a backoff."""
        now = time.monotonic()
        if self._connection.retry_at > now:
            self._alarm.sleep(self._connection.retry_at - now)
            return
        if self._outbox or self._leases.has_dropped or (self._signals and not self._stopping):
            return
        try:
            if self._notified():  # Before the deadline: a notification may bring a due time.
                return
        except DatabaseError as e:
            self._database_error(e)
            return
        deadline = self._leases.next_heartbeat
        if self._claiming:
            if now < self._claim_from:  # The startup delay.
                deadline = min(deadline, self._claim_from)
            elif self._claim_limit() > 0:
                return
            else:
                deadline = min(deadline, self._pacing.next_look, self._scheduler.next_check)
        try:
            self._alarm.sleep(deadline - now)
            self._notified()
        except DatabaseError as e:
            self._database_error(e)

    def _listen(self) -> None:
        connection = self._connection.wrapper
        if connection.vendor == "postgresql" and self.backend.options.NOTIFY:
            self._alarm.listen(connection)

    def _notified(self) -> bool:
        """Read the notifications: True if a task of this worker's queues is due now (one
        due later is looked for then, see Pacing.due)."""
        now = False
        for delay in self._alarm.notified(
            self._connection.wrapper, self.options.queues, self.options.exclude_queues
        ):
            if delay > 0:
                self._pacing.due(delay)
            else:
                now = True
        if now:
            self._pacing.notified()
        return now

    def _database_error(self, error: DatabaseError) -> None:
        self._connection.failed(error)
        self._alarm.unlisten()

    # Signals and the summary (see stopping.py).

    def _on_signal(self, number: int, frame: object) -> None:
        self._signals += 1

    def _give_up(self) -> None:
        """The Stopper's last call, from its thread: a second signal came, and the database
        has not let this thread hand the tasks back and exit within STOP_NOW_SECONDS."""
        logger.error(
            "Stopping at once: the database did not answer within %s s; exiting without "
            "handing back %s task(s), which are retaken when their leases expire.",
            STOP_NOW_SECONDS,
            len(self._leases),
        )
        self._log_summary(1)

    def _log_summary(self, status: int | None) -> None:
        log_summary(
            self.tally,
            worker_id=self.options.worker_id,
            status=status,
            uptime=time.monotonic() - self._started,
        )
