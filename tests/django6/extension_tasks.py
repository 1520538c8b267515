"""Tasks declared with Django's ``@django.tasks.task`` and our backend's own options (retries,
timeout), which Django 6.1 passes to the backend's task_class. Apart from tasks.py, which the
app registry imports at start-up, because a backend that is not ours (django-tasks-db in the
take-over test, Django's own) refuses those options."""

import time
from typing import TYPE_CHECKING, Any, cast

from django.tasks import Task, TaskContext, task

if TYPE_CHECKING:
    from collections.abc import Callable


# Django 6.1's @task passes these on to our task_class; django-stubs types it without them
# (django_tasks.django_task is the typed spelling).
@task(  # type: ignore[call-overload, untyped-decorator]
    takes_context=True, max_attempts=3, retry_on=(ValueError,), backoff=lambda attempt: 0
)
def flaky_django(context: TaskContext, fail_times: int) -> int:  # type: ignore[type-arg]  # Django's context, as a project declares it.
    """Fail the first ``fail_times`` attempts (Django's @task with our retry options)."""
    if context.attempt <= fail_times:
        raise ValueError(f"attempt {context.attempt} fails")
    return int(context.attempt)


# django-stubs types Django's @task without our backend's options, such as timeout.
_half_a_second: "Callable[[Callable[[float], float]], Task[[float], float]]" = cast(Any, task)(
    timeout=0.5
)


@_half_a_second
def overrun(seconds: float) -> float:
    """Sleep past its timeout of half a second, which Django's @task passes to task_class."""
    time.sleep(seconds)
    return seconds
