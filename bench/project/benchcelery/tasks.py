"""The same tasks as benchtasks.tasks, declared for Celery."""

import time

from celery import shared_task


@shared_task
def noop() -> None:
    """Do nothing: what the enqueue and drain workloads run."""


@shared_task
def stamp() -> float:
    """Return the time the task started: the latency workload's probe."""
    return time.time()


@shared_task
def io() -> None:
    """Wait 10 ms, as a task that calls a service does: the I/O workload."""
    time.sleep(0.01)
