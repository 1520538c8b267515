"""Tasks run by real Celery workers, on each broker: results, signals, refusals, redelivery.

(The task API's contract on this backend, enqueue-on-commit and deferred tasks included, is the
conformance suite's: tests/conformance runs it against the Celery backend on both brokers.)
"""

import json
import os
from pathlib import Path

import pytest
from django.utils import timezone

from django_tasks.backends.celery import CeleryBackend
from django_tasks.backends.celery.backend import RUN_TASK
from django_tasks.backends.celery.records import Record
from django_tasks.exceptions import InvalidTaskError
from django_tasks.task import ResultStatus
from tests import tasks as fixture_tasks
from tests.celery import apps
from tests.celery import tasks as celery_tasks
from tests.celery.conftest import CeleryWorker, finished
from tests.helpers import wait_until


def test_a_task_runs_in_the_worker_and_its_result_is_read_here(
    backend: CeleryBackend, worker: CeleryWorker
) -> None:
    result = fixture_tasks.add.enqueue(1, 2)
    assert result.status == ResultStatus.NEW
    assert result.enqueued_at is not None

    done = finished(backend.get_result(result.id))

    assert done.status == ResultStatus.SUCCEEDED
    assert done.return_value == 3
    assert (done.args, done.kwargs) == ([1, 2], {})
    assert (done.attempts, done.worker_ids) == (1, [worker.node])
    assert done.enqueued_at == result.enqueued_at
    assert done.started_at is not None
    assert done.finished_at is not None
    assert done.enqueued_at <= done.started_at <= done.finished_at
    assert done.task.module_path == fixture_tasks.add.module_path


def test_a_failure_is_recorded_with_its_exception_and_traceback(
    backend: CeleryBackend, worker: CeleryWorker
) -> None:
    done = finished(fixture_tasks.fail.enqueue("Out of cheese."))

    assert done.status == ResultStatus.FAILED
    assert done.exception_class is ValueError
    assert done.traceback is not None
    assert done.traceback.endswith("ValueError: Out of cheese.\n")
    assert "raise ValueError(message)" in done.traceback


def test_celerys_own_tools_see_the_results(backend: CeleryBackend, worker: CeleryWorker) -> None:
    """AsyncResult (and so Flower, `celery result`) reads the same keys, in Celery's states."""
    waiting = fixture_tasks.noop.using(queue_name=f"{apps.NAMESPACE}.nobody").enqueue()
    succeeded = finished(fixture_tasks.add.enqueue(2, 5))
    failed = finished(fixture_tasks.fail.enqueue("Out of cheese."))

    assert backend.app.AsyncResult(waiting.id).state == "PENDING"
    assert backend.app.AsyncResult(succeeded.id).state == "SUCCESS"
    failure = backend.app.AsyncResult(failed.id)
    assert failure.state == "FAILURE"
    assert isinstance(failure.result, ValueError)
    assert failure.result.args == ("Out of cheese.",)
    assert failure.traceback == failed.traceback  # type: ignore[comparison-overlap]  # A str; celery-types says TracebackType.


def test_a_coroutine_task_runs(backend: CeleryBackend, worker: CeleryWorker) -> None:
    done = finished(fixture_tasks.add_async.enqueue(2, 3))

    assert (done.status, done.return_value) == (ResultStatus.SUCCEEDED, 5)


def test_arguments_and_return_values_cross_unchanged(
    backend: CeleryBackend, worker: CeleryWorker
) -> None:
    """Values kombu's JSON decoder would turn into objects travel as plain JSON data."""
    tagged = {"__type__": "datetime", "__value__": "2024-05-01T09:30:00"}
    arguments = {"tagged": tagged, "text": "\u00e9\U0001f600", "big": 2**70, "nested": [[{}]]}

    done = finished(fixture_tasks.echo.enqueue(tagged, **arguments))

    assert done.status == ResultStatus.SUCCEEDED, done.traceback
    assert done.return_value == {"args": [tagged], "kwargs": arguments}
    assert done.args == [tagged]


