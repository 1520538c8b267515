"""Fixtures of the database backend's tests, which run once per database.

A test that takes the ``alias`` fixture runs against SQLite (``default``), PostgreSQL
(``postgres``) and MariaDB (``mysql``), with the backend's queue on that database and only that
database open to it. Mark it ``transactional`` when something outside the test's transaction
(a worker process, on_commit callbacks) must see its writes.
"""

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client, override_settings

from django_tasks import tasks
from django_tasks.backends.database import DatabaseBackend
from tests.helpers import wait_until

ALIASES = ("default", "postgres", "mysql")
BACKEND_PATH = "django_tasks.backends.database.DatabaseBackend"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "transactional: run the test outside a transaction (commits are real)"
    )
    config.addinivalue_line(
        "markers", "databases(*aliases): run the test only against these of the databases"
    )
    config.addinivalue_line(
        "markers", "with_default: also open the 'default' database (auth, sessions) to the test"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "alias" not in metafunc.fixturenames:
        return
    transaction = metafunc.definition.get_closest_marker("transactional") is not None
    only = metafunc.definition.get_closest_marker("databases")
    also = ["default"] if metafunc.definition.get_closest_marker("with_default") else []
    metafunc.parametrize(
        "alias",
        [
            pytest.param(
                alias,
                marks=pytest.mark.django_db(
                    databases=sorted({alias, *also}), transaction=transaction
                ),
            )
            for alias in (only.args if only else ALIASES)
        ],
    )


def named_id(name: str) -> str:
    """A result id (a UUID, as the table's primary key needs) that stands for ``name`` in a
    test: the same for the same name."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"django-tasks-test:{name}"))


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


ROOT = Path(__file__).resolve().parent.parent.parent


class WorkerProcess:
    """A ``manage.py db_worker`` process on the test databases, its output in a file."""

    def __init__(
        self,
        arguments: Sequence[str],
        environment: dict[str, str],
        log: Path,
        prefix: Sequence[str] = (),
    ) -> None:
        self.log = log
        with log.open("wb") as output:
            self.process = subprocess.Popen(
                [
                    *prefix,  # A command that runs the worker: in a network namespace...
                    sys.executable,
                    "-m",
                    "django",
                    "db_worker",
                    "--settings=tests.worker_settings",
                    "--skip-checks",
                    *arguments,
                ],
                cwd=ROOT,
                env=environment,
                stdout=output,
                stderr=subprocess.STDOUT,
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.log.read_text()

    def wait(self, timeout: float = 60) -> int:
        """Wait for the process to exit; return its status."""
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError(f"The worker did not exit:\n{self.output()}") from None

    def signal(self, number: int) -> None:
        self.process.send_signal(number)

    def wait_for_output(self, text: str, timeout: float = 60) -> None:
        wait_until(lambda: text in self.output(), timeout, lambda: f"{text!r} in:\n{self.output()}")


StartWorker = Callable[..., WorkerProcess]


@pytest.fixture
def start_worker(alias: str, tmp_path: Path) -> Iterator[StartWorker]:
    """Start db_worker processes with the backend on ``alias`` (and OPTIONS as given); they
    are killed at the end of the test if still running. ``database`` changes the settings of
    the ``alias`` database in the worker (see tests/worker_settings.py); ``prefix`` is a
    command that runs the worker (``ip netns exec NAME``)."""
    workers: list[WorkerProcess] = []

    def start(
        *arguments: str,
        options: dict[str, Any] | None = None,
        env: dict[str, str] | None = None,
        database: dict[str, Any] | None = None,
        prefix: Sequence[str] = (),
    ) -> WorkerProcess:
        environment = {
            **os.environ,
            "DJANGO_TASKS_TEST_TASKS": json.dumps(tasks_setting(alias, **(options or {}))),
            "DJANGO_TASKS_TEST_DATABASE": json.dumps({alias: database or {}}),
            **(env or {}),
        }
        log = tmp_path / f"worker-{len(workers)}.log"
        worker = WorkerProcess(arguments, environment, log, prefix)
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        if worker.process.poll() is None:
            worker.process.kill()
            worker.process.wait()


def user(name: str, *permissions: str, superuser: bool = False) -> User:
    account = User.objects.create_user(name, is_staff=True)  # No password: force_login.
    account.is_superuser = superuser
    account.save()
    for codename in permissions:
        account.user_permissions.add(Permission.objects.get(codename=codename))
    return account


@pytest.fixture
def as_user(client: Client) -> Any:
    count = 0

    def log_in(*permissions: str, superuser: bool = False) -> Client:
        nonlocal count
        count += 1
        client.force_login(user(f"user{count}", *permissions, superuser=superuser))
        return client

    return log_in
