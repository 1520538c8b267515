"""Module-level tasks that the tests enqueue: the conformance suite's own (noop, add, echo, fail,
exit_task and their async twins), which the tests share rather than declare again, and those only
the tests need."""

import asyncio
import datetime
import time
from collections.abc import Callable
from typing import Any

from django_tasks import task
from django_tasks.cancellation import TaskContext
from django_tasks.exceptions import RetryTask
from django_tasks.retries import exponential
from django_tasks_conformance.async_tasks import add_async, fail_async
from django_tasks_conformance.tasks import add, echo, exit_task, fail, noop

__all__ = [
    "add",
    "add_async",
    "always_waits",
    "echo",
    "exit_task",
    "fail",
    "fail_async",
    "give_back",
    "give_back_async",
    "interrupt_task",
    "never_waits",
    "noop",
    "noop_async",
    "prioritised",
    "return_datetime",
]


@task
async def noop_async() -> None:
    """Do nothing, asynchronously."""
    await asyncio.sleep(0)


@task
def return_datetime() -> object:
    from django.utils import timezone

    return timezone.now()


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


# Retries and cancellation (tests/database/test_lifecycle.py).


@task(
    takes_context=True,
    max_attempts=3,
    retry_on=(ValueError,),
    backoff=exponential(1.0, jitter=0),
)
def flaky(context: TaskContext, fail_times: int) -> int:
    """Fail the first ``fail_times`` attempts with ValueError; return the attempt that did not."""
    if context.attempt <= fail_times:
        raise ValueError(f"attempt {context.attempt} fails")
    return int(context.attempt)


@task(takes_context=True, max_attempts=2)
def asks_again(context: TaskContext) -> int:
    """Ask for a retry (RetryTask) on the first attempt."""
    if context.attempt == 1:
        raise RetryTask("not yet", delay=0)
    return int(context.attempt)


@task(takes_context=True, max_attempts=3, retry_on=(ValueError,))
def not_retried(context: TaskContext) -> None:
    """Raise an exception that is not in retry_on."""
    raise KeyError("not in retry_on")


@task(takes_context=True)
def until_stopped(context: TaskContext, seconds: float) -> str:
    """Run until asked to stop (raising TaskCancelled), or ``seconds`` pass."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        context.raise_if_cancel_requested()
        time.sleep(0.02)
    return "not stopped"


@task(takes_context=True, max_attempts=2, retry_on=(ValueError,), backoff=exponential(0, jitter=0))
def fails_once_if(context: TaskContext, number: int) -> int:
    """Fail the first attempt of every tenth number."""
    if number % 10 == 0 and context.attempt == 1:
        raise ValueError(f"{number} fails once")
    return number
