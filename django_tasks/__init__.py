"""Background tasks for Django, as DEP 0014 specifies them.

The public API: declare tasks with ``@task``, enqueue them, read their results. Backends are
configured in the TASKS setting and reached through ``tasks[alias]``, or ``default_task_backend``.
Nothing imported here touches models, so the package imports before the app registry is ready.
"""

import importlib.metadata
from typing import TYPE_CHECKING, Any, cast

from asgiref.local import Local
from django.utils.connection import BaseConnectionHandler, ConnectionProxy

from django_tasks.backends.base import BaseTaskBackend
from django_tasks.configuration import import_backend_class, tasks_setting
from django_tasks.exceptions import InvalidTaskBackendError
from django_tasks.task import (
    DEFAULT_PRIORITY,
    DEFAULT_QUEUE_NAME,
    DEFAULT_TASK_BACKEND_ALIAS,
    MAX_PRIORITY,
    MIN_PRIORITY,
    ResultStatus,
    Task,
    TaskResult,
    task,
)
from django_tasks_spec.settings import location, validate_backend_config

__all__ = [
    "DEFAULT_PRIORITY",
    "DEFAULT_QUEUE_NAME",
    "DEFAULT_TASK_BACKEND_ALIAS",
    "MAX_PRIORITY",
    "MIN_PRIORITY",
    "ResultStatus",
    "Task",
    "TaskResult",
    "default_task_backend",
    "task",
    "tasks",
]

__version__ = importlib.metadata.version("django-tasks-spec")


if TYPE_CHECKING:
    _HandlerBase = BaseConnectionHandler[BaseTaskBackend]
    _ProxyBase = ConnectionProxy[BaseTaskBackend]
else:  # Django's classes are generic only in django-stubs.
    _HandlerBase = BaseConnectionHandler
    _ProxyBase = ConnectionProxy


class TasksHandler(_HandlerBase):
    """The configured backends by alias, created on first use (one instance per thread)."""

    settings_name = "TASKS"
    exception_class = InvalidTaskBackendError

    def configure_settings(self, settings: dict[str, Any] | None) -> dict[str, Any]:
        configured = tasks_setting() if settings is None else settings
        if not isinstance(configured, dict):
            raise InvalidTaskBackendError(
                f"TASKS must be a dict of backend aliases to configurations; found "
                f"{type(configured).__name__} {configured!r}."
            )
        return configured

    def __getitem__(self, alias: str) -> BaseTaskBackend:
        try:
            return cast(BaseTaskBackend, getattr(self._connections, alias))
        except AttributeError:
            pass
        if alias not in self.settings:
            raise InvalidTaskBackendError(
                f"Task backend {alias!r} is not defined; TASKS defines {sorted(self.settings)}."
            )
        backend = self.create_connection(alias)
        setattr(self._connections, alias, backend)
        return backend

    def create_connection(self, alias: str) -> BaseTaskBackend:
        params = self.settings[alias]
        config = validate_backend_config(alias, params)
        if isinstance(config, list):
            raise InvalidTaskBackendError(" ".join(map(str, config)))
        backend_class = import_backend_class(config.BACKEND, location([alias, "BACKEND"]))
        return backend_class(alias, params)

    def reset(self) -> None:
        """Forget the settings and every backend instance (after TASKS changes)."""
        self.__dict__.pop("settings", None)
        self._settings = None
        self._connections = Local(self.thread_critical)


tasks = TasksHandler()


class _BackendProxy(_ProxyBase):
    """Stands for the current thread's default backend, isinstance() checks included."""

    @property  # type: ignore[misc]  # Overriding __class__ is how proxies pass isinstance().
    def __class__(self) -> type:
        return type(tasks[DEFAULT_TASK_BACKEND_ALIAS])


default_task_backend = cast(BaseTaskBackend, _BackendProxy(tasks, DEFAULT_TASK_BACKEND_ALIAS))
"""The backend with the alias "default"."""
