"""Database-specific schema objects, created by the initial migration.

- The claim index, which the worker's claim query walks in order (priority, then time, then id)
  and stops after as many rows as it wants. PostgreSQL and SQLite index only the NEW rows
  (a partial index), so it stays small however many finished results the table keeps; MySQL
  and MariaDB have no partial indexes and lead with the status instead.
- The lease index, over the RUNNING rows, for finding expired leases.
- PostgreSQL: a statement trigger that NOTIFYs idle workers of new tasks, with the queue name
  as the payload, so that they start them within milliseconds of the commit.
- PostgreSQL: autovacuum settings for a table whose rows change state several times each. Every
  claim and outcome leaves a dead row version (and a dead entry in the claim index) until the
  table is vacuumed; the defaults wait for 20% of the table to be dead, which on a table that
  keeps a million results means claims walking over hundreds of thousands of dead entries.

They are not declared in ``Meta.indexes``: Django would create the partial indexes on MySQL
without their condition, and warn about it (models.W037) on every check.
"""

from typing import Any

from django.db.backends.base.schema import BaseDatabaseSchemaEditor

CLAIM_INDEX = "django_tasks_db_claim"
LEASE_INDEX = "django_tasks_db_lease"
NOTIFY_CHANNEL = "django_tasks_database"
NOTIFY_FUNCTION = "django_tasks_database_notify"
NOTIFY_TRIGGER = "django_tasks_database_notify"
VACUUM_SCALE_FACTOR = 0.01
"""Vacuum the table once 1% of it is dead row versions (PostgreSQL's default: 20%)."""
ANALYZE_SCALE_FACTOR = 0.02


def create_schema_objects(apps: Any, schema_editor: BaseDatabaseSchemaEditor) -> None:
    for statement in _create_statements(apps, schema_editor):
        schema_editor.execute(statement, params=None)


def drop_schema_objects(apps: Any, schema_editor: BaseDatabaseSchemaEditor) -> None:
    connection = schema_editor.connection
    table = _table(apps, schema_editor)
    statements = []
    if connection.vendor == "postgresql":
        statements += [
            f"DROP TRIGGER IF EXISTS {NOTIFY_TRIGGER} ON {table}",
            f"DROP FUNCTION IF EXISTS {NOTIFY_FUNCTION}()",
        ]
    on_table = f" ON {table}" if connection.vendor == "mysql" else ""
    statements += [f"DROP INDEX {CLAIM_INDEX}{on_table}", f"DROP INDEX {LEASE_INDEX}{on_table}"]
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
        ]
    statements = [
        f"CREATE INDEX {CLAIM_INDEX} ON {table} "
        f"(priority DESC, available_at, id, queue_name, backend) WHERE status = 'NEW'",
        f"CREATE INDEX {LEASE_INDEX} ON {table} (lease_expires_at) WHERE status = 'RUNNING'",
    ]
    if vendor == "postgresql":
        statements += [
            f"ALTER TABLE {table} SET (autovacuum_vacuum_scale_factor = {VACUUM_SCALE_FACTOR}, "
            f"autovacuum_analyze_scale_factor = {ANALYZE_SCALE_FACTOR})",
            f"""CREATE FUNCTION {NOTIFY_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('{NOTIFY_CHANNEL}', queues.queue_name)
    FROM (SELECT DISTINCT queue_name FROM new_rows) AS queues;
    RETURN NULL;
END
$$""",
            f"CREATE TRIGGER {NOTIFY_TRIGGER} AFTER INSERT ON {table} "
            f"REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
            f"EXECUTE FUNCTION {NOTIFY_FUNCTION}()",
        ]
    return statements


def _table(apps: Any, schema_editor: BaseDatabaseSchemaEditor) -> str:
    model = apps.get_model("django_tasks_database", "DBTaskResult")
    return schema_editor.quote_name(model._meta.db_table)
