"""How db_worker stops, crashes, freezes and loses its database, as a real process."""

import signal
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connections
from django.utils import timezone

from django_tasks.backends.database import DatabaseBackend
from django_tasks.backends.database.models import DBTaskResult
from django_tasks.backends.database.worker import bound_connection
from django_tasks.task import ResultStatus, TaskResult
from tests.database.conftest import StartWorker, WorkerProcess
from tests.database.network import DeadPath, dead_path
from tests.database.tasks import record, wait_for
from tests.helpers import wait_until
from tests.tasks import add

pytestmark = pytest.mark.transactional

SHORT_LEASE = {"LEASE_SECONDS": 2.0, "HEARTBEAT_SECONDS": 0.25}


class Scenario:
    """A task that records when it starts and then waits for the test's go-ahead."""

    def __init__(self, tmp_path: Path) -> None:
        self.ledger = tmp_path / "ledger"
        self.go = tmp_path / "go"
        self.result: TaskResult[str] = wait_for.enqueue(str(self.go), str(self.ledger))

    def starts(self) -> int:
        text = self.ledger.read_text() if self.ledger.exists() else ""
        return text.count("started")

    def wait_until_started(self, times: int = 1) -> None:
        wait_until(lambda: self.starts() >= times, timeout=60, what="the task to start")

    def release(self) -> None:
        self.go.touch()


def row(alias: str, result_id: str) -> DBTaskResult:
    return DBTaskResult.objects.using(alias).get(pk=result_id)


@pytest.mark.parametrize(
    "number",
    # SIGHUP: the terminal closed, or a reload. SIGQUIT: as the reference's worker takes it.
    [signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT],
    ids=["SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT"],
)
def test_a_signal_lets_running_tasks_finish_and_hands_back_the_rest(
    backend: DatabaseBackend, start_worker: StartWorker, tmp_path: Path, number: int
) -> None:
    first = add.enqueue(1, 1)  # Quick: once it has run, the worker claims ahead.
    scenario = Scenario(tmp_path)
    queued = [add.enqueue(i, i) for i in range(3)]
    worker = start_worker("--worker-id", "w1")
    scenario.wait_until_started()

    worker.signal(number)
    worker.wait_for_output("Stopping: finishing 1 running task(s).")
    scenario.release()
    assert worker.wait() == 0

    assert backend.get_result(first.id).status == ResultStatus.SUCCEEDED
    assert backend.get_result(scenario.result.id).status == ResultStatus.SUCCEEDED
    for result in queued:  # Claimed ahead of time, never started: put back as they were.
        again = backend.get_result(result.id)
        assert (again.status, again.attempts, again.worker_ids) == (ResultStatus.NEW, 0, [])
    assert "status=0 " in worker.output()
    assert "claimed=5 succeeded=2 failed=0 rejected=0 lost=0 handed_back=3" in worker.output()


def test_a_second_signal_stops_at_once_and_hands_the_running_task_back(
    backend: DatabaseBackend, alias: str, start_worker: StartWorker, tmp_path: Path
) -> None:
    scenario = Scenario(tmp_path)
    worker = start_worker("--worker-id", "w1")
    scenario.wait_until_started()

    worker.signal(signal.SIGTERM)
    worker.wait_for_output("Stopping: finishing 1 running task(s).")
    worker.signal(signal.SIGTERM)
    assert worker.wait(timeout=10) == 1
    assert "Stopping at once: handing 1 task(s) back to the queue." in worker.output()
    assert "second signal" in worker.output()

    handed_back = row(alias, scenario.result.id)
    assert (handed_back.status, handed_back.worker_id, handed_back.lease_expires_at) == (
        "NEW",
        "",
        None,
    )
    assert handed_back.attempts == 1  # It did start: the attempt counts.

    scenario.release()
    assert start_worker("--batch", "--worker-id", "w2").wait() == 0
    result = backend.get_result(scenario.result.id)
    assert (result.status, result.attempts, result.worker_ids) == ("SUCCEEDED", 2, ["w1", "w2"])


