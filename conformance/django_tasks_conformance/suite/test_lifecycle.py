"""Retries and cancellation, for backends that declare supports_retries or supports_cancel.

Every requirement here belongs to this project's dialect: its names are imported in the tests,
so that the module imports where only django.tasks is installed (the kit beside a backend of
Django's dialect)."""

import re

import pytest

from django_tasks_conformance import clause, needs, requirement
from django_tasks_conformance.observe import latest
from django_tasks_conformance.plugin import Suite
from django_tasks_conformance.tasks import add


@requirement("TASK-RETRY-001", "TASK-RETRY-002")
@needs("execution", "get_result")
def test_a_task_that_fails_twice_then_succeeds_keeps_its_result_and_both_errors(
    suite: Suite,
) -> None:
    # Imported here: only this project's dialect has these names (the kit runs without it).
    from django_tasks import ResultStatus

    # Imported here: only backends with supports_retries can declare these tasks.
    from django_tasks_conformance.retry_tasks import fails_until

    result = fails_until.enqueue(3)
    suite.run()
    done = suite.backend.get_result(result.id)
    with clause("TASK-RETRY-001"):
        assert done.id == result.id
        assert (done.status, done.return_value) == (ResultStatus.SUCCEEDED, 3)
    with clause("TASK-RETRY-002"):
        assert done.attempts == 3
        assert len(done.worker_ids) == 3
        assert [error.exception_class for error in done.errors] == [ValueError, ValueError]


@requirement("TASK-RETRY-003")
@needs("execution", "get_result")
def test_a_task_fails_only_after_its_last_attempt(suite: Suite) -> None:
    # Imported here: only backends with supports_retries can declare these tasks.
    from django_tasks_conformance.retry_tasks import fails_until

    result = fails_until.enqueue(10)
    suite.run()
    done = suite.backend.get_result(result.id)
    with clause("TASK-RETRY-003"):
        assert (done.status, done.attempts, done.exception_class) == ("FAILED", 3, ValueError)
        assert len(done.errors) == 3


@requirement("TASK-RETRY-004")
@needs("execution", "get_result")
def test_a_task_that_raises_retry_task_runs_again(suite: Suite) -> None:
    # Imported here: only this project's dialect has these names (the kit runs without it).
    from django_tasks.exceptions import RetryTask

    # Imported here: only backends with supports_retries can declare these tasks.
    from django_tasks_conformance.retry_tasks import asks_for_a_retry

    result = asks_for_a_retry.enqueue()
    suite.run()
    done = suite.backend.get_result(result.id)
    with clause("TASK-RETRY-004"):
        assert (done.status, done.return_value, done.attempts) == ("SUCCEEDED", 2, 2)
        assert [error.exception_class for error in done.errors] == [RetryTask]


@requirement("TASK-RETRY-007")
@needs("execution")
def test_a_backend_without_retries_runs_a_task_once_whatever_its_retry_options(
    suite: Suite,
) -> None:
    # Imported here: only this project's dialect has these names (the kit runs without it).
    from django_tasks.exceptions import RetryTask

    # Imported here: declaring tasks with retry options needs this project's dialect.
    from django_tasks_conformance.retry_tasks import asks_for_a_retry, fails_until

    failed = fails_until.enqueue(3)  # Would succeed on its third attempt, if retried.
    asked = asks_for_a_retry.enqueue()  # Would succeed on its second.
    suite.run()
    with clause("TASK-RETRY-007"):
        for result, exception in ((failed, ValueError), (asked, RetryTask)):
            result = latest(suite, result)
            assert (result.status, result.attempts) == ("FAILED", 1)
            assert [error.exception_class for error in result.errors] == [exception]


@requirement("TASK-CANCEL-001")
@needs("held", "get_result")
def test_a_cancelled_waiting_task_never_runs(suite: Suite) -> None:
    # Imported here: only this project's dialect has these names (the kit runs without it).
    from django_tasks.exceptions import TaskCancelled

    result = add.enqueue(1, 2)
    result.cancel()
    suite.run()
    done = suite.backend.get_result(result.id)
    with clause("TASK-CANCEL-001"):
        assert (done.status, done.attempts, done.exception_class) == ("FAILED", 0, TaskCancelled)
        assert done.is_cancelled


@requirement("TASK-CANCEL-004")
@needs("execution", "get_result")
def test_cancelling_a_finished_task_is_an_error(suite: Suite) -> None:
    # Imported here: only this project's dialect has these names (the kit runs without it).
    from django_tasks.exceptions import TaskFinishedError

    result = add.enqueue(1, 2)
    suite.run()
    with clause("TASK-CANCEL-004"), pytest.raises(TaskFinishedError, match=re.escape(result.id)):
        suite.backend.cancel(result.id)


@requirement("TASK-CANCEL-005")
def test_a_backend_that_cannot_cancel_says_so(suite: Suite) -> None:
    result = add.enqueue(1, 2)
    with clause("TASK-CANCEL-005"), pytest.raises(NotImplementedError):
        suite.backend.cancel(result.id)
