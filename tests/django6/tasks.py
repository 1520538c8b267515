"""Tasks declared with Django's own ``django.tasks.task``, as a Django 6 project declares them.

Declared at start-up (the app's ``tasks`` module), for the ``default`` backend, whose class gives
Django's ``@task`` its ``task_class``; the tests switch ``default`` to the backend they test.
``plain_multiply`` is a plain ``django.tasks.Task``, as another backend's ``task_class`` builds
one, which our backends take too; ``add`` is a task of our 0.6.1 dialect, beside them.
"""

import time
from collections.abc import Callable
from typing import Any, cast

from django.tasks import Task, TaskContext, task

import django_tasks as ours


@task
def multiply(a: int, b: int) -> int:
    return a * b


@task
def explode(message: str) -> None:
    raise ValueError(message)


@task(takes_context=True)
def attempt_number(
    context: "TaskContext[[str], dict[str, object]]", label: str
) -> dict[str, object]:
    """Return what the context says: the attempt, and the result id it belongs to."""
    return {"attempt": context.attempt, "id": context.task_result.id, "label": label}


def plain_multiply(a: int, b: int) -> int:
    return a * b


plain_multiply = Task(func=plain_multiply)  # type: ignore[assignment]  # As @task rebinds it.


def rollup(day: str) -> str:
    """Declared unique by the test, with the database backend as ``default`` (a declaration
    is validated against its backend, and the start-up ``default`` keeps no keys)."""
    return day


@ours.task
def add(a: int, b: int) -> int:
    """A task of the 0.6.1 dialect, beside Django's."""
    return a + b


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
