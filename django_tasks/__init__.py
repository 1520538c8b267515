"""Background tasks for Django, as DEP 0014 specifies them.

The public API: declare tasks with ``@task``, enqueue them, read their results. Backends are
configured in the TASKS setting and reached through ``tasks[alias]``, or ``default_task_backend``.
Nothing imported here touches models, so the package imports before the app registry is ready.
"""

import importlib.metadata

from django_tasks.constants import (
    DEFAULT_PRIORITY,
    DEFAULT_QUEUE_NAME,
    DEFAULT_TASK_BACKEND_ALIAS,
    MAX_PRIORITY,
    MIN_PRIORITY,
)
from django_tasks.handler import default_task_backend, tasks
from django_tasks.results import ResultStatus, TaskResult
from django_tasks.task import DjangoTask, Task, django_task, task

__all__ = [
    "DEFAULT_PRIORITY",
    "DEFAULT_QUEUE_NAME",
    "DEFAULT_TASK_BACKEND_ALIAS",
    "MAX_PRIORITY",
    "MIN_PRIORITY",
    "DjangoTask",
    "ResultStatus",
    "Task",
    "TaskResult",
    "default_task_backend",
    "django_task",
    "task",
    "tasks",
]

__version__ = importlib.metadata.version("django-tasks-spec")
