"""The DummyBackend and the ImmediateBackend."""

import threading
from typing import Any

import pytest

from django_tasks import ResultStatus, task
from django_tasks.backends.dummy import DummyBackend
from django_tasks.exceptions import InvalidReturnValueError
from tests import tasks as test_tasks

threads_seen: list[int] = []


@task
def record_thread() -> None:
    threads_seen.append(threading.get_ident())


class TestDummyBackend:
    def test_stores_results_and_runs_nothing(self, dummy: DummyBackend) -> None:
        first = test_tasks.fail.enqueue()
        second = test_tasks.noop_async.enqueue()
        assert dummy.results == [first, second]
        assert first.status == ResultStatus.NEW
        assert first.started_at is None

    def test_clear(self, dummy: DummyBackend) -> None:
        test_tasks.noop.enqueue()
        dummy.clear()
        assert dummy.results == []

    def test_accepts_deferred_and_async_tasks(self, dummy: DummyBackend) -> None:
        from datetime import timedelta

        result = test_tasks.noop_async.using(run_after=timedelta(days=1)).enqueue()
        assert result.task.run_after is not None
        assert dummy.results == [result]

    def test_results_are_per_backend_instance(self, dummy: DummyBackend) -> None:
        test_tasks.noop.enqueue()
        other = DummyBackend("other", {})
        assert other.results == []


class TestImmediateBackend:
    def test_runs_in_the_current_thread(self) -> None:
        threads_seen.clear()
        record_thread.enqueue()
        assert threads_seen == [threading.get_ident()]

    def test_records_timestamps_in_order(self) -> None:
        result = test_tasks.add.enqueue(1, 2)
        assert result.enqueued_at is not None
        assert result.started_at is not None
        assert result.finished_at is not None
        assert result.enqueued_at <= result.started_at <= result.finished_at
        assert result.attempts == 1
        assert len(result.worker_ids) == 1

    def test_runs_async_tasks(self) -> None:
        result = test_tasks.add_async.enqueue(2, 5)
        assert result.status == ResultStatus.SUCCEEDED
        assert result.return_value == 7

    def test_async_failure(self) -> None:
        result = test_tasks.fail_async.enqueue("Async boom.")
        assert result.status == ResultStatus.FAILED
        assert result.exception_class is ValueError
        assert result.traceback is not None
        assert "ValueError: Async boom." in result.traceback

    async def test_runs_async_tasks_from_async_code(self) -> None:
        result = await test_tasks.add_async.aenqueue(3, 4)
        assert result.return_value == 7

    def test_failure_never_escapes_to_the_caller(self) -> None:
        result = test_tasks.fail.enqueue()
        assert result.status == ResultStatus.FAILED

    def test_system_exit_is_a_failure(self) -> None:
        result = test_tasks.exit_task.enqueue()
        assert result.status == ResultStatus.FAILED
        assert result.exception_class is SystemExit

    def test_keyboard_interrupt_escapes(self) -> None:
        with pytest.raises(KeyboardInterrupt):
            test_tasks.interrupt_task.enqueue()

    def test_non_json_return_value_fails_the_task(self) -> None:
        result = test_tasks.return_datetime.enqueue()
        assert result.status == ResultStatus.FAILED
        assert result.exception_class is InvalidReturnValueError
        assert result.traceback is not None
        assert "InvalidReturnValueError: Return value of task tests.tasks.return_datetime is " in (
            result.traceback
        )
        with pytest.raises(ValueError, match="has status FAILED"):
            result.return_value  # noqa: B018  # The property access is what is tested.

    def test_arguments_reach_the_function_as_json(self) -> None:
        result = test_tasks.echo.enqueue((1, 2), flag=True)
        value: Any = result.return_value
        assert value == {"args": [[1, 2]], "kwargs": {"flag": True}}
