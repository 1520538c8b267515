"""The tasks, declared once with the DEP 0014 API: the same source runs on every such system."""

import time

from django_tasks import task


@task()
def noop() -> None:
    """Do nothing: what the enqueue, drain and history workloads run."""


@task()
def stamp() -> float:
    """Return the time the task started: the latency workload's probe."""
    return time.time()


IO_SECONDS = 0.02


@task()
def io() -> None:
    """Wait 20 ms, as a task that calls a service does: the I/O workload."""
    time.sleep(IO_SECONDS)
