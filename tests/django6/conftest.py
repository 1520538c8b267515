"""The database backend's fixtures (one run per database, real db_worker processes), for the
Django 6 project's tests."""

from tests.database.conftest import (  # noqa: F401  # Fixtures and hooks, used by name.
    backend,
    pytest_configure,
    pytest_generate_tests,
    start_worker,
)
