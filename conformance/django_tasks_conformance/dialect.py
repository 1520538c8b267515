"""The words the suite speaks to the backend under test: those of the dialect the backend speaks.

DEP 0014's API has two dialects (``django_tasks_spec.dialects``): ``django_tasks`` (django-tasks
0.6.1 and this project) and Django 6's ``django.tasks``. A backend speaks the dialect of the base
class it subclasses; a backend of this project subclasses both on Django 6, and speaks ours
unless ``--tasks-dialect`` says otherwise. The suite declares its fixture tasks with that
dialect's ``@task``, and every test says what it checks with the ``Words`` of ``words()``, so one
test checks one requirement in either dialect.

Only this module imports a dialect's package, and only when that dialect is spoken: the kit runs
without this project's ``django_tasks`` against a ``django.tasks`` backend (and without
``django.tasks`` on Django 5.2). The dialect is chosen once per run (``speak``), and handed to the
worker processes a harness starts through an environment variable, so that they declare the
fixture tasks in the same dialect.
"""

import dataclasses
import importlib
import os
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from django_tasks_spec.dialects import STATUSES, Dialect

ENVIRONMENT_VARIABLE = "DJANGO_TASKS_CONFORMANCE_DIALECT"
"""The dialect of this run, for the processes it starts (set while the run lasts)."""

BASE_CLASSES = {
    Dialect.REFERENCE: "django_tasks.backends.base.BaseTaskBackend",
    Dialect.DJANGO: "django.tasks.backends.base.BaseTaskBackend",
}
"""The base class a backend of each dialect subclasses, as its authors import it (ours first:
on Django 6 our base class subclasses Django's)."""

PACKAGES = {
    Dialect.REFERENCE: ("django_tasks", "ResultStatus", "tasks"),
    Dialect.DJANGO: ("django.tasks", "TaskResultStatus", "task_backends"),
}
"""Each dialect's package, the name of its status enum and of its handler of backends."""

