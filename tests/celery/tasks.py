"""Tasks of the Celery backend's tests, and receivers that log the worker's signals to a file.

A worker started with DJANGO_TASKS_TEST_SIGNAL_LOG appends one line per signal it sends
(``started ID RUNNING``), and kills its pool process once ``fail_then_lose_the_worker`` has
finished; one started with DJANGO_TASKS_TEST_WITHOUT_LOCAL_TASK does not
declare ``local_only``, as a worker that runs older code than the web process would not.
"""

import os
import signal
import time
from pathlib import Path
from typing import Any

from django.dispatch import receiver

from django_tasks import task
from django_tasks.signals import task_finished, task_started
from django_tasks.task import TaskResult

SIGNAL_LOG = os.environ.get("DJANGO_TASKS_TEST_SIGNAL_LOG")


@task
def first_run_waits(marker: str) -> int:
    """On its first run, write this process's pid to ``marker`` and wait to be killed; on a
    later run, return the pid at once."""
    path = Path(marker)
    if path.exists():
        return os.getpid()
    path.write_text(str(os.getpid()))
    time.sleep(120)
    return os.getpid()


@task
def kill_own_process() -> None:
    """Die as a segfault would: the pool process running it is gone."""
    os.kill(os.getpid(), signal.SIGKILL)


@task
def started_at_of(label: str) -> str:
    """Return the label; the result's started_at says when it ran."""
    time.sleep(0.002)
    return label


@task
def fail_then_lose_the_worker() -> None:
    """Fail; in a test worker, a task_finished receiver then kills the pool process: after the
    outcome is recorded, before Celery acknowledges the message."""
    raise ValueError("Failed, then lost its worker.")


if not os.environ.get("DJANGO_TASKS_TEST_WITHOUT_LOCAL_TASK"):

    @task
    def local_only() -> None:
        """Declared in the test process, not in a worker started without it."""


if SIGNAL_LOG:

    @receiver(task_started)
    def log_started(sender: type, task_result: TaskResult[Any], **kwargs: Any) -> None:
        _log("started", task_result)

    @receiver(task_finished)
    def log_finished(sender: type, task_result: TaskResult[Any], **kwargs: Any) -> None:
        _log("finished", task_result)

    @receiver(task_finished)
    def lose_the_worker(sender: type, task_result: TaskResult[Any], **kwargs: Any) -> None:
        if task_result.task.module_path == fail_then_lose_the_worker.module_path:
            os.kill(os.getpid(), signal.SIGKILL)

    def _log(signal_name: str, result: TaskResult[Any]) -> None:
        assert SIGNAL_LOG is not None
        with open(SIGNAL_LOG, "a") as log:
            log.write(f"{signal_name} {result.id} {result.status} {os.getpid()}\n")
