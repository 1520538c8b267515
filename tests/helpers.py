"""Helpers shared by the tests."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.dispatch import Signal

from django_tasks.task import TaskResult
from django_tasks_conformance.harness import wait_until as wait_until  # One copy, the kit's.
from tests.tasks import echo


@contextmanager
def captured(signal: Signal) -> Iterator[list[tuple[type, TaskResult[Any]]]]:
    """Record (sender, task_result) for each sending of ``signal`` inside the block."""
    received: list[tuple[type, TaskResult[Any]]] = []

    def receive(sender: type, task_result: TaskResult[Any], **kwargs: Any) -> None:
        received.append((sender, task_result))

    signal.connect(receive)
    try:
        yield received
    finally:
        signal.disconnect(receive)


# Floats that Python writes with an exponent (from 1e16 up), which PostgreSQL's jsonb would turn
# into ints, beside ones it does not; a string with "e+" in it, as such a float's text has.
FLOATS = [1e20, 1e308, -2.5e22, 1.5e16, 9007199254740993.0, 0.1, 1e-07, 5e-324, 1.0, 1e15]
KWARGS = {"nested": {"deep": [1e100, "1e+20", 3]}, "e+": 2.0e16}


def same_json(value: Any, expected: Any) -> bool:
    """Equal, and of the same JSON types all the way down (1e20 is not 10**20 here)."""
    if type(value) is not type(expected):
        return False
    if isinstance(expected, dict):
        return value.keys() == expected.keys() and all(
            same_json(value[key], item) for key, item in expected.items()
        )
    if isinstance(expected, list):
        return len(value) == len(expected) and all(map(same_json, value, expected))
    return bool(value == expected)


def refused_arguments(size: int, limit: int = 1_048_576) -> str:
    """The message that refuses arguments of the echo task that take ``size`` bytes as JSON,
    more than backend 'default' takes (MAX_JSON_BYTES ``limit``)."""
    return (
        f"The arguments of task {echo.module_path} take {size:,} bytes as JSON, more than backend "
        f"'default' stores (OPTIONS['MAX_JSON_BYTES'] is {limit:,}); pass a reference to the "
        f"data (a primary key, a file name) instead."
    )
