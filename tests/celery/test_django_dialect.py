"""Django 6: a task declared with django.tasks.task runs in a real Celery worker, on each broker,
and its result reads back in Django's dialect. Collected only where Django has django.tasks
(tests/conftest.py)."""

from typing import Any, cast

import pytest
from django.tasks import TaskResultStatus
from django.tasks.base import TaskResult as DjangoTaskResult

from django_tasks.backends.celery import CeleryBackend
from django_tasks.task import TaskResult
from tests.celery.conftest import CeleryWorker, finished
from tests.django6.tasks import explode, multiply

# The worker starts on the test databases (Celery's Django fixup checks the models).
pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)


def test_a_django_task_runs_in_the_worker_and_reads_back_as_django_s(
    backend: CeleryBackend, worker: CeleryWorker
) -> None:
    result = multiply.enqueue(6, 7)
    assert isinstance(result, DjangoTaskResult)
    assert str(result.status) == TaskResultStatus.READY.value

    finished(cast(TaskResult[Any], result))  # Refreshed in place, in its own dialect.

    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == 42
    assert (result.attempts, result.worker_ids, result.errors) == (1, [worker.node], [])
    assert result.last_attempted_at == result.started_at
    fetched = backend.get_result(result.id)
    assert isinstance(fetched, DjangoTaskResult)


def test_a_django_task_s_failure_is_one_entry_of_errors(
    backend: CeleryBackend, worker: CeleryWorker
) -> None:
    failed = explode.enqueue("Out of cheese.")
    finished(cast(TaskResult[Any], failed))
    assert failed.status == TaskResultStatus.FAILED
    (error,) = failed.errors
    assert error.exception_class is ValueError
    assert error.traceback.endswith("ValueError: Out of cheese.\n")
