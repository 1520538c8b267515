"""Enqueueing and reading results: TaskResult, get_result, refresh, call.

The contract (waiting for the commit, a rollback, the settings that change it; the result's
fields, get_result, call) is checked for every shipped backend by the conformance suite; what is
here is what it does not check: this project's messages, nesting, and cases the suite cannot
reach for these backends.
"""

import re
import sys
import types
from datetime import timedelta
from typing import Any

import pytest
from pytest_django import Settings as SettingsWrapper

from django_tasks import ResultStatus, default_task_backend
from django_tasks.backends.dummy import DummyBackend
from django_tasks.exceptions import ResultDoesNotExist
from django_tasks.results import exception_class
from tests import tasks as test_tasks

SUITE = "django_tasks_conformance.tasks"
"""The module of the suite's fixture tasks, which these tests share."""


class TestEnqueue:
    def test_returns_a_new_result(self, dummy: DummyBackend) -> None:
        result = test_tasks.add.enqueue(1, b=2)
        assert result.task is test_tasks.add
        assert result.status == ResultStatus.NEW
        assert result.args == [1]
        assert result.kwargs == {"b": 2}
        assert result.backend == "default"
        assert result.enqueued_at is not None
        assert result.started_at is None
        assert result.finished_at is None
        assert result.attempts == 0
        assert result.worker_ids == []
        assert not result.is_finished

    def test_using_options_reach_the_result(self, dummy: DummyBackend) -> None:
        deferred = test_tasks.add.using(priority=3, run_after=timedelta(hours=1))
        result = deferred.enqueue(1, 2)
        assert result.task.priority == 3
        assert result.task.run_after == deferred.run_after


class TestResultFields:
    def test_return_value_only_once_succeeded(self, dummy: DummyBackend) -> None:
        result = test_tasks.add.enqueue(1, 2)
        message = (
            f"Task has not finished yet: task result {result.id!r} has status NEW; a return value "
            f"exists only once it has SUCCEEDED."
        )
        with pytest.raises(ValueError, match=re.escape(message)):
            result.return_value  # noqa: B018  # The property access is what is tested.

    def test_return_value_of_a_failed_task(self) -> None:
        result = test_tasks.fail.enqueue()
        assert result.status == ResultStatus.FAILED
        with pytest.raises(
            ValueError,
            match=r"^Task failed: task result .* has status FAILED; a return value exists only",
        ):
            result.return_value  # noqa: B018  # The property access is what is tested.

    @pytest.mark.parametrize("attribute", ["exception_class", "traceback"])
    def test_error_fields_only_once_finished(self, dummy: DummyBackend, attribute: str) -> None:
        result = test_tasks.noop.enqueue()
        message = (
            f"Task has not finished yet: task result {result.id!r} has status NEW; {attribute} is "
            f"known only once it has finished."
        )
        with pytest.raises(ValueError, match=re.escape(message)):
            getattr(result, attribute)

    def test_failed_result(self) -> None:
        result = test_tasks.fail.enqueue("Boom.")
        assert result.is_finished
        assert result.exception_class is ValueError
        assert result.traceback is not None
        assert result.traceback.startswith("Traceback (most recent call last):")
        assert result.traceback.endswith("ValueError: Boom.\n")


class TestGetResult:
    def test_another_tasks_id(self, dummy: DummyBackend) -> None:
        result = test_tasks.noop.enqueue()
        message = f"Result {result.id!r} belongs to task '{SUITE}.noop', not to '{SUITE}.add'."
        with pytest.raises(ResultDoesNotExist, match=re.escape(message)):
            test_tasks.add.get_result(result.id)

    def test_using_copy_finds_results_of_the_same_task(self, dummy: DummyBackend) -> None:
        result = test_tasks.add.using(priority=5).enqueue(1, 2)
        assert test_tasks.add.get_result(result.id) == result

    def test_unknown_id(self, dummy: DummyBackend) -> None:
        message = "No task result with id 'nope' in backend 'default'."
        with pytest.raises(ResultDoesNotExist, match=re.escape(message)):
            test_tasks.add.get_result("nope")
        with pytest.raises(ResultDoesNotExist, match=re.escape(message)):
            default_task_backend.get_result("nope")

    def test_backend_without_get_result(self) -> None:
        message = (
            "This backend does not support retrieving or refreshing results. Backend 'default' "
            "(ImmediateBackend) keeps none."
        )
        with pytest.raises(NotImplementedError, match=re.escape(message)):
            default_task_backend.get_result("any")


