"""PostgreSQL: single-statement claims with FOR UPDATE SKIP LOCKED, outcomes written with one
UPDATE ... FROM unnest(arrays), new tasks bulk-loaded with COPY, and NOTIFY to wake idle
workers when tasks are enqueued or requeued.

The id column is a native uuid: ids go in as their text (cast where they travel in an array)
and come back as UUID objects, turned into text.

Notifications. A NOTIFY costs the server about as much again as the INSERT it goes with (its
commit takes a database-wide lock and writes the notification queue), so enqueues of one task
at a time notify at most once per NOTIFY_WINDOW per queue and connection: a worker woken by a
notification looks again NOTIFY_WINDOW later (then backs off), which finds the tasks enqueued
in between. Inside a transaction an enqueue always notifies (delivered at the commit, whenever
that is); a task deferred to later never does (workers poll for those). A task requeued for
later (a retry after its backoff, a lost attempt) notifies with its delay (see ``_requeue``).
"""

import time
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from django.db import DatabaseError
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from django_tasks.backends.database.queries.base import (
    DEAD_PATH_SECONDS,
    NEW,
    RUNNING,
    ClaimedRow,
    Finish,
    NewRow,
    Queries,
    claimed_columns,
)
from django_tasks.backends.database.schema import ENQUEUE_FUNCTION, NOTIFY_CHANNEL, NOTIFY_WINDOW

_READABLE = "run_after BETWEEN '0001-01-01 00:00:00+00' AND '9999-12-31 23:59:59.999999+00'"
CLAIMED = (
    f"{claimed_columns(f'CASE WHEN {_READABLE} THEN run_after END')}, "
    f"CASE WHEN NOT {_READABLE} THEN run_after::text END"
)
"""What a claim returns: a run_after beyond the years 1 to 9999 in UTC, which PostgreSQL holds
but Python's datetime does not (the driver would fail the whole claim), as NULL, and its text
in one more column."""


