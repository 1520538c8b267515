"""Retries and cancellation in Django's dialect: Django 6.1's @task passes our options on, and
results read back as Django's (READY, SUCCESSFUL, errors)."""

from functools import partial

import pytest
from django.tasks import TaskResultStatus

from django_tasks.backends.database import DatabaseBackend
from tests.database.conftest import StartWorker
from tests.django6.extension_tasks import flaky_django
from tests.django6.tasks import multiply
from tests.helpers import wait_until

pytestmark = pytest.mark.transactional


def is_finished(backend: DatabaseBackend, result_id: str) -> bool:
    return bool(backend.get_result(result_id).is_finished)


def test_a_django_task_retried_twice_ends_successful_with_two_errors(
    backend: DatabaseBackend, start_worker: StartWorker
) -> None:
    assert (flaky_django.max_attempts, flaky_django.retry_on) == (3, (ValueError,))
    result = flaky_django.enqueue(2)
    worker = start_worker("--worker-id", "w1", "--interval", "0.05")
    wait_until(partial(is_finished, backend, result.id), 30, worker.output)
    worker.process.terminate()
    assert worker.wait() == 0
    result.refresh()
    assert (result.status, result.return_value, result.attempts) == (
        TaskResultStatus.SUCCESSFUL,
        3,
        3,
    )
    assert [error.exception_class for error in result.errors] == [ValueError, ValueError]


def test_a_cancelled_django_task_is_failed_with_a_task_cancelled_error(
    backend: DatabaseBackend,
) -> None:
    result = multiply.enqueue(2, 3)
    assert result.status == TaskResultStatus.READY
    result.cancel()  # type: ignore[attr-defined]  # Our results' extension of Django's.
    assert str(result.status) == TaskResultStatus.FAILED  # Changed by cancel().
    assert [e.exception_class_path for e in result.errors] == [
        "django_tasks.exceptions.TaskCancelled"
    ]
    assert result.is_cancelled  # type: ignore[attr-defined]  # Ours.
