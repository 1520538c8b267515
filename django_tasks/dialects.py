"""The boundary between the two dialects of the task API: the only module that imports Django's
``django.tasks`` or asks which Django runs.

On Django 6 and later, ``django.tasks`` is the foundation: this module hands its classes to the
rest of the package as the bases ours inherit from (``TaskBase``, ``BackendBase``, the
exceptions' bases), and its signals as ours, so that each alias has one backend instance and one
set of signals whichever API reached it. On Django 5.2, which has no ``django.tasks``, it hands
out stand-ins of the same shape, so that every other module reads the same on both versions.

The correspondence of the two dialects' words (statuses, names) is the contract's:
``django_tasks_spec.dialects``. The values that translate between them live in ``results``
(results of either dialect) and ``task`` (tasks of either dialect), on these bases.
"""

import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar

import django
from django.core.exceptions import ImproperlyConfigured
from django.db.models import TextChoices
from django.dispatch import Signal

from django_tasks_spec.dialects import STATUSES

__all__ = [
    "DJANGO_TASKS",
    "AnyTask",
    "BackendBase",
    "DjangoTaskResultBase",
    "InvalidTaskBackendBase",
    "InvalidTaskBase",
    "ResultDoesNotExistBase",
    "ResultMismatchBase",
    "TaskBase",
    "TaskContext",
    "TaskErrorBase",
    "TaskExceptionBase",
    "TaskResultStatus",
    "django_handler",
    "enqueue_on_commit",
    "foreign_backend_classes",
    "is_async",
    "replace_django_check_and_receivers",
    "task_enqueued",
    "task_finished",
    "task_started",
    "unique_key",
    "unique_while_running",
]

P = ParamSpec("P")
T = TypeVar("T")

DJANGO_TASKS = django.VERSION >= (6, 0)
"""Whether this Django has ``django.tasks`` (Django 6.0 and later)."""

# TaskBase is the generic base our task classes inherit from; AnyTask the class every task of
# either dialect is an instance of (Django's Task itself, on Django 6), for isinstance().

if TYPE_CHECKING:  # The type checker reads Django 6's classes (django-stubs has them)...
    from abc import ABC

    from django.tasks import TaskContext as TaskContext
    from django.tasks import TaskResultStatus as TaskResultStatus
    from django.tasks import task_backends as task_backends
    from django.tasks.backends.base import BaseTaskBackend as DjangoBackend

    class BackendBase(ABC):  # Django's base declares enqueue() abstract.
        """...but not Django's backend base class, whose stub types (``options`` a dict,
        ``queues`` a set, ``check()`` a list, Django's Task and TaskResult in every signature)
        are not those of our contract: every backend written to it would need an ignore."""

        task_class: type[Any]

        def __init__(self, alias: str, params: dict[str, Any]) -> None:  # noqa: B027  # Django's.
            ...

    from django.tasks.base import Task as AnyTask
    from django.tasks.base import Task as TaskBase
    from django.tasks.base import TaskError as TaskErrorBase
    from django.tasks.base import TaskResult as DjangoTaskResultBase
    from django.tasks.exceptions import InvalidTask as InvalidTaskBase
    from django.tasks.exceptions import InvalidTaskBackend as InvalidTaskBackendBase
    from django.tasks.exceptions import TaskException as TaskExceptionBase
    from django.tasks.exceptions import TaskResultDoesNotExist as ResultDoesNotExistBase
    from django.tasks.exceptions import TaskResultMismatch as ResultMismatchBase
    from django.tasks.signals import task_enqueued as task_enqueued
    from django.tasks.signals import task_finished as task_finished
    from django.tasks.signals import task_started as task_started
elif DJANGO_TASKS:
    from django.tasks import TaskContext, TaskResultStatus, task_backends
    from django.tasks.backends.base import BaseTaskBackend as BackendBase
    from django.tasks.base import Task as AnyTask
    from django.tasks.base import TaskError as TaskErrorBase
    from django.tasks.base import TaskResult as DjangoTaskResultBase
    from django.tasks.exceptions import InvalidTask as InvalidTaskBase
    from django.tasks.exceptions import InvalidTaskBackend as InvalidTaskBackendBase
    from django.tasks.exceptions import TaskException as TaskExceptionBase
    from django.tasks.exceptions import TaskResultDoesNotExist as ResultDoesNotExistBase
    from django.tasks.exceptions import TaskResultMismatch as ResultMismatchBase
    from django.tasks.signals import task_enqueued, task_finished, task_started

    @dataclass(frozen=True, slots=True, kw_only=True)
    class TaskBase(AnyTask, Generic[P, T]):
        """Django's Task, generic as django-stubs describes it (at run time it is not)."""

