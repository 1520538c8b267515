"""DummyBackend: keeps enqueued results in memory and runs nothing. Made for tests.

Usage::

    TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}

    result = send_email.enqueue("a@example.com")
    assert default_task_backend.results == [result]
    default_task_backend.clear()

Notes:
    ``enqueue`` returns a deep copy of the result it stores, as Django's and the reference's
    DummyBackend do: changing the result you hold does not change the stored one, nor the other
    way round; ``refresh()`` reads the stored one (``get_result`` and ``results`` hold it).
    Only ``enqueued_at`` reaches the copy by itself, once a transaction it waited for commits.

    Results live in the backend instance, which is per thread, so ``supports_get_result`` is
    False even though ``get_result`` finds results enqueued by the same thread.
"""

from collections.abc import Mapping, Sequence
from copy import deepcopy
from functools import partial
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS

from django_tasks.backends.base import BaseTaskBackend, on_commit_logged
from django_tasks.exceptions import ResultDoesNotExist
from django_tasks.results import AnyResult, TaskResult
from django_tasks_spec.protocols import TaskProtocol

T = TypeVar("T")


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
        self._waiting: dict[str, AnyResult] = {}  # Copies made by _enqueue_on_commit.

    def enqueue(
        self, task: TaskProtocol[Any, T], args: Sequence[Any], kwargs: Mapping[str, Any]
    ) -> TaskResult[T]:
        """See BaseTaskBackend.enqueue(); returns a copy of the stored result."""
        stored = super().enqueue(task, args, kwargs)
        return self._waiting.pop(stored.id, None) or _copy(stored)

    def _enqueue_on_commit(self, result: AnyResult) -> None:
        # The copy enqueue returns is made now, and told the time its original is stored.
        copy = self._waiting[result.id] = _copy(result)
        on_commit_logged(
            partial(self._enqueue_with_copy, result, copy),
            DEFAULT_DB_ALIAS,
            f"Enqueueing task id={result.id} path={result.task.module_path}",
        )

    def _enqueue_with_copy(self, result: AnyResult, copy: AnyResult) -> None:
        try:
            self._enqueue(result)
        finally:  # Stored even if a task_enqueued receiver raised.
            copy._update(enqueued_at=result.enqueued_at)

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


def _copy(result: TaskResult[T]) -> TaskResult[T]:
    """A deep copy of the result that shares its task: a task is an immutable value, and
    ``result.task is my_task`` holds as for the result enqueue returned."""
    return deepcopy(result, {id(result.task): result.task})
