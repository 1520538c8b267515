"""Background tasks for Django, as DEP 0014 specifies them.

The public API: declare tasks with ``@task``, enqueue them, read their results. Django 6's
``django.tasks`` speaks to the same backends (``dialects``); ``django_task`` is its ``@task``,
typed with our backends' options. Backends are
configured in the TASKS setting and reached through ``tasks[alias]``, or ``default_task_backend``.
Nothing imported here touches models, so the package imports before the app registry is ready.
"""

import importlib.metadata

from django_tasks.constants import (
    DEFAULT_PRIORITY,
    DEFAULT_QUEUE_NAME,
    DEFAULT_TASK_BACKEND_ALIAS,
    DEFAULT_TASK_PRIORITY,
    DEFAULT_TASK_QUEUE_NAME,
    MAX_PRIORITY,
    MIN_PRIORITY,
    TASK_MAX_PRIORITY,
    TASK_MIN_PRIORITY,
)
from django_tasks.handler import default_task_backend, tasks
from django_tasks.results import ResultStatus, TaskResult
from django_tasks.schedules import periodic
from django_tasks.task import Task, django_task, task

__all__ = [
    "DEFAULT_PRIORITY",
    "DEFAULT_QUEUE_NAME",
    "DEFAULT_TASK_BACKEND_ALIAS",
    "DEFAULT_TASK_PRIORITY",
    "DEFAULT_TASK_QUEUE_NAME",
    "MAX_PRIORITY",
    "MIN_PRIORITY",
    "TASK_MAX_PRIORITY",
    "TASK_MIN_PRIORITY",
    "ResultStatus",
    "Task",
    "TaskResult",
    "default_task_backend",
    "django_task",
    "periodic",
    "task",
    "tasks",
]

__version__ = importlib.metadata.version("django-tasks-spec")
