"""Results: ResultStatus, TaskError, and the results of both dialects.

A result is in the dialect of its task. A task of the 0.6.1 dialect (``django_tasks.Task``) has
``TaskResult`` results: ``ResultStatus`` NEW/RUNNING/FAILED/SUCCEEDED, ``exception_class`` and
``traceback``, and Django's fields as extensions (``errors``, ``last_attempted_at``). Any other
task (Django's ``django.tasks.Task``, and the class our backends give Django's ``@task``) has
``DjangoTaskResult`` results, which are Django's ``django.tasks.TaskResult``.

The machinery (running tasks, the database rows, the workers) speaks one vocabulary, this
dialect's: it builds a result with ``new_result`` and changes it with ``_update``, passing
``ResultStatus`` statuses; each class keeps them in its own words. A result knows its task only
as Django's Task describes one, so this module depends on no backend.
"""

import importlib
import sys
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, cast

from django.apps import apps
from django.db.models import TextChoices
from django.utils.translation import gettext_lazy as _

from django_tasks.dialects import (
    DjangoTaskResultBase,
    TaskErrorBase,
    TaskResultStatus,
)
from django_tasks.utils import class_path, format_exception
from django_tasks_spec.dialects import STATUS_TO_DJANGO, STATUS_TO_REFERENCE, Dialect
from django_tasks_spec.protocols import TaskProtocol

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

NOT_FINISHED = "Task has not finished yet"
"""The reference's words for reading an outcome too early; our messages start with them."""

