"""The Prometheus metrics: the queue's figures at the metrics view, a worker's counters at
``db_worker --metrics-port``."""

import signal
import socket
import sys
import urllib.request
from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from django.utils import timezone

from django_tasks.backends.database import DatabaseBackend
from tests.database.conftest import StartWorker
from tests.database.seeds import seed_task, seed_worker
from tests.helpers import wait_until
from tests.tasks import add, fail


def test_the_metrics_view_shows_the_queue(backend: DatabaseBackend, client: Client) -> None:
    now = timezone.now()
    seed_task(backend, "w1", available_at=now - timedelta(seconds=90))
    seed_task(backend, "w2")
    seed_task(backend, "d1", available_at=now + timedelta(hours=1), task_path="tests.tasks.add")
    seed_task(backend, "r1", status="RUNNING", worker_id="host:1", queue="bulk")
    for number, status in enumerate(["SUCCEEDED", "SUCCEEDED", "FAILED"]):
        seed_task(backend, f"f{number}", status=status, started_at=now, finished_at=now)
    seed_worker(backend, "host:1", None)
    seed_worker(backend, "host:2", ["mail"], age=600)
    response = client.get("/tasks/metrics/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    lines = set(response.content.decode().splitlines())
    mail, bulk = 'backend="default",queue="mail"', 'backend="default",queue="bulk"'
    for line in [  # Labels in alphabetical order, as prometheus_client writes them.
        f'django_tasks_tasks{{{mail},status="waiting",task="tests.tasks.noop"}} 2.0',
        f'django_tasks_tasks{{{mail},status="deferred",task="tests.tasks.noop"}} 0.0',
        f'django_tasks_tasks{{{mail},status="deferred",task="tests.tasks.add"}} 1.0',
        f'django_tasks_tasks{{{bulk},status="running",task="tests.tasks.noop"}} 1.0',
        'django_tasks_finished_recent{backend="default",queue="mail",status="SUCCEEDED"} 2.0',
        'django_tasks_finished_recent{backend="default",queue="mail",status="FAILED"} 1.0',
        'django_tasks_workers{backend="default",state="live"} 1.0',
        'django_tasks_workers{backend="default",state="dead"} 1.0',
    ]:
        assert line in lines, line
    assert f"django_tasks_oldest_waiting_seconds{{{bulk}}} 0.0" in lines
    prefix = f"django_tasks_oldest_waiting_seconds{{{mail}}} "
    oldest = next(line for line in lines if line.startswith(prefix))
    assert 90 <= float(oldest.removeprefix(prefix)) < 3600


def free_port() -> int:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        return int(listener.getsockname()[1])


@pytest.mark.transactional
@pytest.mark.databases("postgres")
def test_a_worker_serves_its_counters(backend: DatabaseBackend, start_worker: StartWorker) -> None:
    add.enqueue(1, 2)
    add.enqueue(3, 4)
    failed = fail.enqueue("Boom")
    port = free_port()
    worker = start_worker("--metrics-port", str(port), "--interval", "0.2")

    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def scrape() -> str:
        """The worker's metrics, or "" until it serves them."""
        try:
            with direct.open(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
                return str(response.read().decode())
        except OSError:
            return ""

    labels = 'backend="default",queue="default"'
    done = f'django_tasks_finished_total{{{labels},status="FAILED",task="{fail.module_path}"}} 1.0'
    wait_until(lambda: done in scrape(), 60, worker.output)
    text = scrape()
    assert (
        f'django_tasks_finished_total{{{labels},status="SUCCEEDED",task="{add.module_path}"}} 2.0'
    ) in text
    assert f'django_tasks_run_seconds_count{{{labels},task="{add.module_path}"}} 2.0' in text
    failed.refresh()
    assert failed.status == "FAILED"
    worker.signal(signal.SIGTERM)
    assert worker.wait() == 0, worker.output()


@pytest.mark.databases("default")
def test_without_prometheus_client_the_view_says_what_to_install(
    backend: DatabaseBackend, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "prometheus_client", None)  # As if not installed.
    with pytest.raises(ImproperlyConfigured) as raised:
        client.get("/tasks/metrics/")
    assert str(raised.value) == (
        "The metrics view needs prometheus_client (import of prometheus_client halted; None "
        "in sys.modules); install the 'prometheus' extra: "
        "pip install 'django-tasks-spec[prometheus]'."
    )
