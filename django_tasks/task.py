"""Tasks: the Task value of each dialect, and the @task decorator that declares one.

``Task`` is the 0.6.1 dialect's (``django_tasks.task``); ``DjangoTask`` is the class our backends
give Django's ``@task`` (their ``task_class``), of Django's dialect. Both are Django's
``django.tasks.Task`` on Django 6 (a stand-in of the same shape on Django 5.2, see ``dialects``),
so any ``django.tasks`` backend accepts them, and both keep this project's rules: a task is a
module-level function, validated when declared, with JSON-safe annotations. A task finds its
backend through the handler (``django_tasks.tasks``, which shares Django's instances); its
results are of its dialect (``results``).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import (
    Any,
    ClassVar,
    Concatenate,
    Literal,
    ParamSpec,
    Protocol,
    Self,
    TypeVar,
    cast,
    overload,
)

from asgiref.sync import async_to_sync, sync_to_async
from django.utils import timezone

from django_tasks.backends.base import BaseTaskBackend
from django_tasks.cancellation import TaskContext
from django_tasks.constants import (
    DEFAULT_PRIORITY,
    DEFAULT_QUEUE_NAME,
    DEFAULT_TASK_BACKEND_ALIAS,
    MAX_PRIORITY,
    MAX_RESULT_ID_LENGTH,
    MAX_UNIQUE_KEY_LENGTH,
    MIN_PRIORITY,
)
from django_tasks.dialects import DjangoTaskResultBase, TaskBase, enqueue_on_commit
from django_tasks.exceptions import (
    InvalidTaskBackendError,
    InvalidTaskError,
    ResultMismatchError,
)
from django_tasks.handler import tasks
from django_tasks.problems import queue_name_characters_message
from django_tasks.registry import task_registry
from django_tasks.results import FINISHED_STATUSES, ResultStatus, TaskResult, as_reference
from django_tasks.retries import Backoff, option_problems
from django_tasks.signatures import validate_signature
from django_tasks_spec.dialects import Dialect
from django_tasks_spec.settings import QUEUE_NAME_PATTERN

__all__ = [
    "DEFAULT_PRIORITY",
    "DEFAULT_QUEUE_NAME",
    "DEFAULT_TASK_BACKEND_ALIAS",
    "FINISHED_STATUSES",
    "MAX_PRIORITY",
    "MAX_RESULT_ID_LENGTH",
    "MAX_UNIQUE_KEY_LENGTH",
    "MIN_PRIORITY",
    "DjangoTask",
    "ResultStatus",
    "Task",
    "TaskResult",
    "django_task",
    "task",
]

_QUEUE_NAME = re.compile(QUEUE_NAME_PATTERN)

P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True, slots=True, kw_only=True)
class BaseTask(TaskBase[P, T]):
    """What our tasks of both dialects share: Django's Task, validated as this project asks
    (module-level function, priority, queue name, run_after) and with our extensions."""

    func: Callable[P, T] | Callable[P, Coroutine[Any, Any, T]]  # type: ignore[assignment]  # Django's stub: Callable[..., T], which types a coroutine function's T as its coroutine.
    """The module-level function (or coroutine function) that the task runs."""

    enqueue_on_commit: bool | None = None
    """Whether enqueueing waits for the current transaction to commit; None lets the backend's
    ENQUEUE_ON_COMMIT decide."""

    unique_key: str | None = None
    """With a key, the task is unique (on backends with ``supports_unique``): while a task of
    the same function and backend with this key waits to run (or runs, with
    ``unique_while_running``), enqueueing returns that task's result instead of a new one."""

    unique_while_running: bool = False
    """Whether the key stays taken while the task runs, not only while it waits."""

    max_attempts: int | None = None
    """How many times the task may be started in all (1: never retried); None lets the
    backend's default decide (the database backend's OPTIONS["MAX_ATTEMPTS"])."""

    retry_on: tuple[type[BaseException], ...] | None = None
    """The exceptions after which a failed attempt runs again (see ``django_tasks.retries``);
    None lets the backend's default decide (the database backend's OPTIONS["RETRY_ON"])."""

    backoff: Backoff | None = None
    """How long to wait before the next attempt, from the number of the one that failed; None
    lets the backend's default decide (an exponential backoff with jitter and a cap)."""

    timeout: float | None = None
    """The most seconds one attempt may run before its backend stops it and records it FAILED
    with ``TaskTimeoutError``; None leaves it to the backend (the database backend's
    OPTIONS["TIMEOUT"]). Honoured by backends with ``supports_timeout``; see the README
    ("Timeouts") for what each of db_worker's pools can do."""

    def __post_init__(self) -> None:
        _validate_function(self.func)
        _validate_timeout(self.timeout)
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
        if self.takes_context not in (True, False):
            raise InvalidTaskError(
                f"takes_context {self.takes_context!r} is invalid; it must be True or False."
            )
        _validate_unique_key(self.unique_key)
        if self.unique_while_running not in (True, False):
            raise InvalidTaskError(
                f"unique_while_running {self.unique_while_running!r} is invalid; it must be "
                f"True or False."
            )
        problems = option_problems(self.max_attempts, self.retry_on, self.backoff)
        if problems:
            raise InvalidTaskError(
                f"Task {self.func.__module__}.{self.func.__qualname__}: {problems[0]}"
            )
        if self.retry_on is not None and not isinstance(self.retry_on, tuple):
            object.__setattr__(self, "retry_on", tuple(self.retry_on))  # Hashable, as the task is.

    # name and module_path (the dotted path a worker finds the task by) are Django's.

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
        unique_key: str | None = None,
        unique_while_running: bool | None = None,
    ) -> Self:
        """Return a copy of the task with other options, validated against its backend.

        A ``timedelta`` run_after means that long from now. ``unique_key`` makes the copy a
        unique task (see ``unique_key``; backends with ``supports_unique``).
        The retry policy is the declaration's: a worker finds it there, by the task's path.
        """
        changes: dict[str, Any] = {}
        if unique_key is not None:
            changes["unique_key"] = unique_key
        if unique_while_running is not None:
            changes["unique_while_running"] = unique_while_running
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
        validate_for_backend(new_task, new_task.get_backend())
        return new_task

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

    def get_backend(self) -> BaseTaskBackend:  # type: ignore[override]  # Ours, or (Django 6) another django.tasks backend.
        """Return the backend instance the task is enqueued on."""
        return tasks[self.backend]

    def _own(self, result: Any) -> Any:
        """The result, if it is one of this task's; ResultMismatchError (a ResultDoesNotExist
        and Django's TaskResultMismatch) if it is another task's."""
        if result.task.module_path != self.module_path:
            raise ResultMismatchError(
                f"Result {result.id!r} belongs to task {result.task.module_path!r}, "
                f"not to {self.module_path!r}."
            )
        return result


