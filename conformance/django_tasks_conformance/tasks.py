"""The tasks the conformance suite enqueues. Module-level, so any worker can import them, and
declared in the dialect the backend under test speaks (a worker of that backend resolves them).

Every task here uses the default options, so the module imports with any backend; the suite
changes options with using(). Coroutine function tasks live in async_tasks, imported only when
the backend supports them.
"""

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django_tasks_conformance.dialect import words

if TYPE_CHECKING:  # The type checker reads them as tasks of our dialect...
    from django_tasks import task
else:  # ...and they are declared in the dialect the backend under test speaks.
    task = words().task


@task
def noop() -> None:
    """Do nothing."""


@task()
def add(a: int, b: int) -> int:
    return a + b


@task
def echo(*args: Any, **kwargs: Any) -> dict[str, Any]:
    """Return the arguments, as the function received them."""
    return {"args": list(args), "kwargs": kwargs}


@task
def describe(*args: Any, **kwargs: Any) -> dict[str, Any]:
    """Name the type of each argument as the function received it (lists and dicts opened)."""
    return {"args": [_shape(value) for value in args], "kwargs": _shape(kwargs)}


def _shape(value: Any) -> Any:
    if isinstance(value, list):
        return [_shape(item) for item in value]
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    return type(value).__name__


@task
def fail(message: str = "This task failed.") -> None:
    raise ValueError(message)


class TaskFailedError(Exception):
    """An exception class of the suite's own (not a builtin), raised by ``fail_own``."""


@task
def fail_own(message: str) -> None:
    raise TaskFailedError(message)


@task
def exit_task() -> None:
    raise SystemExit(3)


@task
def return_tuple() -> Sequence[int]:  # A tuple, which comes back as a list.
    return (1, 2)


@task
def return_set() -> Any:  # A set, which JSON cannot hold: the task must fail.
    return {1, 2}


@task
def tick(label: str) -> str:
    """Take a moment, so that tasks run one after another get distinct timestamps."""
    time.sleep(0.002)
    return label


async def plain_coroutine_function() -> int:
    """Not a task: the suite declares it at run time, where it expects InvalidTaskError."""
    return 1


def plain_function() -> int:
    """Not a task: the suite declares it at run time."""
    return 1
