"""Background tasks for Django, as DEP 0014 specifies them.

The public API: declare tasks with ``@task``, enqueue them, read their results. Backends are
configured in the TASKS setting and reached through ``tasks[alias]``, or ``default_task_backend``.
Nothing imported here touches models, so the package imports before the app registry is ready.
"""

import importlib.metadata
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from asgiref.local import Local
from django.utils.connection import BaseConnectionHandler, ConnectionProxy

from django_tasks.backends.base import BaseTaskBackend
from django_tasks.configuration import load_backend, tasks_setting
from django_tasks.exceptions import InvalidTaskBackendError, InvalidTaskSettingError
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
from django_tasks_spec.settings import (
    no_default_alias_problem,
    tasks_setting_problems,
    undefined_alias_message,
)

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
        if not isinstance(configured, Mapping):
            raise InvalidTaskSettingError(tasks_setting_problems(configured))
        return dict(configured)

    def __getitem__(self, alias: str) -> BaseTaskBackend:
        if isinstance(alias, str):  # all() passes every key of TASKS, whatever its type.
            try:
                return cast(BaseTaskBackend, getattr(self._connections, alias))
            except AttributeError:
                pass
        if alias == DEFAULT_TASK_BACKEND_ALIAS and alias not in self.settings:
            raise InvalidTaskSettingError([no_default_alias_problem(list(self.settings))])
        if alias not in self.settings:
            raise InvalidTaskBackendError(undefined_alias_message(alias, list(self.settings)))
        backend = self.create_connection(alias)
        setattr(self._connections, alias, backend)
        return backend

    def create_connection(self, alias: str) -> BaseTaskBackend:
        return load_backend(alias, self.settings[alias])

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
