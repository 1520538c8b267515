"""Fixtures shared by the whole suite."""

import importlib.util
import subprocess
from pathlib import Path
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
    ("RabbitMQ", "127.0.0.1:5672", "rabbitmq-server -detached"),
    (
        "Redis",
        "127.0.0.1:6379",
        'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no',
    ),
)


def pytest_sessionstart(session: pytest.Session) -> None:
    """Stop the run at once, saying how to start it, if a server is missing: the database
    backend's tests run against each database, the Celery backend's against each broker, and
    they are never skipped."""
    problems = [
        f"{name} is not reachable on {address} ({error}).\n  Start it: {command}"
        for (name, address, command), error in zip(SERVICES, _connect_errors(), strict=True)
        if error
    ]
    if not problems:
        problems = _rabbitmq_virtual_host_problems()
    if problems:
        pytest.exit("\n".join(problems), returncode=3)


def _connect_errors() -> list[str | None]:
    import amqp
    import MySQLdb  # type: ignore[import-untyped]  # mysqlclient ships no type hints.
    import psycopg
    import redis

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
    try:
        connection = amqp.Connection("127.0.0.1:5672", connect_timeout=3)
        connection.connect()
        connection.close()
        errors.append(None)
    except (OSError, amqp.exceptions.AMQPError) as e:
        errors.append(str(e) or type(e).__name__)
    try:
        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=3).ping()
        errors.append(None)
    except redis.RedisError as e:
        errors.append(str(e))
    return errors


def _rabbitmq_virtual_host_problems() -> list[str]:
    """Create this run's RabbitMQ virtual host (tests.celery.apps) if it does not exist yet."""
    import amqp

    from tests.celery.apps import NAMESPACE

    try:
        connection = amqp.Connection("127.0.0.1:5672", virtual_host=NAMESPACE, connect_timeout=3)
        connection.connect()
        connection.close()
        return []
    except amqp.exceptions.NotAllowed:  # No such virtual host.
        pass
    commands = [
        ["rabbitmqctl", "add_vhost", NAMESPACE],
        ["rabbitmqctl", "set_permissions", "-p", NAMESPACE, "guest", ".*", ".*", ".*"],
    ]
    for command in commands:
        try:
            subprocess.run(command, capture_output=True, check=True, timeout=60)
        except (OSError, subprocess.SubprocessError) as e:
            shown = " && ".join(" ".join(f"'{part}'" for part in command) for command in commands)
            return [
                f"The RabbitMQ virtual host {NAMESPACE!r} of the Celery tests does not exist, "
                f"and creating it failed ({type(e).__name__}: {e}).\n  Create it: {shown}"
            ]
    return []


DJANGO_6_ONLY = (
    ()
    if importlib.util.find_spec("django.tasks")
    else tuple(
        Path(__file__).parent / path
        for path in ("django6", "checks/test_foreign_backends.py", "celery/test_django_dialect.py")
    )
)
"""The Django 6 dialect's tests need Django 6's django.tasks (Django 5.2 has none)."""


def pytest_ignore_collect(collection_path: Path) -> bool | None:
    """Leave out the Django 6 dialect's tests on Django 5.2, however the run names them."""
    if any(collection_path == path or path in collection_path.parents for path in DJANGO_6_ONLY):
        return True
    return None


DUMMY = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def dummy(settings: SettingsWrapper) -> DummyBackend:
    """Make the DummyBackend the default backend, and return it."""
    settings.TASKS = DUMMY
    return cast(DummyBackend, tasks["default"])
