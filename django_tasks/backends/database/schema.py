"""Database-specific schema objects, created by the initial migration.

- The claim index, which the worker's claim query walks in order (priority, then time, then id)
  and stops after as many rows as it wants. PostgreSQL and SQLite index only the NEW rows
  (a partial index), so it stays small however many finished results the table keeps; MySQL
  and MariaDB have no partial indexes and lead with the status instead.
- The lease index, over the RUNNING rows, for finding expired leases.
- The finished index, over the finished rows' finished_at, for pruning old results (partial
  where the database allows, so that enqueueing a task adds no entry to it).
- PostgreSQL: a function that enqueues a task (and NOTIFYs idle workers, when asked). Its
  INSERT's plan is cached by the server for the session, as a prepared statement's would be,
  but with no state on the client side, so it works behind poolers (PgBouncer) in any mode;
  Django leaves prepared statements off for that reason. That saves the server planning the
  INSERT at every enqueue.
- PostgreSQL: autovacuum settings for a table whose rows change state several times each. Every
  claim and outcome leaves a dead row version (and a dead entry in the claim index) until the
  table is vacuumed; the defaults wait for 20% of the table to be dead, which on a table that
  keeps a million results means claims walking over hundreds of thousands of dead entries.

- The unique index of unique tasks (migration 0002): at most one live row (NEW, or RUNNING
  with ``unique_while_running``) per backend, task and ``unique_key``. PostgreSQL and SQLite
  make it a partial unique index, so rows without a key (and finished rows) are not in it and
  enqueueing them costs nothing more. MySQL and MariaDB have no partial indexes: there a stored
  generated column, ``live_key``, holds a hash of the backend, task and key while the row is
  live and NULL otherwise (a unique index allows any number of NULLs), and the unique index is
  on it. A row leaves the index by its own status change, so no statement that finishes a task
  has to free its key.

They are not declared in ``Meta.indexes``: Django would create the partial indexes on MySQL
without their condition, and warn about it (models.W037) on every check.
"""

from typing import Any

from django.db.backends.base.schema import BaseDatabaseSchemaEditor

MAX_NAME_LENGTH = 100
"""The longest queue name and backend alias the table stores (its columns' width)."""

CLAIM_INDEX = "django_tasks_spec_claim"
LEASE_INDEX = "django_tasks_spec_lease"
CANCELLED = "CANCELLED"
"""The status of a row whose task was cancelled: a final state of the table's own. Neither
dialect has a cancelled status, so its result is FAILED, with a TaskCancelled last error."""
FINISHED_INDEX = "django_tasks_spec_finished"
UNIQUE_INDEX = "django_tasks_spec_unique"
LIVE_KEY_COLUMN = "live_key"
"""MySQL and MariaDB only: the generated column of the unique index (see above)."""
LIVE = "(status = 'NEW' OR (status = 'RUNNING' AND unique_while_running))"
"""The condition of a row whose unique key is taken: the index's, and the lookups'."""
ENQUEUE_FUNCTION = "django_tasks_spec_enqueue"
NOTIFY_CHANNEL = "django_tasks_spec"
"""The channel idle workers LISTEN on; the payload is the queue name (see queries/postgresql)."""
NOTIFY_WINDOW = 0.01
"""Seconds after an enqueue's notification during which further enqueues on its queue, from
the same connection, skip theirs; a woken worker looks again this long after its claim."""
VACUUM_SCALE_FACTOR = 0.01
"""Vacuum the table once 1% of it is dead row versions (PostgreSQL's default: 20%)."""
ANALYZE_SCALE_FACTOR = 0.02


def create_schema_objects(apps: Any, schema_editor: BaseDatabaseSchemaEditor) -> None:
    for statement in _create_statements(apps, schema_editor):
        schema_editor.execute(statement, params=None)


