"""DummyBackend: keeps enqueued results in memory and runs nothing. Made for tests.

Usage::

    TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}

    result = send_email.enqueue("a@example.com")
    assert default_task_backend.results == [result]
    default_task_backend.clear()

Notes:
    Results live in the backend instance, which is per thread, so ``supports_get_result`` is
    False even though ``get_result`` finds results enqueued by the same thread.
"""

from typing import Any

from django_tasks.backends.base import BaseTaskBackend
from django_tasks.exceptions import ResultDoesNotExist
from django_tasks.results import AnyResult, TaskResult


class DummyBackend(BaseTaskBackend):
    """Stores results in memory; never runs them."""

    supports_defer: bool = True
    supports_async_task: bool = True
    supports_priority: bool = True

    results: list[AnyResult]
    """Every result enqueued through this backend instance, oldest first."""

    def __init__(self, alias: str, params: Any) -> None:
        super().__init__(alias, params)
        self.results = []

    def _enqueue(self, result: AnyResult) -> None:
        self.results.append(result)
        self._mark_enqueued(result)

    def get_result(self, result_id: str) -> TaskResult[Any]:
        for result in self.results:
            if result.id == result_id:
                return result
        raise ResultDoesNotExist(f"No task result with id {result_id!r} in backend {self.alias!r}.")

    def clear(self) -> None:
        """Forget every stored result."""
        self.results.clear()
