"""Timeouts and the process pool (db_worker --pool process), with real worker processes."""

import os
import re
import signal
from pathlib import Path

import pytest
from django.db import connections

from django_tasks.backends.database import DatabaseBackend
from django_tasks.backends.database.exceptions import ChildProcessDiedError
from django_tasks.exceptions import TaskTimeoutError
from django_tasks.task import ResultStatus
from django_tasks.utils import class_path
from tests.database.conftest import StartWorker
from tests.database.tasks import kill_own_process, overrun, overrun_briefly, record, sleep
from tests.helpers import wait_until
from tests.tasks import add

pytestmark = pytest.mark.transactional

TIMEOUT_ERROR = class_path(TaskTimeoutError)


def test_a_task_past_its_timeout_is_killed_and_the_worker_keeps_going(
    backend: DatabaseBackend, start_worker: StartWorker
) -> None:
    late = overrun.enqueue(60)
    after = add.enqueue(2, 3)
    worker = start_worker("--pool", "process", "--batch", "--worker-id", "w1")
    assert worker.wait() == 0, worker.output()

    result = backend.get_result(late.id)
    assert result.status == ResultStatus.FAILED
    assert result.exception_class is TaskTimeoutError
    assert "timeout of 0.5 s; it was killed." in (result.traceback or "")
    assert (result.attempts, result.worker_ids) == (1, ["w1"])
    assert backend.get_result(after.id).return_value == 5
    assert "Task timed out id=" in worker.output()
    assert "succeeded=1 failed=1" in worker.output()


def test_the_thread_pool_records_a_timeout_at_the_deadline_and_drops_the_late_outcome(
    backend: DatabaseBackend, start_worker: StartWorker
) -> None:
    late = overrun.enqueue(1.5)  # Returns a second after its timeout.
    worker = start_worker("--batch", "--worker-id", "w1")
    assert worker.wait() == 0, worker.output()

    result = backend.get_result(late.id)
    assert (result.status, result.exception_class) == (ResultStatus.FAILED, TaskTimeoutError)
    assert "its thread could not be stopped and runs on" in (result.traceback or "")
    output = worker.output()
    assert "its thread cannot be stopped and runs on" in output
    assert f"Task id={late.id} returned after its timeout; its outcome was dropped." in output


def test_the_backends_timeout_applies_to_tasks_that_set_none(
    backend: DatabaseBackend, start_worker: StartWorker
) -> None:
    slow = sleep.enqueue(60)
    worker = start_worker("--pool", "process", "--batch", options={"TIMEOUT": 0.3})
    assert worker.wait() == 0, worker.output()
    result = backend.get_result(slow.id)
    assert result.exception_class is TaskTimeoutError
    assert "timeout of 0.3 s" in (result.traceback or "")


def test_many_timeouts_leak_no_process_and_no_connection(
    backend: DatabaseBackend, alias: str, start_worker: StartWorker
) -> None:
    count = 1000
    before = _connections(alias)
    results = [overrun_briefly.enqueue() for _ in range(count)]
    ordinary = add.enqueue(1, 1)
    worker = start_worker(
        "--pool",
        "process",
        "--concurrency",
        "4",
        "--max-tasks-per-child",
        "50",
        "--batch",
        "-v",
        "2",
    )
    assert worker.wait(timeout=900) == 0, worker.output()[-3000:]

    failed = {backend.get_result(result.id).exception_class for result in results}
    assert failed == {TaskTimeoutError}
    assert backend.get_result(ordinary.id).return_value == 2
    children = [int(pid) for pid in re.findall(r"Child process started pid=(\d+)", worker.output())]
    assert len(children) >= count  # A new child after each timeout.
    assert [pid for pid in children if _running(pid)] == []
    if before is not None:
        assert _connections(alias) == before


def test_a_task_that_kills_its_process_takes_no_other_task_with_it(
    backend: DatabaseBackend, start_worker: StartWorker, tmp_path: Path
) -> None:
    """Issue 21, item 3: a poison task beside 12 ordinary ones, 4 at a time."""
    ledger = tmp_path / "ledger"
    poison = kill_own_process.enqueue(str(ledger))
    ordinary = [record.enqueue(str(ledger), f"task-{number}") for number in range(12)]
    worker = start_worker(
        "--pool", "process", "--concurrency", "4", "--batch", options={"MAX_ATTEMPTS": 3}
    )
    assert worker.wait(timeout=120) == 0, worker.output()

    for result in ordinary:
        again = backend.get_result(result.id)
        assert (again.status, again.attempts) == (ResultStatus.SUCCEEDED, 1)
    failed = backend.get_result(poison.id)
    assert (failed.status, failed.attempts) == (ResultStatus.FAILED, 3)
    assert failed.exception_class is ChildProcessDiedError
    assert "died (signal=9) on its last attempt (3 of MAX_ATTEMPTS 3)" in (failed.traceback or "")
    assert ledger.read_text().count("poison") == 3


def test_a_worker_stopped_at_once_kills_its_children(
    backend: DatabaseBackend, alias: str, start_worker: StartWorker
) -> None:
    slow = sleep.enqueue(60)
    worker = start_worker("--pool", "process", "-v", "2", "--worker-id", "w1")
    wait_until(lambda: "Task started" in worker.output(), timeout=60, what="the task to start")
    child = int(re.findall(r"Child process started pid=(\d+)", worker.output())[0])
    worker.signal(signal.SIGTERM)
    worker.wait_for_output("Stopping: finishing 1 running task(s).")
    assert _running(child)  # The child ignores the signal; the worker decides.
    worker.signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 1
    wait_until(lambda: not _running(child), timeout=10, what="the child to exit")
    assert backend.get_result(slow.id).status == ResultStatus.NEW  # Handed back.


def _running(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _connections(alias: str) -> int | None:
    """How many other sessions the server has open on the test database (None on SQLite,
    which has no server)."""
    connection = connections[alias]
    if connection.vendor == "postgresql":
        sql = (
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )
    elif connection.vendor == "mysql":
        sql = (
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = DATABASE() "
            "AND ID <> CONNECTION_ID()"
        )
    else:
        return None
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return int(cursor.fetchone()[0])


assert os.name == "posix", "These tests read /proc and send POSIX signals."
