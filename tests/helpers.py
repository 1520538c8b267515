"""Helpers shared by the tests."""

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.dispatch import Signal

from django_tasks.task import TaskResult


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


def wait_until(condition: Callable[[], object], timeout: float = 60, what: object = "") -> None:
    """Poll until ``condition()`` is true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            shown = what() if callable(what) else what
            raise AssertionError(f"Timed out after {timeout} s waiting for {shown}")
        time.sleep(0.02)
