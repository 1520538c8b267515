"""Tasks: the Task value, and the @task decorator that declares one.

A task finds its backend through the handler (``django_tasks.tasks``); its results are
``TaskResult`` values (``results``), re-exported here as the 0.6.1 API has them, with the
constants.
"""

import inspect
import re
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, ParamSpec, Protocol, Self, TypeVar, cast, overload

from asgiref.sync import async_to_sync, sync_to_async
from django.utils import timezone

from django_tasks.backends.base import BaseTaskBackend
from django_tasks.constants import (
    DEFAULT_PRIORITY,
    DEFAULT_QUEUE_NAME,
    DEFAULT_TASK_BACKEND_ALIAS,
    MAX_PRIORITY,
    MAX_RESULT_ID_LENGTH,
    MIN_PRIORITY,
)
from django_tasks.exceptions import InvalidTaskBackendError, InvalidTaskError, ResultDoesNotExist
from django_tasks.handler import tasks
from django_tasks.problems import queue_name_characters_message
from django_tasks.registry import task_registry
from django_tasks.results import FINISHED_STATUSES, ResultStatus, TaskResult
from django_tasks.signatures import validate_signature
from django_tasks_spec.settings import QUEUE_NAME_PATTERN

__all__ = [
    "DEFAULT_PRIORITY",
    "DEFAULT_QUEUE_NAME",
    "DEFAULT_TASK_BACKEND_ALIAS",
    "FINISHED_STATUSES",
    "MAX_PRIORITY",
    "MAX_RESULT_ID_LENGTH",
    "MIN_PRIORITY",
    "ResultStatus",
    "Task",
    "TaskResult",
    "task",
]

_QUEUE_NAME = re.compile(QUEUE_NAME_PATTERN)

P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True, slots=True, kw_only=True)
class Task(Generic[P, T]):
    """A function declared with @task, with the options it is enqueued with."""

    func: Callable[P, T] | Callable[P, Coroutine[Any, Any, T]]
    """The module-level function (or coroutine function) that the task runs."""

    priority: int = DEFAULT_PRIORITY
    """Higher runs first, between MIN_PRIORITY and MAX_PRIORITY."""

    backend: str = DEFAULT_TASK_BACKEND_ALIAS
    """The alias in TASKS of the backend that runs the task."""

    queue_name: str = DEFAULT_QUEUE_NAME
    """The queue the task is enqueued on."""

    run_after: datetime | None = None
    """The earliest time the task may start (an aware datetime), or None for as soon as possible."""

    enqueue_on_commit: bool | None = None
    """Whether enqueueing waits for the current transaction to commit; None lets the backend's
    ENQUEUE_ON_COMMIT decide."""

    def __post_init__(self) -> None:
        _validate_function(self.func)
        _validate_priority(self.priority)
        _validate_queue_name(self.queue_name)
        _validate_name("Backend alias", self.backend)
        if self.run_after is not None:
            _validate_run_after(self.run_after)
        if self.enqueue_on_commit not in (None, True, False):
            raise InvalidTaskError(
                f"enqueue_on_commit {self.enqueue_on_commit!r} is invalid; it must be True, "
                f"False or None."
            )

    @property
    def name(self) -> str:
        """The function's name."""
        return self.func.__name__

    @property
    def module_path(self) -> str:
        """The dotted path a worker imports the task by."""
        return f"{self.func.__module__}.{self.func.__qualname__}"

    @property
    def is_async(self) -> bool:
        """Whether the function is a coroutine function."""
        return inspect.iscoroutinefunction(self.func)

    def using(
        self,
        *,
        priority: int | None = None,
        queue_name: str | None = None,
        run_after: datetime | timedelta | None = None,
        backend: str | None = None,
    ) -> Self:
        """Return a copy of the task with other options, validated against its backend.

        A ``timedelta`` run_after means that long from now.
        """
        changes: dict[str, Any] = {}
        if priority is not None:
            changes["priority"] = priority
        if queue_name is not None:
            changes["queue_name"] = queue_name
        if run_after is not None:
            changes["run_after"] = (
                _from_now(run_after) if isinstance(run_after, timedelta) else run_after
            )
        if backend is not None:
            changes["backend"] = backend
        new_task = replace(self, **changes)
        new_task.get_backend().validate_task(new_task)
        return new_task

    def enqueue(self, *args: P.args, **kwargs: P.kwargs) -> TaskResult[T]:
        """Queue up the task to run with these arguments."""
        return self.get_backend().enqueue(self, args, kwargs)

    async def aenqueue(self, *args: P.args, **kwargs: P.kwargs) -> TaskResult[T]:
        """See enqueue()."""
        return await self.get_backend().aenqueue(self, args, kwargs)

    def get_result(self, result_id: str) -> TaskResult[T]:
        """Return the result with this id, if it is a result of this task.

        Raises ResultDoesNotExist for an unknown id and for another task's result.
        """
        return self._own_result(self.get_backend().get_result(result_id))

    async def aget_result(self, result_id: str) -> TaskResult[T]:
        """See get_result()."""
        return self._own_result(await self.get_backend().aget_result(result_id))

    def call(self, *args: P.args, **kwargs: P.kwargs) -> T:
        """Run the function here and now, as the worker would (coroutines included)."""
        if inspect.iscoroutinefunction(self.func):
            return async_to_sync(self.func)(*args, **kwargs)  # type: ignore[no-any-return]  # a coroutine function awaits to T
        return cast(Callable[P, T], self.func)(*args, **kwargs)

    async def acall(self, *args: P.args, **kwargs: P.kwargs) -> T:
        """See call()."""
        if inspect.iscoroutinefunction(self.func):
            return await cast(Callable[P, Awaitable[T]], self.func)(*args, **kwargs)
        return await sync_to_async(cast(Callable[P, T], self.func))(*args, **kwargs)

    def get_backend(self) -> BaseTaskBackend:
        """Return the backend instance the task is enqueued on."""
        return tasks[self.backend]

    def _own_result(self, result: TaskResult[Any]) -> TaskResult[T]:
        if result.task.module_path != self.module_path:
            raise ResultDoesNotExist(
                f"Result {result.id!r} belongs to task {result.task.module_path!r}, "
                f"not to {self.module_path!r}."
            )
        return result


