"""Tasks declared with Django's own ``django.tasks.task``, as a Django 6 project declares them.

Declared at start-up (the app's ``tasks`` module), for the ``default`` backend, whose class gives
Django's ``@task`` its ``task_class``; the tests switch ``default`` to the backend they test.
``plain_multiply`` is a plain ``django.tasks.Task``, as another backend's ``task_class`` builds
one, which our backends take too; ``add`` is a task of our 0.6.1 dialect, beside them.
"""

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
