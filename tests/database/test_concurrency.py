"""Many workers, one queue: every task runs exactly once, on each database."""

import collections
from pathlib import Path

import pytest

from django_tasks.backends.database import DatabaseBackend
from django_tasks.backends.database.models import DBTaskResult
from tests.database.conftest import StartWorker
from tests.database.tasks import record

pytestmark = pytest.mark.transactional

TASKS = 2000
WORKERS = 4


def test_four_workers_run_each_of_2000_tasks_exactly_once(
    backend: DatabaseBackend, alias: str, start_worker: StartWorker, tmp_path: Path
) -> None:
    ledger = tmp_path / "ledger"
    results = backend.bulk_enqueue(record, [((str(ledger), str(i)), {}) for i in range(TASKS)])
    # Two workers run two tasks at once each, to mix concurrency inside and across processes.
    workers = [
        start_worker("--batch", "--worker-id", f"w{n}", "--concurrency", str(1 + n % 2))
        for n in range(WORKERS)
    ]
    for worker in workers:
        assert worker.wait(timeout=120) == 0, worker.output()

    # The ledger is written by the tasks themselves, independently of the queue's bookkeeping.
    runs = collections.Counter(line.split()[0] for line in ledger.read_text().splitlines())
    assert len(runs) == TASKS
    assert set(runs.values()) == {1}
    rows = DBTaskResult.objects.using(alias).filter(pk__in=[result.id for result in results])
    assert set(rows.values_list("status", flat=True)) == {"SUCCEEDED"}
    assert set(rows.values_list("attempts", flat=True)) == {1}
    assert rows.count() == TASKS
    ran = sum(int(worker.output().split(" succeeded=")[1].split()[0]) for worker in workers)
    assert ran == TASKS
