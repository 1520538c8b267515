"""SQLite: every write is one statement in autocommit, which SQLite runs as one write
transaction: a claim's SELECT and UPDATE cannot interleave with another worker's."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from django_tasks.backends.database.queries.base import (
    NEW,
    RUNNING,
    ClaimedRow,
    Finish,
    NewRow,
    Queries,
    claimed_columns,
)

CLAIMED = claimed_columns("CAST(run_after AS TEXT)")
"""What a claim returns: run_after as text, which Django's converter for the column does not
read, so that text that is no time Python holds fails its own row, not the claim."""


class SQLiteQueries(Queries):
    # SQLite's clock counts whole milliseconds. Its time is written as Django writes datetimes,
    # in UTC with six digits of fraction, so that comparing the text compares the times.
    now = "(STRFTIME('%%Y-%%m-%%d %%H:%%M:%%f', 'now') || '000')"

    def lease_until(self) -> str:
        return "(STRFTIME('%%Y-%%m-%%d %%H:%%M:%%f', 'now', %s) || '000')"

    def __init__(self, connection: BaseDatabaseWrapper) -> None:
        super().__init__(connection)
        # The enqueue time is a parameter: STRFTIME's time, truncated to the millisecond, can be
        # earlier than the enqueue() call that stored it. The time the row becomes available is
        # the clock's that claims compare it with: this host's to the microsecond can be later
        # than SQLite's reading of the same millisecond, which would hide the row from a claim
        # made at once.
        self.insert_sql = (
            f"INSERT INTO {self.table} (id, status, backend, queue_name, task_path, priority, "
            f"arguments, run_after, enqueued_at, available_at, attempts, worker_id, worker_ids, "
            f"exception_class_path, traceback, trace_context) "
            f"VALUES (%s, '{NEW}', %s, %s, %s, %s, %s, %s, %s, COALESCE(%s, {self.now}), 0, '', "
            f"'[]', '', '', %s)"
        )
        self._insert_returning_sql = f"{self.insert_sql} RETURNING enqueued_at"

    def current_time(self, cursor: Any) -> datetime:
        # SQLite runs in this process: its clock is this host's, here to the microsecond.
        return timezone.now()

    def insert_params(self, row: NewRow) -> list[Any]:
        values = self.row_values(row)
        return [*values, self.to_db(self.current_time(None)), values[-1], row.trace_context]

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
        # One statement is one write transaction, which SQLite serialises: the SELECT inside
        # cannot race with another worker's claim. It waits for the lock (the connection's
        # timeout) rather than failing at once, as it starts by taking the write lock.
        in_queues = self.in_queues(queues, exclude)
        cursor.execute(
            f"UPDATE {self.table} SET status = '{RUNNING}', worker_id = %s, "
            f"attempts = attempts + 1, started_at = {self.now}, "
            f"lease_expires_at = {self.lease_until()}, "
            f"worker_ids = json_insert(worker_ids, '$[#]', %s) "
            f"WHERE id IN (SELECT id FROM {self.table} "
            f"WHERE status = '{NEW}' AND backend = %s {in_queues}"
            f"AND available_at <= {self.now} "
            f"ORDER BY priority DESC, available_at, id LIMIT %s) "
            f"RETURNING {CLAIMED}",
            [
                worker_id,
                f"+{lease_seconds} seconds",
                worker_id,
                backend,
                *self.queue_params(queues, exclude),
                limit,
            ],
        )
        return [self._claimed(row) for row in cursor.fetchall()]

    def finish_rows(self, cursor: Any, *, worker_id: str, finishes: Sequence[Finish]) -> set[str]:
        values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s)"] * len(finishes))
        params: list[Any] = []
        for f in finishes:
            params += [
                self.id_to_db(f.id),
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
        return {self.id_from_db(row[0]) for row in cursor.fetchall()}

    def renew(
        self, cursor: Any, *, worker_id: str, ids: Sequence[str], lease_seconds: float
    ) -> set[str]:
        cursor.execute(
            f"UPDATE {self.table} SET lease_expires_at = {self.lease_until()} "
            f"WHERE id IN ({self.placeholders(len(ids))}) AND status = '{RUNNING}' "
            f"AND worker_id = %s RETURNING id",
            [f"+{lease_seconds} seconds", *map(self.id_to_db, ids), worker_id],
        )
        return {self.id_from_db(row[0]) for row in cursor.fetchall()}

    def drop_last_worker_id(self, column: str) -> str:
        return f"json_remove({column}, '$[#-1]')"

    def append_error(self, column: str) -> str:
        return f"json_insert(COALESCE({column}, '[]'), '$[#]', json(%s))"

    def later(self) -> str:
        return self.lease_until()

    def later_param(self, seconds: float) -> Any:
        return f"+{seconds:.6f} seconds"
