"""The harness registry: which harness drives each of this project's backends by default.

This package holds this project's own harnesses (``harnesses.database``, ``harnesses.celery``),
and is the only part of the suite that names one of this project's concrete backends. The
registry names them by dotted path, without importing them (CeleryHarness, in
``harnesses.celery``, imports Celery, an extra that only a run against the Celery backend
needs); the suite itself speaks only the public API
(``django_tasks``, ``django_tasks.exceptions``, ``django_tasks.signals`` and
``django_tasks.backends.base``). ``default_harness`` picks the harness of the nearest class in a
backend's MRO that ``HARNESSES`` lists, so a subclass of a listed backend gets its harness too;
any other backend gets ``InlineHarness`` unless ``--tasks-harness`` names one.
"""

from django.utils.module_loading import import_string

from django_tasks_conformance.harness import Harness, InlineHarness

DATABASE_BACKEND = "django_tasks.backends.database.backend.DatabaseBackend"
CELERY_BACKEND = "django_tasks.backends.celery.backend.CeleryBackend"

HARNESSES: dict[str, str] = {
    "django_tasks.backends.dummy.DummyBackend": "django_tasks_conformance.harness.StoreOnlyHarness",
    "django.tasks.backends.dummy.DummyBackend": "django_tasks_conformance.harness.StoreOnlyHarness",
    DATABASE_BACKEND: "django_tasks_conformance.harnesses.database.DatabaseHarness",
    CELERY_BACKEND: "django_tasks_conformance.harnesses.celery.CeleryHarness",
}
"""The default harness of each backend of this project and of Django (and their subclasses), by the
backend's dotted path. Harnesses are named by path too: CeleryHarness imports Celery, an extra
that only a run against the Celery backend needs."""


def default_harness(backend_class: type) -> type[Harness]:
    """The harness for a backend when --tasks-harness is not given, chosen by its base class."""
    for base in backend_class.__mro__:
        harness = HARNESSES.get(class_path(base))
        if harness is not None:
            found: type[Harness] = import_string(harness)
            return found
    return InlineHarness


def class_path(cls: type) -> str:
    """A class's dotted path, as a BACKEND names it."""
    return f"{cls.__module__}.{cls.__qualname__}"
