"""Fixtures of the database backend's tests, which run once per database.

A test that takes the ``alias`` fixture runs against SQLite (``default``), PostgreSQL
(``postgres``) and MariaDB (``mysql``), with the backend's queue on that database and only that
database open to it. Mark it ``transactional`` when something outside the test's transaction
(a worker process, on_commit callbacks) must see its writes.
"""

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import override_settings

from django_tasks import tasks
from django_tasks.backends.database import DatabaseBackend

ALIASES = ("default", "postgres", "mysql")
BACKEND_PATH = "django_tasks.backends.database.DatabaseBackend"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "transactional: run the test outside a transaction (commits are real)"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "alias" not in metafunc.fixturenames:
        return
    transaction = metafunc.definition.get_closest_marker("transactional") is not None
    metafunc.parametrize(
        "alias",
        [
            pytest.param(
                alias, marks=pytest.mark.django_db(databases=[alias], transaction=transaction)
            )
            for alias in ALIASES
        ],
    )


def tasks_setting(alias: str, **options: Any) -> dict[str, Any]:
    """TASKS with the database backend as ``default``, its queue on ``alias``."""
    return {
        "default": {
            "BACKEND": BACKEND_PATH,
            "QUEUES": [],
            "OPTIONS": {"DATABASE": alias, **options},
        }
    }


@pytest.fixture
def backend(alias: str) -> Iterator[DatabaseBackend]:
    with override_settings(TASKS=tasks_setting(alias)):
        backend = tasks["default"]
        assert isinstance(backend, DatabaseBackend)
        yield backend
