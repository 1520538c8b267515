"""ImmediateBackend: runs each task in the current thread as soon as it is enqueued.

The default backend. Async tasks run too (in an event loop of their own). A task that raises
is recorded as FAILED with its exception class and traceback; the exception never reaches the
code that enqueued it.
"""

from functools import partial

from django.utils import timezone

from django_tasks import tracing
from django_tasks.backends.base import BaseTaskBackend
from django_tasks.execution import Outcome, run_task
from django_tasks.results import AnyResult, ResultStatus
from django_tasks.signals import task_started
from django_tasks.utils import default_worker_id


class ImmediateBackend(BaseTaskBackend):
    """Runs tasks synchronously, at enqueue time (or when the transaction commits)."""

    supports_async_task: bool = True
    # Each task runs at once, so nothing waits in line to be ordered; priority is accepted.
    supports_priority: bool = True

    def _enqueue(self, result: AnyResult) -> None:
        self._start(result)
        # Inside the enqueueing span (tracing.producing), whose child the run's span is.
        tracing.consuming(result, None, partial(run_task, result, type(self), _keep_in_memory))

    def _start(self, result: AnyResult) -> None:
        """Record the result as enqueued, then as running here, each with its signal."""
        self._mark_enqueued(result)
        now = timezone.now()
        result._update(
            status=ResultStatus.RUNNING,
            started_at=now,
            last_attempted_at=now,
            attempts=result.attempts + 1,
            worker_ids=[*result.worker_ids, default_worker_id()],
        )
        task_started.send(type(self), task_result=result)


def _keep_in_memory(result: AnyResult, outcome: Outcome) -> bool:
    return True  # The result object itself is the only record.
