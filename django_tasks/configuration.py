"""Reading the TASKS setting and importing the backend classes it names."""

import importlib
from typing import TYPE_CHECKING, Any

from django.conf import settings

from django_tasks.exceptions import InvalidTaskBackendError

if TYPE_CHECKING:
    from django_tasks.backends.base import BaseTaskBackend

DEFAULT_TASKS: dict[str, Any] = {
    "default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}
}
"""The TASKS setting of a project that defines none."""


class BackendImportError(InvalidTaskBackendError):
    """A BACKEND path does not lead to a task backend class."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind
        """``module`` (the module does not import), ``attribute`` (the module has no such
        name) or ``class`` (the name is not a task backend class)."""


def tasks_setting() -> Any:
    """The TASKS setting, or its default. Not validated: see django_tasks_spec.settings."""
    return getattr(settings, "TASKS", DEFAULT_TASKS)


def import_backend_class(path: str, where: str) -> "type[BaseTaskBackend]":
    """Import the backend class at a dotted path, explaining precisely what failed."""
    from django_tasks.backends.base import BaseTaskBackend

    module_path, _, name = path.rpartition(".")
    try:
        module = importlib.import_module(module_path)
    except ImportError as e:
        raise BackendImportError(
            f"{where}: the module {module_path!r} of {path!r} cannot be imported: {e}.", "module"
        ) from e
    try:
        backend_class = getattr(module, name)
    except AttributeError:
        raise BackendImportError(
            f"{where}: the module {module_path!r} has no attribute {name!r}.", "attribute"
        ) from None
    if not (isinstance(backend_class, type) and issubclass(backend_class, BaseTaskBackend)):
        raise BackendImportError(
            f"{where}: {path!r} is {backend_class!r}, not a subclass of "
            f"django_tasks.backends.base.BaseTaskBackend.",
            "class",
        )
    return backend_class
