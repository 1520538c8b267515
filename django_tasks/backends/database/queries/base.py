"""The SQL the backend and the worker run: one method per step, one statement where possible.

Each database gets its own subclass of ``Queries``, in a module of its own; nothing outside
this package knows which database it talks to. Every statement that changes a claimed row is
fenced: it names the worker and the attempt that holds the lease, so a worker that has lost its
lease changes no rows. Times come from the database's clock (``now``), never from the worker's
host.

Statements are plain SQL on Django's connection (so they take part in its transactions and its
error translation) rather than ORM queries: the worker runs them thousands of times a second,
and building a queryset costs more than the round trip.
"""

import json
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from django_tasks.backends.database.schema import CANCELLED, LIVE
from django_tasks.results import CANCELLED_PATH
from django_tasks.task import ResultStatus

NEW = ResultStatus.NEW.value
RUNNING = ResultStatus.RUNNING.value
FAILED = ResultStatus.FAILED.value

STOPPED_NOT_RETRIED = (
    f"{CANCELLED_PATH}: The task was asked to stop while it ran; its failed attempt (above) "
    f"is not retried.\n"
)
"""Added to the traceback of a failed attempt that would have run again, had the task not
been asked to stop."""

DEAD_PATH_SECONDS = 10
"""About how long the worker's own connection waits on a network path that has stopped
answering before it gives up on it (see ``Queries.connection_bounds``)."""


def claimed_columns(run_after: str = "run_after") -> str:
    """The columns a claim returns, in this order, with ``run_after`` as the SQL that reads it."""
    return (
        f"id, task_path, queue_name, priority, {run_after}, arguments, enqueued_at, "
        f"started_at, attempts, worker_ids, trace_context, errors"
    )


@dataclass(frozen=True, slots=True)
class NewRow:
    """A task to insert."""

    id: str
    backend: str
    queue_name: str
    task_path: str
    priority: int
    arguments: str
    """{"args": [...], "kwargs": {...}} as JSON text."""
    run_after: datetime | None
    trace_context: str | None = None
    """The enqueueing span's trace context as JSON text (see django_tasks.tracing), or None."""


@dataclass(frozen=True, slots=True)
class ClaimedRow:
    """A task this worker has just claimed: RUNNING, leased to it, its attempt counted."""

    id: str
    task_path: str
    queue_name: str
    priority: int
    run_after: datetime | None
    arguments: str
    enqueued_at: datetime
    started_at: datetime
    attempts: int
    worker_ids: list[str]
    trace_context: dict[str, str] | None = None
    """The enqueueing span's trace context, to continue its trace (see django_tasks.tracing)."""
    errors: Any = None
    """The ``errors`` column (the earlier attempts' errors) as JSON data; None: none."""
    unreadable_run_after: str = ""
    """The stored text of a run_after that cannot be read (``run_after`` is then None): a
    time before year 1 or after 9999 in UTC, which PostgreSQL holds but Python's datetime does
    not, or text that is no time. The task cannot run."""


@dataclass(frozen=True, slots=True)
class Finish:
    """The outcome of one claimed attempt, to store."""

    id: str
    attempts: int
    status: str
    """SUCCEEDED, FAILED or CANCELLED; NEW for a failed attempt that runs again."""
    started_at: datetime
    finished_at: datetime
    return_value: str | None
    """JSON text, or None when the task failed."""
    exception_class_path: str
    traceback: str
    retry_in: float = 0.0
    """For a failed attempt that runs again (NEW): seconds until it may be claimed."""
    error_entry: str = ""
    """For a failed attempt that runs again: its entry of the ``errors`` column, JSON text."""


Decide = Callable[[str, int], float | None]
"""What follows an attempt whose lease expired, given the row's task path and attempts: the
seconds until it runs again, or None to fail it (see ``Queries.reap``)."""


