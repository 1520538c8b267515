"""Retries and cancellation with real db_worker processes, on each database."""

import re
import signal
import threading
from datetime import timedelta
from functools import partial
from typing import Any

import pytest
from django.db import close_old_connections
from django.utils.dateparse import parse_datetime

from django_tasks.backends.database import DatabaseBackend
from django_tasks.backends.database.models import DBTaskResult
from django_tasks.exceptions import RetryTask, TaskCancelled, TaskFinishedError
from django_tasks.task import ResultStatus
from tests.database.conftest import StartWorker, WorkerProcess
from tests.database.tasks import fails_once_after, sleep
from tests.helpers import wait_until
from tests.tasks import add, asks_again, fails_once_if, flaky, not_retried, until_stopped

pytestmark = pytest.mark.transactional

WORKER_OPTIONS = {"LEASE_SECONDS": 2.0, "HEARTBEAT_SECONDS": 0.2}
"""Short heartbeats, so that a running task hears a cancel within a fraction of a second."""


def finished(backend: DatabaseBackend, result_id: str) -> bool:
    return backend.get_result(result_id).is_finished


def stop(worker: WorkerProcess) -> None:
    worker.signal(signal.SIGTERM)
    assert worker.wait() == 0, worker.output()


def test_a_task_that_fails_twice_then_succeeds_ends_succeeded_after_three_attempts(
    backend: DatabaseBackend, start_worker: StartWorker
) -> None:
    result = flaky.enqueue(2)
    worker = start_worker("--worker-id", "w1", "--interval", "0.1", options=WORKER_OPTIONS)
    wait_until(lambda: finished(backend, result.id), 30, worker.output)
    stop(worker)

    done = backend.get_result(result.id)
    assert (done.status, done.return_value, done.attempts) == (ResultStatus.SUCCEEDED, 3, 3)
    assert done.worker_ids == ["w1", "w1", "w1"]
    assert [error.exception_class for error in done.errors] == [ValueError, ValueError]
    assert "ValueError: attempt 1 fails" in done.errors[0].traceback
    assert "ValueError: attempt 2 fails" in done.errors[1].traceback
    assert (done.exception_class, done.traceback) == (None, None)
    # The delays follow the policy (exponential from 1 s, no jitter): 1 s, then 2 s.
    row = DBTaskResult.objects.using(backend.database).get(pk=result.id)
    entries: list[dict[str, Any]] = row.errors or []
    assert [entry["retry_in"] for entry in entries] == [1.0, 2.0]
    second_failure = parse_datetime(entries[1]["failed_at"])
    assert second_failure is not None
    assert row.started_at is not None
    waited = row.started_at - second_failure
    assert timedelta(seconds=2) <= waited < timedelta(seconds=2 + 3), waited
    output = worker.output()
    assert (
        len(re.findall(r"Task attempt failed, will be retried id=\S+ .* attempt=1 ", output)) == 1
    )
    assert len(re.findall(r"will be retried id=\S+ .* attempt=2 retry_in=2\.000s", output)) == 1
    assert "retried=2" in output


def test_a_task_fails_after_its_last_attempt_or_at_once_outside_retry_on(
    backend: DatabaseBackend, start_worker: StartWorker
) -> None:
    exhausted = flaky.enqueue(5)
    not_listed = not_retried.enqueue()
    again = asks_again.enqueue()
    worker = start_worker("--worker-id", "w1", "--interval", "0.1", options=WORKER_OPTIONS)
    for result_id in (exhausted.id, not_listed.id, again.id):
        wait_until(partial(finished, backend, result_id), 30, worker.output)
    stop(worker)

    failed = backend.get_result(exhausted.id)
    assert (failed.status, failed.attempts, failed.exception_class) == ("FAILED", 3, ValueError)
    assert [error.exception_class for error in failed.errors] == [ValueError] * 3
    once = backend.get_result(not_listed.id)
    assert (once.status, once.attempts, once.exception_class) == ("FAILED", 1, KeyError)
    assert len(once.errors) == 1
    asked = backend.get_result(again.id)
    assert (asked.status, asked.return_value, asked.attempts) == ("SUCCEEDED", 2, 2)
    assert [error.exception_class for error in asked.errors] == [RetryTask]


def test_a_cancelled_waiting_task_never_runs(
    backend: DatabaseBackend, start_worker: StartWorker
) -> None:
    result = add.enqueue(1, 2)
    result.cancel()
    assert (result.status, result.is_cancelled, result.exception_class) == (
        "FAILED",
        True,
        TaskCancelled,
    )
    assert result.is_finished
    worker = start_worker("--batch", "--worker-id", "w1")
    assert worker.wait() == 0
    row = DBTaskResult.objects.using(backend.database).get(pk=result.id)
    assert (row.status, row.attempts, row.worker_ids) == ("CANCELLED", 0, [])
    with pytest.raises(
        TaskFinishedError,
        match=re.escape(
            f"Task result {result.id!r} has finished (cancelled); a finished task cannot be "
            f"cancelled."
        ),
    ):
        result.cancel()


