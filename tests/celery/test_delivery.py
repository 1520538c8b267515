"""What the brokers do with our messages: priority order, and delivery again after a worker is
lost (kill -9), on RabbitMQ and on Redis."""

import os
import signal
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import cast

import pytest
from django.test import override_settings
from django.utils import timezone

from django_tasks import tasks
from django_tasks.backends.celery import CeleryBackend
from django_tasks.backends.celery.exceptions import WorkerLostError
from django_tasks.task import ResultStatus, TaskResult
from django_tasks_conformance.harnesses.celery import purge
from tests.celery import apps
from tests.celery import tasks as celery_tasks
from tests.celery.conftest import (
    ONE_ATTEMPT,
    CeleryWorker,
    finished,
    tasks_setting,
)
from tests.helpers import wait_until

PRIORITY_QUEUE = f"{apps.NAMESPACE}.priority"


def test_waiting_tasks_start_in_priority_order(
    broker: str, backend: CeleryBackend, worker: CeleryWorker
) -> None:
    """RabbitMQ (x-max-priority 200) has a level for each priority: strict order. Redis has
    at most ten levels, so -100..100 falls into ten bands of about 20 (0 to 19 share one), and
    tasks of one band start in the order they were enqueued."""
    purge(worker.app, [PRIORITY_QUEUE])
    priorities = [-10, 0, 100, 5, -100, 50, 1, -50]
    results = [
        celery_tasks.started_at_of.using(priority=p, queue_name=PRIORITY_QUEUE).enqueue(str(p))
        for p in priorities
    ]
    worker.consume(PRIORITY_QUEUE)
    try:
        done = [finished(result) for result in results]
    finally:
        worker.stop_consuming(PRIORITY_QUEUE)

    order = [int(label) for label in start_order(done)]
    if broker == "rabbitmq":
        assert order == [100, 50, 5, 1, 0, -10, -50, -100]
    else:
        assert order == [100, 50, 0, 5, 1, -10, -50, -100]


def test_a_task_whose_pool_process_is_killed_runs_again(
    backend: CeleryBackend, worker: CeleryWorker, tmp_path: Path
) -> None:
    """reject_on_worker_lost: the worker hands the message back instead of acknowledging it."""
    marker = tmp_path / "pid"
    result = celery_tasks.first_run_waits.enqueue(str(marker))
    wait_until(marker.exists, what="the task to start")
    assert backend.get_result(result.id).status == ResultStatus.RUNNING

    os.kill(int(marker.read_text()), signal.SIGKILL)

    done = finished(result)
    assert done.status == ResultStatus.SUCCEEDED
    assert (done.attempts, done.worker_ids) == (2, [worker.node, worker.node])
    assert done.return_value != int(marker.read_text())  # Another pool process.


def test_a_task_that_kills_its_worker_each_time_fails_after_max_attempts(
    backend: CeleryBackend, worker: CeleryWorker
) -> None:
    """Without the bound, reject_on_worker_lost would hand it back forever."""
    done = finished(celery_tasks.kill_own_process.using(backend=ONE_ATTEMPT).enqueue())

    assert done.status == ResultStatus.FAILED
    assert done.exception_class is WorkerLostError
    assert (done.attempts, done.worker_ids) == (1, [worker.node])
    assert done.traceback is not None
    assert done.traceback.endswith(
        f"WorkerLostError: The task's worker was lost on every attempt, 1 of MAX_ATTEMPTS 1 "
        f"({worker.node}); it is not run again.\n"
    )


@pytest.fixture
def two_workers(broker: str, tmp_path: Path) -> Iterator[list[CeleryWorker]]:
    """Two workers of the ``*_lost`` app, on its default queue, started side by side."""
    app_path = f"tests.celery.apps.{broker}_lost"
    app = getattr(apps, f"{broker}_lost")
    purge(app, [app.conf.task_default_queue])
    setting = tasks_setting(broker, app=app_path)
    workers = [
        CeleryWorker(
            f"tests.celery.apps:{broker}_lost",
            f"{role}-{broker}{apps.SUFFIX}-{os.getpid()}",
            [app.conf.task_default_queue],
            tmp_path / f"{role}.log",
            setting,
        )
        for role in ("one", "two")
    ]
    try:
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(CeleryWorker.wait_ready, workers))
        with override_settings(TASKS=setting):
            yield workers
    finally:
        for started in workers:
            started.stop()


def test_a_task_whose_worker_is_killed_runs_again_on_another(
    broker: str, two_workers: list[CeleryWorker], tmp_path: Path
) -> None:
    """RabbitMQ delivers the message again as soon as the dead worker's connection closes;
    Redis once it has been unacknowledged for visibility_timeout seconds."""
    backend = tasks["default"]
    assert isinstance(backend, CeleryBackend)
    marker = tmp_path / "pid"
    result = celery_tasks.first_run_waits.enqueue(str(marker))
    wait_until(marker.exists, what="the task to start")
    running = backend.get_result(result.id)
    victim, survivor = sorted(two_workers, key=lambda w: w.node != running.worker_ids[0])

    victim.kill()
    killed_at = timezone.now()

    done = finished(result, timeout=60)
    assert done.status == ResultStatus.SUCCEEDED
    assert (done.attempts, done.worker_ids) == (2, [victim.node, survivor.node])
    assert done.started_at is not None
    assert done.started_at > killed_at  # Taken over after the kill, not before.


def start_order(results: list[TaskResult[str]]) -> list[str]:
    """The return values of finished results, in the order the tasks started."""
    started = {result.return_value: result.started_at for result in results}
    assert None not in started.values()
    return sorted(started, key=lambda label: cast(datetime, started[label]))
