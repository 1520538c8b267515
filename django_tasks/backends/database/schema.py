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
    statements = [
        f"DROP INDEX {name}{on_table}" for name in (CLAIM_INDEX, LEASE_INDEX, FINISHED_INDEX)
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


def _enqueue_function(table: str) -> str:
    """django_tasks_spec_enqueue(id, backend, queue_name, task_path, priority, arguments,
    run_after, notify): insert a NEW row, NOTIFY its queue if ``notify``, return enqueued_at.
    enqueued_at and available_at (unless run_after) are the statement's time."""
    return f"""CREATE FUNCTION {ENQUEUE_FUNCTION}(
    p_id uuid, p_backend text, p_queue_name text, p_task_path text, p_priority integer,
    p_arguments jsonb, p_run_after timestamptz, p_notify boolean
) RETURNS timestamptz LANGUAGE plpgsql AS $$
DECLARE
    enqueued timestamptz;
BEGIN
    INSERT INTO {table} (id, status, backend, queue_name, task_path, priority, arguments,
        run_after, available_at, attempts, worker_id, worker_ids, exception_class_path,
        traceback)
    VALUES (p_id, 'NEW', p_backend, p_queue_name, p_task_path, p_priority, p_arguments,
        p_run_after, COALESCE(p_run_after, STATEMENT_TIMESTAMP()), 0, '', '[]', '', '')
    RETURNING enqueued_at INTO enqueued;
    IF p_notify THEN
        PERFORM pg_notify('{NOTIFY_CHANNEL}', p_queue_name);
    END IF;
    RETURN enqueued;
END
$$"""


def _table(apps: Any, schema_editor: BaseDatabaseSchemaEditor) -> str:
    model = apps.get_model("django_tasks_spec_database", "DBTaskResult")
    return schema_editor.quote_name(model._meta.db_table)
