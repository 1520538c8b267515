"""Taking over the queued tasks of django-tasks-db 0.13, so that a team can switch backends
without losing them (``manage.py take_over_django_tasks_db``).

Both apps can be installed at once (our app label is ``django_tasks_spec_database``, theirs
``django_tasks_database``), on the same database. The tasks django-tasks-db still has queued
(READY, deferred ones included) move to our table in batches: each batch is read with its rows
locked (``SKIP LOCKED`` where the database has it, so that a django-tasks-db worker still running
neither waits nor takes one), inserted into our table and deleted from theirs in one transaction.
A task keeps its id, so a result id already handed out finds its result in our backend. Running,
finished and failed rows stay where they are, as django-tasks-db's history.
"""

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.apps import apps
from django.db import transaction

from django_tasks.backends.database.backend import DatabaseBackend
from django_tasks.results import ResultStatus

SOURCE_MODEL = ("django_tasks_database", "DBTaskResult")
"""django-tasks-db's model, by app label and name."""
SOURCE_APP = "django_tasks_db"
NO_RUN_AFTER = datetime(9999, 1, 1, tzinfo=UTC)
"""What django-tasks-db stores as run_after for a task that may run at once."""
BATCH_SIZE = 500


class TakeOverError(Exception):
    """The takeover cannot start: django-tasks-db's app is missing, or on another database."""


@dataclass(frozen=True, slots=True)
class TakenOver:
    """What a takeover moved, and what it left in django-tasks-db's table."""

    moved: int
    left: int
    """Rows of the source backend that are not queued (running, finished): left as history."""


def take_over(
    backend: DatabaseBackend, source_backend: str, *, batch_size: int = BATCH_SIZE
) -> TakenOver:
    """Move django-tasks-db's queued tasks of ``source_backend`` (its alias, as its rows name
    it) to ``backend``'s table, on the same database; see the module docstring."""
    source = _source_model()
    rows = source.objects.using(backend.database).filter(backend_name=source_backend)
    moved = 0
    while True:
        with transaction.atomic(using=backend.database):
            batch = list(
                rows.filter(status="READY")
                .order_by("enqueued_at")
                .select_for_update(skip_locked=True)[:batch_size]
            )
            if not batch:
                break
            _insert(backend, batch)
            rows.filter(pk__in=[row.pk for row in batch]).delete()
        moved += len(batch)
    return TakenOver(moved=moved, left=rows.count())


def _source_model() -> Any:
    try:
        return apps.get_model(*SOURCE_MODEL)
    except LookupError:
        raise TakeOverError(
            f"django-tasks-db's app ({SOURCE_APP!r}, label {SOURCE_MODEL[0]!r}) is not in "
            f"INSTALLED_APPS; keep it installed until its queued tasks are taken over."
        ) from None


def _insert(backend: DatabaseBackend, batch: list[Any]) -> None:
    # Imported here: models cannot be imported while Django loads the apps.
    from django_tasks.backends.database.models import DBTaskResult

    new = []
    for row in batch:
        run_after = None if row.run_after == NO_RUN_AFTER else row.run_after
        arguments = row.args_kwargs
        if isinstance(arguments, str):
            arguments = json.loads(arguments)
        new.append(
            DBTaskResult(
                id=uuid.UUID(str(row.pk)),
                status=ResultStatus.NEW,
                backend=backend.alias,
                queue_name=row.queue_name,
                task_path=row.task_path,
                priority=row.priority,
                arguments={"args": arguments["args"], "kwargs": arguments["kwargs"]},
                run_after=run_after,
                enqueued_at=row.enqueued_at,
                available_at=run_after or row.enqueued_at,
            )
        )
    DBTaskResult.objects.using(backend.database).bulk_create(new)
