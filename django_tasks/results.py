"""Results: ResultStatus, and TaskResult, the state of one enqueued run of a task.

A result knows its task only as the contract describes a task (``TaskProtocol``), so this module
depends on no backend: backends build and update results, users read them.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar, cast

from django.db.models import TextChoices
from django.utils.translation import gettext_lazy as _

from django_tasks_spec.protocols import TaskProtocol, TaskResultProtocol

T = TypeVar("T")


class ResultStatus(TextChoices):
    NEW = "NEW", _("New")
    """Enqueued (or waiting for the transaction to commit); not started yet."""
    RUNNING = "RUNNING", _("Running")
    """Claimed by a worker and running."""
    FAILED = "FAILED", _("Failed")
    """Finished by raising an exception."""
    SUCCEEDED = "SUCCEEDED", _("Succeeded")
    """Finished by returning a value."""


FINISHED_STATUSES = frozenset({ResultStatus.FAILED, ResultStatus.SUCCEEDED})


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskResult(Generic[T]):
    """The state of one enqueued run of a task. Read-only: backends update it, users read it."""

    task: TaskProtocol[Any, T]
    """The task this is a result of."""

    id: str
    """An opaque, unique identifier of at most MAX_RESULT_ID_LENGTH characters."""

    status: ResultStatus
    """Where the run is: NEW, RUNNING, FAILED or SUCCEEDED."""

    enqueued_at: datetime | None
    """When the task was enqueued (None while waiting for a transaction to commit)."""

    started_at: datetime | None
    """When the current (or last) attempt started."""

    finished_at: datetime | None
    """When the task finished."""

    args: list[Any]
    """The positional arguments, as JSON data."""

    kwargs: dict[str, Any]
    """The keyword arguments, as JSON data."""

    backend: str
    """The alias of the backend that holds the result."""

    attempts: int = 0
    """How many times a worker has started the task."""

    worker_ids: list[str] = field(default_factory=list)
    """The workers that started the task, in order."""

    _return_value: Any = field(default=None, init=False, repr=False)
    _exception_class: type[BaseException] | None = field(default=None, init=False, repr=False)
    _traceback: str | None = field(default=None, init=False, repr=False)

    @property
    def is_finished(self) -> bool:
        """Whether the task has FAILED or SUCCEEDED."""
        return self.status in FINISHED_STATUSES

    @property
    def return_value(self) -> T:
        """What the function returned, as JSON data. Raises ValueError unless it SUCCEEDED."""
        if self.status != ResultStatus.SUCCEEDED:
            raise ValueError(
                f"Task result {self.id!r} has status {self.status.value}; a return value exists "
                f"only once it has SUCCEEDED."
            )
        return cast(T, self._return_value)

    @property
    def exception_class(self) -> type[BaseException] | None:
        """The class of the exception the task raised, or None if it succeeded."""
        self._require_finished("exception_class")
        return self._exception_class

    @property
    def traceback(self) -> str | None:
        """The formatted traceback of the exception the task raised, or None if it succeeded."""
        self._require_finished("traceback")
        return self._traceback

    def refresh(self) -> None:
        """Reload the result from its backend."""
        self._refresh_from(self.task.get_backend().get_result(self.id))

    async def arefresh(self) -> None:
        """See refresh()."""
        self._refresh_from(await self.task.get_backend().aget_result(self.id))

    def _require_finished(self, attribute: str) -> None:
        if not self.is_finished:
            raise ValueError(
                f"Task result {self.id!r} has status {self.status.value}; {attribute} is known "
                f"only once it has finished."
            )

    def _refresh_from(self, other: TaskResultProtocol[Any]) -> None:
        self._update(**{name: getattr(other, name) for name in _MUTABLE_FIELDS})

    def _update(self, **changes: Any) -> None:
        """Change the result's state. Backends call this; nothing else mutates a result."""
        unknown = changes.keys() - _MUTABLE_FIELDS
        if unknown:
            raise TypeError(f"TaskResult fields {sorted(unknown)} cannot be updated.")
        for name, value in changes.items():
            object.__setattr__(self, name, value)


_MUTABLE_FIELDS = frozenset(
    {
        "status",
        "enqueued_at",
        "started_at",
        "finished_at",
        "attempts",
        "worker_ids",
        "_return_value",
        "_exception_class",
        "_traceback",
    }
)
