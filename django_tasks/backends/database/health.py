"""The health check of database backends, for ``manage.py db_task_health`` and the health view
(Kubernetes probes, monitors): unhealthy when a queue has tasks waiting and no live worker
serves it, or when its oldest waiting task has waited longer than a threshold."""

from collections.abc import Sequence
from dataclasses import dataclass

from django_tasks.backends.database.backend import DatabaseBackend
from django_tasks.backends.database.stats import QueueFigures, Snapshot, snapshot

DEFAULT_MAX_WAIT = 300.0
"""Seconds the oldest waiting task of a queue may have waited before the queue is unhealthy."""


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueHealth:
    backend: str
    queue_name: str
    waiting: int
    oldest_waiting_seconds: float
    live_workers: int
    """The live workers of the backend that serve the queue."""
    problems: tuple[str, ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "backend": self.backend,
            "queue": self.queue_name,
            "waiting": self.waiting,
            "oldest_waiting_seconds": round(self.oldest_waiting_seconds, 3),
            "live_workers": self.live_workers,
            "problems": list(self.problems),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Health:
    queues: list[QueueHealth]

    @property
    def healthy(self) -> bool:
        return not self.problems

    @property
    def problems(self) -> list[str]:
        return [problem for queue in self.queues for problem in queue.problems]

    def as_dict(self) -> dict[str, object]:
        return {
            "healthy": self.healthy,
            "problems": self.problems,
            "queues": [queue.as_dict() for queue in self.queues],
        }


def check_health(backends: Sequence[DatabaseBackend], *, max_wait: float) -> Health:
    """The health of every queue of ``backends`` that has unfinished tasks."""
    figures = snapshot(backends, history=False)
    return Health(queues=[_queue_health(queue, figures, max_wait) for queue in figures.queues])


def _queue_health(queue: QueueFigures, figures: Snapshot, max_wait: float) -> QueueHealth:
    live = sum(
        1
        for worker in figures.workers
        if worker.live and worker.backend == queue.backend and worker.serves(queue.queue_name)
    )
    where = f"Queue {queue.queue_name!r} of backend {queue.backend!r}"
    problems = []
    if queue.waiting and not live:
        problems.append(
            f"{where} has {queue.waiting} waiting task(s) and no live worker serves it; "
            f"start 'manage.py db_worker --backend {queue.backend} "
            f"--queue-name {queue.queue_name}'."
        )
    if queue.waiting and queue.oldest_waiting_seconds > max_wait:
        problems.append(
            f"{where}: its oldest waiting task has waited {queue.oldest_waiting_seconds:.0f} s, "
            f"more than {max_wait:g} s."
        )
    return QueueHealth(
        backend=queue.backend,
        queue_name=queue.queue_name,
        waiting=queue.waiting,
        oldest_waiting_seconds=queue.oldest_waiting_seconds,
        live_workers=live,
        problems=tuple(problems),
    )