class TestRefresh:
    def test_refresh_reloads_from_the_backend(self, dummy: DummyBackend) -> None:
        result = test_tasks.add.enqueue(1, 2)
        stored = dummy.get_result(result.id)
        copy = type(result)(
            task=result.task,
            id=result.id,
            status=result.status,
            enqueued_at=None,
            started_at=None,
            finished_at=None,
            args=result.args,
            kwargs=result.kwargs,
            backend=result.backend,
        )
        stored._update(status=ResultStatus.SUCCEEDED, _return_value=3)
        copy.refresh()
        assert copy.status == ResultStatus.SUCCEEDED
        assert copy.return_value == 3
        assert copy.enqueued_at == stored.enqueued_at

    async def test_arefresh(self, dummy: DummyBackend) -> None:
        result = test_tasks.add.enqueue(1, 2)
        dummy.results[0]._update(status=ResultStatus.RUNNING)
        assert [result.status] == [ResultStatus.NEW]  # A list: mypy keeps no narrowing.
        await result.arefresh()
        assert result.status == ResultStatus.RUNNING

    def test_the_dummy_backend_returns_a_copy_of_what_it_stores(self, dummy: DummyBackend) -> None:
        """Django's and the reference's DummyBackend do: changing one leaves the other."""
        result = test_tasks.add.enqueue(1, 2)
        stored = dummy.results[0]
        assert result == stored
        assert result is not stored
        assert result.task is test_tasks.add
        stored._update(status=ResultStatus.SUCCEEDED, _return_value=3)
        result.args.append(4)
        assert [result.status] == [ResultStatus.NEW]  # A list: mypy keeps no narrowing.
        assert stored.args == [1, 2]
        result.refresh()
        assert result.status == ResultStatus.SUCCEEDED

    def test_update_refuses_unknown_fields(self, dummy: DummyBackend) -> None:
        result = test_tasks.noop.enqueue()
        with pytest.raises(
            TypeError, match=re.escape("TaskResult fields ['args'] cannot be updated.")
        ):
            result._update(args=[1])


class TestCall:
    def test_call_raises_like_the_function(self) -> None:
        with pytest.raises(ValueError, match=r"^Direct\.$"):
            test_tasks.fail.call("Direct.")


def test_backend_flags(settings: SettingsWrapper) -> None:
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"},
        "dummy": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"},
    }
    from django_tasks import tasks

    immediate, dummy = tasks["default"], tasks["dummy"]
    assert (
        immediate.supports_defer,
        immediate.supports_async_task,
        immediate.supports_get_result,
        immediate.supports_priority,
    ) == (False, True, False, True)
    assert (
        dummy.supports_defer,
        dummy.supports_async_task,
        dummy.supports_get_result,
        dummy.supports_priority,
    ) == (True, True, False, True)


def test_a_stored_exception_class_is_the_one_its_module_holds_now(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A module re-imported (a reload, a second conformance run in one process) holds a new
    class: a result read afterwards names that one, not the class a cache kept."""
    module = types.ModuleType("tests.redefined_errors")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    path = f"{module.__name__}.Oops"
    for _ in range(2):
        module.Oops = type("Oops", (Exception,), {"__module__": module.__name__})  # type: ignore[attr-defined]  # Defined here.
        assert exception_class(path) is module.Oops


def test_a_missing_exception_class_always_has_the_same_stand_in() -> None:
    stand_in: Any = exception_class("tests.no_such_module.Gone")
    assert exception_class("tests.no_such_module.Gone") is stand_in
    assert (stand_in.__module__, stand_in.__name__) == ("tests.no_such_module", "Gone")