def test_cancelling_a_finished_task_is_an_error(
    backend: DatabaseBackend, start_worker: StartWorker
) -> None:
    result = add.enqueue(1, 2)
    assert start_worker("--batch").wait() == 0
    with pytest.raises(
        TaskFinishedError,
        match=re.escape(
            f"Task result {result.id!r} has finished (SUCCEEDED); a finished task cannot be "
            f"cancelled."
        ),
    ):
        backend.cancel(result.id)
    assert backend.get_result(result.id).status == "SUCCEEDED"


@pytest.mark.parametrize("pool", ["thread", "process"])
def test_a_running_task_asked_to_stop_ends_cancelled(
    backend: DatabaseBackend, start_worker: StartWorker, pool: str
) -> None:
    result = until_stopped.enqueue(60)
    worker = start_worker("--worker-id", "w1", "--pool", pool, options=WORKER_OPTIONS)
    wait_until(lambda: backend.get_result(result.id).status == "RUNNING", 30, worker.output)
    result.cancel()
    assert result.status == "RUNNING"  # Asked to stop; it stops at its next check.
    wait_until(lambda: finished(backend, result.id), 30, worker.output)
    stop(worker)
    done = backend.get_result(result.id)
    assert (done.status, done.is_cancelled, done.attempts) == ("FAILED", True, 1)
    assert "was asked to stop while it ran" in (done.traceback or "")
    row = DBTaskResult.objects.using(backend.database).get(pk=result.id)
    assert row.status == "CANCELLED"
    assert row.cancel_requested_at is not None


def test_with_the_process_pool_a_task_that_does_not_stop_is_killed_after_a_grace_period(
    backend: DatabaseBackend, start_worker: StartWorker
) -> None:
    result = sleep.enqueue(60)  # Never looks at its context.
    worker = start_worker("--worker-id", "w1", "--pool", "process", options=WORKER_OPTIONS)
    wait_until(lambda: backend.get_result(result.id).status == "RUNNING", 30, worker.output)
    result.cancel()
    wait_until(lambda: finished(backend, result.id), 30, worker.output)
    after = add.enqueue(2, 3)
    wait_until(lambda: finished(backend, after.id), 30, worker.output)
    stop(worker)
    done = backend.get_result(result.id)
    assert (done.status, done.is_cancelled, done.attempts) == ("FAILED", True, 1)
    assert (
        f"Task result {result.id!r} was asked to stop while it ran, and did not within 5.0 s; "
        f"its process was killed."
    ) in (done.traceback or "")
    assert DBTaskResult.objects.using(backend.database).get(pk=result.id).status == "CANCELLED"
    assert f"Task did not stop id={result.id} " in worker.output()
    assert backend.get_result(after.id).return_value == 5  # The worker keeps going.


def test_a_task_cancelled_while_workers_claim_it_either_never_runs_or_is_asked_to_stop(
    backend: DatabaseBackend, start_worker: StartWorker
) -> None:
    # Cancels race with the claims of two workers: each cancel is decided against the claim in
    # one statement, so a task whose cancel found it waiting never starts.
    results = [until_stopped.enqueue(0.3) for _ in range(60)]
    workers = [
        start_worker("--worker-id", f"w{n}", "--interval", "0.01", options=WORKER_OPTIONS)
        for n in range(2)
    ]
    for worker in workers:
        worker.wait_for_output("Worker started")
    wait_until(lambda: backend.get_result(results[0].id).status != "NEW", 30, workers[0].output)
    cancelled_waiting: list[str] = []
    finished_first: list[str] = []
    errors: list[BaseException] = []

    def cancel_all() -> None:
        try:
            for result in results:
                try:
                    cancelled = backend.cancel(result.id)
                except TaskFinishedError:
                    finished_first.append(result.id)  # It ran to its end before the cancel.
                    continue
                if cancelled.is_finished:
                    cancelled_waiting.append(result.id)
        except BaseException as e:
            errors.append(e)
        finally:
            close_old_connections()

    thread = threading.Thread(target=cancel_all)
    thread.start()
    thread.join()
    assert errors == []
    for result in results:
        wait_until(partial(finished, backend, result.id), 60, workers[0].output)
    for worker in workers:
        stop(worker)
    assert cancelled_waiting  # Some lost the race to no worker...
    assert_cancel_outcomes(backend, [r.id for r in results], cancelled_waiting, finished_first)


