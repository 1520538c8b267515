"""The task signals, and the receivers that log task events.

Every signal is sent with the backend class as sender and the ``task_result`` keyword.

- ``task_enqueued``: the task is enqueued (after the transaction commits, when it waits for one).
- ``task_started``: a worker has started the task; the result is RUNNING.
- ``task_finished``: the task has FAILED or SUCCEEDED and the result says so. For a failure it is
  sent while the exception is being handled, so receivers can read ``sys.exc_info()``.
- ``task_retried`` (ours; Django has none): an attempt failed and the task will run again, in
  ``retry_in`` seconds (a keyword argument too). The result is waiting again (NEW, Django's
  READY) and its last error is the attempt's; sent while the exception is being handled.
  ``task_finished`` follows only once the task has finished for good.

On Django 6 they are Django's own ``django.tasks.signals`` (see ``dialects``): a receiver
connected through either package hears every backend, ours and Django's. The receivers here log
each event once, on the ``django_tasks`` logger, for every backend; the app disconnects Django's
own logging receivers (``TasksConfig.ready``), which would log ours a second time.
"""

import logging
import sys
from typing import Any

from django.dispatch import Signal, receiver

from django_tasks.dialects import task_enqueued, task_finished, task_started

__all__ = ["task_enqueued", "task_finished", "task_retried", "task_started"]

task_retried = Signal()
"""An attempt failed, and the task will run again (see the module docstring)."""

logger = logging.getLogger("django_tasks")


@receiver(task_enqueued)
def log_task_enqueued(sender: type, *, task_result: Any, **kwargs: Any) -> None:
    logger.debug(
        "Task enqueued id=%s path=%s queue=%s backend=%s",
        task_result.id,
        task_result.task.module_path,
        task_result.task.queue_name,
        task_result.backend,
    )


@receiver(task_started)
def log_task_started(sender: type, *, task_result: Any, **kwargs: Any) -> None:
    logger.debug(
        "Task started id=%s path=%s queue=%s attempt=%s",
        task_result.id,
        task_result.task.module_path,
        task_result.task.queue_name,
        task_result.attempts,
    )


@receiver(task_finished)
def log_task_finished(sender: type, *, task_result: Any, **kwargs: Any) -> None:
    failed = task_result.status == "FAILED"  # The same word in both dialects.
    started, finished = task_result.started_at, task_result.finished_at
    logger.log(
        logging.ERROR if failed else logging.INFO,
        "Task finished id=%s path=%s queue=%s state=%s duration=%.3fs attempt=%s",
        task_result.id,
        task_result.task.module_path,
        task_result.task.queue_name,
        task_result.status,
        (finished - started).total_seconds() if started and finished else 0.0,
        task_result.attempts,
        # Sent inside the exception handler for failures, so the exception is at hand.
        exc_info=sys.exc_info() if failed else None,
    )


@receiver(task_retried)
def log_task_retried(sender: type, *, task_result: Any, retry_in: float, **kwargs: Any) -> None:
    logger.warning(
        "Task attempt failed, will be retried id=%s path=%s queue=%s attempt=%s retry_in=%.3fs",
        task_result.id,
        task_result.task.module_path,
        task_result.task.queue_name,
        task_result.attempts,
        retry_in,
        exc_info=sys.exc_info(),
    )
