"""MySQL 8 and MariaDB 10.6+: no UPDATE ... RETURNING, so a claim is a short transaction
(SELECT ... FOR UPDATE SKIP LOCKED, then UPDATE), and outcomes are one UPDATE each."""

import contextlib
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper

from django_tasks.backends.database.queries.base import (
    DEAD_PATH_SECONDS,
    NEW,
    RUNNING,
    ClaimedRow,
    Finish,
    NewRow,
    Queries,
)
from django_tasks.backends.database.schema import LIVE_KEY_COLUMN, live_key_hash


class MySQLQueries(Queries):
    """MySQL 8 and MariaDB: no UPDATE ... RETURNING, so claims take a short transaction."""

    now = "UTC_TIMESTAMP(6)"

    @classmethod
    def connection_bounds(cls, connection: BaseDatabaseWrapper) -> dict[str, Any]:
        # mysqlclient's: how long to wait for the server to take or answer each packet. A
        # statement of the worker's that waits longer (on a lock) is given up on as well, and
        # run again on a new connection.
        return {
            "connect_timeout": DEAD_PATH_SECONDS,
            "read_timeout": DEAD_PATH_SECONDS,
            "write_timeout": DEAD_PATH_SECONDS,
        }

    def lease_until(self, start: str) -> str:
        return f"{start} + INTERVAL %s MICROSECOND"

    def insert(self, cursor: Any, row: NewRow) -> datetime:
        if self.connection.features.can_return_columns_from_insert:  # MariaDB
            return super().insert(cursor, row)
        # MySQL: the same INSERT without RETURNING, then read the time back.
        cursor.execute(self.insert_sql, self.insert_params(row))
        cursor.execute(
            f"SELECT enqueued_at FROM {self.table} WHERE id = %s", [self.id_to_db(row.id)]
        )
        return self.from_db(cursor.fetchone()[0])

    def live_with_key(self, cursor: Any, *, backend: str, task_path: str, key: str) -> str | None:
        # The unique index is on the generated column (see schema.py).
        cursor.execute(
            f"SELECT id FROM {self.table} "
            f"WHERE {LIVE_KEY_COLUMN} = {live_key_hash('%s', '%s', '%s')}",
            [backend, backend, task_path, task_path, key],
        )
        row = cursor.fetchone()
        return None if row is None else self.id_from_db(row[0])

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
        in_queues = self.in_queues(queues, exclude)
        with self._transaction(cursor):
            cursor.execute(
                f"SELECT id, task_path, queue_name, priority, run_after, arguments, "
                f"enqueued_at, {self.now}, attempts, worker_ids, trace_context, errors "
                f"FROM {self.table} "
                f"WHERE status = '{NEW}' AND backend = %s {in_queues}"
                f"AND available_at <= {self.now} "
                f"ORDER BY priority DESC, available_at, id LIMIT %s FOR UPDATE SKIP LOCKED",
                [backend, *self.queue_params(queues, exclude), limit],
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
                (*row[:8], row[8] + 1, [*json.loads(row[9]), worker_id], *row[10:12]),
            )
            for row in rows
        ]

    def finish_rows(self, cursor: Any, *, worker_id: str, finishes: Sequence[Finish]) -> set[str]:
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
                        self.id_to_db(f.id),
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
        params = [*map(self.id_to_db, ids), worker_id]
        cursor.execute(
            f"UPDATE {self.table} SET lease_expires_at = {self.lease_until(self.now)} WHERE {held}",
            [round(lease_seconds * 1_000_000), *params],
        )
        if cursor.rowcount == len(ids):
            return set(ids)
        cursor.execute(f"SELECT id FROM {self.table} WHERE {held}", params)
        return {self.id_from_db(row[0]) for row in cursor.fetchall()}

    def drop_last_worker_id(self, column: str) -> str:
        return f"JSON_REMOVE({column}, CONCAT('$[', JSON_LENGTH({column}) - 1, ']'))"

    def append_error(self, column: str) -> str:
        # JSON_EXTRACT(text, '$') is the JSON value the text holds, on MySQL and MariaDB alike.
        return f"JSON_ARRAY_APPEND(COALESCE({column}, JSON_ARRAY()), '$', JSON_EXTRACT(%s, '$'))"

    def later(self) -> str:
        return self.lease_until(self.now)

    def later_param(self, seconds: float) -> Any:
        return round(seconds * 1_000_000)

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
