"""Tasks that the database backend's tests run in real worker processes."""

import os
import time
from collections.abc import Callable
from pathlib import Path

from django_tasks import task
from django_tasks.cancellation import TaskContext
from django_tasks.exceptions import RetryTask
from django_tasks.retries import exponential


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


class _UnprintableError(Exception):
    def __str__(self) -> str:
        raise RuntimeError("This exception cannot be shown.")

    def __repr__(self) -> str:
        raise RuntimeError("This exception cannot be shown.")


class _NotesError(Exception):
    """Its notes cannot be read, so Python's traceback module cannot format it."""

    @property
    def __notes__(self) -> list[str]:  # type: ignore[override]  # It raises, on purpose.
        raise RuntimeError("These notes cannot be read.")


class _Module(str):
    """A module name that refuses to be formatted."""

    def __format__(self, spec: str) -> str:
        raise RuntimeError("This module name cannot be formatted.")


def _odd_class() -> type[Exception]:
    odd = type("Odd", (Exception,), {})
    odd.__module__ = _Module("tests.odd\x00module")
    odd.__qualname__ = "Odd\ud800Class"
    return odd


def _surrogate_error() -> Exception:
    # A file name os.listdir() returns for bytes that are not UTF-8.
    name = os.fsdecode(b"report-\xff.csv")
    return FileNotFoundError(f"Report {name} is missing.")


ODD_ERRORS: dict[str, Callable[[], Exception]] = {
    "surrogate": _surrogate_error,
    "nul": lambda: ValueError("before\x00after"),
    "huge": lambda: ValueError("start " + "x" * 3_000_000 + " end"),
    "unprintable": lambda: _UnprintableError(),
    "unformattable": lambda: _NotesError("notes"),
    "odd-class": lambda: _odd_class()("odd"),
}


@task
def fail_oddly(kind: str) -> None:
    """Raise an exception whose text or class is hard to store: see ODD_ERRORS."""
    raise ODD_ERRORS[kind]()


@task(timeout=0.5)
def overrun(seconds: float) -> float:
    """Sleep past its timeout of half a second (unless ``seconds`` is shorter)."""
    time.sleep(seconds)
    return seconds


@task(timeout=0.05)
def overrun_briefly() -> None:
    """Sleep well past its timeout of 50 ms: many of them test that timeouts leak nothing."""
    time.sleep(30)


@task
def kill_own_process(ledger: str) -> None:
    """Record that it started, then kill the process it runs in (a poison task)."""
    record.call(ledger, "poison")
    os.kill(os.getpid(), 9)


@task(
    takes_context=True,
    max_attempts=3,
    retry_on=(LookupError,),
    backoff=exponential(0.2, jitter=0),
)
def fails_then_asks_again(context: TaskContext) -> int:
    """Fail the first attempt with a KeyError (a LookupError, in retry_on), ask for a retry in
    0.5 s on the second (RetryTask), and return the third attempt's number."""
    if context.attempt == 1:
        raise KeyError("first", 1)
    if context.attempt == 2:
        raise RetryTask("second", delay=0.5)
    return int(context.attempt)


@task(takes_context=True, max_attempts=2, retry_on=(ValueError,), backoff=exponential(0))
def always_fails(context: TaskContext) -> None:
    """Fail every attempt with ValueError, which is in retry_on."""
    raise ValueError("no luck", context.attempt)


@task(
    takes_context=True,
    max_attempts=2,
    retry_on=(ValueError,),
    backoff=exponential(1.0, jitter=0),
)
def fails_once_after(context: TaskContext, seconds: float) -> int:
    """Fail the first attempt with ValueError after ``seconds`` (so the retry comes due 1 s
    later); return the second attempt's number."""
    if context.attempt == 1:
        time.sleep(seconds)
        raise ValueError("first attempt fails")
    return int(context.attempt)
