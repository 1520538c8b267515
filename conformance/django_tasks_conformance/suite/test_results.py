"""Task results: their fields, statuses, timestamps, return values and errors."""

import asyncio
import dataclasses
from datetime import datetime
from typing import Any

import pytest
from django.test.utils import override_settings
from django.utils import timezone

from django_tasks_conformance import clause, needs, requirement
from django_tasks_conformance.dialect import words
from django_tasks_conformance.observe import captured, latest
from django_tasks_conformance.plugin import Suite
from django_tasks_conformance.tasks import (
    TaskFailedError,
    add,
    echo,
    exit_task,
    fail,
    fail_own,
    noop,
    return_set,
    return_tuple,
)

w = words()
"""The words of the dialect the backend under test speaks."""

FIELDS = (
    "task",
    "id",
    "status",
    "args",
    "kwargs",
    "backend",
    "enqueued_at",
    "started_at",
    "finished_at",
    "is_finished",
)

DJANGO_FIELDS = ("last_attempted_at", "errors", "worker_ids", "attempts")
"""What a result has in Django's dialect besides FIELDS."""


def _aware(value: datetime | None) -> bool:
    return value is not None and timezone.is_aware(value)


@requirement("TASK-RESULT-001", "TASK-RESULT-006", "TASK-STATUS-001")
def test_a_result_exposes_its_fields(suite: Suite) -> None:
    result = add.enqueue(1, 2)
    if suite.holds_to("TASK-RESULT-001"):
        with clause("TASK-RESULT-001"):
            for name in FIELDS:
                getattr(result, name)
            for name in ("return_value", "exception_class", "traceback"):
                assert isinstance(getattr(w.TaskResult, name), property), name
    if suite.holds_to("TASK-RESULT-006"):
        with clause("TASK-RESULT-006"):
            for name in (*FIELDS, *DJANGO_FIELDS):
                getattr(result, name)
            assert isinstance(result.errors, list)
            assert isinstance(result.worker_ids, list)
            assert isinstance(w.TaskResult.return_value, property)
    with clause("TASK-STATUS-001"):
        assert isinstance(result.status, w.Status)
        assert result.status in set(w.Status)


@requirement("TASK-RESULT-002")
def test_a_result_is_read_only(suite: Suite) -> None:
    result = add.enqueue(1, 2)
    for name, value in (("status", w.SUCCEEDED), ("args", []), ("id", "other")):
        with (
            clause("TASK-RESULT-002"),
            pytest.raises((AttributeError, dataclasses.FrozenInstanceError)),
        ):
            setattr(result, name, value)


@requirement(
    "TASK-STATUS-002",
    "TASK-TIME-004",
    "TASK-RESULT-003",
    "TASK-RETURN-002",
    "TASK-ERROR-003",
    "TASK-ERROR-008",
    "TASK-RESULT-007",
    "TASK-RESULT-008",
)
@needs("waiting")
def test_a_waiting_result_is_new(suite: Suite) -> None:
    result = add.enqueue(1, 2)
    current = latest(suite, result)
    with clause("TASK-STATUS-002"):
        assert current.status == w.NEW
    with clause("TASK-TIME-004"):
        assert current.started_at is None
        assert current.finished_at is None
    with clause("TASK-RESULT-003"):
        assert current.is_finished is False
    with clause("TASK-RETURN-002"), pytest.raises(ValueError):  # noqa: PT011  # The contract fixes the type; messages vary.
        current.return_value  # noqa: B018  # The property raises.
    if suite.holds_to("TASK-ERROR-003"):
        with clause("TASK-ERROR-003"), pytest.raises(ValueError):  # noqa: PT011  # The contract fixes the type; messages vary.
            w.exception_class(current)
        with clause("TASK-ERROR-003"), pytest.raises(ValueError):  # noqa: PT011  # The contract fixes the type; messages vary.
            w.traceback(current)
    if suite.holds_to("TASK-ERROR-008"):
        with clause("TASK-ERROR-008"):
            assert list(current.errors) == []
        with clause("TASK-RESULT-007"):
            assert list(current.worker_ids) == []
            assert current.attempts == 0
        with clause("TASK-RESULT-008"):
            assert current.last_attempted_at is None


@requirement(
    "TASK-STATUS-004",
    "TASK-RETURN-001",
    "TASK-RESULT-003",
    "TASK-ERROR-003",
    "TASK-ERROR-008",
    "TASK-STATUS-001",
)
@needs("execution")
def test_a_task_that_returns_succeeds_with_its_return_value(suite: Suite) -> None:
    result = add.enqueue(1, 2)
    suite.run()
    current = latest(suite, result)
    with clause("TASK-STATUS-004"):
        assert current.status == w.SUCCEEDED
    with clause("TASK-STATUS-001"):
        assert isinstance(current.status, w.Status)
    with clause("TASK-RETURN-001"):
        assert current.return_value == 3
    with clause("TASK-RESULT-003"):
        assert current.is_finished is True
    if suite.holds_to("TASK-ERROR-003"):
        with clause("TASK-ERROR-003"):
            assert w.exception_class(current) is None
            assert w.traceback(current) is None
    if suite.holds_to("TASK-ERROR-008"):
        with clause("TASK-ERROR-008"):
            assert list(current.errors) == []


