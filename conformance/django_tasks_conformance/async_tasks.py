"""Coroutine function tasks: imported only when the backend under test supports them."""

import asyncio
from typing import TYPE_CHECKING, Any

from django_tasks_conformance.dialect import words

if TYPE_CHECKING:  # The type checker reads them as tasks of our dialect...
    from django_tasks import task
else:  # ...and they are declared in the dialect the backend under test speaks.
    task = words().task


@task
async def add_async(a: int, b: int) -> int:
    await asyncio.sleep(0)
    return a + b


@task
async def fail_async(message: str = "This task failed.") -> None:
    await asyncio.sleep(0)
    raise ValueError(message)


@task
async def echo_async(*args: Any, **kwargs: Any) -> dict[str, Any]:
    """Return the arguments, as the coroutine function received them."""
    await asyncio.sleep(0)
    return {"args": list(args), "kwargs": kwargs}
