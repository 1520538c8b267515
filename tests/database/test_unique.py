"""Unique tasks on the database backend: one live task per key, race-free across processes."""

import json
import os
import subprocess
import sys
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.db import transaction

from django_tasks.backends.database import DatabaseBackend
from django_tasks.backends.database.models import DBTaskResult
from django_tasks.backends.database.queries import queries_for
from django_tasks.exceptions import InvalidTaskError
from django_tasks.task import ResultStatus
from tests.database.conftest import ROOT, tasks_setting
from tests.database.tasks import record, sleep


def rows(backend: DatabaseBackend) -> Any:
    return DBTaskResult.objects.using(backend.database)


def test_a_second_enqueue_with_the_key_returns_the_waiting_task(backend: DatabaseBackend) -> None:
    first = record.using(unique_key="report-7").enqueue("/dev/null", "a")
    second = record.using(unique_key="report-7").enqueue("/dev/null", "b")

    assert second.id == first.id
    assert second.args == ["/dev/null", "a"]
    assert second.status == ResultStatus.NEW
    assert list(rows(backend).values_list("unique_key", flat=True)) == ["report-7"]


def test_keys_are_per_task_and_per_key(backend: DatabaseBackend) -> None:
    ids = {
        record.using(unique_key="a").enqueue("/dev/null").id,
        record.using(unique_key="b").enqueue("/dev/null").id,
        sleep.using(unique_key="a").enqueue(0).id,
        record.enqueue("/dev/null").id,
        record.enqueue("/dev/null").id,
    }
    assert len(ids) == 5


@pytest.mark.parametrize("status", [ResultStatus.SUCCEEDED, ResultStatus.FAILED])
def test_the_key_frees_when_the_task_finishes(backend: DatabaseBackend, status: str) -> None:
    first = record.using(unique_key="k").enqueue("/dev/null")
    rows(backend).filter(pk=first.id).update(status=status)

    second = record.using(unique_key="k").enqueue("/dev/null")

    assert second.id != first.id


@pytest.mark.parametrize(("while_running", "same"), [(False, False), (True, True)])
def test_a_running_task_holds_its_key_only_with_unique_while_running(
    backend: DatabaseBackend, while_running: bool, same: bool
) -> None:
    unique = record.using(unique_key="k", unique_while_running=while_running)
    first = unique.enqueue("/dev/null")
    rows(backend).filter(pk=first.id).update(status=ResultStatus.RUNNING)

    assert (unique.enqueue("/dev/null").id == first.id) is same


def test_a_task_handed_back_while_another_waits_with_its_key_runs_again_without_it(
    backend: DatabaseBackend,
) -> None:
    unique = record.using(unique_key="k")
    first = unique.enqueue("/dev/null")
    rows(backend).filter(pk=first.id).update(
        status=ResultStatus.RUNNING, worker_id="w", attempts=1, worker_ids=["w"]
    )
    second = unique.enqueue("/dev/null")
    queries = queries_for(backend.database)

    with queries.cursor() as cursor:
        assert queries.release(cursor, worker_id="w", ids=[first.id], started=True) == 1

    keys = dict(rows(backend).values_list("id", "unique_key"))
    assert {str(pk): key for pk, key in keys.items()} == {first.id: None, second.id: "k"}
    assert set(rows(backend).values_list("status", flat=True)) == {ResultStatus.NEW}


def test_a_task_handed_back_keeps_its_key_when_no_other_waits(backend: DatabaseBackend) -> None:
    first = record.using(unique_key="k").enqueue("/dev/null")
    rows(backend).filter(pk=first.id).update(
        status=ResultStatus.RUNNING, worker_id="w", attempts=1, worker_ids=["w"]
    )
    queries = queries_for(backend.database)

    with queries.cursor() as cursor:
        queries.release(cursor, worker_id="w", ids=[first.id], started=True)

    assert list(rows(backend).values_list("unique_key", flat=True)) == ["k"]
    assert record.using(unique_key="k").enqueue("/dev/null").id == first.id


def test_a_refused_key_leaves_the_callers_transaction_usable(backend: DatabaseBackend) -> None:
    first = record.using(unique_key="k").enqueue("/dev/null")
    with transaction.atomic(using=backend.database):
        assert record.using(unique_key="k").enqueue("/dev/null").id == first.id
        other = record.enqueue("/dev/null")
    assert rows(backend).count() == 2
    assert rows(backend).filter(pk=other.id).exists()


def test_aenqueue_returns_the_waiting_task(backend: DatabaseBackend) -> None:
    unique = record.using(unique_key="k")
    first = async_to_sync(unique.aenqueue)("/dev/null")
    assert async_to_sync(unique.aenqueue)("/dev/null").id == first.id


def test_bulk_enqueue_refuses_a_unique_task(backend: DatabaseBackend) -> None:
    with pytest.raises(
        InvalidTaskError,
        match=r"Task tests\.database\.tasks\.record is unique \(unique_key 'k'\); a key holds "
        r"for one task, so enqueue it with enqueue\(\), not bulk_enqueue\(\)\.",
    ):
        backend.bulk_enqueue(record.using(unique_key="k"), [(("/dev/null",), {})])


PROCESSES = 8
ENQUEUES = 1000


@pytest.mark.transactional
def test_eight_processes_enqueueing_one_key_leave_one_waiting_task(
    backend: DatabaseBackend, alias: str
) -> None:
    environment = {**os.environ, "DJANGO_TASKS_TEST_TASKS": json.dumps(tasks_setting(alias))}
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.database.enqueue_unique", str(ENQUEUES), "shared"],
            cwd=ROOT,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    outputs = [process.communicate(timeout=600) for process in processes]

    assert [process.returncode for process in processes] == [0] * PROCESSES, outputs
    ids = {result_id for stdout, _ in outputs for result_id in stdout.split()}
    assert len(ids) == 1
    assert [str(pk) for pk in rows(backend).values_list("pk", flat=True)] == list(ids)