@dataclass(frozen=True, slots=True, kw_only=True)
class Task(BaseTask[P, T]):
    """A function declared with @task, with the options it is enqueued with: the 0.6.1
    dialect, whose results are ``TaskResult``s whatever backend runs it."""

    dialect: ClassVar[Dialect] = Dialect.REFERENCE

    def enqueue(self, *args: P.args, **kwargs: P.kwargs) -> TaskResult[T]:  # type: ignore[override]  # The 0.6.1 dialect's result.
        """Queue up the task to run with these arguments."""
        return as_reference(self.get_backend().enqueue(self, args, kwargs))

    async def aenqueue(self, *args: P.args, **kwargs: P.kwargs) -> TaskResult[T]:  # type: ignore[override]  # The 0.6.1 dialect's result.
        """See enqueue()."""
        return as_reference(await self.get_backend().aenqueue(self, args, kwargs))

    def get_result(self, result_id: str) -> TaskResult[T]:  # type: ignore[override]  # The 0.6.1 dialect's result.
        """Return the result with this id, if it is a result of this task.

        Raises ResultDoesNotExist for an unknown id, and ResultMismatchError (a
        ResultDoesNotExist too) for another task's result.
        """
        return as_reference(self._own(self.get_backend().get_result(result_id)))

    async def aget_result(self, result_id: str) -> TaskResult[T]:  # type: ignore[override]  # The 0.6.1 dialect's result.
        """See get_result()."""
        return as_reference(self._own(await self.get_backend().aget_result(result_id)))


