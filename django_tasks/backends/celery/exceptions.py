"""Exceptions the Celery backend records for tasks that never returned or raised."""

from django_tasks.exceptions import TaskException


class WorkerLostError(TaskException):
    """The task's worker was lost (killed, its machine gone) on its last allowed attempt; it is
    not run again."""