class PostgreSQLQueries(Queries):
    now = "STATEMENT_TIMESTAMP()"

    @classmethod
    def connection_bounds(cls, connection: BaseDatabaseWrapper) -> dict[str, Any]:
        # libpq's: TCP keepalives notice a dead path while the connection is idle (LISTENing),
        # tcp_user_timeout while a statement is sent unacknowledged; the kernel closes the
        # connection after either, and the driver's call fails. Neither fires on a slow server.
        bounds: dict[str, Any] = {
            "connect_timeout": DEAD_PATH_SECONDS,
            "keepalives": 1,
            "keepalives_idle": DEAD_PATH_SECONDS // 2,
            "keepalives_interval": 1,
            "keepalives_count": DEAD_PATH_SECONDS // 2,
        }
        if _libpq_version(connection) >= 120000:  # tcp_user_timeout came with libpq 12.
            bounds["tcp_user_timeout"] = DEAD_PATH_SECONDS * 1000
        return bounds

    def __init__(self, connection: BaseDatabaseWrapper) -> None:
        super().__init__(connection)
        self._enqueue_sql = (
            f"SELECT {ENQUEUE_FUNCTION}(%s::uuid, %s, %s, %s, %s, %s::jsonb, %s::timestamptz, %s, "
            f"%s::jsonb)"
        )
        self._copy_sql = (
            f"COPY {self.table} (id, status, backend, queue_name, task_path, priority, "
            f"arguments, run_after, enqueued_at, available_at, attempts, worker_id, worker_ids, "
            f"exception_class_path, traceback, trace_context) FROM STDIN"
        )
        self._notified_at: dict[str, float] = {}
        """time.monotonic() of the last committed notification, by queue."""

    def insert(self, cursor: Any, row: NewRow) -> datetime:
        # The INSERT statement, run by a function whose plan the server keeps (see schema.py).
        notify = self._notifies(row)
        cursor.execute(self._enqueue_sql, [*self.row_values(row), notify, row.trace_context])
        enqueued_at = self.from_db(cursor.fetchone()[0])
        if notify and not self.connection.in_atomic_block:
            self._notified_at[row.queue_name] = time.monotonic()
        return enqueued_at

    def _notifies(self, row: NewRow) -> bool:
        """Whether inserting ``row`` should wake idle workers (see the module docstring)."""
        if row.run_after is not None and row.run_after > timezone.now():
            return False
        if self.connection.in_atomic_block:
            return True
        notified_at = self._notified_at.get(row.queue_name)
        return notified_at is None or time.monotonic() - notified_at >= NOTIFY_WINDOW

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
        # The ARRAY() subquery runs once, walking the claim index in order and locking the
        # rows it keeps; rows that another worker is claiming right now are skipped.
        in_queues = "" if queues is None else "AND queue_name = ANY(%s) "
        if exclude:
            in_queues += "AND queue_name <> ALL(%s) "
        cursor.execute(
            f"UPDATE {self.table} SET status = '{RUNNING}', worker_id = %s, "
            f"attempts = attempts + 1, started_at = {self.now}, "
            f"lease_expires_at = {self.now} + %s * INTERVAL '1 second', "
            f"worker_ids = worker_ids || to_jsonb(%s::text) "
            f"WHERE id = ANY(ARRAY(SELECT id FROM {self.table} "
            f"WHERE status = '{NEW}' AND backend = %s {in_queues}"
            f"AND available_at <= {self.now} "
            f"ORDER BY priority DESC, available_at, id LIMIT %s FOR UPDATE SKIP LOCKED)) "
            f"RETURNING {CLAIMED}",
            [
                worker_id,
                lease_seconds,
                worker_id,
                backend,
                *([] if queues is None else [list(queues)]),
                *([list(exclude)] if exclude else []),
                limit,
            ],
        )
        return [self._claimed(row) for row in cursor.fetchall()]

    def claimed_run_after(self, row: Sequence[Any]) -> tuple[datetime | None, str]:
        return self.from_db_or_none(row[4]), row[12] or ""

    def finish_rows(self, cursor: Any, *, worker_id: str, finishes: Sequence[Finish]) -> set[str]:
        # One array per column, so that the statement's text is the same for every batch size;
        # times as ISO 8601 text, which costs less Python to send than datetimes.
        cursor.execute(
            f"UPDATE {self.table} AS t SET status = v.status, started_at = v.started_at, "
            f"finished_at = v.finished_at, return_value = v.return_value::jsonb, "
            f"exception_class_path = v.exception, traceback = v.traceback, "
            f"lease_expires_at = NULL "
            f"FROM unnest(%s::uuid[], %s::int[], %s::text[], %s::timestamptz[], "
            f"%s::timestamptz[], %s::text[], %s::text[], %s::text[]) "
            f"AS v(id, attempts, status, started_at, finished_at, return_value, exception, "
            f"traceback) "
            f"WHERE t.id = v.id AND t.worker_id = %s AND t.attempts = v.attempts "
            f"AND (t.status = '{RUNNING}' OR t.finished_at = v.finished_at) "
            f"RETURNING t.id",
            [
                [f.id for f in finishes],
                [f.attempts for f in finishes],
                [f.status for f in finishes],
                [f.started_at.isoformat() for f in finishes],
                [f.finished_at.isoformat() for f in finishes],
                [f.return_value for f in finishes],
                [f.exception_class_path for f in finishes],
                [f.traceback for f in finishes],
                worker_id,
            ],
        )
        return {str(row[0]) for row in cursor.fetchall()}

    def renew(
        self, cursor: Any, *, worker_id: str, ids: Sequence[str], lease_seconds: float
    ) -> set[str]:
        cursor.execute(
            f"UPDATE {self.table} SET lease_expires_at = {self.now} + %s * INTERVAL '1 second' "
            f"WHERE id = ANY(%s::uuid[]) AND status = '{RUNNING}' AND worker_id = %s "
            f"RETURNING id",
            [lease_seconds, list(ids), worker_id],
        )
        return {str(row[0]) for row in cursor.fetchall()}

    def drop_last_worker_id(self, column: str) -> str:
        return f"{column} - (jsonb_array_length({column}) - 1)"

    def append_error(self, column: str) -> str:
        return f"COALESCE({column}, '[]'::jsonb) || jsonb_build_array(%s::jsonb)"

    def _requeue(self, cursor: Any, sql: str, params: list[Any], delay: float = 0.0) -> int:
        # Wake idle workers of the queues of the rows made NEW, as an enqueue does; for rows
        # due later, the payload says when ("<queue> <seconds>", see waking.py), so that idle
        # workers look again then rather than at their next poll.
        cursor.execute(
            f"WITH changed AS ({sql} RETURNING queue_name, status), "
            f"notified AS (SELECT pg_notify('{NOTIFY_CHANNEL}', queue_name || %s) "
            f"FROM (SELECT DISTINCT queue_name FROM changed WHERE status = '{NEW}') AS queues) "
            f"SELECT (SELECT count(*) FROM changed), (SELECT count(*) FROM notified)",
            [*params, f" {delay}" if delay > 0 else ""],
        )
        return int(cursor.fetchone()[0])

    def insert_many(self, cursor: Any, new_rows: Iterable[NewRow]) -> datetime:
        # COPY, several times faster than multi-row INSERTs, takes each row from ``new_rows``
        # while the server parses the ones before; then the queues of the rows due now are
        # NOTIFYed (delivered at the commit).
        now = self.current_time(cursor)
        local_now = timezone.now()  # Which tasks are due: the same estimate as insert()'s.
        due: set[str] = set()
        refused: list[Exception] = []

        def rows() -> Iterator[NewRow]:
            try:
                yield from new_rows
            except Exception as e:  # Raised below, not hidden by the aborted COPY's error.
                refused.append(e)
                raise

        try:
            with self.connection.wrap_database_errors, cursor.copy(self._copy_sql) as copy:
                self._copy_rows(copy, rows(), now, local_now, due)
        except DatabaseError:
            if refused:
                raise refused[0] from None
            raise
        if due:
            cursor.execute(
                "SELECT count(pg_notify(%s, queue_name)) FROM unnest(%s::text[]) AS queue_name",
                [NOTIFY_CHANNEL, sorted(due)],
            )
        return now

    def _copy_rows(
        self,
        copy: Any,
        new_rows: Iterable[NewRow],
        now: datetime,
        local_now: datetime,
        due: set[str],
    ) -> None:
        # Times go as ISO 8601 text, which COPY parses: dumping a datetime costs more Python
        # than the rest of the row.
        enqueued_at = now.isoformat()
        for row in new_rows:
            if row.run_after is None or row.run_after <= local_now:
                due.add(row.queue_name)
            run_after = None if row.run_after is None else row.run_after.isoformat()
            copy.write_row(
                (
                    row.id,
                    NEW,
                    row.backend,
                    row.queue_name,
                    row.task_path,
                    row.priority,
                    row.arguments,
                    run_after,
                    enqueued_at,
                    run_after or enqueued_at,
                    0,
                    "",
                    "[]",
                    "",
                    "",
                    row.trace_context,
                )
            )


def _libpq_version(connection: BaseDatabaseWrapper) -> int:
    """The version of the libpq that the driver (psycopg 3 or psycopg2) runs on."""
    driver = connection.Database  # type: ignore[attr-defined]  # The driver's module.
    if hasattr(driver, "pq"):
        return int(driver.pq.version())
    return int(driver.extensions.libpq_version())