def test_the_worker_sends_task_started_and_task_finished(
    backend: CeleryBackend, worker: CeleryWorker, signal_log: Path
) -> None:
    done = finished(celery_tasks.started_at_of.enqueue("signals"))

    def lines() -> list[list[str]]:
        return [line.split() for line in signal_log.read_text().splitlines()]

    # task_finished is sent once the outcome is recorded, so it may come after finished().
    wait_until(
        lambda: ["finished", done.id, "SUCCEEDED"] in [line[:3] for line in lines()],
        what=lambda: f"task_finished for {done.id}:\n{signal_log.read_text()}",
    )
    sent = [(name, status) for name, result_id, status, _ in lines() if result_id == done.id]
    assert sent == [("started", "RUNNING"), ("finished", "SUCCEEDED")]
    pids = {pid for _, result_id, _, pid in lines() if result_id == done.id}
    assert pids != {str(os.getpid())}  # In the worker's pool process, not here.


def test_a_task_the_worker_does_not_have_is_refused_and_recorded_failed(
    backend: CeleryBackend, worker: CeleryWorker
) -> None:
    done = finished(celery_tasks.local_only.enqueue())

    assert done.status == ResultStatus.FAILED
    assert done.exception_class is InvalidTaskError
    assert done.traceback is not None
    assert (
        "InvalidTaskError: Task path 'tests.celery.tasks.local_only' is not a registered task; "
        "only functions declared with @task run.\n"
    ) in done.traceback
    assert done.attempts == 0
    assert "Task refused id=" in worker.output()


def test_a_message_naming_any_other_function_runs_nothing(
    backend: CeleryBackend, worker: CeleryWorker, tmp_path: Path
) -> None:
    """Someone who can publish to the broker still cannot make a worker run os.system."""
    proof = tmp_path / "ran"
    record = Record(
        id="forged-os-system",
        task="os.system",
        backend="default",
        queue="default",
        priority=0,
        run_after=None,
        status=ResultStatus.NEW,
        args=[f"touch {proof}"],
        kwargs={},
        enqueued_at=timezone.now(),
    )
    backend.store.delete(record.id)
    backend.app.send_task(
        RUN_TASK, args=[record.model_dump_json()], task_id=record.id, queue=worker_queue(worker)
    )

    def refused() -> bool:
        stored = backend.store.read(record.id)
        return stored is not None and stored.is_finished

    wait_until(refused, what="the forged message to be refused")
    stored = backend.store.read(record.id)
    assert stored is not None
    assert (stored.status, stored.exception_class) == (
        ResultStatus.FAILED,
        "django_tasks.exceptions.InvalidTaskError",
    )
    assert stored.traceback is not None
    assert stored.traceback.endswith(
        "InvalidTaskError: Task path 'os.system' is not a registered task; only functions "
        "declared with @task run.\n"
    )
    assert not proof.exists()


def test_a_task_delivered_again_after_its_outcome_was_recorded_does_not_run_again(
    backend: CeleryBackend, worker: CeleryWorker
) -> None:
    """Its pool process dies after recording the failure, before the message is acknowledged:
    the broker delivers it again, and the worker finds it finished."""
    done = finished(celery_tasks.fail_then_lose_the_worker.enqueue())
    assert (done.status, done.attempts) == (ResultStatus.FAILED, 1)

    wait_until(
        lambda: f"Task skipped id={done.id}" in worker.output(),
        what=lambda: f"the worker to skip {done.id}:\n{worker.output()}",
    )
    again = backend.get_result(done.id)
    assert (again.status, again.attempts, again.finished_at) == (
        ResultStatus.FAILED,
        1,
        done.finished_at,
    )


def test_a_message_that_is_not_a_record_is_refused(
    backend: CeleryBackend, worker: CeleryWorker
) -> None:
    backend.app.send_task(
        RUN_TASK,
        args=[json.dumps({"task": "os.system"})],
        task_id="not-a-record",
        queue=worker_queue(worker),
    )

    wait_until(
        lambda: (
            "Message refused id=not-a-record: The message of Celery task 'not-a-record' is "
            "not a django_tasks record (" in worker.output()
        ),
        what=lambda: f"the worker to refuse the message:\n{worker.output()}",
    )


def worker_queue(worker: CeleryWorker) -> str:
    return str(worker.app.conf.task_default_queue)


@pytest.fixture
def signal_log(worker: CeleryWorker) -> Path:
    return Path(worker.environment["DJANGO_TASKS_TEST_SIGNAL_LOG"])
