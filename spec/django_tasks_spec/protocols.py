"""What a task backend, a task and a task result must provide, as typing Protocols.

The implementation is typed against them (a backend receives a ``TaskProtocol``; a result
refers to its task as one), and a third-party backend author asks mypy whether a class keeps
the contract with one line::

    from typing import TYPE_CHECKING

    from django_tasks_spec.protocols import TaskBackendProtocol

    if TYPE_CHECKING:
        _: TaskBackendProtocol = MyBackend("default", {})

mypy then reports a constructor that does not take ``(alias, params)`` (how the TASKS handler
creates backends), every missing or incompatible member, and, for a subclass of
``BaseTaskBackend``, the abstract ``_enqueue`` hook left unimplemented.

Read-only attributes are declared as properties, so frozen dataclasses and class variables
satisfy them.
"""

from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence, Set
from datetime import datetime, timedelta
from typing import Any, ParamSpec, Protocol, Self, TypeVar

from django.core.checks import CheckMessage
from pydantic import BaseModel

P = ParamSpec("P")
T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class TaskProtocol(Protocol[P, T_co]):
    """A function declared as a task, with the options it is enqueued with.

    ``P`` is the function's parameters, ``T_co`` what it returns (awaited, for a coroutine
    function).
    """

    @property
    def func(self) -> Callable[P, T_co] | Callable[P, Coroutine[Any, Any, T_co]]:
        """The module-level function (or coroutine function) the task runs."""

    @property
    def priority(self) -> int:
        """Higher runs first, between -100 and 100."""

    @property
    def backend(self) -> str:
        """The alias in TASKS of the backend the task is enqueued on."""

    @property
    def queue_name(self) -> str:
        """The queue the task is enqueued on."""

    @property
    def run_after(self) -> datetime | None:
        """The earliest time the task may start (aware), or None for as soon as possible."""

    @property
    def enqueue_on_commit(self) -> bool | None:
        """Whether enqueueing waits for the transaction to commit; None defers to the backend."""

    @property
    def name(self) -> str:
        """The function's name."""

    @property
    def module_path(self) -> str:
        """The dotted path a worker finds the task by."""

    @property
    def is_async(self) -> bool:
        """Whether the function is a coroutine function."""

    def using(
        self,
        *,
        priority: int | None = None,
        queue_name: str | None = None,
        run_after: datetime | timedelta | None = None,
        backend: str | None = None,
    ) -> Self:
        """A copy of the task with other options, validated against its backend."""

    def enqueue(self, *args: P.args, **kwargs: P.kwargs) -> "TaskResultProtocol[T_co]":
        """Queue up the task to run with these arguments."""

    async def aenqueue(self, *args: P.args, **kwargs: P.kwargs) -> "TaskResultProtocol[T_co]":
        """Queue up the task to run with these arguments."""

    def get_result(self, result_id: str) -> "TaskResultProtocol[T_co]":
        """The result of this task with this id; ResultDoesNotExist otherwise."""

    async def aget_result(self, result_id: str) -> "TaskResultProtocol[T_co]":
        """The result of this task with this id; ResultDoesNotExist otherwise."""

    def call(self, *args: P.args, **kwargs: P.kwargs) -> T_co:
        """Run the function here and now."""

    async def acall(self, *args: P.args, **kwargs: P.kwargs) -> T_co:
        """Run the function here and now."""

    def get_backend(self) -> "TaskBackendProtocol":
        """The backend the task is enqueued on."""


class TaskResultProtocol(Protocol[T_co]):
    """The state of one enqueued run of a task. ``T_co`` is what the task returns."""

    @property
    def task(self) -> TaskProtocol[Any, T_co]:
        """The task this is a result of."""

    @property
    def id(self) -> str:
        """An opaque, unique identifier of at most 64 characters."""

    @property
    def status(self) -> str:
        """``NEW``, ``RUNNING``, ``FAILED`` or ``SUCCEEDED``."""

    @property
    def enqueued_at(self) -> datetime | None:
        """When the task was enqueued (None while waiting for a transaction to commit)."""

    @property
    def started_at(self) -> datetime | None:
        """When the current (or last) attempt started."""

    @property
    def finished_at(self) -> datetime | None:
        """When the task finished."""

    @property
    def args(self) -> list[Any]:
        """The positional arguments, as JSON data."""

    @property
    def kwargs(self) -> dict[str, Any]:
        """The keyword arguments, as JSON data."""

    @property
    def backend(self) -> str:
        """The alias of the backend that holds the result."""

    @property
    def attempts(self) -> int:
        """How many times a worker has started the task."""

    @property
    def worker_ids(self) -> list[str]:
        """The workers that started the task, in order."""

    @property
    def is_finished(self) -> bool:
        """Whether the task has FAILED or SUCCEEDED."""

    @property
    def return_value(self) -> T_co:
        """What the function returned; raises ValueError unless the task SUCCEEDED."""

    @property
    def exception_class(self) -> type[BaseException] | None:
        """The class of the exception the task raised; raises ValueError until it finished."""

    @property
    def traceback(self) -> str | None:
        """The formatted traceback of that exception; raises ValueError until it finished."""

    def refresh(self) -> None:
        """Reload the result from its backend."""

    async def arefresh(self) -> None:
        """Reload the result from its backend."""


class TaskBackendProtocol(Protocol):
    """A configured task backend: one entry of TASKS, made an object."""

    @property
    def supports_defer(self) -> bool:
        """Can tasks be enqueued with run_after?"""

    @property
    def supports_async_task(self) -> bool:
        """Can coroutine functions be enqueued?"""

    @property
    def supports_get_result(self) -> bool:
        """Can a result be retrieved by id, from any thread or process?"""

    @property
    def supports_priority(self) -> bool:
        """Is a task with a higher priority started before one with a lower priority?"""

    @property
    def supports_timeout(self) -> bool:
        """Is a task that runs past its timeout recorded FAILED with TaskTimeoutError?"""

    @property
    def options_schema(self) -> type[BaseModel]:
        """The pydantic model that validates the backend's OPTIONS."""

    @property
    def alias(self) -> str:
        """The backend's alias in TASKS."""

    @property
    def queues(self) -> Set[str]:
        """The queue names tasks may use; empty allows any name."""

    @property
    def enqueue_on_commit(self) -> bool:
        """Whether enqueueing waits for the transaction to commit, unless a task says."""

    @property
    def options(self) -> BaseModel:
        """The validated OPTIONS."""

    def validate_task(self, task: TaskProtocol[Any, Any]) -> None:
        """Raise InvalidTaskError if the backend cannot run the task as declared."""

    def enqueue(
        self, task: TaskProtocol[Any, T], args: Sequence[Any], kwargs: Mapping[str, Any]
    ) -> TaskResultProtocol[T]:
        """Queue up the task with JSON-safe arguments; validate it first."""

    async def aenqueue(
        self, task: TaskProtocol[Any, T], args: Sequence[Any], kwargs: Mapping[str, Any]
    ) -> TaskResultProtocol[T]:
        """Queue up the task with JSON-safe arguments; validate it first."""

    def get_result(self, result_id: str) -> TaskResultProtocol[Any]:
        """The result with this id, of any task; ResultDoesNotExist otherwise."""

    async def aget_result(self, result_id: str) -> TaskResultProtocol[Any]:
        """The result with this id, of any task; ResultDoesNotExist otherwise."""

    def check(self, **kwargs: Any) -> Iterable[CheckMessage]:
        """Problems with the backend's configuration; every message has an id."""
