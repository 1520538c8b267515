"""Asking a running task to stop: the requests a worker has heard, and the context a task
reads them through.

A task cannot be stopped from outside its thread, so it is asked: a worker that learns that a
task it runs is to stop (the database backend reads it at each heartbeat) calls
``request_stop(result_id)``; the task, declared with ``takes_context=True``, looks at
``context.cancel_requested`` where it can stop cleanly, or calls
``context.raise_if_cancel_requested()``, which raises ``TaskCancelled``: the task then ends
cancelled rather than FAILED, and is never retried.
"""

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django_tasks.dialects import TaskContext as DjangoTaskContext
from django_tasks.exceptions import TaskCancelled

__all__ = ["TaskContext", "forget", "request_stop", "stop_requested"]

_requested: set[str] = set()
_lock = threading.Lock()


def request_stop(result_id: str) -> None:
    """Ask the task of ``result_id``, running in this process, to stop."""
    with _lock:
        _requested.add(result_id)


def stop_requested(result_id: str) -> bool:
    """Whether the task of ``result_id`` has been asked to stop."""
    return result_id in _requested


def forget(result_id: str) -> None:
    """The task of ``result_id`` no longer runs here: drop its request, if any."""
    with _lock:
        _requested.discard(result_id)


if TYPE_CHECKING:  # Django's TaskContext is generic only in django-stubs.
    _ContextBase = DjangoTaskContext[Any, Any]
else:
    _ContextBase = DjangoTaskContext


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskContext(_ContextBase):  # type: ignore[misc]  # Frozen at run time; django-stubs says plain.
    """What a task declared with ``takes_context=True`` receives first: Django's TaskContext
    (``task_result``, ``attempt``), which also says whether the task is asked to stop."""

    @property
    def cancel_requested(self) -> bool:
        """Whether the task has been asked to stop (``result.cancel()`` while it runs)."""
        return stop_requested(str(self.task_result.id))

    def raise_if_cancel_requested(self) -> None:
        """Raise TaskCancelled if the task has been asked to stop: it then ends cancelled."""
        if self.cancel_requested:
            raise TaskCancelled(
                f"Task result {self.task_result.id!r} was asked to stop while it ran."
            )