@requirement("TASK-RETURN-001")
@needs("execution")
def test_the_return_value_is_json_data(suite: Suite) -> None:
    result = return_tuple.enqueue()
    suite.run()
    current = latest(suite, result)
    with clause("TASK-RETURN-001"):
        assert current.status == w.SUCCEEDED
        value: object = current.return_value  # Typed as the function's tuple; JSON makes a list.
        assert value == [1, 2]
        assert type(value) is list


@requirement("TASK-RETURN-003")
@needs("execution")
def test_a_return_value_that_is_not_json_fails_the_task(suite: Suite) -> None:
    # Imported here: the requirement is our dialect's, whose package has the class.
    from django_tasks.exceptions import InvalidReturnValueError

    result = return_set.enqueue()
    suite.run()
    current = latest(suite, result)
    with clause("TASK-RETURN-003"):
        assert current.status == w.FAILED
        assert w.exception_class(current) is InvalidReturnValueError


@requirement(
    "TASK-STATUS-004",
    "TASK-ERROR-001",
    "TASK-ERROR-002",
    "TASK-ERROR-004",
    "TASK-ERROR-006",
    "TASK-ERROR-007",
    "TASK-RETURN-002",
    "TASK-RESULT-003",
)
@needs("execution")
def test_a_task_that_raises_fails_with_its_exception(suite: Suite) -> None:
    with clause("TASK-ERROR-004"):
        result = fail.enqueue("Something broke.")
    suite.run()
    current = latest(suite, result)
    with clause("TASK-STATUS-004"):
        assert current.status == w.FAILED
    if suite.holds_to("TASK-ERROR-001"):
        with clause("TASK-ERROR-001"):
            assert current.exception_class is ValueError
        with clause("TASK-ERROR-002"):
            assert isinstance(current.traceback, str)
            assert "ValueError" in current.traceback
            assert "Something broke." in current.traceback
    if suite.holds_to("TASK-ERROR-006"):
        with clause("TASK-ERROR-006"):
            assert current.errors, "A failed result has no errors entry."
            assert current.errors[-1].exception_class_path == "builtins.ValueError"
            assert current.errors[-1].exception_class is ValueError
        with clause("TASK-ERROR-007"):
            assert isinstance(current.errors[-1].traceback, str)
            assert "ValueError: Something broke." in current.errors[-1].traceback
    with clause("TASK-RETURN-002"), pytest.raises(ValueError):  # noqa: PT011  # The contract fixes the type; messages vary.
        current.return_value  # noqa: B018  # The property raises.
    with clause("TASK-RESULT-003"):
        assert current.is_finished is True


@requirement("TASK-ERROR-005")
@needs("execution")
def test_system_exit_is_recorded_as_a_failure(suite: Suite) -> None:
    with clause("TASK-ERROR-005"):
        result = exit_task.enqueue()
        suite.run()
        current = latest(suite, result)
        assert current.status == w.FAILED
        assert w.exception_class(current) is SystemExit


@requirement("TASK-TIME-001", "TASK-TIME-005")
def test_enqueued_at_is_set_on_enqueue(suite: Suite) -> None:
    before = timezone.now()
    result = noop.enqueue()
    after = timezone.now()
    with clause("TASK-TIME-005"):
        assert _aware(result.enqueued_at)
    with clause("TASK-TIME-001"):
        assert result.enqueued_at is not None
        assert before <= result.enqueued_at <= after


@requirement("TASK-TIME-002", "TASK-TIME-003", "TASK-TIME-005")
@needs("execution")
def test_started_at_and_finished_at_are_set_in_order(suite: Suite) -> None:
    before = timezone.now()
    result = noop.enqueue()
    suite.run()
    after = timezone.now()
    current = latest(suite, result)
    with clause("TASK-TIME-002"):
        assert current.started_at is not None
    with clause("TASK-TIME-003"):
        assert current.finished_at is not None
    with clause("TASK-TIME-005"):
        assert _aware(current.enqueued_at)
        assert _aware(current.started_at)
        assert _aware(current.finished_at)
    assert current.enqueued_at is not None
    with clause("TASK-TIME-002"):
        assert current.enqueued_at <= current.started_at <= after
    with clause("TASK-TIME-003"):
        assert current.started_at <= current.finished_at <= after
    assert before <= current.enqueued_at


