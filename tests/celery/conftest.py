"""Fixtures of the Celery backend's tests, which run once per broker (RabbitMQ, Redis).

Workers are real ``celery worker`` processes of tests.celery.apps, started with the test run's
settings (tests.worker_settings). Starting one takes about a second, so each broker has one
worker for the whole session (``worker``), which runs the default queue; a test that needs
tasks to wait enqueues them on a queue of its own and has the worker consume it when ready
(``worker.consume``). Tests that kill workers start their own.
"""

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, cast

import pytest
from celery import Celery
from django.test import override_settings

from django_tasks import tasks
from django_tasks.backends.celery import CeleryBackend
from django_tasks.task import TaskResult
from django_tasks_conformance.harnesses.celery import purge
from tests.celery import apps
from tests.helpers import wait_until

ROOT = Path(__file__).resolve().parents[2]
BACKEND_PATH = "django_tasks.backends.celery.CeleryBackend"
BROKERS = ("rabbitmq", "redis")
READY_TIMEOUT = 60.0


ONE_ATTEMPT = "one-attempt"
"""The alias of the backend with MAX_ATTEMPTS 1 (its tasks run on the same worker)."""


def tasks_setting(broker: str, app: str | None = None, **more_options: Any) -> dict[str, Any]:
    """TASKS with the Celery backend as ``default`` on one broker's app (with these OPTIONS
    besides APP), any queue allowed, and as ONE_ATTEMPT, the same with MAX_ATTEMPTS 1."""
    options = {"APP": app or f"tests.celery.apps.{broker}", **more_options}
    return {
        "default": {"BACKEND": BACKEND_PATH, "QUEUES": [], "OPTIONS": options},
        ONE_ATTEMPT: {"BACKEND": BACKEND_PATH, "OPTIONS": {**options, "MAX_ATTEMPTS": 1}},
    }


def finished(result: TaskResult[Any], timeout: float = 60) -> TaskResult[Any]:
    """The result, reloaded until a worker has finished it."""

    def done() -> bool:
        result.refresh()
        return result.is_finished

    wait_until(done, timeout, lambda: f"result {result.id} to finish (it is {result.status})")
    return result


class CeleryWorker:
    """A ``celery worker`` process (prefork pool, one process) of one of the test apps."""

    def __init__(
        self,
        app: str,
        name: str,
        queues: Sequence[str],
        log: Path,
        tasks_setting: dict[str, Any],
        environment: dict[str, str] | None = None,
    ) -> None:
        self.app_path = app
        self.log = log
        self.environment = environment or {}
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            app,
            "worker",
            "--hostname",
            f"{name}@%h",
            "--queues",
            ",".join(queues),
            "--concurrency",
            "1",
            "--pool",
            "prefork",
            "--without-mingle",
            "--without-gossip",
            "--without-heartbeat",
            "--loglevel",
            "INFO",
        ]
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.worker_settings",
            "DJANGO_TASKS_TEST_TASKS": json.dumps(tasks_setting),
            "PYTHONPATH": str(ROOT),
            **self.environment,
        }
        with log.open("wb") as output:
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Its own process group: the pool goes with it.
            )
        self.node = ""

    def wait_ready(self) -> "CeleryWorker":
        """Wait until the worker consumes; learn its node name (``name@host``)."""

        def ready() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"The worker exited:\n{self.output()}")
            for line in self.output().splitlines():
                if line.endswith(" ready."):
                    self.node = line.rsplit(" ", 2)[-2]
                    return True
            return False

        wait_until(ready, READY_TIMEOUT, lambda: f"the worker to start:\n{self.output()}")
        return self

    @property
    def app(self) -> Celery:
        module, _, name = self.app_path.partition(":")
        return cast(Celery, getattr(sys.modules[module], name))

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def consume(self, queue: str) -> None:
        """Have the worker take tasks from one more queue (Celery's remote control)."""
        replies = self.app.control.add_consumer(
            queue, destination=[self.node], reply=True, timeout=10
        )
        assert replies, f"The worker {self.node} did not answer add_consumer({queue!r})."

    def stop_consuming(self, queue: str) -> None:
        replies = self.app.control.cancel_consumer(
            queue, destination=[self.node], reply=True, timeout=10
        )
        assert replies, f"The worker {self.node} did not answer cancel_consumer({queue!r})."

    def pool_pids(self) -> list[int]:
        """The pool processes running its tasks."""
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in path.read_text().split()]

    def kill(self) -> None:
        """SIGKILL the worker and its pool, as a crash or a lost machine would."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        """Warm shutdown (SIGTERM), then kill if it hangs."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture(scope="session", params=BROKERS)
def broker(request: pytest.FixtureRequest) -> str:
    return cast(str, request.param)


@pytest.fixture(scope="session")
def worker(
    broker: str, tmp_path_factory: pytest.TempPathFactory, django_db_setup: None
) -> Iterator[CeleryWorker]:
    """The session's worker on this broker, running the default queue (after the test
    databases exist: Celery's Django fixup checks the models when the worker starts)."""
    app: Celery = getattr(apps, broker)
    purge(app, [app.conf.task_default_queue])
    directory = tmp_path_factory.mktemp("celery")
    name = f"shared-{broker}{apps.SUFFIX}-{os.getpid()}"
    started = CeleryWorker(
        f"tests.celery.apps:{broker}",
        name,
        [app.conf.task_default_queue],
        directory / f"worker-{broker}.log",
        tasks_setting(broker),
        {
            "DJANGO_TASKS_TEST_SIGNAL_LOG": str(directory / "signals.log"),
            "DJANGO_TASKS_TEST_WITHOUT_LOCAL_TASK": "1",
        },
    )
    try:
        yield started.wait_ready()
    finally:
        started.stop()


@pytest.fixture
def backend(broker: str) -> Iterator[CeleryBackend]:
    """The Celery backend on this broker, as ``default`` (its tasks run only with ``worker``)."""
    with override_settings(TASKS=tasks_setting(broker)):
        backend = tasks["default"]
        assert isinstance(backend, CeleryBackend)
        yield backend
