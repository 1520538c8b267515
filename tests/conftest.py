"""Fixtures shared by the whole suite."""

from typing import cast

import pytest
from pytest_django import Settings as SettingsWrapper

from django_tasks import tasks
from django_tasks.backends.dummy import DummyBackend

SERVICES = (
    (
        "PostgreSQL",
        "127.0.0.1:5432",
        "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    ),
    (
        "MariaDB",
        "127.0.0.1:3306",
        "start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd",
    ),
)


def pytest_sessionstart(session: pytest.Session) -> None:
    """Stop the run at once, saying how to start it, if a database server is missing: the
    database backend's tests run against each one, and are never skipped."""
    problems = [
        f"{name} is not reachable on {address} ({error}).\n  Start it: {command}"
        for (name, address, command), error in zip(SERVICES, _connect_errors(), strict=True)
        if error
    ]
    if problems:
        pytest.exit("\n".join(problems), returncode=3)


def _connect_errors() -> list[str | None]:
    import MySQLdb  # type: ignore[import-untyped]  # mysqlclient ships no type hints.
    import psycopg

    errors: list[str | None] = []
    try:
        psycopg.connect(
            "host=127.0.0.1 port=5432 user=postgres dbname=postgres", connect_timeout=3
        ).close()
        errors.append(None)
    except psycopg.Error as e:
        errors.append(str(e).strip().splitlines()[0])
    try:
        MySQLdb.connect(host="127.0.0.1", port=3306, user="root", connect_timeout=3).close()
        errors.append(None)
    except MySQLdb.Error as e:
        errors.append(str(e))
    return errors


DUMMY = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def dummy(settings: SettingsWrapper) -> DummyBackend:
    """Make the DummyBackend the default backend, and return it."""
    settings.TASKS = DUMMY
    return cast(DummyBackend, tasks["default"])
