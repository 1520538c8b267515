"""The same tasks as benchtasks.tasks, declared for Celery."""

import time
from typing import Any

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
    """Wait 20 ms, as a task that calls a service does: the I/O workload."""
    time.sleep(0.02)


@shared_task(bind=True, max_retries=1)
def flaky(self: Any, number: int) -> None:
    """Fail on the first attempt if ``number`` is a multiple of ten; the retry runs at once."""
    if number % 10 == 0 and self.request.retries == 0:
        raise self.retry(countdown=0)
