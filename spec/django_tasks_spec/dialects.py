"""The two dialects of the task API, and how their words correspond.

DEP 0014's API is spoken in two dialects. The reference django-tasks 0.6.1 (and this project's
``django_tasks`` package) says ``ResultStatus.NEW`` and ``SUCCEEDED`` and gives a failed result an
``exception_class`` and a ``traceback``; Django 6's ``django.tasks`` says
``TaskResultStatus.READY`` and ``SUCCESSFUL`` and keeps one ``errors`` entry per failed attempt.
The meaning is the same; the words differ. This module is the dictionary between them, for any
code that must speak both (an implementation's edges, a conformance kit), so that none of it
invents its own table.

It names things by their text only: it imports neither dialect.
"""

from dataclasses import dataclass
from enum import StrEnum


class Dialect(StrEnum):
    """A dialect of the task API, named by the package that defines it."""

    REFERENCE = "django_tasks"
    """django-tasks 0.6.1, the reference package, and this project's ``django_tasks``."""

    DJANGO = "django.tasks"
    """Django 6.x's ``django.tasks`` (and the django-tasks 0.12+ backport of it)."""


@dataclass(frozen=True, slots=True)
class Correspondence:
    """One concept, as each dialect names it."""

    concept: str
    """What the names stand for, in a few words."""

    reference: str
    """The name in django-tasks 0.6.1 / django_tasks."""

    django: str
    """The name in Django's django.tasks."""


STATUSES: tuple[Correspondence, ...] = (
    Correspondence("enqueued, not started (or waiting to run again)", "NEW", "READY"),
    Correspondence("a worker runs it", "RUNNING", "RUNNING"),
    Correspondence("finished by raising (or could not start)", "FAILED", "FAILED"),
    Correspondence("finished by returning", "SUCCEEDED", "SUCCESSFUL"),
)
"""The result statuses, by their stored values (the enum members have the same names)."""

STATUS_TO_DJANGO: dict[str, str] = {c.reference: c.django for c in STATUSES}
"""A reference status value to Django's."""

STATUS_TO_REFERENCE: dict[str, str] = {c.django: c.reference for c in STATUSES}
"""A Django status value to the reference's."""

FINISHED_STATUSES: dict[Dialect, frozenset[str]] = {
    Dialect.REFERENCE: frozenset({"FAILED", "SUCCEEDED"}),
    Dialect.DJANGO: frozenset({"FAILED", "SUCCESSFUL"}),
}
"""The statuses in which a result no longer changes, per dialect."""

NAMES: tuple[Correspondence, ...] = (
    Correspondence("the status enum", "ResultStatus", "TaskResultStatus"),
    Correspondence("the handler of configured backends", "tasks", "task_backends"),
    Correspondence("the default queue's name", "DEFAULT_QUEUE_NAME", "DEFAULT_TASK_QUEUE_NAME"),
    Correspondence("the lowest priority", "MIN_PRIORITY", "TASK_MIN_PRIORITY"),
    Correspondence("the highest priority", "MAX_PRIORITY", "TASK_MAX_PRIORITY"),
    Correspondence("the default priority", "DEFAULT_PRIORITY", "DEFAULT_TASK_PRIORITY"),
    Correspondence("an invalid task", "InvalidTaskError", "InvalidTask"),
    Correspondence("an invalid TASKS entry", "InvalidTaskBackendError", "InvalidTaskBackend"),
    Correspondence("no result with that id", "ResultDoesNotExist", "TaskResultDoesNotExist"),
    Correspondence(
        "a result of another task (reference: ResultDoesNotExist too)",
        "ResultDoesNotExist",
        "TaskResultMismatch",
    ),
    Correspondence(
        "the class of the exception a failed task raised",
        "TaskResult.exception_class",
        "TaskResult.errors[-1].exception_class",
    ),
    Correspondence(
        "the traceback of the exception a failed task raised",
        "TaskResult.traceback",
        "TaskResult.errors[-1].traceback",
    ),
    Correspondence("how many times a worker started the task", "attempts", "attempts"),
    Correspondence(
        "whether enqueueing waits for the transaction to commit",
        "ENQUEUE_ON_COMMIT / Task.enqueue_on_commit",
        "(none: transaction.on_commit(partial(task.enqueue, ...)))",
    ),
)
"""Public names that differ (or are worth stating) between the dialects."""
