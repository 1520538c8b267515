"""Tasks that the database backend's tests run in real worker processes."""

import os
import time
from pathlib import Path

from django_tasks import task


@task
def started_at() -> float:
    """Return when it started (time.time()), for latency measurements."""
    return time.time()


@task
def record(ledger: str, label: str = "") -> str:
    """Append a line (label or '-', pid) to the ledger file: who ran what, independently of
    the queue's own bookkeeping. One short O_APPEND write is atomic between processes."""
    line = f"{label or '-'} {os.getpid()}\n".encode()
    fd = os.open(ledger, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)
    return label


@task
def wait_for(path: str, ledger: str = "", timeout: float = 30.0) -> str:
    """Record that it started, then wait until ``path`` exists (the test's go-ahead)."""
    if ledger:
        record.call(ledger, "started")
    deadline = time.monotonic() + timeout
    while not Path(path).exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} did not appear within {timeout} s.")
        time.sleep(0.01)
    return "done"


@task
def sleep(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


@task
def huge_number() -> int:
    """Return an int with more digits than Python converts to text (4300): not JSON."""
    return 10**5000


@task
def text_of_bytes(size: int) -> str:
    """Text of exactly ``size`` bytes of UTF-8: "é" after "é" (of all characters, the one whose
    JSON grows most once escaped for MariaDB), and an "x" if ``size`` is odd."""
    return "é" * (size // 2) + "x" * (size % 2)
