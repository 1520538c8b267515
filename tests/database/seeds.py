"""Rows of the queue and workers tables, written directly, for the tests of the figures
(health, metrics, dashboard)."""

from datetime import timedelta
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
    backend: DatabaseBackend, worker_id: str, queues: list[str] | None, age: float = 0
) -> None:
    DBWorker.objects.using(backend.database).create(
        worker_id=worker_id,
        backend="default",
        queues=queues,
        heartbeat_at=timezone.now() - timedelta(seconds=age),
    )
