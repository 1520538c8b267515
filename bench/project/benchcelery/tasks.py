"""The same two tasks as benchtasks.tasks, declared for Celery."""

import time

from celery import shared_task


@shared_task  # type: ignore[untyped-decorator]  # Celery ships no type hints.
def noop() -> None:
    """Do nothing: what the enqueue and drain workloads run."""


@shared_task  # type: ignore[untyped-decorator]  # Celery ships no type hints.
def stamp() -> float:
    """Return the time the task started: the latency workload's probe."""
    return time.time()