def drop_schema_objects(apps: Any, schema_editor: BaseDatabaseSchemaEditor) -> None:
    connection = schema_editor.connection
    table = _table(apps, schema_editor)
    on_table = f" ON {table}" if connection.vendor == "mysql" else ""
    if_exists = "" if connection.vendor == "mysql" else "IF EXISTS "  # Gone on SQLite: 0002.
    statements = [
        f"DROP INDEX {if_exists}{name}{on_table}"
        for name in (CLAIM_INDEX, LEASE_INDEX, FINISHED_INDEX)
    ]
    if connection.vendor == "postgresql":
        statements.append(f"DROP FUNCTION {ENQUEUE_FUNCTION}")
    for statement in statements:
        schema_editor.execute(statement, params=None)


def _create_statements(apps: Any, schema_editor: BaseDatabaseSchemaEditor) -> list[str]:
    vendor = schema_editor.connection.vendor
    table = _table(apps, schema_editor)
    if vendor == "mysql":
        return [
            f"CREATE INDEX {CLAIM_INDEX} ON {table} "
            f"(status, priority DESC, available_at, id, queue_name, backend)",
            f"CREATE INDEX {LEASE_INDEX} ON {table} (status, lease_expires_at)",
            f"CREATE INDEX {FINISHED_INDEX} ON {table} (finished_at)",
        ]
    statements = [
        f"CREATE INDEX {CLAIM_INDEX} ON {table} "
        f"(priority DESC, available_at, id, queue_name, backend) WHERE status = 'NEW'",
        f"CREATE INDEX {LEASE_INDEX} ON {table} (lease_expires_at) WHERE status = 'RUNNING'",
        f"CREATE INDEX {FINISHED_INDEX} ON {table} (finished_at) WHERE finished_at IS NOT NULL",
    ]
    if vendor == "postgresql":
        statements += [
            f"ALTER TABLE {table} SET (autovacuum_vacuum_scale_factor = {VACUUM_SCALE_FACTOR}, "
            f"autovacuum_analyze_scale_factor = {ANALYZE_SCALE_FACTOR})",
            _enqueue_function(table),
        ]
    return statements


def create_unique_index(apps: Any, schema_editor: BaseDatabaseSchemaEditor) -> None:
    table = _table(apps, schema_editor)
    if schema_editor.connection.vendor == "mysql":
        statements = [
            f"ALTER TABLE {table} ADD COLUMN {LIVE_KEY_COLUMN} CHAR(64) AS "
            f"({live_key_hash('backend', 'task_path', 'unique_key', live_only=True)}) STORED",
            f"CREATE UNIQUE INDEX {UNIQUE_INDEX} ON {table} ({LIVE_KEY_COLUMN})",
        ]
    else:
        # SQLite rebuilds the table to add a column with a default, which drops the indexes
        # made by SQL (0001's and 0002's): they are made again.
        again = [
            *_create_statements(apps, schema_editor),
            _failed_index(schema_editor.connection.vendor, table),
        ]
        statements = [
            *(
                statement.replace("CREATE INDEX", "CREATE INDEX IF NOT EXISTS", 1)
                for statement in again
                if statement.startswith("CREATE INDEX")
            ),
            f"CREATE UNIQUE INDEX {UNIQUE_INDEX} ON {table} (backend, task_path, unique_key) "
            f"WHERE unique_key IS NOT NULL AND {LIVE}",
        ]
    for statement in statements:
        schema_editor.execute(statement, params=None)


def drop_unique_index(apps: Any, schema_editor: BaseDatabaseSchemaEditor) -> None:
    table = _table(apps, schema_editor)
    if schema_editor.connection.vendor == "mysql":
        statements = [
            f"DROP INDEX {UNIQUE_INDEX} ON {table}",
            f"ALTER TABLE {table} DROP COLUMN {LIVE_KEY_COLUMN}",
        ]
    else:
        statements = [f"DROP INDEX {UNIQUE_INDEX}"]
    for statement in statements:
        schema_editor.execute(statement, params=None)


def live_key_hash(backend: str, task_path: str, key: str, *, live_only: bool = False) -> str:
    """MySQL and MariaDB: the SQL of the hash ``live_key`` holds for these three SQL values
    (columns or placeholders), NULL unless the row is live when ``live_only``. Each part is
    prefixed with its length, so that no two triples give the same text."""
    text = (
        f"CONCAT(CHAR_LENGTH({backend}), ':', {backend}, CHAR_LENGTH({task_path}), ':', "
        f"{task_path}, {key})"
    )
    if not live_only:
        return f"SHA2({text}, 256)"
    return f"CASE WHEN {key} IS NOT NULL AND {LIVE} THEN SHA2({text}, 256) END"


