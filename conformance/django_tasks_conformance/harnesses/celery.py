"""CeleryHarness: the suite drives the Celery backend through a real ``celery worker``.

One worker process runs for the whole run (starting one takes about a second), with the run's
settings (``worker_settings``, as for DatabaseHarness) and the Celery app of OPTIONS["APP"]. It
starts consuming no queue of the suite, so enqueued tasks wait in the broker; ``start_worker``
has it consume the queues of the waiting tasks (Celery's remote control: ``add_consumer``), and
``stop_worker`` has it stop (``cancel_consumer``).

- The harness knows the suite's tasks from ``task_enqueued``, sent in this process; the queue
  is idle when each of them is finished, or waits for a ``run_after`` still to come.
- ``clear`` removes their records and the messages still in their queues, and revokes those a
  worker holds (a deferred task waits in the worker that received it), so that none runs later.
- The back door, ``stored``, reads the record the result backend holds.
- ``task_started`` and ``task_finished`` are sent in the worker (``observes_worker_signals`` is
  False).
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

from celery import Celery
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from kombu.exceptions import ChannelError

from django_tasks import tasks
from django_tasks.backends.celery.backend import CeleryBackend
from django_tasks.backends.celery.engine import REDIS, broker_kind, celery_queue
from django_tasks.backends.celery.records import Record
from django_tasks.signals import task_enqueued
from django_tasks.task import ResultStatus, TaskResult
from django_tasks_conformance.harness import (
    DEFAULT_QUEUES,
    StoredTask,
    WorkerHarness,
    wait_until,
)
from django_tasks_conformance.launcher import worker_environment

REDIS_READ_MARGIN = 0.5
"""Seconds given, beyond its polling interval, to a Redis read that may still name a queue
whose consumer was cancelled."""

IDLE_QUEUE = "django_tasks_conformance.idle"
"""The queue the worker consumes between drains: no task is ever sent there."""

START_TIMEOUT = 60.0
"""Seconds the worker may take to start."""

STOP_TIMEOUT = 30.0
"""Seconds the worker has to exit after SIGTERM before it is killed."""

CONTROL_TIMEOUT = 10.0
"""Seconds the worker has to answer a remote-control command."""


class CeleryWorkerError(AssertionError):
    """The Celery worker exited or did not answer."""


class CeleryHarness(WorkerHarness):
    """Runs the Celery backend's tasks in one ``celery worker`` process of OPTIONS["APP"]."""

    observes_worker_signals: ClassVar[bool] = False

    worker_arguments: ClassVar[tuple[str, ...]] = (
        "--concurrency",
        "1",
        "--prefetch-multiplier",
        "1",  # A worker reserves one task at a time: priorities order all the others.
        "--without-mingle",
        "--without-gossip",
        "--without-heartbeat",
        "--loglevel",
        "INFO",
    )

    def __init__(self, backend_path: str, options: dict[str, Any]) -> None:
        super().__init__(backend_path, options)
        self._process: subprocess.Popen[bytes] | None = None
        self._logs: Path | None = None
        self._node = ""
        self._enqueued: dict[str, str] = {}
        """The id and Celery queue of each task the suite has enqueued since the last clear."""
        self._consumed: set[str] = set()
        self._used: set[str] = set()
        """Every queue the suite has used, emptied again once the worker has stopped."""

    @property
    def backend(self) -> CeleryBackend:
        backend = tasks["default"]
        if not isinstance(backend, CeleryBackend):
            raise ImproperlyConfigured(
                f"CeleryHarness drives a CeleryBackend; the backend under test is "
                f"{type(backend).__qualname__}."
            )
        return backend

    # --- Session ------------------------------------------------------------------------------

    def setup(self) -> None:
        app_path = self.options.get("APP")
        if not isinstance(app_path, str):
            raise ImproperlyConfigured(
                "CeleryHarness starts `celery -A APP worker`: give the backend's "
                "OPTIONS['APP'], the dotted path of the Celery app."
            )
        module, _, name = app_path.rpartition(".")
        environment = worker_environment("CeleryHarness", self.tasks_setting())
        app = self.backend.app
        # Tasks a crashed run left (a worker hands back those it holds when it stops).
        purge(app, [celery_queue(app, queue) for queue in DEFAULT_QUEUES])
        self._logs = Path(tempfile.mkdtemp(prefix="tasks-conformance-celery-"))
        node = f"conformance-{os.getpid()}"
        command = [
            sys.executable,
            *("-m", "celery", "-A", f"{module}:{name}", "worker"),
            *("--hostname", f"{node}@%h", "--queues", IDLE_QUEUE),
            *self.worker_arguments,
        ]
        with (self._logs / "worker.log").open("wb") as output:
            self._process = subprocess.Popen(
                command,
                env=environment,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Its own process group: the pool goes with it.
            )
        wait_until(self._ready, START_TIMEOUT, "the Celery worker to start")
        task_enqueued.connect(self._on_enqueued, weak=False)

    def _ready(self) -> bool:
        for line in self._output().splitlines():
            if line.endswith(" ready."):
                self._node = line.rsplit(" ", 2)[-2]
                return True
        self._check_alive()
        return False

    def teardown(self) -> None:
        task_enqueued.disconnect(self._on_enqueued)
        if self._process is not None and self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGTERM)
            try:
                self._process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait()
        self._process = None
        # A stopping worker hands the tasks it holds (deferred ones) back to the broker.
        purge(self.backend.app, sorted(self._used))
        if self._logs is not None:
            shutil.rmtree(self._logs, ignore_errors=True)
            self._logs = None

    def _on_enqueued(self, sender: type, task_result: TaskResult[Any], **kwargs: Any) -> None:
        backend = self.backend
        queue = celery_queue(backend.app, task_result.task.queue_name)
        self._enqueued[task_result.id] = queue
        self._used.add(queue)

    # --- Workers ------------------------------------------------------------------------------

    def start_worker(self) -> None:
        """Have the worker consume the queues of the tasks waiting to run."""
        for queue in sorted(set(self._enqueued.values()) - self._consumed):
            self._control("add_consumer", queue)
            self._consumed.add(queue)

    def stop_worker(self) -> None:
        for queue in sorted(self._consumed):
            self._control("cancel_consumer", queue)
        if self._consumed and broker_kind(self.backend.app) == REDIS:
            # On Redis the worker may still be waiting in a BRPOP that names the queues (for
            # polling_interval seconds, 1 by default): a task enqueued meanwhile would be taken.
            # kombu answers cancel_consumer before it cancels when it is in the middle of a read
            # (celery/celery#1773), so first a ping: once the worker answers it, the cancel is
            # done and no BRPOP sent from then on names the queues. Then let the last one end,
            # with room for a loaded machine, where a worker busy elsewhere took a waiting task
            # of the next test (in 3 of 3 runs with three test runs at once) when given 0.1 s.
            self._ping()
            options = self.backend.app.conf.broker_transport_options or {}
            time.sleep(float(options.get("polling_interval", 1.0)) + REDIS_READ_MARGIN)
        self._consumed.clear()

    def worker_running(self) -> bool:
        return bool(self._consumed)

    def is_idle(self) -> bool:
        """Whether each task enqueued has finished, or waits for its run_after."""
        self._check_alive()
        now = timezone.now()
        for result_id in self._enqueued:
            record = self.backend.store.read(result_id)
            if record is None or record.is_finished:
                continue
            if record.status == ResultStatus.NEW and record.run_after and record.run_after > now:
                continue
            return False
        return True

    def drain(self, timeout: float) -> None:
        try:
            super().drain(timeout)
        except AssertionError as e:
            raise type(e)(f"{e}\nThe worker's output:\n{self._output()[-3000:]}") from None

    def _control(self, command: str, queue: str) -> None:
        self._check_alive()
        control = getattr(self.backend.app.control, command)
        replies = control(queue, destination=[self._node], reply=True, timeout=CONTROL_TIMEOUT)
        if not replies:
            raise CeleryWorkerError(
                f"The Celery worker {self._node} did not answer {command}({queue!r}) within "
                f"{CONTROL_TIMEOUT:g}s. Its output:\n{self._output()[-3000:]}"
            )

    def _ping(self) -> None:
        self._check_alive()
        if not self.backend.app.control.ping(destination=[self._node], timeout=CONTROL_TIMEOUT):
            raise CeleryWorkerError(
                f"The Celery worker {self._node} did not answer ping within "
                f"{CONTROL_TIMEOUT:g}s. Its output:\n{self._output()[-3000:]}"
            )

    def _check_alive(self) -> None:
        if self._process is None or self._process.poll() is not None:
            raise CeleryWorkerError(
                f"The Celery worker is not running. Its output:\n{self._output()[-3000:]}"
            )

    def _output(self) -> str:
        if self._logs is None:
            return ""
        return (self._logs / "worker.log").read_text(encoding="utf-8", errors="replace")

    # --- The store ----------------------------------------------------------------------------

    def clear(self) -> None:
        """Forget the suite's tasks: their records, their messages, and those the worker holds."""
        if not self._enqueued:
            return
        backend = self.backend
        unfinished = []
        for result_id in self._enqueued:
            record = backend.store.read(result_id)
            if record is not None and not record.is_finished:
                unfinished.append(result_id)
            backend.store.delete(result_id)
        if unfinished:
            backend.app.control.revoke(unfinished, destination=[self._node])
        purge(backend.app, sorted(set(self._enqueued.values())))
        self._enqueued.clear()

    def stored(self, result_id: str) -> StoredTask | None:
        record: Record | None = self.backend.store.read(result_id)
        if record is None:
            return None
        return StoredTask(
            id=record.id,
            task_path=record.task,
            status=record.status,
            args=record.args,
            kwargs=record.kwargs,
            queue_name=record.queue,
            priority=record.priority,
            run_after=record.run_after,
        )


def purge(app: Celery, queues: Iterable[str]) -> None:
    """Remove every message waiting in these Celery queues (a missing queue is fine)."""
    with app.connection_for_write() as connection:
        for queue in queues:
            channel: Any = connection.channel()  # kombu's stub lacks queue_purge().
            try:
                channel.queue_purge(queue)
            except ChannelError:  # RabbitMQ: no such queue (it closes the channel).
                pass
            finally:
                channel.close()