CANCELLED_PATH = "django_tasks.exceptions.TaskCancelled"
"""The class path of the error of a cancelled task: neither dialect's statuses has a cancelled
one, so a cancelled task is FAILED, and its last error is a TaskCancelled."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskError(TaskErrorBase):  # type: ignore[misc]  # Frozen at run time; django-stubs says plain.
    """One failed attempt of a task: the exception's class (by dotted path) and traceback.

    Django's TaskError, except that ``exception_class`` imports nothing outside the installed
    apps (a stored path is data: a tampered row must not trigger imports) and never raises: a
    class it cannot find is a stand-in of the same name.
    """

    _class: type[BaseException] | None = field(default=None, compare=False, repr=False)
    """The class itself, when the error was raised in this process."""

    @classmethod
    def of(cls, exception: BaseException) -> "TaskError":
        """The error of an exception a task raised here."""
        return cls(
            exception_class_path=class_path(type(exception)),
            traceback=format_exception(exception),
            _class=type(exception),
        )

    @property
    def exception_class(self) -> type[BaseException]:
        return self._class or exception_class(self.exception_class_path)


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskResult(Generic[T]):
    """A result of a task of the 0.6.1 dialect. Read-only: backends update it, users read it."""

    dialect: ClassVar[Dialect] = Dialect.REFERENCE

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

    last_attempted_at: datetime | None = None
    """When the last attempt started (Django's field, an extension of this dialect)."""

    errors: list[TaskError] = field(default_factory=list)
    """One entry per failed attempt, the last one last (Django's field, an extension)."""

    _return_value: Any = field(default=None, init=False, repr=False)

    @property
    def is_finished(self) -> bool:
        """Whether the task has FAILED or SUCCEEDED."""
        return self.status in FINISHED_STATUSES

    @property
    def return_value(self) -> T:
        """What the function returned, as JSON data. Raises ValueError unless it SUCCEEDED."""
        if self.status != ResultStatus.SUCCEEDED:
            # The reference's and Django's phrases first, so assertions written for them hold.
            phrase = "Task failed" if self.status == ResultStatus.FAILED else NOT_FINISHED
            raise ValueError(
                f"{phrase}: task result {self.id!r} has status {self.status.value}; a return "
                f"value exists only once it has SUCCEEDED."
            )
        return cast(T, self._return_value)

    @property
    def exception_class(self) -> type[BaseException] | None:
        """The class of the exception the task raised, or None if it succeeded."""
        self._require_finished("exception_class")
        error = self._last_error()
        return None if error is None else error.exception_class

    @property
    def traceback(self) -> str | None:
        """The formatted traceback of the exception the task raised, or None if it succeeded."""
        self._require_finished("traceback")
        error = self._last_error()
        return None if error is None else error.traceback

    @property
    def is_cancelled(self) -> bool:
        """Whether the task was cancelled: it is FAILED, and its last error is TaskCancelled."""
        return _cancelled(self)

    def refresh(self) -> None:
        """Reload the result from its backend."""
        self._refresh_from(self.task.get_backend().get_result(self.id))

    async def arefresh(self) -> None:
        """See refresh()."""
        self._refresh_from(await self.task.get_backend().aget_result(self.id))

    def cancel(self) -> None:
        """Cancel the task (see the backend's cancel()) and reload the result: a task that has
        not started ends cancelled; a running one is asked to stop. Raises TaskFinishedError
        if it has finished."""
        self._refresh_from(_backend_of(self).cancel(self.id))

    async def acancel(self) -> None:
        """See cancel()."""
        self._refresh_from(await _backend_of(self).acancel(self.id))

    def _last_error(self) -> "TaskError | None":
        if self.status != ResultStatus.FAILED or not self.errors:
            return None
        return self.errors[-1]

    def _require_finished(self, attribute: str) -> None:
        if not self.is_finished:
            raise ValueError(
                f"{NOT_FINISHED}: task result {self.id!r} has status {self.status.value}; "
                f"{attribute} is known only once it has finished."
            )

    def _refresh_from(self, other: Any) -> None:
        fresh = as_reference(other, self.task)
        self._update(
            **{name: getattr(fresh, name) for name in _MUTABLE_FIELDS - {"_return_value"}},
            _return_value=fresh._return_value,
        )

    def _update(self, **changes: Any) -> None:
        """Change the result's state. Backends call this; nothing else mutates a result."""
        unknown = changes.keys() - _MUTABLE_FIELDS
        if unknown:
            raise TypeError(f"TaskResult fields {sorted(unknown)} cannot be updated.")
        for name, value in changes.items():
            object.__setattr__(self, name, value)


if TYPE_CHECKING:  # Django's TaskResult is generic only in django-stubs.
    _DjangoResultBase = DjangoTaskResultBase[..., Any]
else:
    _DjangoResultBase = DjangoTaskResultBase


@dataclass(frozen=True, slots=True, kw_only=True)
class DjangoTaskResult(_DjangoResultBase):  # type: ignore[misc]  # Frozen at run time; django-stubs says plain.
    """A result of a task of Django's dialect: Django's ``django.tasks.TaskResult``, which
    our backends update through ``_update`` in the machinery's words."""

    dialect: ClassVar[Dialect] = Dialect.DJANGO

    def _update(self, **changes: Any) -> None:
        """Change the result's state, given in the machinery's words (``ResultStatus``)."""
        unknown = changes.keys() - _MUTABLE_FIELDS
        if unknown:
            raise TypeError(f"TaskResult fields {sorted(unknown)} cannot be updated.")
        changes.pop("attempts", None)  # Django counts the worker ids.
        if "status" in changes:
            changes["status"] = TaskResultStatus(STATUS_TO_DJANGO[changes["status"]])
        for name, value in changes.items():
            object.__setattr__(self, name, value)

    def refresh(self) -> None:
        """Reload the result from its backend."""
        self._refresh_from(self.task.get_backend().get_result(self.id))

    async def arefresh(self) -> None:
        """See refresh()."""
        self._refresh_from(await self.task.get_backend().aget_result(self.id))

    @property
    def is_cancelled(self) -> bool:
        """Whether the task was cancelled: it is FAILED, and its last error is TaskCancelled."""
        return _cancelled(self)

    def cancel(self) -> None:
        """Cancel the task (see the backend's cancel()) and reload the result: a task that has
        not started ends cancelled; a running one is asked to stop. Raises TaskFinishedError
        if it has finished."""
        self._refresh_from(_backend_of(self).cancel(self.id))

    async def acancel(self) -> None:
        """See cancel()."""
        self._refresh_from(await _backend_of(self).acancel(self.id))

    def _refresh_from(self, other: Any) -> None:
        for name in _MUTABLE_FIELDS - {"attempts"}:
            object.__setattr__(self, name, getattr(other, name))


AnyResult = TaskResult[Any]
"""A result of either dialect, as the machinery handles it. Typed as the 0.6.1 dialect's
(the contract's, which backends are written to): a DjangoTaskResult has the same fields and
``_update``, and the machinery reads its status only through ``status_of``."""

_MUTABLE_FIELDS = frozenset(
    {
        "status",
        "enqueued_at",
        "started_at",
        "finished_at",
        "last_attempted_at",
        "attempts",
        "worker_ids",
        "errors",
        "_return_value",
    }
)


def _backend_of(result: Any) -> Any:
    """The backend of a result's task, if it can cancel tasks (one of ours, or any backend
    with a cancel() of the same meaning)."""
    backend = result.task.get_backend()
    if not callable(getattr(backend, "cancel", None)):
        raise NotImplementedError(
            f"Backend {result.backend!r} ({type(backend).__qualname__}) does not support "
            f"cancelling tasks."
        )
    return backend


def _cancelled(result: Any) -> bool:
    return status_of(result) == ResultStatus.FAILED and bool(
        result.errors and result.errors[-1].exception_class_path == CANCELLED_PATH
    )


def dialect_of(task: Any) -> Dialect:
    """The dialect of a task: the 0.6.1 dialect's for ``django_tasks.Task``, Django's for any
    other (Django's own Task, and the task class our backends give Django's ``@task``)."""
    return cast(Dialect, getattr(type(task), "dialect", Dialect.DJANGO))


def new_result(
    task: Any,
    *,
    id: str,  # noqa: A002  # The field's name.
    status: ResultStatus,
    args: list[Any],
    kwargs: dict[str, Any],
    backend: str,
    enqueued_at: datetime | None = None,
    started_at: datetime | None = None,
    finished_at: datetime | None = None,
    last_attempted_at: datetime | None = None,
    worker_ids: list[str] | None = None,
    attempts: int | None = None,
    errors: list[TaskError] | None = None,
    return_value: Any = None,
) -> AnyResult:
    """A result of the task's dialect, from the machinery's words. ``attempts`` defaults to the
    number of worker ids (Django's definition)."""
    worker_ids = [] if worker_ids is None else worker_ids
    shared: dict[str, Any] = {
        "task": task,
        "id": id,
        "enqueued_at": enqueued_at,
        "started_at": started_at,
        "finished_at": finished_at,
        "last_attempted_at": last_attempted_at,
        "args": args,
        "kwargs": kwargs,
        "backend": backend,
        "worker_ids": worker_ids,
        "errors": [] if errors is None else errors,
    }
    result: TaskResult[Any] | DjangoTaskResult
    if dialect_of(task) is Dialect.REFERENCE:
        counted = len(worker_ids) if attempts is None else attempts
        result = TaskResult(status=status, attempts=counted, **shared)
    else:
        result = DjangoTaskResult(status=TaskResultStatus(STATUS_TO_DJANGO[status]), **shared)
    if status == ResultStatus.SUCCEEDED:
        object.__setattr__(result, "_return_value", return_value)
    return cast(AnyResult, result)  # See AnyResult.


def status_of(result: Any) -> ResultStatus:
    """A result's status in the machinery's words, whichever dialect the result speaks."""
    status = str(result.status)
    return ResultStatus(STATUS_TO_REFERENCE.get(status, status))


def as_reference(result: Any, task: Any = None) -> TaskResult[Any]:
    """A result in the 0.6.1 dialect: itself if it is one, else a copy translated from Django's
    (a foreign ``django.tasks`` backend's result of a ``django_tasks.Task``). ``task``, if
    given, becomes the copy's task."""
    if isinstance(result, TaskResult) and task is None:
        return result
    errors = [
        error
        if isinstance(error, TaskError)
        else TaskError(exception_class_path=error.exception_class_path, traceback=error.traceback)
        for error in result.errors
    ]
    status = status_of(result)
    translated = new_result(
        task if task is not None else result.task,
        id=result.id,
        status=status,
        args=list(result.args),
        kwargs=dict(result.kwargs),
        backend=result.backend,
        enqueued_at=result.enqueued_at,
        started_at=result.started_at,
        finished_at=result.finished_at,
        last_attempted_at=result.last_attempted_at,
        worker_ids=list(result.worker_ids),
        attempts=result.attempts,
        errors=errors,
        return_value=result._return_value,
    )
    return translated


def exception_class(path: str) -> type[BaseException]:
    """The exception class at ``path``, found without importing anything outside the
    installed apps (a tampered record must not trigger imports); a stand-in class of the same
    name if it cannot be found.

    Looked up each time (a dict lookup and a getattr or two): a module reloaded or re-imported
    holds a new class, which a cache would miss. Only the stand-ins are kept, so that one path
    always stands for the same class while it cannot be found.
    """
    parts = path.split(".")
    for split in range(len(parts) - 1, 0, -1):
        module_name = ".".join(parts[:split])
        module = sys.modules.get(module_name)
        if module is None and apps.get_containing_app_config(module_name) is not None:
            try:
                module = importlib.import_module(module_name)
            except Exception:  # Unimportable here: fall back to the stand-in.
                module = None
        if module is None:
            continue
        found: Any = module
        for name in parts[split:]:
            found = getattr(found, name, None)
        if isinstance(found, type) and issubclass(found, BaseException):
            return found
        break
    return _stand_in(path)


@lru_cache(maxsize=256)
def _stand_in(path: str) -> type[BaseException]:
    """A class of the same name, for an exception class that cannot be found here."""
    module_name, _, qualname = path.rpartition(".")
    return type(
        qualname or "UnknownException",
        (Exception,),
        {
            "__module__": module_name or "builtins",
            "__doc__": f"Stands in for {path!r}, which cannot be imported here.",
        },
    )
