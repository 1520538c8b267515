"""The queue table's schema: migrations, and the indexes the worker's queries use."""

import io
import json
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connections

from django_tasks.backends.database.models import DBTaskResult
from django_tasks.backends.database.schema import (
    CLAIM_INDEX,
    ENQUEUE_FUNCTION,
    FINISHED_INDEX,
    LEASE_INDEX,
)

SUITE = "django_tasks_conformance.tasks"
"""The module of the suite's fixture tasks, which these tests share."""

TABLE = DBTaskResult._meta.db_table


@pytest.mark.django_db(databases=["default"])
def test_the_models_and_migrations_agree() -> None:
    output = io.StringIO()
    call_command(
        "makemigrations", "django_tasks_spec_database", check=True, dry_run=True, stdout=output
    )
    assert output.getvalue() == "No changes detected in app 'django_tasks_spec_database'\n"


def index_names(alias: str) -> set[str]:
    connection = connections[alias]
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, TABLE)
    return {name for name, details in constraints.items() if details["index"]}


def functions(alias: str) -> set[str]:
    """The names of the functions in the database (PostgreSQL; none elsewhere)."""
    if connections[alias].vendor != "postgresql":
        return set()
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT proname FROM pg_proc WHERE proname LIKE 'django_tasks%%'")
        return {name for (name,) in cursor.fetchall()}


@pytest.mark.transactional
def test_the_migration_creates_and_drops_the_database_specific_objects(alias: str) -> None:
    indexes = {CLAIM_INDEX, LEASE_INDEX, FINISHED_INDEX}
    on_postgresql = {ENQUEUE_FUNCTION} if connections[alias].vendor == "postgresql" else set()
    assert indexes <= index_names(alias)
    assert functions(alias) == on_postgresql
    call_command("migrate", "django_tasks_spec_database", "zero", database=alias, verbosity=0)
    assert TABLE not in connections[alias].introspection.table_names()
    assert functions(alias) == set()
    call_command("migrate", "django_tasks_spec_database", database=alias, verbosity=0)
    assert indexes <= index_names(alias)
    assert functions(alias) == on_postgresql


@pytest.mark.databases("postgres")
def test_on_postgresql_the_table_is_vacuumed_early(alias: str) -> None:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = %s", [TABLE])
        (options,) = cursor.fetchone()
    assert options == [
        "autovacuum_vacuum_scale_factor=0.01",
        "autovacuum_analyze_scale_factor=0.02",
    ]


@pytest.mark.databases("postgres")
@pytest.mark.transactional
def test_on_postgresql_the_claim_walks_the_partial_index_of_new_rows(alias: str) -> None:
    arguments = json.dumps({"args": [], "kwargs": {}})
    with connections[alias].cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {TABLE} (id, status, backend, queue_name, task_path, priority, "
            f"arguments, available_at, attempts, worker_id, worker_ids, exception_class_path, "
            f"traceback, finished_at) "
            f"SELECT gen_random_uuid(), 'SUCCEEDED', 'default', 'default', '{SUITE}.noop', 0, "
            f"%s, now(), 1, 'w', '[]', '', '', now() FROM generate_series(1, 20000) AS i",
            [arguments],
        )
        cursor.execute(
            f"INSERT INTO {TABLE} (id, status, backend, queue_name, task_path, priority, "
            f"arguments, available_at, attempts, worker_id, worker_ids, exception_class_path, "
            f"traceback) "
            f"SELECT gen_random_uuid(), 'NEW', 'default', 'default', '{SUITE}.noop', i %% 3, "
            f"%s, now(), 0, '', '[]', '', '' FROM generate_series(1, 50) AS i",
            [arguments],
        )
        cursor.execute(f"ANALYZE {TABLE}")
        cursor.execute(
            f"EXPLAIN SELECT id FROM {TABLE} WHERE status = 'NEW' AND backend = %s "
            f"AND queue_name = ANY(%s) AND available_at <= STATEMENT_TIMESTAMP() "
            f"ORDER BY priority DESC, available_at, id LIMIT %s FOR UPDATE SKIP LOCKED",
            ["default", ["default"], 10],
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert f"Index Scan using {CLAIM_INDEX}" in plan, plan
    assert "Sort" not in plan, plan


def test_reading_a_result_imports_no_exception_class_outside_the_installed_apps() -> None:
    from django_tasks.results import exception_class

    assert exception_class("builtins.ValueError") is ValueError
    assert exception_class("django_tasks.exceptions.InvalidTaskError").__name__ == (
        "InvalidTaskError"
    )
    stand_in: Any = exception_class("antigravity.Fly")
    assert (stand_in.__module__, stand_in.__name__) == ("antigravity", "Fly")
    assert issubclass(stand_in, Exception)
    not_an_exception: Any = exception_class("builtins.len")  # A stand-in, not the builtin.
    assert (not_an_exception.__name__, not_an_exception is len) == ("len", False)


def test_result_ids_are_uuid7_strings_ordered_by_creation() -> None:
    import uuid

    from django_tasks.backends.database.rows import uuid7

    ids = [uuid7() for _ in range(1000)]
    assert all(uuid.UUID(value).version == 7 for value in ids)
    assert len(set(ids)) == 1000
    assert sorted(ids) == ids
