"""Tasks declared with Django's own ``django.tasks.task``, as a Django 6 project declares them.

Declared at start-up (the app's ``tasks`` module), for the ``default`` backend, whose class gives
Django's ``@task`` its ``task_class``; the tests switch ``default`` to the backend they test.
``plain_multiply`` is a plain ``django.tasks.Task``, as another backend's ``task_class`` builds
one, which our backends take too.
"""

import time
from collections.abc import Callable
from typing import Any, cast

from django.tasks import Task, TaskContext, task


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


# django-stubs types Django's @task without our backend's options, such as timeout.
_half_a_second: "Callable[[Callable[[float], float]], Task[[float], float]]" = cast(Any, task)(
    timeout=0.5
)


@_half_a_second
def overrun(seconds: float) -> float:
    """Sleep past its timeout of half a second, which Django's @task passes to task_class."""
    time.sleep(seconds)
    return seconds
