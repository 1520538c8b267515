"""The exceptions raised by django_tasks.

TaskException
 ├── InvalidTaskError             a task (or a call to it) breaks the contract
 │    └── InvalidTaskArgumentsError   an argument is not JSON-safe (also ValueError, TypeError)
 ├── InvalidTaskBackendError      the TASKS setting is wrong (also ImproperlyConfigured)
 │    └── InvalidTaskSettingError     ... with the problems the system checks report
 ├── ResultDoesNotExist           no result with that id (also ObjectDoesNotExist)
 │    └── ResultMismatchError         the result is another task's
 ├── InvalidReturnValueError      a task returned what JSON cannot hold (recorded, not raised)
 ├── StorageError                 a task's outcome could not be stored (recorded, not raised)
 ├── RetryTask                    raised by a task: run it again (after ``delay``), if it may
 ├── TaskCancelled                the task was cancelled (recorded, or raised when asked to stop)
 ├── TaskFinishedError            a finished task cannot be cancelled
 └── TaskTimeoutError             a task ran past its timeout (recorded, not raised; a TimeoutError)

On Django 6 each one is also the ``django.tasks`` exception of the same meaning, so that both
dialects' ``except`` clauses catch it: TaskException is a ``django.tasks.exceptions.
TaskException``, InvalidTaskError an ``InvalidTask``, InvalidTaskBackendError an
``InvalidTaskBackend``, ResultDoesNotExist a ``TaskResultDoesNotExist`` and ResultMismatchError
a ``TaskResultMismatch`` (see ``dialects``).
"""

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.core.exceptions import ObjectDoesNotExist

from django_tasks.dialects import (
    InvalidTaskBackendBase,
    InvalidTaskBase,
    ResultDoesNotExistBase,
    ResultMismatchBase,
    TaskExceptionBase,
)
from django_tasks.problems import SettingProblem


class TaskException(TaskExceptionBase):  # Django 6 names the root exception so.
    """Base class for task-related exceptions. Do not raise directly."""

    def __init__(self, message: str | None = None, *args: Any) -> None:
        super().__init__(message or self.__doc__, *args)


class InvalidTaskError(TaskException, InvalidTaskBase):
    """The task is invalid for its backend."""


class InvalidTaskArgumentsError(InvalidTaskError, ValueError, TypeError):
    """The task's arguments cannot be stored as JSON.

    Also a TypeError: the reference (and Django 6) let ``json.dumps`` raise its TypeError for
    an argument JSON cannot hold, which code written for them catches."""


class InvalidTaskBackendError(TaskException, InvalidTaskBackendBase):
    """The TASKS setting is invalid (an ImproperlyConfigured)."""


class InvalidTaskSettingError(InvalidTaskBackendError):
    """The TASKS setting is invalid; ``problems`` says where and how, one line each."""

    def __init__(self, problems: Sequence[SettingProblem]) -> None:
        super().__init__("\n".join(map(str, problems)))
        self.problems = tuple(problems)
        """The problems, as the system checks report them (``manage.py check``)."""


class ResultDoesNotExist(TaskException, ResultDoesNotExistBase, ObjectDoesNotExist):
    """The task result does not exist."""


class ResultMismatchError(ResultDoesNotExist, ResultMismatchBase):
    """The result exists, but it is a result of another task."""


class InvalidReturnValueError(TaskException, TypeError):
    """The task returned a value that cannot be stored as JSON."""


class StorageError(TaskException):
    """The task finished, but its outcome (its return value) could not be stored."""

    @classmethod
    def of_outcome(cls, status: str, reason: str) -> "StorageError":
        """The error recorded in place of an outcome (of ``status``) that could not be
        stored, saying why: ``reason`` ends the sentence."""
        return cls(f"The task finished ({status}), but its outcome could not be stored: {reason}")


class RetryTask(TaskException):
    """The task asks to be run again."""

    def __init__(
        self, message: str | None = None, *, delay: float | timedelta | None = None
    ) -> None:
        super().__init__(message)
        if isinstance(delay, timedelta):
            delay = delay.total_seconds()
        given: Any = delay  # Checked at run time: a caller may pass anything.
        if given is not None and (
            isinstance(given, bool) or not isinstance(given, (int, float)) or not given >= 0
        ):
            raise TypeError(
                f"RetryTask delay {delay!r} is invalid; it must be a number of seconds (or a "
                f"timedelta) that is zero or greater, or None for the task's backoff."
            )
        self.delay: float | None = None if delay is None else float(delay)
        """Seconds to wait before the next attempt; None: the task's backoff decides."""


class TaskCancelled(TaskException):
    """The task was cancelled."""


class TaskFinishedError(TaskException, ValueError):
    """The task has finished, so it cannot be cancelled."""


class TaskTimeoutError(TaskException, TimeoutError):
    """The task ran longer than its timeout and was stopped."""

    @classmethod
    def after(cls, seconds: float, *, stopped: bool) -> "TaskTimeoutError":
        """The error recorded for a task that ran past its timeout of ``seconds``: killed
        (``stopped``), or left running in a thread that Python cannot stop."""
        if stopped:
            return cls(f"The task ran longer than its timeout of {seconds:g} s; it was killed.")
        return cls(
            f"The task ran longer than its timeout of {seconds:g} s; it was recorded as failed, "
            f"but its thread could not be stopped and runs on (use db_worker --pool process to "
            f"kill tasks that overrun)."
        )
