"""Helpers shared by the tests."""

from collections.abc import Iterator
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
