"""Which workers are alive: each ``db_worker`` keeps a row in the workers table (DBWorker).

The worker writes it with its heartbeat, every HEARTBEAT_SECONDS, in the same step as it renews
its leases: one short statement per heartbeat, none per task. It deletes the row when it stops.
A row whose heartbeat is older than the backend's LEASE_SECONDS is a dead worker's (killed,
frozen, cut off from the database); the next worker that starts forgets those older than
FORGET_AFTER, so a dashboard shows the recently dead for a while.
"""

from collections.abc import Sequence
from datetime import timedelta

from django_tasks.backends.database.models import DatabaseNow, DBWorker

FORGET_AFTER = timedelta(hours=1)
"""How long the row of a worker that died without deleting it is kept."""


class Presence:
    """One worker's row in the workers table, written from the worker's main thread."""

    def __init__(
        self,
        *,
        database: str,
        worker_id: str,
        backend: str,
        queues: Sequence[str] | None,
        excluded_queues: Sequence[str] = (),
        concurrency: int,
    ) -> None:
        self._table = DBWorker.objects.using(database)
        self._worker = DBWorker(
            worker_id=worker_id,
            backend=backend,
            queues=None if queues is None else list(queues),
            excluded_queues=list(excluded_queues) or None,
            concurrency=concurrency,
        )
        self._joined = False

    def beat(self) -> None:
        """Record a heartbeat: one UPDATE, or the INSERT (and the sweep of long-dead workers'
        rows) the first time."""
        if self._joined:
            updated = self._table.filter(pk=self._worker.pk).update(heartbeat_at=DatabaseNow())
            if updated:
                return
        # First beat, or the row was deleted (by hand, or swept while this worker was cut off).
        self._table.filter(heartbeat_at__lt=DatabaseNow() - FORGET_AFTER).delete()
        self._table.filter(pk=self._worker.pk).delete()
        self._table.create(
            worker_id=self._worker.worker_id,
            backend=self._worker.backend,
            queues=self._worker.queues,
            excluded_queues=self._worker.excluded_queues,
            concurrency=self._worker.concurrency,
        )
        self._joined = True

    def leave(self) -> None:
        """Delete this worker's row: it is stopping."""
        if self._joined:
            self._table.filter(pk=self._worker.pk).delete()
            self._joined = False
