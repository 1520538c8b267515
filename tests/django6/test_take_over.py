"""A team on django-tasks-db 0.13 switches to our DatabaseBackend without losing queued tasks:
django-tasks-db's real migrations create its table beside ours, its backend enqueues, and
``take_over_django_tasks_db`` moves the queued tasks; db_worker runs them, on each database."""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connections

pytestmark = pytest.mark.transactional

ROOT = Path(__file__).resolve().parents[2]
SOURCE_TABLE = "django_tasks_database_dbtaskresult"
"""django-tasks-db's table."""


def manage(alias: str, phase: str, *arguments: str) -> str:
    """Run a management command of the project, before or after the switch; its output."""
    completed = subprocess.run(
        [sys.executable, "-m", "django", *arguments],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.django6.takeover_settings",
            "DJANGO_TASKS_TAKEOVER_DATABASE": alias,
            "DJANGO_TASKS_TAKEOVER_PHASE": phase,
        },
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return completed.stdout


def in_project(alias: str, phase: str, code: str) -> str:
    return manage(alias, phase, "shell", "--no-imports", "-c", code)


@pytest.fixture
def django_tasks_db_table(alias: str) -> Iterator[None]:
    """django-tasks-db's table, created by its own migrations on the test database, and
    dropped afterwards (its migrations cannot be unapplied)."""
    manage(alias, "before", "migrate", "django_tasks_database", "--verbosity", "0")
    yield
    connection = connections[alias]
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {connection.ops.quote_name(SOURCE_TABLE)}")
        cursor.execute("DELETE FROM django_migrations WHERE app = %s", ["django_tasks_database"])


def test_queued_tasks_of_django_tasks_db_are_taken_over_and_run(
    alias: str, django_tasks_db_table: None
) -> None:
    enqueued = in_project(
        alias,
        "before",
        """
import json
from datetime import timedelta
from django.tasks import task_backends
from django.utils import timezone
from tests.django6.tasks import explode, multiply

backend = task_backends["default"]
assert type(backend).__module__ == "django_tasks_db.backend", type(backend)
ids = [
    multiply.enqueue(6, 7).id,
    explode.enqueue("Boom").id,
    multiply.using(run_after=timezone.now() + timedelta(days=1)).enqueue(1, 1).id,
]
print(json.dumps([str(i) for i in ids]))
""",
    )
    now, failing, later = json.loads(enqueued)

    report = manage(alias, "after", "take_over_django_tasks_db")
    assert report == (
        "Moved 3 queued tasks of django-tasks-db's backend 'default' to backend 'default'; "
        "0 running or finished rows left in its table.\n"
    )
    assert "Moved 0 queued tasks" in manage(alias, "after", "take_over_django_tasks_db")
    manage(alias, "after", "db_worker", "--batch", "--worker-id", "ours")

    results = in_project(
        alias,
        "after",
        f"""
from django.tasks import task_backends
backend = task_backends["default"]
assert type(backend).__module__ == "django_tasks.backends.database.backend", type(backend)
done = backend.get_result({now!r})
failed = backend.get_result({failing!r})
waiting = backend.get_result({later!r})
print(done.status, done.return_value, done.worker_ids)
print(failed.status, failed.errors[0].exception_class_path)
print(waiting.status, waiting.task.run_after is not None)
""",
    )
    assert results.splitlines() == [
        "SUCCESSFUL 42 ['ours']",
        "FAILED builtins.ValueError",
        "READY True",
    ]
