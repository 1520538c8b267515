"""The registry of every task declared with @task (either dialect's), by module path, and the
safe way back from a stored task path to a task.

Workers run only what is in the registry: a stored task path is looked up here, never imported
and called blindly, so a tampered row or message cannot name ``os.system``. A task of Django's
dialect declared for another backend (a plain ``django.tasks.Task``, then ``using()`` one of
ours) is found too, as the module-level Task object its path names, in an installed app.
"""

from __future__ import annotations

import dataclasses
import importlib
import re
import sys
from collections.abc import Iterator
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeAlias

from django.apps import apps
from django.conf import settings

from django_tasks.dialects import AnyTask
from django_tasks.exceptions import InvalidTaskError

if TYPE_CHECKING:  # Tasks register themselves: task.py imports this module.
    from django_tasks.task import Task as _Task

Task: TypeAlias = "_Task[Any, Any]"
"""A task of either dialect, as the registry holds it. Typed as the 0.6.1 dialect's (the
contract's): ours of Django's dialect, and a plain ``django.tasks.Task``, have the fields the
machinery reads (func, priority, queue_name, backend, run_after, takes_context)."""

_DOTTED_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+")
_MODULE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")

TASK_MODULES_SETTING = "TASK_MODULES"
"""The setting that lists the modules outside INSTALLED_APPS whose tasks workers run
(``TASK_MODULES = ["mysite.tasks"]``): each is imported at start-up, as the ``tasks`` module of
every installed app is."""


def task_modules() -> list[str]:
    """The module names TASK_MODULES lists; what is not a module name is left out (the system
    check E061 reports it)."""
    value = getattr(settings, TASK_MODULES_SETTING, [])
    if not isinstance(value, (list, tuple)):
        return []
    return [name for name in value if isinstance(name, str) and _MODULE_NAME.fullmatch(name)]


def workers_import(module_name: str) -> bool:
    """Whether workers import ``module_name``'s tasks: it is part of an installed app, or
    TASK_MODULES lists it."""
    return apps.get_containing_app_config(module_name) is not None or module_name in task_modules()


def not_imported_message(module_path: str, module_name: str) -> str:
    """Why a task of ``module_name`` cannot run in a worker, and the fix."""
    return (
        f"Task {module_path} is defined in module {module_name!r}, which is not part of an "
        f"installed app nor listed in {TASK_MODULES_SETTING}, so workers do not import it; add "
        f"{module_name!r} to the {TASK_MODULES_SETTING} setting (or move the task into an "
        f"installed app)."
    )


class TaskRegistry:
    """Tasks by module path. A function declared twice keeps its latest declaration."""

    def __init__(self) -> None:
        self._tasks: dict[str, Task] = {}

    def register(self, task: Task) -> None:
        self._tasks[task.module_path] = task

    def is_declared(self, task: Task) -> bool:
        """Whether the task is the registered one or a copy of it (the same function): a
        constructor that cannot tell a declaration from a copy (Django's ``@task`` builds a
        backend's ``task_class``; ``using()`` copies it) registers only what is not."""
        registered = self._tasks.get(task.module_path)
        return registered is not None and registered.func is task.func

    def register_declaration(self, task: Task) -> None:
        """Register the task unless it is declared already (see is_declared)."""
        if not self.is_declared(task):
            self.register(task)

    def get(self, module_path: str) -> Task | None:
        return self._tasks.get(module_path)

    def resolve(self, module_path: str) -> Task:
        """Return the task declared at ``module_path``, as a worker finds a stored path.

        A task whose module has not been imported yet is found by importing that module, but
        only if it belongs to an installed app or TASK_MODULES lists it: a path naming any
        other module (``os.system``, ``antigravity``) imports nothing and runs nothing. Raises
        InvalidTaskError saying why the path does not lead to a task.
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
            if not workers_import(module_name):
                raise InvalidTaskError(
                    f"Task path {module_path!r} is not a registered task, and its module "
                    f"{module_name!r} is not part of an installed app nor listed in "
                    f"{TASK_MODULES_SETTING}, so it is not imported; only functions declared "
                    f"with @task in installed apps and {TASK_MODULES_SETTING} run."
                )
            try:
                importlib.import_module(module_name)
            except Exception as e:  # Any error of the module's code: report it, run nothing.
                raise InvalidTaskError(
                    f"Task path {module_path!r} cannot be resolved: importing {module_name!r} "
                    f"failed ({type(e).__name__}: {e})."
                ) from e
        task = self._tasks.get(module_path) or _module_level_task(module_path)
        if task is None:
            raise InvalidTaskError(
                f"Task path {module_path!r} is not a registered task; only functions declared "
                f"with @task run."
            )
        return task

    def __iter__(self) -> Iterator[Task]:
        return iter(list(self._tasks.values()))

    def __len__(self) -> int:
        return len(self._tasks)


task_registry = TaskRegistry()


def _module_level_task(module_path: str) -> Task | None:
    """The Task object (of either dialect) at ``module_path`` in an imported module, if that is
    where its function is defined: a task another backend's ``task_class`` built."""
    module_name, _, name = module_path.rpartition(".")
    found = getattr(sys.modules.get(module_name), name, None)
    if isinstance(found, AnyTask) and found.module_path == module_path:
        return found  # type: ignore[return-value]  # Either dialect's: see Task.
    return None


def stored_task(
    task_path: str, priority: int, queue_name: str, backend: str, run_after: datetime | None
) -> Task:
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
def _task_variant(task: Task, priority: int, queue_name: str, backend: str) -> Task:
    if (task.priority, task.queue_name, task.backend) == (priority, queue_name, backend):
        return task
    # replace() validates the options again, so a tampered priority is refused here.
    return dataclasses.replace(task, priority=priority, queue_name=queue_name, backend=backend)
