"""A return value JSON cannot carry fails the task, cleanly: FAILED, with a clear error, and the
exception never reaches the code that enqueued it (or a worker loop)."""

import re
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.utils import timezone

from django_tasks import ResultStatus, Task, TaskResult
from django_tasks.exceptions import InvalidReturnValueError
from django_tasks.execution import Outcome, run_task
from django_tasks.signals import task_finished
from tests.tasks import give_back, give_back_async

REFUSED = {
    "date": "Return value['when'] of task {path} is datetime.date(2024, 5, 1) (type date), which "
    "is not JSON-serializable; use an ISO 8601 string (value.isoformat()).",
    "set": "Return value[0]['tags'] of task {path} is {{1}} (type set), which is not "
    "JSON-serializable; use a list (list(value)).",
    "nan": "Return value of task {path} is nan, which is not a JSON number; use None or a string.",
    "cycle": "Return value[0] of task {path} is a list that contains itself, which JSON cannot "
    "represent; break the cycle.",
}


@pytest.fixture
def finished() -> Iterator[list[TaskResult[Any]]]:
    sent: list[TaskResult[Any]] = []

    def receiver(sender: type, *, task_result: TaskResult[Any], **kwargs: Any) -> None:
        sent.append(task_result)

    task_finished.connect(receiver)
    yield sent
    task_finished.disconnect(receiver)


@pytest.mark.parametrize("task", [give_back, give_back_async], ids=["sync", "async"])
@pytest.mark.parametrize("kind", REFUSED)
def test_a_return_value_json_cannot_carry_fails_the_task(
    task: Task[[str], Any], kind: str, finished: list[TaskResult[Any]]
) -> None:
    message = REFUSED[kind].format(path=task.module_path)
    result = task.enqueue(kind)  # The ImmediateBackend runs it; nothing is raised here.
    assert result.status == ResultStatus.FAILED
    assert result.exception_class is InvalidReturnValueError
    assert result.traceback is not None
    assert result.traceback.endswith(f"InvalidReturnValueError: {message}\n")
    with pytest.raises(ValueError, match=re.escape("a return value exists only once it has")):
        result.return_value  # noqa: B018  # The property raises.
    assert result.finished_at is not None
    assert finished == [result]


def test_a_return_value_whose_methods_raise_fails_the_task() -> None:
    result = give_back.enqueue("broken")
    assert result.status == ResultStatus.FAILED
    assert result.exception_class is RuntimeError
    assert result.traceback is not None
    assert result.traceback.endswith("RuntimeError: This dict cannot be read.\n")


def test_a_tuple_is_returned_as_a_list() -> None:
    result = give_back.enqueue("tuple")
    assert result.status == ResultStatus.SUCCEEDED
    assert result.return_value == [1, [2, "three"]]


def test_the_failure_is_recorded_whole(finished: list[TaskResult[Any]]) -> None:
    """What a backend is asked to store: FAILED with the error, and no return value at all."""
    result: TaskResult[Any] = TaskResult(
        task=give_back,
        id="by-hand",
        status=ResultStatus.RUNNING,
        enqueued_at=timezone.now(),
        started_at=timezone.now(),
        finished_at=None,
        args=["date"],
        kwargs={},
        backend="default",
    )
    recorded: list[Outcome] = []

    def record(result: TaskResult[Any], outcome: Outcome) -> bool:
        recorded.append(outcome)
        return True

    outcome = run_task(result, type(None), record)
    assert recorded == [outcome]
    assert outcome.status == ResultStatus.FAILED
    assert outcome.return_value is None
    assert isinstance(outcome.exception, InvalidReturnValueError)
    assert str(outcome.exception) == REFUSED["date"].format(path=give_back.module_path)
    assert outcome.traceback is not None
    assert result.status == ResultStatus.FAILED
    assert result.exception_class is InvalidReturnValueError
    assert finished[-1] is result


def test_an_async_enqueue_gets_the_same_failure() -> None:
    result = async_to_sync(give_back.aenqueue)("set")
    assert result.status == ResultStatus.FAILED
    assert result.exception_class is InvalidReturnValueError