else:  # Django 5.2: stand-ins of the same shape, so the rest of the package reads the same.
    from abc import ABC

    task_backends = None
    TaskExceptionBase = Exception
    InvalidTaskBackendBase = ImproperlyConfigured

    class InvalidTaskBase(Exception):  # noqa: N818  # Django's name.
        """Stands for Django 6's InvalidTask."""

    class ResultDoesNotExistBase(Exception):  # noqa: N818  # Django's name.
        """Stands for Django 6's TaskResultDoesNotExist."""

    class ResultMismatchBase(Exception):  # noqa: N818  # Django's name.
        """Stands for Django 6's TaskResultMismatch."""

    task_enqueued = Signal()
    task_started = Signal()
    task_finished = Signal()

    TaskResultStatus = TextChoices(
        "TaskResultStatus", [(c.django, c.django.capitalize()) for c in STATUSES]
    )

    class BackendBase(ABC):  # noqa: B024  # Django's declares enqueue() abstract; ours defines it.
        task_class: type = object

        def __init__(self, alias: str, params: Any) -> None:
            self.alias = alias

    @dataclass(frozen=True, slots=True, kw_only=True)
    class TaskBase(Generic[P, T]):
        func: Callable[..., Any]
        priority: int = 0
        backend: str = "default"
        queue_name: str = "default"
        run_after: datetime | None = None
        takes_context: bool = False

        @property
        def name(self) -> str:
            return self.func.__name__

        @property
        def module_path(self) -> str:
            return f"{self.func.__module__}.{self.func.__qualname__}"

    AnyTask = TaskBase

    @dataclass(frozen=True, slots=True, kw_only=True)
    class TaskErrorBase:
        exception_class_path: str
        traceback: str

    @dataclass(frozen=True, slots=True, kw_only=True)
    class DjangoTaskResultBase:
        task: Any
        id: str
        status: Any
        enqueued_at: datetime | None
        started_at: datetime | None
        finished_at: datetime | None
        last_attempted_at: datetime | None
        args: list[Any]
        kwargs: dict[str, Any]
        backend: str
        errors: list[Any]
        worker_ids: list[str]
        _return_value: Any = field(init=False, default=None)

        @property
        def attempts(self) -> int:
            return len(self.worker_ids)

    @dataclass(frozen=True, slots=True, kw_only=True)
    class TaskContext:
        task_result: Any

        @property
        def attempt(self) -> int:
            return int(self.task_result.attempts)


def django_handler() -> Any:
    """Django's handler of the configured backends, ``django.tasks.task_backends``, which keeps
    the instances of both APIs on Django 6; None on Django 5.2."""
    return task_backends if DJANGO_TASKS else None


def is_async(task: Any) -> bool:
    """Whether a task (of either dialect) runs a coroutine function."""
    return inspect.iscoroutinefunction(task.func)


def enqueue_on_commit(task: Any) -> bool | None:
    """A task's own enqueue_on_commit: an extension of ours, which Django's tasks lack (None)."""
    return getattr(task, "enqueue_on_commit", None)


def unique_key(task: Any) -> str | None:
    """A task's unique key: an extension of ours, which Django's tasks lack (None)."""
    return getattr(task, "unique_key", None)


def unique_while_running(task: Any) -> bool:
    """Whether a unique task's key stays taken while it runs (an extension of ours)."""
    return bool(getattr(task, "unique_while_running", False))


def foreign_backend_classes() -> Iterable[type]:
    """The backend classes a BACKEND may name besides ours: Django's base class's subclasses
    (Django's own backends, django-tasks-db, any third-party one), on Django 6."""
    if TYPE_CHECKING:
        return (DjangoBackend,)
    return (BackendBase,) if DJANGO_TASKS else ()


def replace_django_check_and_receivers() -> None:
    """On Django 6: take Django's ``check_tasks`` out of the check registry (our checks validate
    TASKS and run each backend's check() once, turning what it raises into a message), and
    disconnect Django's logging receivers of the task signals (ours log every backend's task
    events once, on the ``django_tasks`` logger)."""
    if not DJANGO_TASKS:
        return
    from django.core.checks import registry
    from django.tasks import checks as django_checks
    from django.tasks import signals as django_signals

    registry.registry.registered_checks.discard(django_checks.check_tasks)
    registry.registry.deployment_checks.discard(django_checks.check_tasks)
    task_enqueued.disconnect(django_signals.log_task_enqueued)
    task_started.disconnect(django_signals.log_task_started)
    task_finished.disconnect(django_signals.log_task_finished)
