"""The SQL the backend and the worker run: one method per step, one statement where possible.

Each database gets its own subclass of ``Queries``; nothing outside this module knows which
database it talks to. Every statement that changes a claimed row is fenced: it names the
worker and the attempt that holds the lease, so a worker that has lost its lease changes no
rows. Times come from the database's clock (``now``), never from the worker's host.

Statements are plain SQL on Django's connection (so they take part in its transactions and its
error translation) rather than ORM queries: the worker runs them thousands of times a second,
and building a queryset costs more than the round trip.
"""

import contextlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from django.conf import settings
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from django_tasks.backends.database.schema import NOTIFY_CHANNEL
from django_tasks.task import ResultStatus

NEW = ResultStatus.NEW.value
RUNNING = ResultStatus.RUNNING.value
FAILED = ResultStatus.FAILED.value

# The columns a claim returns, in this order.
CLAIMED_COLUMNS = (
    "id, task_path, queue_name, priority, run_after, arguments, enqueued_at, started_at, "
    "attempts, worker_ids"
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


@dataclass(frozen=True, slots=True)
class Finish:
    """The outcome of one claimed attempt, to store."""

    id: str
    attempts: int
    status: str
    started_at: datetime
    finished_at: datetime
    return_value: str | None
    """JSON text, or None when the task failed."""
    exception_class_path: str
    traceback: str


class Queries:
    """The statements of one database; subclasses fill in what differs."""

    now = "CURRENT_TIMESTAMP"
    """SQL for the database's current time."""

    def __init__(self, connection: BaseDatabaseWrapper) -> None:
        from django_tasks.backends.database.models import DBTaskResult

        self.connection = connection
        self.table = connection.ops.quote_name(DBTaskResult._meta.db_table)

    # Conversions between Python values and what the driver takes and returns.

    def to_db(self, value: datetime | None) -> Any:
        return self.connection.ops.adapt_datetimefield_value(value)

    def from_db(self, value: Any) -> datetime:
        if isinstance(value, str):
            value = parse_datetime(value)
        if settings.USE_TZ and timezone.is_naive(value):
            value = timezone.make_aware(value, self.connection.timezone)
        return value  # type: ignore[no-any-return]  # a datetime once parsed

    def from_db_or_none(self, value: Any) -> datetime | None:
        return None if value is None else self.from_db(value)

    def placeholders(self, count: int) -> str:
        return ", ".join(["%s"] * count)

    def in_queues(self, queues: Sequence[str] | None) -> str:
        """A condition on the queue name (None: every queue), for ``queues`` as parameters."""
        return "" if queues is None else f"AND queue_name IN ({self.placeholders(len(queues))}) "

    # Enqueueing.

    def insert(self, cursor: Any, row: NewRow) -> datetime:
        """Insert a NEW row; return its enqueued_at (the database's time)."""
        cursor.execute(
            f"INSERT INTO {self.table} (id, status, backend, queue_name, task_path, priority, "
            f"arguments, run_after, available_at, attempts, worker_id, worker_ids, "
            f"exception_class_path, traceback) "
            f"VALUES (%s, '{NEW}', %s, %s, %s, %s, %s, %s, COALESCE(%s, {self.now}), 0, '', "
            f"'[]', '', '') RETURNING enqueued_at",
            [
                row.id,
                row.backend,
                row.queue_name,
                row.task_path,
                row.priority,
                row.arguments,
                self.to_db(row.run_after),
                self.to_db(row.run_after),
            ],
        )
        return self.from_db(cursor.fetchone()[0])

    def current_time(self, cursor: Any) -> datetime:
        cursor.execute(f"SELECT {self.now}", [])
        return self.from_db(cursor.fetchone()[0])

    def insert_many(self, cursor: Any, rows: Sequence[NewRow], now: datetime) -> None:
        """Insert NEW rows enqueued at ``now``, in as few statements as the database allows."""
        per_statement = 500
        enqueued_at = self.to_db(now)
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            values = ", ".join(
                [f"(%s, '{NEW}', %s, %s, %s, %s, %s, %s, %s, %s, 0, '', '[]', '', '')"] * len(chunk)
            )
            params: list[Any] = []
            for row in chunk:
                available_at = enqueued_at if row.run_after is None else self.to_db(row.run_after)
                params += [
                    row.id,
                    row.backend,
                    row.queue_name,
                    row.task_path,
                    row.priority,
                    row.arguments,
                    self.to_db(row.run_after),
                    enqueued_at,
                    available_at,
                ]
            cursor.execute(
                f"INSERT INTO {self.table} (id, status, backend, queue_name, task_path, "
                f"priority, arguments, run_after, enqueued_at, available_at, attempts, "
                f"worker_id, worker_ids, exception_class_path, traceback) VALUES {values}",
                params,
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
    ) -> list[ClaimedRow]:
        """Claim up to ``limit`` available NEW rows, highest priority and oldest first."""
        raise NotImplementedError

    def finish(self, cursor: Any, *, worker_id: str, finishes: Sequence[Finish]) -> set[str]:
        """Store outcomes; return the ids whose lease this worker still held.

        Idempotent: a retry after a lost connection recognises its own earlier write by
        ``finished_at``.
        """
        raise NotImplementedError

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
            f"UPDATE {self.table} SET status = '{NEW}', worker_id = '', lease_expires_at = NULL"
            f"{undo} WHERE id IN ({self.placeholders(len(ids))}) AND status = '{RUNNING}' "
            f"AND worker_id = %s",
            [*ids, worker_id],
        )

    def reap(
        self,
        cursor: Any,
        *,
        backend: str,
        max_attempts: int,
        lost_class_path: str,
        lost_traceback: str,
    ) -> tuple[int, int]:
        """Deal with rows whose lease has expired: fail those on their last attempt, put the
        others back in the queue. Return how many failed and how many went back."""
        expired = f"status = '{RUNNING}' AND backend = %s AND lease_expires_at < {self.now}"
        cursor.execute(
            f"UPDATE {self.table} SET status = '{FAILED}', finished_at = {self.now}, "
            f"lease_expires_at = NULL, exception_class_path = %s, traceback = %s "
            f"WHERE {expired} AND attempts >= %s",
            [lost_class_path, lost_traceback, backend, max_attempts],
        )
        failed: int = cursor.rowcount
        requeued = self._requeue(
            cursor,
            f"UPDATE {self.table} SET status = '{NEW}', worker_id = '', lease_expires_at = NULL "
            f"WHERE {expired}",
            [backend],
        )
        return failed, requeued

    def drop_last_worker_id(self, column: str) -> str:
        raise NotImplementedError

    def _requeue(self, cursor: Any, sql: str, params: list[Any]) -> int:
        """Run an UPDATE that makes rows NEW again; return how many it changed."""
        cursor.execute(sql, params)
        return int(cursor.rowcount)

    def _claimed(self, row: Sequence[Any]) -> ClaimedRow:
        worker_ids = row[9]
        return ClaimedRow(
            id=row[0],
            task_path=row[1],
            queue_name=row[2],
            priority=row[3],
            run_after=self.from_db_or_none(row[4]),
            arguments=row[5],
            enqueued_at=self.from_db(row[6]),
            started_at=self.from_db(row[7]),
            attempts=row[8],
            worker_ids=json.loads(worker_ids) if isinstance(worker_ids, str) else worker_ids,
        )


