"""Harnesses for published backends of the compatibility matrix that no worker command drives
(``harness`` in conformance/matrix.toml; scripts/matrix.py puts this directory on their path).

``ThreadPoolHarness`` drives django-tasks-local's ``ThreadPoolBackend``, which runs each task in
a thread pool of the process that enqueues it: a drain waits until the backend holds no task in
flight. It reads the backend's executor state (``_state``: its in-flight futures and its
results), which the backend documents but does not export; a task whose future never leaves the
in-flight set (its completion callback died) times the drain out, and ``clear`` forgets it so
that the next test starts empty.
"""

from typing import Any, ClassVar

from django_tasks_conformance import Harness
from django_tasks_conformance.dialect import words
from django_tasks_conformance.harness import wait_until


class ThreadPoolHarness(Harness):
    """For a backend that runs each task in a thread pool of this process."""

    observes_worker_signals: ClassVar[bool] = True

    def _states(self) -> list[Any]:
        return [words().backends[alias]._state for alias in self.tasks_setting()]

    def _in_flight(self) -> int:
        return sum(len(state.futures) for state in self._states())

    def drain(self, timeout: float) -> None:
        wait_until(
            lambda: self._in_flight() == 0,
            timeout,
            lambda: f"the thread pool to finish its {self._in_flight()} task(s) in flight",
        )

    def clear(self) -> None:
        for state in self._states():
            with state.lock:
                state.futures.clear()
                state.results.clear()
                state.completed_ids.clear()