@dataclass(frozen=True, slots=True, kw_only=True)
class DjangoTask(BaseTask[P, T]):
    """The task class our backends give Django's ``@task`` (``task_class``): Django's dialect,
    whose results are Django's ``TaskResult``. Declared with ``django.tasks.task``, it is
    registered for the workers, and takes our backend options (``enqueue_on_commit``) as
    keyword arguments of ``@task``; see ``django_tasks.task`` for them typed."""

    dialect: ClassVar[Dialect] = Dialect.DJANGO

    def __post_init__(self) -> None:
        # As Django's Task does: every construction (a copy by using() too) is validated.
        super(DjangoTask, self).__post_init__()  # Slots: no zero-argument super().
        validate_for_backend(self, self.get_backend())
        if not task_registry.is_declared(cast(Any, self)):
            validate_signature(cast(Any, self))
            task_registry.register(cast(Any, self))

    def enqueue(self, *args: P.args, **kwargs: P.kwargs) -> DjangoTaskResultBase[P, T]:
        """Queue up the task to run with these arguments."""
        result = self.get_backend().enqueue(cast(Any, self), args, kwargs)
        return cast("DjangoTaskResultBase[P, T]", result)

    async def aenqueue(self, *args: P.args, **kwargs: P.kwargs) -> DjangoTaskResultBase[P, T]:
        """See enqueue()."""
        result = await self.get_backend().aenqueue(cast(Any, self), args, kwargs)
        return cast("DjangoTaskResultBase[P, T]", result)

    def get_result(self, result_id: str) -> DjangoTaskResultBase[P, T]:
        """Return the result with this id, if it is a result of this task: Django's
        TaskResultDoesNotExist for an unknown id, TaskResultMismatch for another task's."""
        return cast(
            "DjangoTaskResultBase[P, T]", self._own(self.get_backend().get_result(result_id))
        )

    async def aget_result(self, result_id: str) -> DjangoTaskResultBase[P, T]:
        """See get_result()."""
        result = self._own(await self.get_backend().aget_result(result_id))
        return cast("DjangoTaskResultBase[P, T]", result)


class _TaskDecorator(Protocol):
    @overload
    def __call__(self, function: Callable[P, Coroutine[Any, Any, T]], /) -> Task[P, T]: ...
    @overload
    def __call__(self, function: Callable[P, T], /) -> Task[P, T]: ...