@requirement("TASK-TIME-004", "TASK-SIGNAL-002")
@needs("worker_signals")
def test_finished_at_is_unset_while_the_task_runs(suite: Suite) -> None:
    with captured(w.task_started) as sent:
        noop.enqueue()
        suite.run()
    with clause("TASK-SIGNAL-002"):  # The running result is seen through task_started.
        assert len(sent) == 1
    with clause("TASK-TIME-004"):
        assert sent[0].finished_at is None


@requirement("TASK-RESULT-004", "TASK-ASYNC-003")
@needs("execution", "get_result")
def test_refresh_reloads_the_result(suite: Suite) -> None:
    result = add.enqueue(1, 2)
    other = add.enqueue(2, 3)
    suite.run()
    result.refresh()
    asyncio.run(other.arefresh())
    with clause("TASK-RESULT-004"):
        assert result.status == w.SUCCEEDED
        assert result.return_value == 3
        assert result.finished_at is not None
    with clause("TASK-ASYNC-003"):
        assert other.status == w.SUCCEEDED
        assert other.return_value == 5


@requirement("TASK-RESULT-005", "TASK-RESULT-007")
@needs("execution")
def test_attempts_and_worker_ids_record_the_run(suite: Suite) -> None:
    result = noop.enqueue()
    suite.run()
    current = latest(suite, result)
    rule = "TASK-RESULT-005" if suite.holds_to("TASK-RESULT-005") else "TASK-RESULT-007"
    with clause(rule):
        assert current.attempts == 1
        assert len(current.worker_ids) == 1
        worker_ids: list[object] = list(current.worker_ids)
        assert all(isinstance(worker_id, str) and worker_id for worker_id in worker_ids)


@requirement("TASK-RESULT-008")
@needs("execution")
def test_last_attempted_at_is_the_time_of_the_latest_start(suite: Suite) -> None:
    succeeded = noop.enqueue()
    failed = fail.enqueue()
    suite.run()
    for result in (latest(suite, succeeded), latest(suite, failed)):
        with clause("TASK-RESULT-008"):
            assert result.last_attempted_at is not None, f"{result.status} result"
            assert _aware(result.last_attempted_at)
            assert result.started_at is not None
            assert result.finished_at is not None
            assert result.started_at <= result.last_attempted_at <= result.finished_at


@requirement("TASK-STATUS-003", "TASK-STATUS-005", "TASK-SIGNAL-004")
@needs("worker_signals")
def test_the_status_moves_forward_only(suite: Suite) -> None:
    with captured() as sent:
        result = add.enqueue(1, 2)
        suite.run()
        suite.run()
    statuses = [s.status for s in sent if s.result_id == result.id]
    with clause("TASK-SIGNAL-004"):  # The statuses are seen through the three signals.
        assert [s.signal for s in sent] == ["enqueued", "started", "finished"]
    with clause("TASK-STATUS-003"):
        started = [s for s in sent if s.signal == "started"]
        assert [s.status for s in started] == [w.RUNNING]
    with clause("TASK-STATUS-005"):
        assert statuses == [w.NEW, w.RUNNING, w.SUCCEEDED]
        assert latest(suite, result).status == w.SUCCEEDED


def _error_rules() -> tuple[str, str]:
    """The requirements on a failure's exception class and traceback, in the dialect spoken."""
    return (
        ("TASK-ERROR-006", "TASK-ERROR-007") if w.django else ("TASK-ERROR-001", "TASK-ERROR-002")
    )


@requirement("TASK-ERROR-002", "TASK-ERROR-007")
@needs("execution")
def test_the_traceback_is_the_whole_formatted_traceback(suite: Suite) -> None:
    result = fail.enqueue("The whole story.")
    suite.run()
    traceback = w.traceback(latest(suite, result))
    with clause(_error_rules()[1]):
        assert traceback is not None
        lines = traceback.rstrip("\n").splitlines()
        assert lines[0] == "Traceback (most recent call last):", traceback
        assert "raise ValueError(message)" in traceback  # The task function's own frame.
        assert lines[-1] == "ValueError: The whole story.", traceback


@requirement("TASK-ERROR-002", "TASK-ERROR-007")
@needs("execution")
def test_a_traceback_keeps_a_message_that_is_not_ascii(suite: Suite) -> None:
    message = "Échec : 失敗しました ✗ — ünïcödé"
    result = fail.enqueue(message)
    suite.run()
    current = latest(suite, result)
    with clause(_error_rules()[1]):
        assert f"ValueError: {message}" in (w.traceback(current) or "")


