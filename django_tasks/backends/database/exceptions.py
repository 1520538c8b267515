"""Exceptions the database backend records for tasks that never returned or raised."""

from django_tasks.exceptions import StorageError, TaskException

__all__ = [
    "ChildProcessDiedError",
    "LeaseExpiredError",
    "StorageError",
    "UnreadableResultError",
]
"""StorageError is django_tasks.exceptions.StorageError, which other backends record too; it
is importable from here as before."""


class LeaseExpiredError(TaskException):
    """The task's worker stopped renewing its lease on its last attempt; it is not retaken."""


class UnreadableResultError(TaskException, ValueError):
    """A stored result holds a value that cannot be read: a time outside the years Python's
    datetime holds, or a status that is none of ResultStatus."""


class ChildProcessDiedError(TaskException):
    """The process running the task (db_worker --pool process) died on its last attempt."""
