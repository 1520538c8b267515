"""The handler of the configured backends (``tasks``) and the default backend's proxy.

The backends are created on first use, one instance per thread, as Django's handlers of
caches and databases do. Each entry of TASKS is validated once per value of the setting
(``resolve``): creating a backend and the system checks both read that validation.

On Django 6 the instances are kept by Django's own handler, ``django.tasks.task_backends``:
``tasks[alias]`` and ``task_backends[alias]`` are the same object, whichever is asked first
(ours validates the entry with our messages before creating it; Django's creates ours through
its class, which validates the same way), so each alias has one backend instance.
"""

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from asgiref.local import Local
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.connection import BaseConnectionHandler, ConnectionProxy

from django_tasks.backends.base import BaseTaskBackend
from django_tasks.configuration import ResolvedBackend, load_backend, resolve_backend, tasks_setting
from django_tasks.constants import DEFAULT_TASK_BACKEND_ALIAS
from django_tasks.dialects import django_handler
from django_tasks.exceptions import InvalidTaskBackendError, InvalidTaskSettingError
from django_tasks.problems import (
    no_default_alias_problem,
    tasks_setting_problems,
    undefined_alias_message,
)

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

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        self._own_connections = Local(self.thread_critical)
        self._shared = settings is None  # The TASKS setting's handler shares Django's instances.
        super().__init__(settings)
        self._resolved: dict[str, ResolvedBackend] = {}

    @property
    def _connections(self) -> Local:
        """Where the instances are kept: Django's handler's, on Django 6 (one instance per
        alias for both APIs), this handler's own on Django 5.2."""
        shared = django_handler()
        if shared is not None and self._shared:
            return cast(Local, shared._connections)
        return self._own_connections

    @_connections.setter
    def _connections(self, connections: Local) -> None:
        self._own_connections = connections

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

    def resolve(self, alias: str) -> ResolvedBackend:
        """What TASKS[alias] amounts to: validated on first use, then remembered until TASKS
        changes. Raises what a broken backend class raises while it is validated."""
        resolved = self._resolved.get(alias)
        if resolved is None:
            resolved = self._resolved[alias] = resolve_backend(alias, self.settings[alias])
        return resolved

    def create_connection(self, alias: str) -> BaseTaskBackend:
        return load_backend(alias, self.settings[alias], self.resolve(alias))

    def reset(self) -> None:
        """Forget the settings, their validation and every backend instance (TASKS changed),
        Django's handler's too, on Django 6."""
        self.__dict__.pop("settings", None)
        self._settings = None
        self._resolved = {}
        self._connections = Local(self.thread_critical)
        shared = django_handler()
        if shared is not None:
            shared.__dict__.pop("settings", None)
            shared._settings = None
            shared._connections = Local(shared.thread_critical)


tasks = TasksHandler()


@receiver(setting_changed)
def reset_task_backends(*, setting: str, **kwargs: Any) -> None:
    """Make a changed TASKS setting (override_settings) take effect at once."""
    if setting == "TASKS":
        tasks.reset()


class _BackendProxy(_ProxyBase):
    """Stands for the current thread's default backend, isinstance() checks included."""

    @property  # type: ignore[misc]  # Overriding __class__ is how proxies pass isinstance().
    def __class__(self) -> type:
        return type(tasks[DEFAULT_TASK_BACKEND_ALIAS])


default_task_backend = cast(BaseTaskBackend, _BackendProxy(tasks, DEFAULT_TASK_BACKEND_ALIAS))
"""The backend with the alias "default"."""
