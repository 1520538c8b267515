"""Deleting old results, for ``manage.py prune_db_task_results``.

Only finished results (SUCCEEDED, FAILED or CANCELLED) are ever deleted, in batches of
BATCH_SIZE rows, each its own short statement, so pruning a table of millions of rows never
locks it for long and can be interrupted at any point.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from django_tasks.backends.database.backend import DatabaseBackend
from django_tasks.backends.database.models import DBTaskResult
from django_tasks.backends.database.schema import CANCELLED
from django_tasks.task import ResultStatus

BATCH_SIZE = 1000


@dataclass(frozen=True, slots=True)
class Pruned:
    """How many results were deleted (or would be, in a dry run)."""

    succeeded: int
    failed: int

    @property
    def total(self) -> int:
        return self.succeeded + self.failed


def prune_results(
    backend: DatabaseBackend,
    *,
    min_age: timedelta,
    failed_min_age: timedelta,
    queues: Sequence[str] | None = None,
    dry_run: bool = False,
) -> Pruned:
    """Delete the backend's results that finished longer ago than their status's minimum age.

    ``queues`` limits it to those queues (None: every queue). A dry run counts instead.
    """
    now = timezone.now()
    counts: dict[str, int] = {}
    for status, age in (
        (ResultStatus.SUCCEEDED, min_age),
        (ResultStatus.FAILED, failed_min_age),
        (CANCELLED, failed_min_age),
    ):
        counts[status] = _prune(backend, status, now - age, queues, dry_run)
    return Pruned(
        succeeded=counts[ResultStatus.SUCCEEDED],
        failed=counts[ResultStatus.FAILED] + counts[CANCELLED],  # Both FAILED, as results.
    )


def _prune(
    backend: DatabaseBackend,
    status: str,
    cutoff: datetime,
    queues: Sequence[str] | None,
    dry_run: bool,
) -> int:
    table = DBTaskResult.objects.using(backend.database)
    old = table.filter(backend=backend.alias, status=status, finished_at__lt=cutoff)
    if queues is not None:
        old = old.filter(queue_name__in=queues)
    if dry_run:
        return old.count()
    deleted = 0
    while True:
        ids = list(old.order_by("finished_at").values_list("pk", flat=True)[:BATCH_SIZE])
        if not ids:
            return deleted
        # The status condition again: a row is never deleted unless it is finished.
        count, _ = table.filter(pk__in=ids, status=status).delete()
        deleted += count