EXCEPTIONS = {
    Dialect.REFERENCE: ("InvalidTaskError", "InvalidTaskBackendError", "ResultDoesNotExist"),
    Dialect.DJANGO: ("InvalidTask", "InvalidTaskBackend", "TaskResultDoesNotExist"),
}
"""The names in ``<package>.exceptions`` of: an invalid task, an invalid TASKS entry, no such
result."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Words:
    """A dialect's names for what the suite speaks about. Statuses are named as the catalogue's
    text names them (``NEW`` is Django's ``READY``, ``SUCCEEDED`` its ``SUCCESSFUL``)."""

    dialect: Dialect
    # Each dialect's classes, typed Any: the suite checks values of either dialect through them.
    task: Any
    """The ``@task`` decorator."""
    Task: Any
    TaskResult: Any
    BaseTaskBackend: Any
    backends: Any
    """The handler of the configured backends (``tasks`` / ``task_backends``)."""
    default_backend: Any
    Status: Any
    NEW: Any
    RUNNING: Any
    FAILED: Any
    SUCCEEDED: Any
    InvalidTask: Any
    InvalidTaskBackend: Any
    ResultDoesNotExist: Any
    ResultMismatch: Any
    """What ``Task.get_result`` raises for another task's result (ours: ResultDoesNotExist)."""
    task_enqueued: Any
    task_started: Any
    task_finished: Any

    @property
    def django(self) -> bool:
        return self.dialect is Dialect.DJANGO

    def unvalidated_task(self, func: Any, **options: Any) -> Any:
        """A task that no backend has validated (see ``unvalidated``)."""
        return unvalidated(self, func, **options)

    def exception_class(self, result: Any) -> type[BaseException] | None:
        """The class of the exception a finished result's task raised (None if none)."""
        if self.django:
            return result.errors[-1].exception_class if result.errors else None
        found: type[BaseException] | None = result.exception_class
        return found

    def traceback(self, result: Any) -> str | None:
        """The traceback of the exception a finished result's task raised (None if none)."""
        if self.django:
            return str(result.errors[-1].traceback) if result.errors else None
        found: str | None = result.traceback
        return found


def unvalidated(words: "Words", func: Any, **options: Any) -> Any:
    """A task of the dialect that no backend has validated, to hand to a backend that must
    refuse it: Django's ``Task`` validates itself when created, so it is built field by field."""
    if not words.django:
        return words.Task(func=func, **options)
    task = object.__new__(words.Task)
    for field in dataclasses.fields(words.Task):
        value = options.get(field.name, field.default)
        object.__setattr__(task, field.name, func if field.name == "func" else value)
    return task


def load(dialect: Dialect) -> Words:
    """The words of ``dialect``, imported from its package."""
    package, status_enum, handler = PACKAGES[dialect]
    api = importlib.import_module(package)
    exceptions = importlib.import_module(f"{package}.exceptions")
    signals = importlib.import_module(f"{package}.signals")
    status = getattr(api, status_enum)
    invalid, invalid_backend, missing = (getattr(exceptions, name) for name in EXCEPTIONS[dialect])
    spoken = [c.django if dialect is Dialect.DJANGO else c.reference for c in STATUSES]
    new, running, failed, succeeded = (status[name] for name in spoken)
    return Words(
        dialect=dialect,
        task=api.task,
        Task=api.Task,
        TaskResult=api.TaskResult,
        BaseTaskBackend=import_string(BASE_CLASSES[dialect]),
        backends=getattr(api, handler),
        default_backend=api.default_task_backend,
        Status=status,
        NEW=new,
        RUNNING=running,
        FAILED=failed,
        SUCCEEDED=succeeded,
        InvalidTask=invalid,
        InvalidTaskBackend=invalid_backend,
        ResultDoesNotExist=missing,
        ResultMismatch=getattr(exceptions, "TaskResultMismatch", missing),
        task_enqueued=signals.task_enqueued,
        task_started=signals.task_started,
        task_finished=signals.task_finished,
    )


def base_classes() -> dict[Dialect, type]:
    """The base class of each dialect whose package is installed (django.tasks: Django 6)."""
    found = {}
    for dialect, path in BASE_CLASSES.items():
        try:
            found[dialect] = import_string(path)
        except ImportError:  # That dialect's package is not installed (or not this Django's).
            continue
    return found


def dialects_of(backend_class: type) -> list[Dialect]:
    """The dialects a backend class speaks: those whose base class it subclasses, ours first."""
    return [dialect for dialect, base in base_classes().items() if issubclass(backend_class, base)]


_spoken: list[Words] = []
"""The words of this run, once chosen (a list, so that no ``global`` is needed)."""


def speak(dialect: Dialect) -> None:
    """Speak ``dialect`` from now on, in this process and the processes it starts."""
    _spoken[:] = [load(dialect)]
    os.environ[ENVIRONMENT_VARIABLE] = dialect.value


def forget() -> None:
    """Undo ``speak`` (at the end of a run)."""
    _spoken.clear()
    os.environ.pop(ENVIRONMENT_VARIABLE, None)


def words() -> Words:
    """The words of this run: the dialect ``speak`` chose, or in a process the run started (a
    worker), the one it was handed, or else the one the default backend of TASKS speaks."""
    if not _spoken:
        chosen = os.environ.get(ENVIRONMENT_VARIABLE)
        if chosen:
            _spoken.append(load(Dialect(chosen)))
        else:
            _spoken.append(load(_default_backend_dialect()))
    return _spoken[0]


def _default_backend_dialect() -> Dialect:
    configured = getattr(settings, "TASKS", {}).get("default")
    if configured is None:  # Django 5.2 without TASKS: only our dialect can be spoken.
        return next(iter(base_classes()))
    path = configured["BACKEND"]
    spoken = dialects_of(import_string(path))
    if not spoken:
        raise ImproperlyConfigured(
            f"TASKS['default']['BACKEND'] is {path!r}, which subclasses neither "
            f"{' nor '.join(BASE_CLASSES.values())}."
        )
    return spoken[0]
