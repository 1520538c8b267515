"""The retry workload's task, with our backend's retry options (django-tasks-db has none)."""

from django_tasks import task
from django_tasks.cancellation import TaskContext

FAILING_SHARE = 10
"""One task in this many fails once."""


class FailedOnceError(Exception):
    """The first attempt of every tenth task."""


def at_once(attempt: int) -> float:
    """No backoff: the retry is ready as soon as the failure is recorded."""
    return 0.0


@task(takes_context=True, max_attempts=2, retry_on=(FailedOnceError,), backoff=at_once)
def flaky(context: TaskContext, number: int) -> None:
    """Fail on the first attempt if ``number`` is a multiple of ten; succeed otherwise."""
    if number % FAILING_SHARE == 0 and context.attempt == 1:
        raise FailedOnceError(f"task {number} fails its first attempt")
