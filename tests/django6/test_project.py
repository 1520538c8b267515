"""A Django 6 project that speaks only django.tasks, on our DatabaseBackend with real db_worker
processes, on SQLite, PostgreSQL and MariaDB; and the same project speaking our 0.6.1 API on the
same alias and the same rows."""

from typing import cast

import pytest
from django.core.management import call_command
from django.tasks import Task, TaskResultStatus, default_task_backend, task_backends
from django.tasks.base import TaskResult as DjangoTaskResult
from django.tasks.exceptions import TaskResultDoesNotExist, TaskResultMismatch

import django_tasks
from django_tasks import ResultStatus
from django_tasks.backends.database import DatabaseBackend
from django_tasks.backends.database.models import DBTaskResult
from django_tasks.exceptions import ResultDoesNotExist, TaskTimeoutError
from tests.database.conftest import StartWorker
from tests.django6.extension_tasks import overrun
from tests.django6.tasks import attempt_number, explode, multiply, plain_multiply
from tests.tasks import add

pytestmark = pytest.mark.transactional


def test_django_tasks_run_on_our_database_backend_and_read_back_as_django_s(
    alias: str, backend: DatabaseBackend, start_worker: StartWorker
) -> None:
    assert default_task_backend.alias == "default"
    assert task_backends["default"] is cast(object, backend)
    done = multiply.enqueue(6, 7)
    failed = explode.enqueue("Boom")
    context = attempt_number.enqueue("x")
    plain = cast("Task[[int, int], int]", plain_multiply).enqueue(2, 5)
    assert isinstance(done, DjangoTaskResult)
    assert str(done.status) == TaskResultStatus.READY.value
    assert (done.attempts, done.worker_ids, done.errors) == (0, [], [])
    assert done.last_attempted_at is None

    worker = start_worker("--batch", "--worker-id", "worker-1")
    assert worker.wait() == 0, worker.output()

    done.refresh()
    assert done.status == TaskResultStatus.SUCCESSFUL
    assert done.return_value == 42
    assert (done.attempts, done.worker_ids, done.errors) == (1, ["worker-1"], [])
    assert done.last_attempted_at == done.started_at
    assert done.started_at is not None
    failed.refresh()
    assert failed.status == TaskResultStatus.FAILED
    (error,) = failed.errors
    assert error.exception_class is ValueError
    assert "ValueError: Boom" in error.traceback
    context.refresh()
    assert context.return_value == {"attempt": 1, "id": context.id, "label": "x"}
    fetched = task_backends["default"].get_result(plain.id)
    assert isinstance(fetched, DjangoTaskResult)
    assert (fetched.status, fetched.return_value) == (TaskResultStatus.SUCCESSFUL, 10)

    with pytest.raises(TaskResultMismatch):
        multiply.get_result(failed.id)
    with pytest.raises(TaskResultDoesNotExist):
        multiply.get_result("00000000-0000-7000-8000-000000000000")


def test_the_same_project_uses_the_0_6_1_api_on_the_same_alias_and_rows(
    alias: str, backend: DatabaseBackend, start_worker: StartWorker
) -> None:
    assert django_tasks.tasks["default"] is cast(object, task_backends["default"])
    legacy = add.enqueue(1, 2)
    current = multiply.enqueue(3, 3)
    assert legacy.status == ResultStatus.NEW
    assert DBTaskResult.objects.using(alias).count() == 2

    worker = start_worker("--batch")
    assert worker.wait() == 0, worker.output()

    legacy.refresh()
    assert (legacy.status, legacy.return_value) == (ResultStatus.SUCCEEDED, 3)
    assert legacy.last_attempted_at == legacy.started_at
    # A result is of its task's dialect, whichever API reads the row.
    assert django_tasks.default_task_backend.get_result(current.id).status == "SUCCESSFUL"
    assert str(task_backends["default"].get_result(legacy.id).status) == "SUCCEEDED"
    with pytest.raises(ResultDoesNotExist):  # 0.6.1 code catches another task's result so.
        add.get_result(current.id)

    call_command("prune_db_task_results", "--min-age-days", "0", verbosity=0)
    assert DBTaskResult.objects.using(alias).count() == 0


def test_a_django_task_past_its_timeout_is_killed_and_reads_back_with_the_timeout_error(
    backend: DatabaseBackend, start_worker: StartWorker
) -> None:
    late = overrun.enqueue(60)
    worker = start_worker("--pool", "process", "--batch")
    assert worker.wait() == 0, worker.output()
    result = overrun.get_result(late.id)
    assert str(result.status) == TaskResultStatus.FAILED.value
    (error,) = result.errors
    assert error.exception_class is TaskTimeoutError
    assert issubclass(error.exception_class, TimeoutError)
