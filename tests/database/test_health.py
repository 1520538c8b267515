"""The health check: ``manage.py db_task_health`` and the health view, and the workers'
heartbeat rows they read."""

import re
import signal
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from django_tasks.backends.database import DatabaseBackend
from django_tasks.backends.database.models import DBWorker
from tests.database.conftest import StartWorker
from tests.database.seeds import seed_task, seed_worker
from tests.helpers import wait_until


def health(*arguments: str) -> tuple[int, str]:
    """Run db_task_health; return its exit status and what it wrote."""
    out = StringIO()
    try:
        call_command("db_task_health", *arguments, stdout=out)
    except CommandError as e:
        return e.returncode, f"{out.getvalue()}{e}"
    return 0, out.getvalue()


def test_a_queue_with_waiting_tasks_and_no_worker_is_unhealthy(
    backend: DatabaseBackend, client: Client
) -> None:
    seed_task(backend, "waiting", available_at=timezone.now() - timedelta(seconds=30))
    status, output = health()
    assert status == 1
    assert "FAIL backend=default queue=mail waiting=1 " in output
    assert (
        "Queue 'mail' of backend 'default' has 1 waiting task(s) and no live worker serves it; "
        "start 'manage.py db_worker --backend default --queue-name mail'."
    ) in output
    response = client.get("/tasks/health/")
    assert response.status_code == 503
    body = response.json()
    assert body["healthy"] is False
    assert [queue["waiting"] for queue in body["queues"]] == [1]


@pytest.mark.parametrize(
    ("queues", "age", "healthy"),
    [
        (["mail"], 0, True),
        (None, 0, True),  # A worker of every queue.
        (["other"], 0, False),
        (["mail"], 120, False),  # Its heartbeat is older than LEASE_SECONDS (30): dead.
    ],
)
def test_a_live_worker_that_serves_the_queue_makes_it_healthy(
    backend: DatabaseBackend, client: Client, queues: list[str] | None, age: float, healthy: bool
) -> None:
    seed_task(backend, "waiting")
    seed_worker(backend, "host:1", queues, age)
    status, output = health()
    assert status == (0 if healthy else 1), output
    assert client.get("/tasks/health/").status_code == (200 if healthy else 503)


@pytest.mark.parametrize(
    ("excluded", "healthy"), [(["mail"], False), (["mail", "other"], False), (["other"], True)]
)
def test_a_worker_of_every_queue_does_not_serve_the_queues_it_excludes(
    backend: DatabaseBackend, client: Client, excluded: list[str], healthy: bool
) -> None:
    """db_worker --queue-name '*' --exclude-queues mail serves every queue but mail."""
    seed_task(backend, "waiting")  # On queue 'mail'.
    seed_worker(backend, "host:1", None, excluded=excluded)
    status, output = health()
    assert status == (0 if healthy else 1), output
    assert client.get("/tasks/health/").status_code == (200 if healthy else 503)


def test_a_task_that_waited_longer_than_max_wait_is_unhealthy(
    backend: DatabaseBackend, client: Client
) -> None:
    seed_task(backend, "old", available_at=timezone.now() - timedelta(seconds=600))
    seed_worker(backend, "host:1", ["mail"])
    status, output = health("--max-wait", "300")
    assert status == 1
    assert "Queue 'mail' of backend 'default': its oldest waiting task has waited 6" in output
    assert "s, more than 300 s." in output
    assert health("--max-wait", "3600")[0] == 0
    assert client.get("/tasks/health/?max_wait=300").status_code == 503
    assert client.get("/tasks/health/?max_wait=3600").status_code == 200


def test_deferred_running_and_finished_tasks_need_no_worker(backend: DatabaseBackend) -> None:
    seed_task(backend, "deferred", available_at=timezone.now() + timedelta(hours=1))
    seed_task(backend, "running", status="RUNNING", worker_id="gone:1")
    seed_task(backend, "done", status="SUCCEEDED", finished_at=timezone.now())
    status, output = health("--max-wait", "0")
    assert status == 0, output
    assert "OK backend=default queue=mail waiting=0 " in output
    assert output.endswith("Healthy: 1 queue(s) with unfinished tasks.\n")


@pytest.mark.databases("default")
def test_bad_arguments_are_refused(backend: DatabaseBackend, client: Client) -> None:
    message = "argument --max-wait: '-1' is invalid; it must be a number of seconds, 0 or more"
    with pytest.raises(CommandError, match=re.escape(message)):
        call_command("db_task_health", "--max-wait", "-1")
    message = "Task backend 'nope' is not defined; TASKS defines ['default']."
    with pytest.raises(CommandError, match=re.escape(message)):
        call_command("db_task_health", "--backend", "nope")
    response = client.get("/tasks/health/?max_wait=soon")
    assert response.status_code == 400
    assert response.content.decode() == (
        "max_wait 'soon' is invalid; it must be a number of seconds, 0 or more."
    )
    assert client.post("/tasks/health/").status_code == 405


@pytest.mark.transactional
def test_a_worker_keeps_a_heartbeat_row_while_it_runs(
    backend: DatabaseBackend, start_worker: StartWorker
) -> None:
    workers = DBWorker.objects.using(backend.database)
    seed_worker(backend, "long-dead:1", None, age=2 * 3600)
    worker = start_worker(
        "--worker-id", "beating:1", "--queue-name", "mail,other", "--concurrency", "2"
    )
    wait_until(lambda: workers.filter(pk="beating:1").exists(), 60, worker.output)
    row = workers.get(pk="beating:1")
    assert (row.backend, row.queues, row.concurrency) == ("default", ["mail", "other"], 2)
    # It swept the row of a worker dead for longer than presence.FORGET_AFTER.
    assert list(workers.values_list("pk", flat=True)) == ["beating:1"]
    seed_task(backend, "waiting")  # Healthy whether the worker has run it yet or not.
    status, output = health()
    assert status == 0, output
    worker.signal(signal.SIGTERM)
    assert worker.wait() == 0, worker.output()
    assert not workers.exists()
    seed_task(backend, "waiting-after")
    assert health()[0] == 1  # No worker serves the queue now.


@pytest.mark.transactional
def test_a_worker_s_heartbeat_row_records_the_queues_it_excludes(
    backend: DatabaseBackend, start_worker: StartWorker
) -> None:
    workers = DBWorker.objects.using(backend.database)
    worker = start_worker(
        "--worker-id", "all-but-mail:1", "--queue-name", "*", "--exclude-queues", "mail"
    )
    wait_until(lambda: workers.filter(pk="all-but-mail:1").exists(), 60, worker.output)
    row = workers.get(pk="all-but-mail:1")
    assert (row.queues, row.excluded_queues) == (None, ["mail"])
    seed_task(backend, "waiting")  # On queue 'mail', which no worker serves.
    status, output = health()
    assert status == 1, output
    assert "no live worker serves it" in output
    worker.signal(signal.SIGTERM)
    assert worker.wait() == 0, worker.output()