class PostgreSQLQueries(Queries):
    now = "STATEMENT_TIMESTAMP()"

    def claim(
        self,
        cursor: Any,
        *,
        worker_id: str,
        backend: str,
        queues: Sequence[str] | None,
        limit: int,
        lease_seconds: float,
    ) -> list[ClaimedRow]:
        # The ARRAY() subquery runs once, walking the claim index in order and locking the
        # rows it keeps; rows that another worker is claiming right now are skipped.
        in_queues = "" if queues is None else "AND queue_name = ANY(%s) "
        cursor.execute(
            f"UPDATE {self.table} SET status = '{RUNNING}', worker_id = %s, "
            f"attempts = attempts + 1, started_at = {self.now}, "
            f"lease_expires_at = {self.now} + %s * INTERVAL '1 second', "
            f"worker_ids = worker_ids || to_jsonb(%s::text) "
            f"WHERE id = ANY(ARRAY(SELECT id FROM {self.table} "
            f"WHERE status = '{NEW}' AND backend = %s {in_queues}"
            f"AND available_at <= {self.now} "
            f"ORDER BY priority DESC, available_at, id LIMIT %s FOR UPDATE SKIP LOCKED)) "
            f"RETURNING {CLAIMED_COLUMNS}",
            [
                worker_id,
                lease_seconds,
                worker_id,
                backend,
                *([] if queues is None else [list(queues)]),
                limit,
            ],
        )
        return [self._claimed(row) for row in cursor.fetchall()]

    def finish(self, cursor: Any, *, worker_id: str, finishes: Sequence[Finish]) -> set[str]:
        values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s)"] * len(finishes))
        params: list[Any] = []
        for f in finishes:
            params += [
                f.id,
                f.attempts,
                f.status,
                f.started_at,
                f.finished_at,
                f.return_value,
                f.exception_class_path,
                f.traceback,
            ]
        cursor.execute(
            f"UPDATE {self.table} AS t SET status = v.v_status, "
            f"started_at = v.v_started_at::timestamptz, "
            f"finished_at = v.v_finished_at::timestamptz, return_value = v.v_return::jsonb, "
            f"exception_class_path = v.v_exception, traceback = v.v_traceback, "
            f"lease_expires_at = NULL "
            f"FROM (VALUES {values}) AS v(v_id, v_attempts, v_status, v_started_at, "
            f"v_finished_at, v_return, v_exception, v_traceback) "
            f"WHERE t.id = v.v_id AND t.worker_id = %s AND t.attempts = v.v_attempts "
            f"AND (t.status = '{RUNNING}' OR t.finished_at = v.v_finished_at::timestamptz) "
            f"RETURNING t.id",
            [*params, worker_id],
        )
        return {row[0] for row in cursor.fetchall()}

    def renew(
        self, cursor: Any, *, worker_id: str, ids: Sequence[str], lease_seconds: float
    ) -> set[str]:
        cursor.execute(
            f"UPDATE {self.table} SET lease_expires_at = {self.now} + %s * INTERVAL '1 second' "
            f"WHERE id = ANY(%s) AND status = '{RUNNING}' AND worker_id = %s RETURNING id",
            [lease_seconds, list(ids), worker_id],
        )
        return {row[0] for row in cursor.fetchall()}

    def drop_last_worker_id(self, column: str) -> str:
        return f"{column} - (jsonb_array_length({column}) - 1)"

    def _requeue(self, cursor: Any, sql: str, params: list[Any]) -> int:
        # Wake idle workers of those queues, as the INSERT trigger does for new tasks.
        cursor.execute(
            f"WITH changed AS ({sql} RETURNING queue_name), "
            f"notified AS (SELECT pg_notify('{NOTIFY_CHANNEL}', queue_name) "
            f"FROM (SELECT DISTINCT queue_name FROM changed) AS queues) "
            f"SELECT (SELECT count(*) FROM changed), (SELECT count(*) FROM notified)",
            params,
        )
        return int(cursor.fetchone()[0])

    def insert_many(self, cursor: Any, rows: Sequence[NewRow], now: datetime) -> None:
        # COPY is several times faster than multi-row INSERTs for large batches.
        columns = (
            "id, status, backend, queue_name, task_path, priority, arguments, run_after, "
            "enqueued_at, available_at, attempts, worker_id, worker_ids, "
            "exception_class_path, traceback"
        )
        with (
            self.connection.wrap_database_errors,
            cursor.copy(f"COPY {self.table} ({columns}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(
                    (
                        row.id,
                        NEW,
                        row.backend,
                        row.queue_name,
                        row.task_path,
                        row.priority,
                        row.arguments,
                        row.run_after,
                        now,
                        now if row.run_after is None else row.run_after,
                        0,
                        "",
                        "[]",
                        "",
                        "",
                    )
                )


class SQLiteQueries(Queries):
    # Millisecond precision, in UTC, in the text format Django stores datetimes in.
    now = "STRFTIME('%%Y-%%m-%%d %%H:%%M:%%f', 'now')"

    def lease_until(self) -> str:
        return "STRFTIME('%%Y-%%m-%%d %%H:%%M:%%f', 'now', %s)"

    def current_time(self, cursor: Any) -> datetime:
        return timezone.now()  # SQLite runs in this process: its clock is this host's.

    def claim(
        self,
        cursor: Any,
        *,
        worker_id: str,
        backend: str,
        queues: Sequence[str] | None,
        limit: int,
        lease_seconds: float,
    ) -> list[ClaimedRow]:
        # One statement is one write transaction, which SQLite serialises: the SELECT inside
        # cannot race with another worker's claim. It waits for the lock (the connection's
        # timeout) rather than failing at once, as it starts by taking the write lock.
        in_queues = self.in_queues(queues)
        cursor.execute(
            f"UPDATE {self.table} SET status = '{RUNNING}', worker_id = %s, "
            f"attempts = attempts + 1, started_at = {self.now}, "
            f"lease_expires_at = {self.lease_until()}, "
            f"worker_ids = json_insert(worker_ids, '$[#]', %s) "
            f"WHERE id IN (SELECT id FROM {self.table} "
            f"WHERE status = '{NEW}' AND backend = %s {in_queues}"
            f"AND available_at <= {self.now} "
            f"ORDER BY priority DESC, available_at, id LIMIT %s) "
            f"RETURNING {CLAIMED_COLUMNS}",
            [
                worker_id,
                f"+{lease_seconds} seconds",
                worker_id,
                backend,
                *([] if queues is None else queues),
                limit,
            ],
        )
        return [self._claimed(row) for row in cursor.fetchall()]

    def finish(self, cursor: Any, *, worker_id: str, finishes: Sequence[Finish]) -> set[str]:
        values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s)"] * len(finishes))
        params: list[Any] = []
        for f in finishes:
            params += [
                f.id,
                f.attempts,
                f.status,
                self.to_db(f.started_at),
                self.to_db(f.finished_at),
                f.return_value,
                f.exception_class_path,
                f.traceback,
            ]
        t = self.table
        cursor.execute(
            f"WITH v(v_id, v_attempts, v_status, v_started_at, v_finished_at, v_return, "
            f"v_exception, v_traceback) AS (VALUES {values}) "
            f"UPDATE {t} SET status = v.v_status, started_at = v.v_started_at, "
            f"finished_at = v.v_finished_at, return_value = v.v_return, "
            f"exception_class_path = v.v_exception, traceback = v.v_traceback, "
            f"lease_expires_at = NULL "
            f"FROM v WHERE {t}.id = v.v_id AND {t}.worker_id = %s "
            f"AND {t}.attempts = v.v_attempts "
            f"AND ({t}.status = '{RUNNING}' OR {t}.finished_at = v.v_finished_at) "
            f"RETURNING id",
            [*params, worker_id],
        )
        return {row[0] for row in cursor.fetchall()}

    def renew(
        self, cursor: Any, *, worker_id: str, ids: Sequence[str], lease_seconds: float
    ) -> set[str]:
        cursor.execute(
            f"UPDATE {self.table} SET lease_expires_at = {self.lease_until()} "
            f"WHERE id IN ({self.placeholders(len(ids))}) AND status = '{RUNNING}' "
            f"AND worker_id = %s RETURNING id",
            [f"+{lease_seconds} seconds", *ids, worker_id],
        )
        return {row[0] for row in cursor.fetchall()}

    def drop_last_worker_id(self, column: str) -> str:
        return f"json_remove({column}, '$[#-1]')"


