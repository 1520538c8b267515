"""The registry of every task declared with @task, by module path, and the safe way back from
what a store holds (a task path, an exception class path) to Python objects.

Workers run only what is in the registry: a stored task path is looked up here, never imported
and called blindly, so a tampered row or message cannot name ``os.system``.
"""

import dataclasses
import importlib
import re
import sys
from collections.abc import Iterator
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from django.apps import apps

from django_tasks.exceptions import InvalidTaskError

if TYPE_CHECKING:  # Tasks register themselves: task.py imports this module.
    from django_tasks.task import Task

_DOTTED_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+")


class TaskRegistry:
    """Tasks by module path. A function declared twice keeps its latest declaration."""

    def __init__(self) -> None:
        self._tasks: dict[str, Task[Any, Any]] = {}

    def register(self, task: "Task[Any, Any]") -> None:
        self._tasks[task.module_path] = task

    def get(self, module_path: str) -> "Task[Any, Any] | None":
        return self._tasks.get(module_path)

    def resolve(self, module_path: str) -> "Task[Any, Any]":
        """Return the task declared at ``module_path``, as a worker finds a stored path.

        A task whose module has not been imported yet is found by importing that module, but
        only if it belongs to an installed app: a path naming any other module (``os.system``,
        ``antigravity``) imports nothing and runs nothing. Raises InvalidTaskError saying why
        the path does not lead to a task.
        """
        task = self._tasks.get(module_path)
        if task is not None:
            return task
        if len(module_path) > 1000 or not _DOTTED_PATH.fullmatch(module_path):
            raise InvalidTaskError(
                f"Task path {module_path[:200]!r} is not a dotted path to a function; it "
                f"cannot name a task."
            )
        module_name = module_path.rpartition(".")[0]
        if module_name not in sys.modules:
            if apps.get_containing_app_config(module_name) is None:
                raise InvalidTaskError(
                    f"Task path {module_path!r} is not a registered task, and its module "
                    f"{module_name!r} is not part of an installed app, so it is not imported; "
                    f"only functions declared with @task in installed apps run."
                )
            try:
                importlib.import_module(module_name)
            except Exception as e:  # Any error of the module's code: report it, run nothing.
                raise InvalidTaskError(
                    f"Task path {module_path!r} cannot be resolved: importing {module_name!r} "
                    f"failed ({type(e).__name__}: {e})."
                ) from e
        task = self._tasks.get(module_path)
        if task is None:
            raise InvalidTaskError(
                f"Task path {module_path!r} is not a registered task; only functions declared "
                f"with @task run."
            )
        return task

    def __iter__(self) -> "Iterator[Task[Any, Any]]":
        return iter(list(self._tasks.values()))

    def __len__(self) -> int:
        return len(self._tasks)


task_registry = TaskRegistry()


def stored_task(
    task_path: str, priority: int, queue_name: str, backend: str, run_after: datetime | None
) -> "Task[Any, Any]":
    """The registered task at ``task_path``, with the options it was enqueued with.

    Raises InvalidTaskError if the path is not a registered task (see TaskRegistry.resolve),
    or if an option is invalid (a tampered priority).
    """
    task = task_registry.resolve(task_path)
    if run_after is not None:
        return dataclasses.replace(
            task, priority=priority, queue_name=queue_name, backend=backend, run_after=run_after
        )
    return _task_variant(task, priority, queue_name, backend)


@lru_cache(maxsize=1024)
def _task_variant(
    task: "Task[Any, Any]", priority: int, queue_name: str, backend: str
) -> "Task[Any, Any]":
    if (task.priority, task.queue_name, task.backend) == (priority, queue_name, backend):
        return task
    # replace() validates the options again, so a tampered priority is refused here.
    return dataclasses.replace(task, priority=priority, queue_name=queue_name, backend=backend)


@lru_cache(maxsize=256)
def exception_class(path: str) -> type[BaseException]:
    """The exception class at ``path``, found without importing anything outside the
    installed apps (a tampered record must not trigger imports); a stand-in class of the same
    name if it cannot be found."""
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
    module_name, _, qualname = path.rpartition(".")
    return type(
        qualname or "UnknownException",
        (Exception,),
        {
            "__module__": module_name or "builtins",
            "__doc__": f"Stands in for {path!r}, which cannot be imported here.",
        },
    )