class _ContextTaskDecorator(Protocol):
    @overload
    def __call__(
        self, function: Callable[Concatenate[TaskContext, P], Coroutine[Any, Any, T]], /
    ) -> Task[P, T]: ...
    @overload
    def __call__(self, function: Callable[Concatenate[TaskContext, P], T], /) -> Task[P, T]: ...


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
    unique_key: str | None = None,
    unique_while_running: bool = False,
    max_attempts: int | None = None,
    retry_on: tuple[type[BaseException], ...] | None = None,
    backoff: Backoff | None = None,
    timeout: float | None = None,
    takes_context: Literal[False] = False,
) -> _TaskDecorator: ...
@overload
def task(
    *,
    priority: int = DEFAULT_PRIORITY,
    queue_name: str = DEFAULT_QUEUE_NAME,
    backend: str = DEFAULT_TASK_BACKEND_ALIAS,
    enqueue_on_commit: bool | None = None,
    unique_key: str | None = None,
    unique_while_running: bool = False,
    max_attempts: int | None = None,
    retry_on: tuple[type[BaseException], ...] | None = None,
    backoff: Backoff | None = None,
    timeout: float | None = None,
    takes_context: Literal[True],
) -> _ContextTaskDecorator: ...
def task(
    function: Callable[..., Any] | None = None,
    /,
    *,
    priority: int = DEFAULT_PRIORITY,
    queue_name: str = DEFAULT_QUEUE_NAME,
    backend: str = DEFAULT_TASK_BACKEND_ALIAS,
    enqueue_on_commit: bool | None = None,
    unique_key: str | None = None,
    unique_while_running: bool = False,
    max_attempts: int | None = None,
    retry_on: tuple[type[BaseException], ...] | None = None,
    backoff: Backoff | None = None,
    timeout: float | None = None,
    takes_context: bool = False,
) -> Task[Any, Any] | _TaskDecorator | _ContextTaskDecorator:
    """Declare a module-level function (or coroutine function) as a task.

    Use it bare (``@task``) or with options (``@task(priority=10, queue_name="emails")``).
    With ``takes_context=True`` the function's first parameter, ``context``, receives a
    ``TaskContext`` (the result, the attempt number, and whether it is asked to stop); the
    arguments follow it. ``max_attempts``, ``retry_on`` and ``backoff`` are the task's retry
    policy (see ``django_tasks.retries``); None leaves each to the backend.
    With ``unique_key``, the task is unique (see ``Task.unique_key``; keys per call come with
    ``using(unique_key=...)``).
    ``timeout`` is the most seconds an attempt may run (see ``BaseTask.timeout``).
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
            timeout=timeout,
            takes_context=takes_context,
            unique_key=unique_key,
            unique_while_running=unique_while_running,
            max_attempts=max_attempts,
            retry_on=retry_on,
            backoff=backoff,
        )
        validate_signature(new_task)
        try:
            task_backend = tasks[backend]
        except InvalidTaskBackendError:
            pass  # Reported by the system checks; enqueueing raises it.
        else:
            validate_for_backend(new_task, task_backend)
        task_registry.register(new_task)
        return new_task

    if function is not None:
        return decorate(function)
    return cast(_TaskDecorator, decorate)


class _DjangoTaskDecorator(Protocol):
    @overload
    def __call__(self, function: Callable[P, Coroutine[Any, Any, T]], /) -> DjangoTask[P, T]: ...
    @overload
    def __call__(self, function: Callable[P, T], /) -> DjangoTask[P, T]: ...


class _DjangoContextTaskDecorator(Protocol):
    @overload
    def __call__(
        self, function: Callable[Concatenate[TaskContext, P], Coroutine[Any, Any, T]], /
    ) -> DjangoTask[P, T]: ...
    @overload
    def __call__(
        self, function: Callable[Concatenate[TaskContext, P], T], /
    ) -> DjangoTask[P, T]: ...


@overload
def django_task(
    *,
    priority: int = DEFAULT_PRIORITY,
    queue_name: str = DEFAULT_QUEUE_NAME,
    backend: str = DEFAULT_TASK_BACKEND_ALIAS,
    enqueue_on_commit: bool | None = None,
    unique_key: str | None = None,
    unique_while_running: bool = False,
    max_attempts: int | None = None,
    retry_on: tuple[type[BaseException], ...] | None = None,
    backoff: Backoff | None = None,
    timeout: float | None = None,
    takes_context: Literal[False] = False,
) -> _DjangoTaskDecorator: ...
@overload
def django_task(
    *,
    priority: int = DEFAULT_PRIORITY,
    queue_name: str = DEFAULT_QUEUE_NAME,
    backend: str = DEFAULT_TASK_BACKEND_ALIAS,
    enqueue_on_commit: bool | None = None,
    unique_key: str | None = None,
    unique_while_running: bool = False,
    max_attempts: int | None = None,
    retry_on: tuple[type[BaseException], ...] | None = None,
    backoff: Backoff | None = None,
    timeout: float | None = None,
    takes_context: Literal[True],
) -> _DjangoContextTaskDecorator: ...
def django_task(
    *,
    priority: int = DEFAULT_PRIORITY,
    queue_name: str = DEFAULT_QUEUE_NAME,
    backend: str = DEFAULT_TASK_BACKEND_ALIAS,
    enqueue_on_commit: bool | None = None,
    unique_key: str | None = None,
    unique_while_running: bool = False,
    max_attempts: int | None = None,
    retry_on: tuple[type[BaseException], ...] | None = None,
    backoff: Backoff | None = None,
    timeout: float | None = None,
    takes_context: bool = False,
) -> _DjangoTaskDecorator | _DjangoContextTaskDecorator:
    """Django's ``@django.tasks.task``, typed with our backends' options.

    It builds the task as Django's decorator does, with the backend's ``task_class`` (ours:
    ``DjangoTask``, of Django's dialect), passing ``enqueue_on_commit``, ``unique_key``,
    ``unique_while_running``, the retry options (``max_attempts``, ``retry_on``,
    ``backoff``) and ``timeout`` on as keyword arguments, as Django 6.1's decorator passes any.
    django-stubs types Django's decorator without them, so
    ``@django.tasks.task(enqueue_on_commit=False)`` is a type error where
    ``@django_task(enqueue_on_commit=False)`` is not.
    """

    def decorate(func: Callable[..., Any]) -> DjangoTask[Any, Any]:
        extensions: dict[str, Any] = {
            name: value
            for name, value, unset in (
                ("enqueue_on_commit", enqueue_on_commit, None),
                ("unique_key", unique_key, None),
                ("unique_while_running", unique_while_running, False),
                ("max_attempts", max_attempts, None),
                ("retry_on", retry_on, None),
                ("backoff", backoff, None),
                ("timeout", timeout, None),
            )
            if value is not unset
        }
        built = tasks[backend].task_class(
            func=func,
            priority=priority,
            queue_name=queue_name,
            backend=backend,
            takes_context=takes_context,
            **extensions,
        )
        return cast(DjangoTask[Any, Any], built)

    return cast(_DjangoTaskDecorator, decorate)


BaseTaskBackend.task_class = DjangoTask
"""What Django's ``@task`` builds for our backends (set here: this module imports the backend's)."""


def validate_for_backend(task: Any, backend: Any) -> None:
    """Raise InvalidTaskError if the backend cannot run the task: ours validate it; a foreign
    ``django.tasks`` backend (Django's own, a third party's) validates it too, and cannot honour
    our extensions ``enqueue_on_commit=True`` (it never waits for a commit) and ``unique_key``."""
    if isinstance(backend, BaseTaskBackend):
        backend.validate_task(task)
        return
    if getattr(task, "unique_key", None) is not None:
        raise InvalidTaskError(
            f"Task {task.module_path} has unique_key {task.unique_key!r}, but backend "
            f"{task.backend!r} ({type(backend).__module__}.{type(backend).__qualname__}) is not "
            f"one of django_tasks's and cannot keep tasks unique; leave unique_key unset."
        )
    if enqueue_on_commit(task):
        raise InvalidTaskError(
            f"Task {task.module_path} sets enqueue_on_commit=True, but "
            f"backend {task.backend!r} ({type(backend).__module__}.{type(backend).__qualname__}) "
            f"is not one of django_tasks's and cannot wait for a commit; leave "
            f"enqueue_on_commit unset, or enqueue with transaction.on_commit() yourself."
        )
    try:
        backend.validate_task(task)
    except InvalidTaskError:
        raise
    except Exception as e:  # Django's InvalidTask, in the backend's words.
        raise InvalidTaskError(
            f"Backend {task.backend!r} refuses task {task.module_path}: {e}"
        ) from e


def _validate_function(func: Any) -> None:
    if not inspect.isfunction(func):
        raise InvalidTaskError(
            f"Task function must be defined at a module level: {func!r} is not a Python "
            f"function; a task must be a module-level function defined with def or async def."
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
        f"Task function must be defined at a module level: {func.__module__}.{where} "
        f"{problem}; define it at module level so that a worker can import it."
    )


def _validate_name(what: str, name: object) -> None:
    if not isinstance(name, str) or not name:
        raise InvalidTaskError(f"{what} {name!r} is invalid; it must be a non-empty string.")


def _validate_queue_name(name: object) -> None:
    """A non-empty string of QUEUE_NAME_PATTERN, which a worker can select by name."""
    _validate_name("Queue name", name)
    if isinstance(name, str) and not _QUEUE_NAME.fullmatch(name):
        raise InvalidTaskError(queue_name_characters_message(name))


def _validate_unique_key(key: Any) -> None:
    if key is None:
        return
    if not isinstance(key, str) or not 0 < len(key) <= MAX_UNIQUE_KEY_LENGTH:
        raise InvalidTaskError(
            f"unique_key {str(key)[:50]!r} is invalid; it must be a string of 1 to "
            f"{MAX_UNIQUE_KEY_LENGTH} characters."
        )


def _validate_priority(priority: Any) -> None:
    if type(priority) is not int or not MIN_PRIORITY <= priority <= MAX_PRIORITY:
        raise InvalidTaskError(
            f"Priority {priority!r} is invalid: priority must be a whole number between "
            f"{MIN_PRIORITY} and {MAX_PRIORITY}."
        )


def _validate_timeout(timeout: Any) -> None:
    """None, or a finite number of seconds above zero (not a bool)."""
    if timeout is None:
        return
    if type(timeout) not in (int, float) or not 0 < timeout < float("inf"):
        raise InvalidTaskError(
            f"timeout {timeout!r} is invalid; it must be a number of seconds greater than zero, "
            f"or None for the backend's default."
        )


def _validate_run_after(run_after: Any) -> None:
    if not isinstance(run_after, datetime):
        raise InvalidTaskError(
            f"run_after {run_after!r} is invalid; pass an aware datetime or a timedelta."
        )
    if timezone.is_naive(run_after):
        raise InvalidTaskError(
            f"run_after must be an aware datetime: {run_after!r} is naive; pass an aware one "
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