@requirement("TASK-ERROR-001", "TASK-ERROR-006")
@needs("execution")
def test_the_exception_class_is_the_tasks_own_class(suite: Suite) -> None:
    result = fail_own.enqueue("Not a builtin.")
    suite.run()
    current = latest(suite, result)
    with clause(_error_rules()[0]):
        assert current.status == w.FAILED
        assert w.exception_class(current) is TaskFailedError
    if w.django:
        with clause("TASK-ERROR-006"):
            path = current.errors[-1].exception_class_path
            assert path == f"{TaskFailedError.__module__}.TaskFailedError"


@requirement("TASK-TIME-002", "TASK-TIME-003", "TASK-TIME-005")
@needs("execution")
def test_a_failed_run_records_when_it_started_and_finished(suite: Suite) -> None:
    before = timezone.now()
    result = fail.enqueue()
    suite.run()
    after = timezone.now()
    current = latest(suite, result)
    with clause("TASK-TIME-002"):
        assert current.enqueued_at is not None
        assert current.started_at is not None
    with clause("TASK-TIME-003"):
        assert current.finished_at is not None
    with clause("TASK-TIME-005"):
        assert _aware(current.started_at)
        assert _aware(current.finished_at)
    with clause("TASK-TIME-002"):
        assert before <= current.enqueued_at <= current.started_at <= after
    with clause("TASK-TIME-003"):
        assert current.started_at <= current.finished_at <= after


@requirement("TASK-RESULT-005", "TASK-RESULT-007")
@needs("execution")
def test_a_failed_run_counts_as_an_attempt(suite: Suite) -> None:
    result = fail.enqueue()
    suite.run()
    current = latest(suite, result)
    rule = "TASK-RESULT-005" if suite.holds_to("TASK-RESULT-005") else "TASK-RESULT-007"
    with clause(rule):
        assert current.status == w.FAILED
        assert current.attempts == 1
        assert len(current.worker_ids) == 1


ZONES = {
    "UTC+9": "Asia/Tokyo",
    "UTC-8": "America/Los_Angeles",
    "UTC+14": "Etc/GMT-14",
    "UTC-5": "Etc/GMT+5",
}
"""TIME_ZONE settings far from UTC, both ways (a POSIX name's sign is the other way round)."""


@requirement("TASK-TIME-001", "TASK-TIME-002", "TASK-TIME-003", "TASK-TIME-005", "TASK-RESULT-008")
@needs("execution")
@pytest.mark.parametrize("offset", ZONES)
def test_times_are_aware_and_right_in_any_time_zone(suite: Suite, offset: str) -> None:
    with override_settings(TIME_ZONE=ZONES[offset]):
        before = timezone.now()
        succeeded = noop.enqueue()
        failed = fail.enqueue()
        suite.run()
        after = timezone.now()
        for current in (latest(suite, succeeded), latest(suite, failed)):
            enqueued, started, finished = _times(current)
            with clause("TASK-TIME-005"):
                assert _aware(enqueued), enqueued
                assert _aware(started), started
                assert _aware(finished), finished
            with clause("TASK-TIME-001"):
                assert before <= enqueued <= after, (before, enqueued, after)
            with clause("TASK-TIME-002"):
                assert enqueued <= started <= after, (enqueued, started, after)
            with clause("TASK-TIME-003"):
                assert started <= finished <= after, (started, finished, after)
            if suite.holds_to("TASK-RESULT-008"):
                with clause("TASK-RESULT-008"):
                    attempted = current.last_attempted_at
                    assert attempted is not None
                    assert started <= attempted <= finished, (started, attempted, finished)


def _times(result: Any) -> tuple[datetime, datetime, datetime]:
    """A finished result's enqueued_at, started_at and finished_at; one that is None breaks
    its own clause (TASK-TIME-001, -002 or -003), not every clause of the test."""
    times = (result.enqueued_at, result.started_at, result.finished_at)
    for requirement_id, name, value in zip(
        ("TASK-TIME-001", "TASK-TIME-002", "TASK-TIME-003"),
        ("enqueued_at", "started_at", "finished_at"),
        times,
        strict=True,
    ):
        with clause(requirement_id):
            assert value is not None, f"A finished result's {name} is None."
    return times


@requirement("TASK-RETURN-001")
@needs("execution")
def test_the_return_value_keeps_each_json_type(suite: Suite) -> None:
    result = echo.enqueue(1, 1.0, 0.1, True, None, "日本語 ✓", [], {}, nested={"n": [2.5, False]})
    suite.run()
    value: Any = latest(suite, result).return_value
    expected: dict[str, Any] = {
        "args": [1, 1.0, 0.1, True, None, "日本語 ✓", [], {}],
        "kwargs": {"nested": {"n": [2.5, False]}},
    }
    with clause("TASK-RETURN-001"):
        assert value == expected
        assert [type(item) for item in value["args"]] == [type(item) for item in expected["args"]]
        assert [type(item) for item in value["kwargs"]["nested"]["n"]] == [float, bool]
