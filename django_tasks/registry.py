"""The registry of every task declared with @task, by module path.

Workers run only what is in the registry: a stored task path is looked up here, never imported
and called blindly, so a tampered row cannot name ``os.system``.
"""

from collections.abc import Iterator
from typing import Any

from django_tasks.task import Task


class TaskRegistry:
    """Tasks by module path. A function declared twice keeps its latest declaration."""

    def __init__(self) -> None:
        self._tasks: dict[str, Task[Any, Any]] = {}

    def register(self, task: Task[Any, Any]) -> None:
        self._tasks[task.module_path] = task

    def get(self, module_path: str) -> Task[Any, Any] | None:
        return self._tasks.get(module_path)

    def __iter__(self) -> Iterator[Task[Any, Any]]:
        return iter(list(self._tasks.values()))

    def __len__(self) -> int:
        return len(self._tasks)


task_registry = TaskRegistry()