def test_a_killed_workers_task_is_retaken_once_its_lease_expires(
    backend: DatabaseBackend, alias: str, start_worker: StartWorker, tmp_path: Path
) -> None:
    scenario = Scenario(tmp_path)
    first = start_worker("--worker-id", "w1", options=SHORT_LEASE)
    scenario.wait_until_started()
    first.process.kill()  # SIGKILL: no chance to clean up.
    first.wait()
    assert row(alias, scenario.result.id).status == "RUNNING"

    scenario.release()
    second = start_worker("--worker-id", "w2", "--interval", "0.1", options=SHORT_LEASE)
    wait_until(lambda: backend.get_result(scenario.result.id).is_finished, timeout=60)
    second.signal(signal.SIGTERM)
    assert second.wait() == 0

    result = backend.get_result(scenario.result.id)
    assert (result.status, result.return_value) == ("SUCCEEDED", "done")
    assert (result.attempts, result.worker_ids) == (2, ["w1", "w2"])
    assert scenario.starts() == 2  # At least once: the first attempt did start.
    assert "Took back tasks whose worker stopped renewing its lease: 1 requeued" in second.output()


def test_a_frozen_worker_that_lost_its_lease_does_not_overwrite_the_new_outcome(
    backend: DatabaseBackend, alias: str, start_worker: StartWorker, tmp_path: Path
) -> None:
    scenario = Scenario(tmp_path)
    frozen = start_worker("--worker-id", "w1", options=SHORT_LEASE)
    scenario.wait_until_started()
    frozen.signal(signal.SIGSTOP)

    second = start_worker("--worker-id", "w2", "--interval", "0.1", options=SHORT_LEASE)
    scenario.wait_until_started(times=2)
    scenario.release()
    wait_until(lambda: backend.get_result(scenario.result.id).is_finished, timeout=60)
    second.signal(signal.SIGTERM)
    assert second.wait() == 0

    frozen.signal(signal.SIGCONT)
    frozen.wait_for_output(
        f"Task lost its lease id={scenario.result.id} path=tests.database.tasks.wait_for "
        f"attempt=1; its outcome was not stored"
    )
    frozen.signal(signal.SIGTERM)
    assert frozen.wait() == 0
    assert "lost=1" in frozen.output()
    result = backend.get_result(scenario.result.id)
    assert (result.status, result.attempts, result.worker_ids) == ("SUCCEEDED", 2, ["w1", "w2"])


KILL_CONNECTIONS = {
    "postgres": (
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
    ),
    "mysql": (
        "SELECT id FROM information_schema.processlist "
        "WHERE db = DATABASE() AND id <> CONNECTION_ID()"
    ),
}


def kill_other_connections(alias: str) -> int:
    """Cut every other connection to the test database, as a database restart would."""
    with connections[alias].cursor() as cursor:
        cursor.execute(KILL_CONNECTIONS[alias])
        killed = cursor.fetchall()
        if alias == "mysql":
            for (connection_id,) in killed:
                cursor.execute(f"KILL {int(connection_id)}")
    return len(killed)


@pytest.mark.databases("postgres", "mysql")
def test_a_worker_survives_losing_its_connection_and_loses_nothing(
    backend: DatabaseBackend, alias: str, start_worker: StartWorker, tmp_path: Path
) -> None:
    scenario = Scenario(tmp_path)
    worker = start_worker("--interval", "0.1")
    scenario.wait_until_started()

    assert kill_other_connections(alias) >= 1  # While the task runs...
    scenario.release()  # ...so its outcome is written after the worker reconnects.
    wait_until(lambda: backend.get_result(scenario.result.id).is_finished, timeout=60)
    assert kill_other_connections(alias) >= 1  # While it is idle.
    later = add.enqueue(20, 22)
    wait_until(lambda: backend.get_result(later.id).is_finished, timeout=60)

    worker.signal(signal.SIGTERM)
    assert worker.wait() == 0
    result = backend.get_result(scenario.result.id)
    assert (result.status, result.attempts) == ("SUCCEEDED", 1)
    assert backend.get_result(later.id).return_value == 42
    assert "Database error on" in worker.output()
    assert "lost=0" in worker.output()


@pytest.mark.databases("postgres")
def test_an_idle_worker_on_postgresql_wakes_on_notify_without_polling(
    backend: DatabaseBackend, start_worker: StartWorker, tmp_path: Path
) -> None:
    worker = start_worker("--interval", "600", "-v2")
    worker.wait_for_output("Listening for new tasks")
    ledger = tmp_path / "ledger"

    result = record.using(queue_name="default").enqueue(str(ledger), "woken")
    # Far sooner than the 600 s poll interval: only the notification can have woken it.
    wait_until(lambda: ledger.exists(), timeout=30, what="the task to run")
    other = record.using(queue_name="elsewhere").enqueue(str(ledger), "not mine")
    worker.signal(signal.SIGTERM)
    assert worker.wait() == 0
    assert backend.get_result(result.id).status == ResultStatus.SUCCEEDED
    assert backend.get_result(other.id).status == ResultStatus.NEW


