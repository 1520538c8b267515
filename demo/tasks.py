"""The demo's tasks."""

import asyncio

from django_tasks import task


@task
def add(a: int, b: int) -> int:
    return a + b


@task
def divide(a: int, b: int) -> float:
    return a / b


@task
def greet(name: str) -> str:
    return f"Hello, {name}!"


@task(priority=10)
async def fetch_title(url: str) -> str:
    await asyncio.sleep(0.1)  # Stands in for an HTTP request.
    return f"The page at {url}"
