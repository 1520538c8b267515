"""Coroutine function tasks: imported only when the backend under test supports them."""

import asyncio

from django_tasks import task


@task
async def add_async(a: int, b: int) -> int:
    await asyncio.sleep(0)
    return a + b


@task
async def fail_async(message: str = "This task failed.") -> None:
    await asyncio.sleep(0)
    raise ValueError(message)