class _TaskDecorator(Protocol):
    @overload
    def __call__(self, function: Callable[P, Coroutine[Any, Any, T]], /) -> Task[P, T]: ...
    @overload
    def __call__(self, function: Callable[P, T], /) -> Task[P, T]: ...


@overload
def task(function: Callable[P, Coroutine[Any, Any, T]], /) -> Task[P, T]: ...
@overload
def task(function: Callable[P, T], /) -> Task[P, T]: ...
@overload
def task(
    *,
    priority: int = DEFAULT_PRIORITY,
    queue_name: str = DEFAULT_QUEUE_NAME,
    backend: str = DEFAULT_TASK_BACKEND_ALIAS,
    enqueue_on_commit: bool | None = None,
) -> _TaskDecorator: ...
def task(
    function: Callable[..., Any] | None = None,
    /,
    *,
    priority: int = DEFAULT_PRIORITY,
    queue_name: str = DEFAULT_QUEUE_NAME,
    backend: str = DEFAULT_TASK_BACKEND_ALIAS,
    enqueue_on_commit: bool | None = None,
) -> Task[Any, Any] | _TaskDecorator:
    """Declare a module-level function (or coroutine function) as a task.

    Use it bare (``@task``) or with options (``@task(priority=10, queue_name="emails")``).
    The task is validated here, so a queue the backend does not allow, or an annotation of a
    type JSON cannot carry (see signatures.py), raises InvalidTaskError at import time. A
    backend that cannot be loaded is reported by ``manage.py check`` instead, and raised when
    the task is used.
    """

    def decorate(func: Callable[..., Any]) -> Task[Any, Any]:
        new_task: Task[Any, Any] = Task(
            func=func,
            priority=priority,
            queue_name=queue_name,
            backend=backend,
            enqueue_on_commit=enqueue_on_commit,
        )
        validate_signature(new_task)
        try:
            task_backend = tasks[backend]
        except InvalidTaskBackendError:
            pass  # Reported by the system checks; enqueueing raises it.
        else:
            task_backend.validate_task(new_task)
        task_registry.register(new_task)
        return new_task

    if function is not None:
        return decorate(function)
    return cast(_TaskDecorator, decorate)


def _validate_function(func: Any) -> None:
    if not inspect.isfunction(func):
        raise InvalidTaskError(
            f"{func!r} is not a Python function; a task must be a module-level function "
            f"defined with def or async def."
        )
    where = func.__qualname__
    if func.__name__ == "<lambda>":
        problem = "is a lambda"
    elif "<locals>" in where:
        problem = "is defined inside another function"
    elif where != func.__name__:
        problem = "is defined inside a class"
    else:
        return
    raise InvalidTaskError(
        f"Task function {func.__module__}.{where} {problem}; define it at module level "
        f"so that a worker can import it."
    )


def _validate_name(what: str, name: object) -> None:
    if not isinstance(name, str) or not name:
        raise InvalidTaskError(f"{what} {name!r} is invalid; it must be a non-empty string.")


def _validate_queue_name(name: object) -> None:
    """A non-empty string of QUEUE_NAME_PATTERN, which a worker can select by name."""
    _validate_name("Queue name", name)
    if isinstance(name, str) and not _QUEUE_NAME.fullmatch(name):
        raise InvalidTaskError(queue_name_characters_message(name))


def _validate_priority(priority: Any) -> None:
    if type(priority) is not int or not MIN_PRIORITY <= priority <= MAX_PRIORITY:
        raise InvalidTaskError(
            f"Priority {priority!r} is invalid; it must be a whole number between "
            f"{MIN_PRIORITY} and {MAX_PRIORITY}."
        )


def _validate_run_after(run_after: Any) -> None:
    if not isinstance(run_after, datetime):
        raise InvalidTaskError(
            f"run_after {run_after!r} is invalid; pass an aware datetime or a timedelta."
        )
    if timezone.is_naive(run_after):
        raise InvalidTaskError(
            f"run_after {run_after!r} is a naive datetime; pass an aware one "
            f"(for example django.utils.timezone.now() + timedelta(minutes=5))."
        )
    try:
        run_after.astimezone(UTC)
    except OverflowError:
        raise InvalidTaskError(
            f"run_after {run_after!r} is outside the years 1 to 9999 once in UTC, the range "
            f"every backend can store and read back; pass a time between 0001-01-01 and "
            f"9999-12-31 UTC."
        ) from None


def _from_now(delay: timedelta) -> datetime:
    try:
        return timezone.now() + delay
    except OverflowError:
        when = "after year 9999" if delay > timedelta(0) else "before year 1"
        raise InvalidTaskError(
            f"run_after {delay!r} from now is {when}, beyond the years 1 to 9999 that every "
            f"backend can store and read back; pass a shorter timedelta."
        ) from None
