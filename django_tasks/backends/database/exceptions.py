"""Exceptions the database backend records for tasks that never returned or raised."""

from django_tasks.exceptions import TaskException


class LeaseExpiredError(TaskException):
    """The task's worker stopped renewing its lease on its last attempt; it is not retaken."""


class StorageError(TaskException):
    """The task finished, but its outcome (its return value) could not be stored."""


class UnreadableResultError(TaskException, ValueError):
    """A stored result holds a value that cannot be read: a time outside the years Python's
    datetime holds, or a status that is none of ResultStatus."""
