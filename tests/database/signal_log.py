"""Receivers that write each task signal a worker process sends to a file, one JSON line each,
for the tests of what a worker's signals say (tests/database/test_retry_signals.py).

A worker started with DJANGO_TASKS_TEST_WORKER_SIGNALS=PATH (tests/worker_settings.py calls
``install``) connects them, in the worker and in each of its child processes; one short
O_APPEND write is atomic between processes.
"""

import json
import os
import sys
from functools import partial
from pathlib import Path
from typing import Any

from django_tasks.signals import task_finished, task_retried, task_started
from django_tasks.utils import class_path


def install(path: str) -> None:
    for name, signal in (
        ("started", task_started),
        ("retried", task_retried),
        ("finished", task_finished),
    ):
        signal.connect(partial(_write, path, name), weak=False)


def _write(path: str, name: str, sender: type, *, task_result: Any, **kwargs: Any) -> None:
    exception = sys.exc_info()[1]
    line = {
        "signal": name,
        "id": str(task_result.id),
        "status": str(task_result.status),
        "attempts": task_result.attempts,
        "retry_in": kwargs.get("retry_in"),
        "errors": len(task_result.errors),
        "exception": None if exception is None else class_path(type(exception)),
        "exception_args": None if exception is None else [repr(a) for a in exception.args],
        "pid": os.getpid(),
    }
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (json.dumps(line) + "\n").encode())
    finally:
        os.close(fd)


def read(path: Path) -> list[dict[str, Any]]:
    """The lines written so far."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]