def assert_cancel_outcomes(
    backend: DatabaseBackend,
    ids: list[str],
    cancelled_waiting: list[str],
    finished_first: list[str],
) -> None:
    """Each task cancelled while it waited never ran; each that finished before its cancel
    ran once; every other ran once, asked to stop."""
    rows = {
        str(row.pk): row for row in DBTaskResult.objects.using(backend.database).filter(pk__in=ids)
    }
    for result_id in cancelled_waiting:
        assert (rows[result_id].status, rows[result_id].attempts) == ("CANCELLED", 0)
    for result_id in finished_first:
        assert (rows[result_id].status, rows[result_id].attempts) == ("SUCCEEDED", 1)
    for result_id, row in rows.items():  # ...and the others were asked to stop, or finished.
        if result_id not in (*cancelled_waiting, *finished_first):
            assert row.attempts == 1
            assert row.status in ("CANCELLED", "SUCCEEDED")
            assert row.cancel_requested_at is not None


def test_four_workers_drain_tasks_of_which_some_fail_once(
    backend: DatabaseBackend, start_worker: StartWorker
) -> None:
    count = 2_000
    results = backend.bulk_enqueue(fails_once_if, [((n,), {}) for n in range(count)])
    workers = [
        start_worker("--worker-id", f"w{n}", "--interval", "0.05", "--concurrency", "4")
        for n in range(4)
    ]
    rows = DBTaskResult.objects.using(backend.database).filter(pk__in=[r.id for r in results])
    wait_until(lambda: rows.filter(status="SUCCEEDED").count() == count, 600, workers[0].output)
    for worker in workers:
        stop(worker)
    by_number: dict[int, DBTaskResult] = {int(row.return_value or 0): row for row in rows}
    assert sorted(by_number) == list(range(count))
    for number, row in by_number.items():
        retried = number % 10 == 0
        assert row.attempts == (2 if retried else 1), (number, row.attempts)
        assert len(row.worker_ids) == row.attempts
        assert len(row.errors or []) == (1 if retried else 0)


def retry_wait(backend: DatabaseBackend, result_id: str) -> tuple[timedelta, list[str]]:
    """How long after its first attempt failed the second started, and who ran each."""
    row = DBTaskResult.objects.using(backend.database).get(pk=result_id)
    entries: list[dict[str, Any]] = row.errors or []
    failed_at = parse_datetime(entries[0]["failed_at"])
    assert failed_at is not None
    assert row.started_at is not None
    assert (row.status, row.attempts, entries[0]["retry_in"]) == ("SUCCEEDED", 2, 1.0)
    return row.started_at - failed_at, row.worker_ids


def test_a_worker_polling_every_30_s_runs_its_retry_when_it_is_due(
    backend: DatabaseBackend, start_worker: StartWorker
) -> None:
    # While the first attempt runs 8 s, the worker's other slot polls ever less often (by then
    # every 6 s or more); the retry it writes is due in 1 s, and it looks again then.
    result = fails_once_after.enqueue(8)
    worker = start_worker(
        "--worker-id", "w1", "--interval", "30", "--concurrency", "2", "--no-startup-delay"
    )
    wait_until(lambda: finished(backend, result.id), 60, worker.output)
    stop(worker)
    waited, worker_ids = retry_wait(backend, result.id)
    assert worker_ids == ["w1", "w1"]
    assert timedelta(seconds=1) <= waited < timedelta(seconds=1 + 3), waited


@pytest.mark.databases("postgres")
def test_an_idle_worker_hears_when_a_retry_is_due(
    backend: DatabaseBackend, start_worker: StartWorker
) -> None:
    # Worker a runs the first attempt (16 s) and claims nothing more; worker b, idle with
    # --interval 30, polls ever less often (every 12 s or more by then). The retry's NOTIFY
    # says it is due in 1 s: b claims it then, not at its next poll (about 10 s later).
    result = fails_once_after.enqueue(16)
    first = start_worker("--worker-id", "a", "--max-tasks", "1", "--no-startup-delay")
    wait_until(lambda: backend.get_result(result.id).status == "RUNNING", 30, first.output)
    idle = start_worker("--worker-id", "b", "--interval", "30", "--no-startup-delay")
    wait_until(lambda: finished(backend, result.id), 90, idle.output)
    assert first.wait() == 0, first.output()
    stop(idle)
    waited, worker_ids = retry_wait(backend, result.id)
    assert worker_ids == ["a", "b"]
    assert timedelta(seconds=1) <= waited < timedelta(seconds=1 + 3), waited
