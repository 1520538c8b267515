"""Rows of the queue and workers tables, written directly, for the tests of the figures
(health, metrics, dashboard)."""

from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from django_tasks.backends.database import DatabaseBackend
from django_tasks.backends.database.models import DBTaskResult, DBWorker
from tests.database.conftest import named_id


def seed_task(backend: DatabaseBackend, name: str, *, queue: str = "mail", **fields: Any) -> str:
    """A row named ``name`` (see named_id): NEW and due unless ``fields`` say otherwise."""
    row = {
        "id": named_id(name),
        "backend": "default",
        "queue_name": queue,
        "task_path": "tests.tasks.noop",
        "arguments": {"args": [], "kwargs": {}},
        "status": "NEW",
        "available_at": timezone.now(),
        **fields,
    }
    DBTaskResult.objects.using(backend.database).create(**row)
    return str(row["id"])


def seed_worker(
    backend: DatabaseBackend,
    worker_id: str,
    queues: list[str] | None,
    age: float = 0,
    excluded: list[str] | None = None,
) -> None:
    DBWorker.objects.using(backend.database).create(
        worker_id=worker_id,
        backend="default",
        queues=queues,
        excluded_queues=excluded,
        heartbeat_at=timezone.now() - timedelta(seconds=age),
    )


SCRIPT = "<script>alert(1)</script>"


def seed_dashboard(backend: DatabaseBackend) -> dict[str, str]:
    """A queue 'mail' with known figures (see test_dashboard); returns some rows' ids."""
    now = timezone.now()

    def ago(seconds: float) -> datetime:
        return now - timedelta(seconds=seconds)

    ids = {
        "waiting": seed_task(backend, "waiting", available_at=ago(600)),
        "deferred": seed_task(backend, "deferred", available_at=now + timedelta(hours=1)),
        "running": seed_task(
            backend, "running", status="RUNNING", worker_id="host:1", started_at=ago(5)
        ),
    }
    seed_task(backend, "waiting-2", available_at=ago(30))
    # Waited 1, 1, 5, 1 s; ran 2, 2, 4, 2 s (nearest-rank p50 / p95 / p99: 1/5/5 and 2/4/4).
    for name, status, waited, ran in [
        ("succeeded", "SUCCEEDED", 1, 2),
        ("succeeded-2", "SUCCEEDED", 1, 2),
        ("succeeded-3", "SUCCEEDED", 5, 4),
        ("failed", "FAILED", 1, 2),
    ]:
        ids[name] = seed_task(
            backend,
            name,
            status=status,
            task_path=SCRIPT if status == "FAILED" else "tests.tasks.noop",
            exception_class_path="builtins.ValueError" if status == "FAILED" else "",
            traceback=f"ValueError: {SCRIPT}" if status == "FAILED" else "",
            arguments={"args": [SCRIPT], "kwargs": {"html": SCRIPT}},
            available_at=ago(100 + waited + ran),
            started_at=ago(100 + ran),
            finished_at=ago(100),
        )
    seed_worker(backend, "host:1", ["mail"])
    seed_worker(backend, "host:2", None, age=600)
    return ids
