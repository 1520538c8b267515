"""Module-level tasks that the tests enqueue."""

import asyncio
import datetime
from collections.abc import Callable
from typing import Any

from django_tasks import task


@task
def noop() -> None:
    """Do nothing."""


@task
async def noop_async() -> None:
    """Do nothing, asynchronously."""
    await asyncio.sleep(0)


@task()
def add(a: int, b: int) -> int:
    return a + b


@task
async def add_async(a: int, b: int) -> int:
    await asyncio.sleep(0)
    return a + b


@task
def echo(*args: Any, **kwargs: Any) -> dict[str, Any]:
    """Return the arguments it was called with."""
    return {"args": list(args), "kwargs": kwargs}


@task
def fail(message: str = "This task failed.") -> None:
    raise ValueError(message)


@task
async def fail_async(message: str = "This task failed.") -> None:
    raise ValueError(message)


@task
def return_datetime() -> object:
    from django.utils import timezone

    return timezone.now()


@task
def exit_task() -> None:
    raise SystemExit(3)


@task
def interrupt_task() -> None:
    raise KeyboardInterrupt


@task(priority=10, queue_name="default")
def prioritised() -> str:
    return "done"


@task(enqueue_on_commit=False)
def never_waits() -> None:
    """Enqueued at once even inside a transaction."""


@task(enqueue_on_commit=True)
def always_waits() -> None:
    """Enqueued when the transaction commits, whatever the backend says."""


class _BrokenDict(dict[str, Any]):
    def items(self) -> Any:
        raise RuntimeError("This dict cannot be read.")


def _cycle() -> list[Any]:
    value: list[Any] = []
    value.append(value)
    return value


_RETURN_VALUES: dict[str, Callable[[], Any]] = {
    "date": lambda: {"when": datetime.date(2024, 5, 1)},
    "set": lambda: [{"tags": {1}}],
    "nan": lambda: float("nan"),
    "cycle": _cycle,
    "broken": lambda: _BrokenDict(a=1),
    "tuple": lambda: (1, (2, "three")),
}


@task
def give_back(kind: str) -> Any:
    """Return the value named ``kind`` in _RETURN_VALUES (mostly ones JSON cannot carry)."""
    return _RETURN_VALUES[kind]()


@task
async def give_back_async(kind: str) -> Any:
    """See give_back()."""
    await asyncio.sleep(0)
    return _RETURN_VALUES[kind]()