class Queries:
    """The statements of one database, on one thread's connection to it; subclasses fill in
    what differs."""

    now = "CURRENT_TIMESTAMP"
    """SQL for the database's current time."""

    def __init__(self, connection: BaseDatabaseWrapper) -> None:
        # Imported here: models cannot be imported while Django loads the apps, and this module
        # is imported then (INSTALLED_APPS names the backend's package, which imports it).
        from django_tasks.backends.database.models import DBTaskResult

        self.connection = connection
        self.table = connection.ops.quote_name(DBTaskResult._meta.db_table)
        self.native_uuid = bool(connection.features.has_native_uuid_field)
        self.insert_sql = (
            f"INSERT INTO {self.table} (id, status, backend, queue_name, task_path, priority, "
            f"arguments, run_after, available_at, attempts, worker_id, worker_ids, "
            f"exception_class_path, traceback, trace_context) "
            f"VALUES (%s, '{NEW}', %s, %s, %s, %s, %s, %s, COALESCE(%s, {self.now}), 0, '', "
            f"'[]', '', '', %s)"
        )
        """A NEW row, enqueued_at and available_at (unless run_after) from the database's
        clock. Built once: psycopg caches what it learns about a statement by its text."""
        self._insert_returning_sql = f"{self.insert_sql} RETURNING enqueued_at"
        self._driver_cursor: Any = None
        self._driver_connection: Any = None

    @contextmanager
    def cursor(self) -> Iterator[Any]:
        """What ``connection.cursor()`` gives, on one driver cursor kept for the connection's
        life rather than a new one per statement: for a one-row statement, creating a psycopg
        cursor (and its adapters) costs as much Python as the statement itself. Django's checks
        (async context, thread sharing, health checks), its debug wrapper (``queries``,
        execute wrappers) and its error translation apply as for any cursor."""
        connection = self.connection
        connection.close_if_health_check_failed()
        connection.ensure_connection()
        if self._driver_connection is not connection.connection:
            with connection.wrap_database_errors:
                self._driver_cursor = connection.create_cursor()
            self._driver_connection = connection.connection
        connection.validate_thread_sharing()
        if connection.queries_logged:
            yield connection.make_debug_cursor(self._driver_cursor)
        else:
            yield connection.make_cursor(self._driver_cursor)

    @classmethod
    def connection_bounds(cls, connection: BaseDatabaseWrapper) -> dict[str, Any]:
        """Connection options (DATABASES OPTIONS keys) that bound how long the worker's own
        connection waits on a network path that has stopped answering, so that it notices
        within about DEAD_PATH_SECONDS and connects again. None by default (SQLite: no
        network)."""
        return {}

    # Conversions between Python values and what the driver takes and returns.

    def id_to_db(self, result_id: str) -> str:
        """A result id (the UUID's canonical text) as the id column takes it: the same text
        where the column is a native uuid, the 32 hex digits of Django's char(32) elsewhere."""
        if self.native_uuid:
            return result_id
        try:
            return uuid.UUID(result_id).hex
        except ValueError:  # Not a UUID, so no row has it; the statement finds nothing.
            return result_id

    def id_from_db(self, value: Any) -> str:
        """The result id of an id column's value (a UUID, or its text in either form)."""
        if isinstance(value, uuid.UUID):
            return str(value)
        try:
            return str(uuid.UUID(value))
        except ValueError:  # A row written behind the ORM's back: keep its id as it is.
            return str(value)

    def to_db(self, value: datetime | None) -> Any:
        return self.connection.ops.adapt_datetimefield_value(value)

    def from_db(self, value: Any) -> datetime:
        if isinstance(value, str):
            text, value = value, parse_datetime(value)  # ValueError: a time Python cannot hold.
            if value is None:
                raise ValueError(f"{text!r} is not a date and time.")
        if settings.USE_TZ and timezone.is_naive(value):
            value = timezone.make_aware(value, self.connection.timezone)
        return value  # type: ignore[no-any-return]  # a datetime once parsed

    def from_db_or_none(self, value: Any) -> datetime | None:
        return None if value is None else self.from_db(value)

    def placeholders(self, count: int) -> str:
        return ", ".join(["%s"] * count)

    def in_queues(self, queues: Sequence[str] | None, exclude: Sequence[str] = ()) -> str:
        """A condition on the queue name (None: every queue; none of ``exclude``), for
        ``queue_params(queues, exclude)`` as parameters."""
        condition = (
            "" if queues is None else f"AND queue_name IN ({self.placeholders(len(queues))}) "
        )
        if exclude:
            condition += f"AND queue_name NOT IN ({self.placeholders(len(exclude))}) "
        return condition

    def queue_params(self, queues: Sequence[str] | None, exclude: Sequence[str] = ()) -> list[str]:
        """The parameters of ``in_queues(queues, exclude)``."""
        return [*([] if queues is None else queues), *exclude]

    # Enqueueing.

    def insert(self, cursor: Any, row: NewRow) -> datetime:
        """Insert a NEW row; return its enqueued_at (the database's time)."""
        cursor.execute(self._insert_returning_sql, self.insert_params(row))
        return self.from_db(cursor.fetchone()[0])

    def insert_params(self, row: NewRow) -> list[Any]:
        """The parameters of insert_sql."""
        values = self.row_values(row)
        return [*values, values[-1], row.trace_context]

    def row_values(self, row: NewRow) -> list[Any]:
        """id, backend, queue_name, task_path, priority, arguments and run_after, as the
        driver takes them."""
        run_after = None if row.run_after is None else self.to_db(row.run_after)
        return [
            self.id_to_db(row.id),
            row.backend,
            row.queue_name,
            row.task_path,
            row.priority,
            row.arguments,
            run_after,
        ]

    def current_time(self, cursor: Any) -> datetime:
        cursor.execute(f"SELECT {self.now}", [])
        return self.from_db(cursor.fetchone()[0])

    def insert_many(self, cursor: Any, new_rows: Iterable[NewRow]) -> datetime:
        """Insert NEW rows, in as few statements as the database allows, all enqueued at the
        same time (the database's), which is returned. What ``new_rows`` raises (a row that
        cannot be made) is raised as it is, and nothing is inserted."""
        rows = list(new_rows)
        now = self.current_time(cursor)
        per_statement = 500
        enqueued_at = self.to_db(now)
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            values = ", ".join(
                [
                    f"(%s, '{NEW}', %s, %s, %s, %s, %s, %s, %s, COALESCE(%s, {self.now}), "
                    f"0, '', '[]', '', '', %s)"
                ]
                * len(chunk)
            )
            params: list[Any] = []
            for row in chunk:
                row_values = self.row_values(row)
                params += [*row_values, enqueued_at, row_values[-1], row.trace_context]
            cursor.execute(
                f"INSERT INTO {self.table} (id, status, backend, queue_name, task_path, "
                f"priority, arguments, run_after, enqueued_at, available_at, attempts, "
                f"worker_id, worker_ids, exception_class_path, traceback, trace_context) "
                f"VALUES {values}",
                params,
            )
        return now

    # Unique tasks (see schema.py).

    def take_unique_key(
        self, cursor: Any, *, result_id: str, key: str, while_running: bool
    ) -> None:
        """Give the row just inserted its unique key; IntegrityError if a live row has it."""
        cursor.execute(
            f"UPDATE {self.table} SET unique_key = %s, unique_while_running = %s WHERE id = %s",
            [key, while_running, self.id_to_db(result_id)],
        )

    def live_with_key(self, cursor: Any, *, backend: str, task_path: str, key: str) -> str | None:
        """The id of the live row of the backend and task that holds ``key``, if any."""
        cursor.execute(
            f"SELECT id FROM {self.table} WHERE backend = %s AND task_path = %s "
            f"AND unique_key = %s AND {LIVE}",
            [backend, task_path, key],
        )
        row = cursor.fetchone()
        return None if row is None else self.id_from_db(row[0])

    def requeued_unique_key(self) -> str:
        """SQL for the unique key of a row an UPDATE puts back in the queue: its own, unless it
        was free to take while the task ran and another row now waits with it (the row runs
        again without a key, rather than the UPDATE failing on the unique index)."""
        return (
            f"CASE WHEN unique_key IS NULL OR unique_while_running THEN unique_key "
            f"WHEN EXISTS (SELECT 1 FROM {self.waiting_keys()} AS other "
            f"WHERE other.backend = {self.table}.backend "
            f"AND other.task_path = {self.table}.task_path "
            f"AND other.unique_key = {self.table}.unique_key) THEN NULL ELSE unique_key END"
        )

    def waiting_keys(self) -> str:
        """The rows (backend, task_path, unique_key) that wait with a unique key, as SQL for
        requeued_unique_key's FROM."""
        return (
            f"(SELECT backend, task_path, unique_key FROM {self.table} "
            f"WHERE status = '{NEW}' AND unique_key IS NOT NULL)"
        )

    # The worker's steps.

    def claim(
        self,
        cursor: Any,
        *,
        worker_id: str,
        backend: str,
        queues: Sequence[str] | None,
        limit: int,
        lease_seconds: float,
        exclude: Sequence[str] = (),
    ) -> list[ClaimedRow]:
        """Claim up to ``limit`` available NEW rows, highest priority and oldest first, of
        ``queues`` (None: every queue) but none of ``exclude``."""
        raise NotImplementedError

    def finish(self, cursor: Any, *, worker_id: str, finishes: Sequence[Finish]) -> set[str]:
        """Store outcomes; return the ids whose lease this worker still held.

        Idempotent: a retry after a lost connection recognises its own earlier write by
        ``finished_at`` (a final outcome) or by the row being waiting again under this
        worker's id and attempt (a failed attempt that runs again, see ``retry``).
        """
        final = [f for f in finishes if f.status != NEW]
        stored = self.finish_rows(cursor, worker_id=worker_id, finishes=final) if final else set()
        for f in finishes:
            if f.status == NEW and self.retry(cursor, worker_id=worker_id, finish=f):
                stored.add(f.id)
        return stored

    def finish_rows(self, cursor: Any, *, worker_id: str, finishes: Sequence[Finish]) -> set[str]:
        """finish() for final outcomes (SUCCEEDED, FAILED, CANCELLED), in as few statements
        as the database allows."""
        raise NotImplementedError

    def retry(self, cursor: Any, *, worker_id: str, finish: Finish) -> bool:
        """Put a row whose attempt failed back in the queue, to be claimed ``retry_in``
        seconds from now, its error added to ``errors``; False if this worker no longer held
        it. A row asked to stop meanwhile (``cancel_requested_at``) ends CANCELLED instead.

        The row keeps this worker's id until it is claimed again, so that writing the same
        outcome again (after a lost connection) finds it, and changes nothing more. Idle
        workers hear of it as of any requeue (``_requeue``), with its delay."""
        t = self.table
        asked = "cancel_requested_at IS NOT NULL"
        changed = self._requeue(
            cursor,
            # MySQL assigns left to right, each on the values assigned before: errors first.
            f"UPDATE {t} SET errors = CASE WHEN status = '{RUNNING}' "
            f"THEN {self.append_error('errors')} ELSE errors END, "
            f"exception_class_path = CASE WHEN {asked} THEN %s ELSE %s END, "
            f"traceback = CASE WHEN {asked} THEN %s ELSE %s END, "
            f"finished_at = CASE WHEN {asked} THEN %s END, "
            f"status = CASE WHEN {asked} THEN '{CANCELLED}' ELSE '{NEW}' END, "
            f"started_at = %s, lease_expires_at = NULL, "
            f"unique_key = {self.requeued_unique_key()}, "
            f"available_at = {self.later()}, run_after = {self.later()} "
            f"WHERE id = %s AND worker_id = %s AND attempts = %s "
            f"AND (status = '{RUNNING}' OR (status = '{NEW}' AND NOT {asked}) "
            f"OR (status = '{CANCELLED}' AND finished_at = %s))",
            [
                finish.error_entry,
                CANCELLED_PATH,
                finish.exception_class_path,
                f"{finish.traceback}\n{STOPPED_NOT_RETRIED}",
                finish.traceback,
                self.to_db(finish.finished_at),
                self.to_db(finish.started_at),
                self.later_param(finish.retry_in),
                self.later_param(finish.retry_in),
                self.id_to_db(finish.id),
                worker_id,
                finish.attempts,
                self.to_db(finish.finished_at),
            ],
            delay=finish.retry_in,
        )
        return bool(changed)

    def append_error(self, column: str) -> str:
        """SQL for the JSON array ``column`` (NULL: empty) with one more entry, the JSON text
        of a parameter."""
        raise NotImplementedError

    def later(self) -> str:
        """SQL for the database's time a parameter's seconds from now (see later_param)."""
        return f"{self.now} + %s * INTERVAL '1 second'"

    def later_param(self, seconds: float) -> Any:
        """The parameter of later() for ``seconds``."""
        return seconds

    def renew(
        self, cursor: Any, *, worker_id: str, ids: Sequence[str], lease_seconds: float
    ) -> set[str]:
        """Extend the leases of the rows this worker holds; return the ids it still holds."""
        raise NotImplementedError

    def release(self, cursor: Any, *, worker_id: str, ids: Sequence[str], started: bool) -> int:
        """Hand rows this worker holds back to the queue (NEW, no lease); return how many.

        Rows that never ``started`` are put back exactly as they were before the claim: their
        attempt is not counted. Started rows keep their attempt.
        """
        undo = (
            ", started_at = NULL, attempts = attempts - 1, "
            f"worker_ids = {self.drop_last_worker_id('worker_ids')}"
            if not started
            else ""
        )
        return self._requeue(
            cursor,
            f"UPDATE {self.table} SET status = '{NEW}', worker_id = '', lease_expires_at = NULL, "
            f"unique_key = {self.requeued_unique_key()}{undo} "
            f"WHERE id IN ({self.placeholders(len(ids))}) AND status = '{RUNNING}' "
            f"AND worker_id = %s",
            [*map(self.id_to_db, ids), worker_id],
        )

    def reap(
        self,
        cursor: Any,
        *,
        backend: str,
        decide: Decide,
        lost_class_path: str,
        lost_traceback: str,
        limit: int = 500,
    ) -> tuple[int, int]:
        """Deal with up to ``limit`` rows whose lease has expired, as ``decide`` says: put
        them back in the queue (their lost attempt added to ``errors``), or fail them. Return
        how many failed and how many went back. Each row is changed by a statement fenced on
        the attempt that lost it, so that two workers reaping at once change it once."""
        cursor.execute(
            f"SELECT id, task_path, attempts FROM {self.table} WHERE status = '{RUNNING}' "
            f"AND backend = %s AND lease_expires_at < {self.now} LIMIT %s",
            [backend, limit],
        )
        failed = requeued = 0
        fence = (
            f"id = %s AND attempts = %s AND status = '{RUNNING}' AND lease_expires_at < {self.now}"
        )
        for row_id, task_path, attempts in cursor.fetchall():
            retry_in = decide(task_path, attempts)
            if retry_in is None:
                cursor.execute(
                    f"UPDATE {self.table} SET status = '{FAILED}', finished_at = {self.now}, "
                    f"lease_expires_at = NULL, exception_class_path = %s, traceback = %s "
                    f"WHERE {fence}",
                    [lost_class_path, lost_traceback, row_id, attempts],
                )
                failed += cursor.rowcount
                continue
            entry = json.dumps(
                {
                    "exception_class_path": lost_class_path,
                    "traceback": lost_traceback,
                    "retry_in": retry_in,
                    "failed_at": None,
                }
            )
            requeued += self._requeue(
                cursor,
                f"UPDATE {self.table} SET errors = {self.append_error('errors')}, "
                f"status = '{NEW}', worker_id = '', lease_expires_at = NULL, "
                f"unique_key = {self.requeued_unique_key()}, "
                f"exception_class_path = %s, traceback = %s, available_at = {self.later()} "
                f"WHERE {fence}",
                [
                    entry,
                    lost_class_path,
                    lost_traceback,
                    self.later_param(retry_in),
                    row_id,
                    attempts,
                ],
                delay=retry_in,
            )
        return failed, requeued

    def stop_requested(self, cursor: Any, *, ids: Sequence[str]) -> set[str]:
        """Those of ``ids`` (rows this worker runs) whose task has been asked to stop."""
        cursor.execute(
            f"SELECT id FROM {self.table} WHERE id IN ({self.placeholders(len(ids))}) "
            f"AND cancel_requested_at IS NOT NULL",
            [*map(self.id_to_db, ids)],
        )
        return {self.id_from_db(row[0]) for row in cursor.fetchall()}

    def drop_last_worker_id(self, column: str) -> str:
        raise NotImplementedError

    def _requeue(self, cursor: Any, sql: str, params: list[Any], delay: float = 0.0) -> int:
        """Run an UPDATE that makes rows NEW again (claimable ``delay`` seconds from now);
        return how many it changed."""
        cursor.execute(sql, params)
        return int(cursor.rowcount)

    def _claimed(self, row: Sequence[Any]) -> ClaimedRow:
        worker_ids, errors = row[9], row[11]
        run_after, unreadable_run_after = self.claimed_run_after(row)
        return ClaimedRow(
            id=self.id_from_db(row[0]),
            task_path=row[1],
            queue_name=row[2],
            priority=row[3],
            run_after=run_after,
            arguments=row[5],
            enqueued_at=self.from_db(row[6]),
            started_at=self.from_db(row[7]),
            attempts=row[8],
            worker_ids=json.loads(worker_ids) if isinstance(worker_ids, str) else worker_ids,
            trace_context=trace_fields(row[10]),
            errors=json.loads(errors) if isinstance(errors, str) else errors,
            unreadable_run_after=unreadable_run_after,
        )

    def claimed_run_after(self, row: Sequence[Any]) -> tuple[datetime | None, str]:
        """A claimed row's run_after, or None and its stored text if it cannot be read, so
        that the row fails on its own rather than the whole claim."""
        try:
            return self.from_db_or_none(row[4]), ""
        except (ValueError, OverflowError):
            return None, str(row[4])


def trace_fields(value: Any) -> dict[str, str] | None:
    """A claimed row's trace context (JSON text, or what the driver made of it): its text
    fields, or None if it holds none, or anything else (a task runs whether or not its trace
    can be continued)."""
    if isinstance(value, (str, bytes)):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    if not isinstance(value, dict):
        return None
    fields = {key: text for key, text in value.items() if isinstance(text, str)}
    return fields or None
