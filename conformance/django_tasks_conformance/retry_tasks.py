"""The tasks of the retry requirements (suite/test_lifecycle.py), declared with retry options:
imported only when the backend declares supports_retries (Django's own task classes take no
such options), in the dialect the backend under test speaks."""

from typing import TYPE_CHECKING, Any

from django_tasks.exceptions import RetryTask
from django_tasks_conformance.dialect import words

if TYPE_CHECKING:
    from django_tasks import task
else:
    task = words().task


def no_wait(attempt: int) -> float:
    """A backoff of no delay, so that the suite's run() finds the next attempt at once."""
    return 0.0


@task(takes_context=True, max_attempts=3, retry_on=(ValueError,), backoff=no_wait)
def fails_until(context: Any, succeeding_attempt: int) -> int:
    """Raise ValueError until the attempt ``succeeding_attempt``; return its number."""
    if context.attempt < succeeding_attempt:
        raise ValueError(f"attempt {context.attempt} fails")
    return int(context.attempt)


@task(takes_context=True, max_attempts=2)
def asks_for_a_retry(context: Any) -> int:
    """Raise RetryTask on the first attempt."""
    if context.attempt == 1:
        raise RetryTask("again", delay=0)
    return int(context.attempt)
