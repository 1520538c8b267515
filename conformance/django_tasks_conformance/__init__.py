"""The conformance suite for task backends: does a backend honour the DEP 0014 contract?

Run it against a backend with the pytest plugin this package registers::

    pytest --pyargs django_tasks_conformance --tasks-backend=myapp.backends.MyBackend

Each test cites the requirement IDs of the catalogue (``django_tasks_spec.requirements``) that it
checks, and a failure quotes the requirement it breaks. A backend whose tasks run in a worker
plugs in a ``WorkerHarness``. See the README's "Writing a backend" section.
"""

import importlib.metadata

from django_tasks_conformance.citing import RequirementViolation, clause, needs, requirement
from django_tasks_conformance.harness import (
    DrainTimeoutError,
    Harness,
    InlineHarness,
    StoredTask,
    StoreOnlyHarness,
    WorkerHarness,
)

__all__ = [
    "DrainTimeoutError",
    "Harness",
    "InlineHarness",
    "RequirementViolation",
    "StoreOnlyHarness",
    "StoredTask",
    "WorkerHarness",
    "__version__",
    "clause",
    "needs",
    "requirement",
]


def _version() -> str:
    """The kit's version: of its own distribution, or of the project that ships it too."""
    for distribution in ("django_tasks_conformance", "django-tasks-spec"):
        try:
            return importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            continue
    return "unknown"


__version__ = _version()
"""The suite is versioned with the project (and the spec revision with the catalogue)."""