def _enqueue_function(table: str, *, traced: bool = False) -> str:
    """django_tasks_spec_enqueue(id, backend, queue_name, task_path, priority, arguments,
    run_after, notify[, trace_context]): insert a NEW row, NOTIFY its queue if ``notify``,
    return enqueued_at. enqueued_at and available_at (unless run_after) are the statement's
    time. ``traced``: the function of nine arguments, the last the row's trace_context
    (migration 0005), made beside that of eight, which workers of earlier releases call."""
    trace_parameter = ", p_trace_context jsonb" if traced else ""
    trace_column = ", trace_context" if traced else ""
    trace_value = ", p_trace_context" if traced else ""
    return f"""CREATE FUNCTION {ENQUEUE_FUNCTION}(
    p_id uuid, p_backend text, p_queue_name text, p_task_path text, p_priority integer,
    p_arguments jsonb, p_run_after timestamptz, p_notify boolean{trace_parameter}
) RETURNS timestamptz LANGUAGE plpgsql AS $$
DECLARE
    enqueued timestamptz;
BEGIN
    INSERT INTO {table} (id, status, backend, queue_name, task_path, priority, arguments,
        run_after, available_at, attempts, worker_id, worker_ids, exception_class_path,
        traceback{trace_column})
    VALUES (p_id, 'NEW', p_backend, p_queue_name, p_task_path, p_priority, p_arguments,
        p_run_after, COALESCE(p_run_after, STATEMENT_TIMESTAMP()), 0, '', '[]', '',
        ''{trace_value})
    RETURNING enqueued_at INTO enqueued;
    IF p_notify THEN
        PERFORM pg_notify('{NOTIFY_CHANNEL}', p_queue_name);
    END IF;
    RETURN enqueued;
END
$$"""


TRACED_ENQUEUE_SIGNATURE = (
    f"{ENQUEUE_FUNCTION}(uuid, text, text, text, integer, jsonb, timestamptz, boolean, jsonb)"
)
"""The function of migration 0005, by its argument types (it shares its name with 0001's)."""


def create_traced_enqueue_function(apps: Any, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        table = _table(apps, schema_editor)
        schema_editor.execute(_enqueue_function(table, traced=True), params=None)


def drop_traced_enqueue_function(apps: Any, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP FUNCTION {TRACED_ENQUEUE_SIGNATURE}", params=None)


def _table(apps: Any, schema_editor: BaseDatabaseSchemaEditor) -> str:
    model = apps.get_model("django_tasks_spec_database", "DBTaskResult")
    return schema_editor.quote_name(model._meta.db_table)


FAILED_INDEX = "django_tasks_spec_failed"
"""Created by migration 0002: the failed rows by finished_at, for the dashboard's recent
failures (partial where the database allows, so only failures are indexed)."""


def _failed_index(vendor: str, table: str) -> str:
    if vendor == "mysql":
        return f"CREATE INDEX {FAILED_INDEX} ON {table} (status, finished_at)"
    return f"CREATE INDEX {FAILED_INDEX} ON {table} (finished_at) WHERE status = 'FAILED'"


def create_observability_objects(apps: Any, schema_editor: BaseDatabaseSchemaEditor) -> None:
    statement = _failed_index(schema_editor.connection.vendor, _table(apps, schema_editor))
    schema_editor.execute(statement, params=None)


def drop_observability_objects(apps: Any, schema_editor: BaseDatabaseSchemaEditor) -> None:
    on_table = (
        f" ON {_table(apps, schema_editor)}" if schema_editor.connection.vendor == "mysql" else ""
    )
    # IF EXISTS: on SQLite a later migration's table rebuild may have dropped it already.
    if_exists = "" if on_table else "IF EXISTS "
    schema_editor.execute(f"DROP INDEX {if_exists}{FAILED_INDEX}{on_table}", params=None)
