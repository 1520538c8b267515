"""Harnesses: how the conformance suite drives a backend.

A harness tells the suite what kind of backend it tests and gives it the hooks it needs:

- ``InlineHarness``: the backend runs each task before ``enqueue`` returns (ImmediateBackend).
- ``StoreOnlyHarness``: the backend stores tasks and never runs them (DummyBackend).
- ``WorkerHarness``: tasks wait until a worker runs them (the database backend, a broker...).
  Subclass it and implement ``start_worker``, ``stop_worker``, ``worker_running`` and
  ``is_idle``; ``drain`` is built from them. Optionally implement the back door, ``stored``, so
  the suite can read stored state without going through ``get_result``.

Every test starts with the worker stopped and the store cleared; a test that needs its tasks run
calls ``drain``. Which harness drives a backend by default is decided in ``harnesses``.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from django_tasks_conformance.dialect import words

DEFAULT_QUEUES = ["default", "conformance-other"]
"""The queues the backend under test allows (its ``default`` alias)."""

ALIASES = {
    "any_queue": "conformance-any-queue",
    "default_queues": "conformance-default-queues",
    "no_commit": "conformance-no-commit",
}
"""The extra backend aliases the suite configures, all with the backend under test."""


class DrainTimeoutError(AssertionError):
    """The backend did not run its waiting tasks in time."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredTask:
    """What a backend's store holds for one result, read through the harness's back door."""

    id: str
    task_path: str
    status: Any
    """In the dialect of the backend: a ``ResultStatus`` or a ``TaskResultStatus``."""
    args: list[Any]
    kwargs: dict[str, Any]
    queue_name: str
    priority: int
    run_after: datetime | None


class Harness:
    """Drives a backend whose tasks run in this process, before ``enqueue`` returns.

    Subclasses set the class attributes to describe the backend and override the hooks.
    """

    executes: ClassVar[bool] = True
    """Does the backend run tasks at all? (False: execution requirements do not apply.)"""

    holds_tasks: ClassVar[bool] = False
    """Do enqueued tasks wait for a worker, so that the order they start in can be observed?"""

    observes_worker_signals: ClassVar[bool] = True
    """Are task_started and task_finished sent in this process (False for a worker elsewhere)?"""

    def __init__(self, backend_path: str, options: dict[str, Any]) -> None:
        self.backend_path = backend_path
        self.options = options

    def tasks_setting(self) -> dict[str, Any]:
        """The TASKS setting the suite runs with: the backend under test under several aliases."""
        base = {"BACKEND": self.backend_path, "OPTIONS": self.options}
        return {
            "default": {**base, "QUEUES": DEFAULT_QUEUES},
            ALIASES["any_queue"]: {**base, "QUEUES": []},
            ALIASES["default_queues"]: base,
            ALIASES["no_commit"]: {**base, "QUEUES": DEFAULT_QUEUES, "ENQUEUE_ON_COMMIT": False},
        }

    def test_databases(self) -> list[str]:
        """The DATABASES aliases the backend keeps tasks in, whose test databases must exist.

        Under pytest-django, the suite has them created (and flushed after one test).
        """
        return []

    def setup(self) -> None:
        """Prepare once per session, after TASKS is set (create tables, connect...)."""

    def teardown(self) -> None:
        """Undo setup() at the end of the session."""

    def start_worker(self) -> None:
        """Start running waiting tasks in the background."""

    def stop_worker(self) -> None:
        """Stop running tasks; tasks enqueued afterwards wait. Safe to call when stopped."""

    def drain(self, timeout: float) -> None:
        """Run every task that is due, and return once none is waiting or running.

        Raise DrainTimeoutError if that takes longer than ``timeout`` seconds.
        """

    def clear(self) -> None:
        """Forget every stored task, so the next test starts empty."""

    def stored(self, result_id: str) -> StoredTask | None:
        """The back door: what the store holds for this id (None if nothing), without get_result.

        Optional: the default raises NotImplementedError, and the suite then relies on what it
        can observe through the public API.
        """
        raise NotImplementedError

    @property
    def has_back_door(self) -> bool:
        return type(self).stored is not Harness.stored


class InlineHarness(Harness):
    """For a backend that runs each task in the current thread before ``enqueue`` returns."""


class StoreOnlyHarness(Harness):
    """For a backend that keeps enqueued tasks in ``backend.results`` and never runs them."""

    executes = False

    def _backends(self) -> list[Any]:
        return [words().backends[alias] for alias in self.tasks_setting()]

    def clear(self) -> None:
        for backend in self._backends():
            backend.clear()

    def stored(self, result_id: str) -> StoredTask | None:
        for backend in self._backends():
            for result in backend.results:
                if result.id == result_id:
                    return stored_from_result(result)
        return None


class WorkerHarness(Harness):
    """For a backend whose tasks wait until a worker runs them."""

    holds_tasks = True

    def worker_running(self) -> bool:
        raise NotImplementedError

    def is_idle(self) -> bool:
        """Whether no task is running and none that is due is waiting."""
        raise NotImplementedError

    def drain(self, timeout: float) -> None:
        started_here = not self.worker_running()
        if started_here:
            self.start_worker()
        try:
            wait_until(self.is_idle, timeout, "the worker to run every waiting task")
        finally:
            if started_here:
                self.stop_worker()


def wait_until(
    condition: Callable[[], object],
    timeout: float = 60.0,
    what: str | Callable[[], str] = "the condition",
) -> None:
    """Poll ``condition`` until it is true; after ``timeout`` seconds, raise DrainTimeoutError
    naming ``what`` (or what it returns, for a message that is worth making only then)."""
    deadline = time.monotonic() + timeout
    delay = 0.001
    while not condition():
        if time.monotonic() > deadline:
            shown = what() if callable(what) else what
            raise DrainTimeoutError(f"Timed out after {timeout:g}s waiting for {shown}.")
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def stored_from_result(result: Any) -> StoredTask:
    return StoredTask(
        id=result.id,
        task_path=result.task.module_path,
        status=result.status,
        args=result.args,
        kwargs=result.kwargs,
        queue_name=result.task.queue_name,
        priority=result.task.priority,
        run_after=result.task.run_after,
    )