@pytest.mark.databases("postgres")
def test_a_woken_worker_also_finds_the_tasks_enqueued_right_after_without_notifying(
    backend: DatabaseBackend, start_worker: StartWorker, tmp_path: Path
) -> None:
    worker = start_worker("--interval", "600", "-v2")
    worker.wait_for_output("Listening for new tasks")
    ledger = tmp_path / "ledger"

    # One by one, quickly: most of these skip their notification (see NOTIFY_WINDOW).
    results = [record.enqueue(str(ledger), f"task-{i}") for i in range(30)]
    # Far sooner than the 600 s poll interval: the woken worker looked again on its own.
    wait_until(
        lambda: ledger.exists() and len(ledger.read_text().splitlines()) == 30,
        timeout=30,
        what="all 30 tasks to run",
    )
    worker.signal(signal.SIGTERM)
    assert worker.wait() == 0
    assert {backend.get_result(result.id).status for result in results} == {"SUCCEEDED"}


@pytest.mark.databases("default")
def test_with_reload_the_worker_runs_under_the_autoreloader(
    backend: DatabaseBackend, alias: str, tmp_path: Path
) -> None:
    import json
    import os
    import subprocess
    import sys

    from tests.database.conftest import ROOT, tasks_setting

    log = tmp_path / "worker.log"
    environment = {**os.environ, "DJANGO_TASKS_TEST_TASKS": json.dumps(tasks_setting(alias))}
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "django",
                "db_worker",
                "--settings=tests.worker_settings",
                "--reload",
                "--interval",
                "0.1",
            ],
            cwd=ROOT,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # The reloader runs the worker in a child process.
        )
    try:
        result = add.enqueue(2, 3)
        wait_until(lambda: backend.get_result(result.id).is_finished, timeout=60)
        assert backend.get_result(result.id).return_value == 5
        assert "Worker started" in log.read_text()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


@pytest.mark.databases("default")
def test_a_locked_sqlite_database_delays_the_worker_without_stopping_it(
    backend: DatabaseBackend, alias: str, start_worker: StartWorker
) -> None:
    import sqlite3

    worker = start_worker("--interval", "0.1", env={"DJANGO_TASKS_TEST_SQLITE_TIMEOUT": "0.2"})
    worker.wait_for_output("Worker started")
    result = add.enqueue(1, 1)
    blocker = sqlite3.connect(connections[alias].settings_dict["NAME"], isolation_level=None)
    try:
        blocker.execute("BEGIN EXCLUSIVE")  # Longer than the worker's 0.2 s busy timeout.
        worker.wait_for_output("database is locked")
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    wait_until(lambda: backend.get_result(result.id).is_finished, timeout=60)
    worker.signal(signal.SIGTERM)
    assert worker.wait() == 0
    assert backend.get_result(result.id).return_value == 2


NO_BOUNDS = {  # The worker's connection waits as long as the system lets it.
    "postgres": {"keepalives": 0, "tcp_user_timeout": 0},
    "mysql": {"read_timeout": 3600, "write_timeout": 3600},
}


def start_through(
    path: DeadPath,
    alias: str,
    start_worker: StartWorker,
    options: dict[str, Any],
    **database_options: Any,
) -> WorkerProcess:
    """Start worker w1 in ``path``'s namespace, its connection to ``alias`` going through it."""
    settings = connections[alias].settings_dict
    host, port = path.forward((settings["HOST"], int(settings["PORT"])))
    return start_worker(
        "--worker-id",
        "w1",
        options=options,
        prefix=path.prefix,
        database={"HOST": host, "PORT": port, "OPTIONS": database_options},
    )


def stop_once_finished(worker: WorkerProcess, backend: DatabaseBackend, result_id: str) -> None:
    wait_until(lambda: backend.get_result(result_id).is_finished, timeout=60)
    worker.signal(signal.SIGTERM)
    assert worker.wait() == 0


@pytest.mark.databases("postgres", "mysql")
def test_a_second_signal_stops_a_worker_whose_database_stopped_answering(
    backend: DatabaseBackend, alias: str, start_worker: StartWorker, tmp_path: Path
) -> None:
    scenario = Scenario(tmp_path)
    with dead_path() as path:
        worker = start_through(path, alias, start_worker, SHORT_LEASE, **NO_BOUNDS[alias])
        scenario.wait_until_started()
        path.cut()  # Its next lease renewal (every 0.25 s) waits for an answer that never comes.
        worker.signal(signal.SIGTERM)
        worker.wait_for_output("Received SIGTERM.")  # Two at once would be delivered as one.
        worker.signal(signal.SIGTERM)
        assert worker.wait() == 1  # While the path is still dead.
    assert "the database did not answer" in worker.output()

    # Its task could not be handed back: it is retaken once its lease expires.
    scenario.release()
    second = start_worker("--worker-id", "w2", "--interval", "0.1", options=SHORT_LEASE)
    stop_once_finished(second, backend, scenario.result.id)
    result = backend.get_result(scenario.result.id)
    assert (result.status, result.attempts, result.worker_ids) == ("SUCCEEDED", 2, ["w1", "w2"])