class MySQLQueries(Queries):
    """MySQL 8 and MariaDB: no UPDATE ... RETURNING, so claims take a short transaction."""

    now = "UTC_TIMESTAMP(6)"

    def lease_until(self, start: str) -> str:
        return f"{start} + INTERVAL %s MICROSECOND"

    def insert(self, cursor: Any, row: NewRow) -> datetime:
        if self.connection.features.can_return_columns_from_insert:  # MariaDB
            return super().insert(cursor, row)
        # MySQL: the same INSERT without RETURNING, then read the time back.
        cursor.execute(
            f"INSERT INTO {self.table} (id, status, backend, queue_name, task_path, priority, "
            f"arguments, run_after, available_at, attempts, worker_id, worker_ids, "
            f"exception_class_path, traceback) "
            f"VALUES (%s, '{NEW}', %s, %s, %s, %s, %s, %s, COALESCE(%s, {self.now}), 0, '', "
            f"'[]', '', '')",
            [
                row.id,
                row.backend,
                row.queue_name,
                row.task_path,
                row.priority,
                row.arguments,
                self.to_db(row.run_after),
                self.to_db(row.run_after),
            ],
        )
        cursor.execute(f"SELECT enqueued_at FROM {self.table} WHERE id = %s", [row.id])
        return self.from_db(cursor.fetchone()[0])

    def claim(
        self,
        cursor: Any,
        *,
        worker_id: str,
        backend: str,
        queues: Sequence[str] | None,
        limit: int,
        lease_seconds: float,
    ) -> list[ClaimedRow]:
        in_queues = self.in_queues(queues)
        with self._transaction(cursor):
            cursor.execute(
                f"SELECT id, task_path, queue_name, priority, run_after, arguments, "
                f"enqueued_at, {self.now}, attempts, worker_ids FROM {self.table} "
                f"WHERE status = '{NEW}' AND backend = %s {in_queues}"
                f"AND available_at <= {self.now} "
                f"ORDER BY priority DESC, available_at, id LIMIT %s FOR UPDATE SKIP LOCKED",
                [backend, *([] if queues is None else queues), limit],
            )
            rows = cursor.fetchall()
            if not rows:
                return []
            started_at = rows[0][7]
            cursor.execute(
                f"UPDATE {self.table} SET status = '{RUNNING}', worker_id = %s, "
                f"attempts = attempts + 1, started_at = %s, "
                f"lease_expires_at = {self.lease_until('%s')}, "
                f"worker_ids = JSON_ARRAY_APPEND(worker_ids, '$', %s) "
                f"WHERE id IN ({self.placeholders(len(rows))})",
                [
                    worker_id,
                    started_at,
                    started_at,
                    round(lease_seconds * 1_000_000),
                    worker_id,
                    *(row[0] for row in rows),
                ],
            )
        return [
            self._claimed(
                (*row[:8], row[8] + 1, [*json.loads(row[9]), worker_id]),
            )
            for row in rows
        ]

    def finish(self, cursor: Any, *, worker_id: str, finishes: Sequence[Finish]) -> set[str]:
        stored = set()
        with self._transaction(cursor, len(finishes) > 1):
            for f in finishes:
                finished_at = self.to_db(f.finished_at)
                cursor.execute(
                    f"UPDATE {self.table} SET status = %s, started_at = %s, finished_at = %s, "
                    f"return_value = %s, exception_class_path = %s, traceback = %s, "
                    f"lease_expires_at = NULL WHERE id = %s AND worker_id = %s "
                    f"AND attempts = %s AND (status = '{RUNNING}' OR finished_at = %s)",
                    [
                        f.status,
                        self.to_db(f.started_at),
                        finished_at,
                        f.return_value,
                        f.exception_class_path,
                        f.traceback,
                        f.id,
                        worker_id,
                        f.attempts,
                        finished_at,
                    ],
                )
                # Django connects with CLIENT.FOUND_ROWS: rowcount counts matched rows.
                if cursor.rowcount:
                    stored.add(f.id)
        return stored

    def renew(
        self, cursor: Any, *, worker_id: str, ids: Sequence[str], lease_seconds: float
    ) -> set[str]:
        held = f"id IN ({self.placeholders(len(ids))}) AND status = '{RUNNING}' AND worker_id = %s"
        cursor.execute(
            f"UPDATE {self.table} SET lease_expires_at = {self.lease_until(self.now)} WHERE {held}",
            [round(lease_seconds * 1_000_000), *ids, worker_id],
        )
        if cursor.rowcount == len(ids):
            return set(ids)
        cursor.execute(f"SELECT id FROM {self.table} WHERE {held}", [*ids, worker_id])
        return {row[0] for row in cursor.fetchall()}

    def drop_last_worker_id(self, column: str) -> str:
        return f"JSON_REMOVE({column}, CONCAT('$[', JSON_LENGTH({column}) - 1, ']'))"

    def _transaction(self, cursor: Any, needed: bool = True) -> "_Transaction":
        return _Transaction(cursor, needed)


class _Transaction:
    """START TRANSACTION ... COMMIT on a connection in autocommit mode, rolled back on error.

    Cheaper than atomic(), which switches autocommit off and on again (two more round trips).
    """

    def __init__(self, cursor: Any, needed: bool) -> None:
        self.cursor = cursor
        self.needed = needed

    def __enter__(self) -> None:
        if self.needed:
            self.cursor.execute("START TRANSACTION", [])

    def __exit__(self, kind: type[BaseException] | None, *args: object) -> None:
        if not self.needed:
            return
        if kind is None:
            self.cursor.execute("COMMIT", [])
        else:
            # The original error says more (often: the connection is gone).
            with contextlib.suppress(Exception):
                self.cursor.execute("ROLLBACK", [])


@cache
def _queries_class(vendor: str) -> type[Queries]:
    classes: dict[str, type[Queries]] = {
        "postgresql": PostgreSQLQueries,
        "sqlite": SQLiteQueries,
        "mysql": MySQLQueries,
    }
    return classes[vendor]


def queries_for(alias: str) -> Queries:
    """The statements for the database ``alias``, on this thread's connection to it."""
    connection = connections[alias]
    return _queries_class(connection.vendor)(connection)