@pytest.mark.databases("postgres", "mysql")
def test_a_worker_notices_a_dead_connection_and_replaces_it_losing_nothing(
    backend: DatabaseBackend, alias: str, start_worker: StartWorker, tmp_path: Path
) -> None:
    scenario = Scenario(tmp_path)
    with dead_path() as path:
        # A lease that outlasts the cut: the task stays this worker's throughout. The worker's
        # own bounds on its connection apply.
        long_lease = {"LEASE_SECONDS": 600, "HEARTBEAT_SECONDS": 1}
        worker = start_through(path, alias, start_worker, long_lease)
        scenario.wait_until_started()
        path.cut()  # Its next lease renewal waits for an answer that never comes...
        worker.wait_for_output("Database error on")  # ...until the worker gives up on it.
        path.restore()
        scenario.release()
        stop_once_finished(worker, backend, scenario.result.id)
    result = backend.get_result(scenario.result.id)
    assert (result.status, result.attempts, result.worker_ids) == ("SUCCEEDED", 1, ["w1"])
    assert "lost=0" in worker.output()


@pytest.mark.databases("postgres", "mysql")
def test_the_worker_bounds_its_own_connection_under_the_projects_options(alias: str) -> None:
    seen: dict[str, dict[str, Any]] = {}

    def worker_thread() -> None:
        connection = connections[alias]
        own = {"connect_timeout": 3}  # As if the project's DATABASES OPTIONS said so.
        connection.settings_dict = {**connection.settings_dict, "OPTIONS": own}
        bound_connection(alias)
        seen["worker"] = connection.settings_dict["OPTIONS"]

    def task_thread() -> None:
        seen["task"] = connections[alias].settings_dict["OPTIONS"]

    for target in (worker_thread, task_thread):
        thread = threading.Thread(target=target)
        thread.start()
        thread.join()

    bounds = {
        "postgres": {
            "keepalives": 1,
            "keepalives_idle": 5,
            "keepalives_interval": 1,
            "keepalives_count": 5,
            "tcp_user_timeout": 10_000,
        },
        "mysql": {"read_timeout": 10, "write_timeout": 10},
    }
    assert seen["worker"] == {**bounds[alias], "connect_timeout": 3}
    assert seen["task"] == connections[alias].settings_dict["OPTIONS"]  # The project's alone.
    assert "connect_timeout" not in seen["task"]


@pytest.mark.databases("default")
def test_on_sqlite_a_worker_whose_clock_is_ahead_runs_deferred_tasks_early_and_retakes_running_ones(
    backend: DatabaseBackend, start_worker: StartWorker, tmp_path: Path
) -> None:
    run_after = timezone.now() + timedelta(hours=1)
    deferred = add.using(run_after=run_after).enqueue(1, 2)
    scenario = Scenario(tmp_path)
    on_time = start_worker("--worker-id", "on-time", "--interval", "0.1")
    scenario.wait_until_started()

    # SQLite's clock is each process's: to this worker, the lease of the running task (30 s,
    # on the other worker's clock) expired long ago, and the deferred task is due.
    ahead = start_worker(
        "--worker-id",
        "ahead",
        "--interval",
        "0.1",
        "--concurrency",
        "2",
        env={"DJANGO_TASKS_TEST_CLOCK_AHEAD": str(2 * 3600)},  # See tests/database/clock.py.
    )
    scenario.wait_until_started(times=2)  # The task runs a second time, beside the first.
    wait_until(lambda: backend.get_result(deferred.id).is_finished, timeout=60)
    assert timezone.now() < run_after  # An hour early.
    scenario.release()
    stop_once_finished(ahead, backend, scenario.result.id)
    on_time.signal(signal.SIGTERM)
    assert on_time.wait() == 0

    result = backend.get_result(scenario.result.id)
    assert (result.status, result.attempts, result.worker_ids) == (
        "SUCCEEDED",
        2,
        ["on-time", "ahead"],
    )
    assert "lost=1" in on_time.output()  # Its late result was discarded.
    early = backend.get_result(deferred.id)
    assert (early.status, early.worker_ids) == ("SUCCEEDED", ["ahead"])
