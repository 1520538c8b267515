"""Enqueueing refuses arguments JSON cannot carry, before anything is stored, sent or scheduled."""

import datetime
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.db import transaction
from django.test import override_settings
from pytest_django import DjangoCaptureOnCommitCallbacks

from django_tasks import ResultStatus, TaskResult, tasks
from django_tasks.backends.dummy import DummyBackend
from django_tasks.exceptions import InvalidTaskArgumentsError
from django_tasks.signals import task_enqueued, task_finished, task_started
from tests.tasks import echo

BACKENDS = {
    "dummy": "django_tasks.backends.dummy.DummyBackend",
    "immediate": "django_tasks.backends.immediate.ImmediateBackend",
}
BAD_KWARGS = {"user": {"name": "Ann", "joined": datetime.date(2024, 5, 1)}}
BAD_KWARGS_MESSAGE = (
    "Argument kwargs['user']['joined'] is datetime.date(2024, 5, 1) (type date), which is not "
    "JSON-serializable; use an ISO 8601 string (value.isoformat())."
)


def enqueue(*args: Any, **kwargs: Any) -> TaskResult[Any]:
    return echo.enqueue(*args, **kwargs)


def aenqueue(*args: Any, **kwargs: Any) -> TaskResult[Any]:
    return async_to_sync(echo.aenqueue)(*args, **kwargs)


@pytest.fixture(params=BACKENDS, autouse=True)
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    with override_settings(TASKS={"default": {"BACKEND": BACKENDS[request.param]}}):
        yield request.param


@pytest.fixture(params=[enqueue, aenqueue], ids=["enqueue", "aenqueue"])
def enqueue_echo(request: pytest.FixtureRequest) -> Callable[..., TaskResult[Any]]:
    return request.param  # type: ignore[no-any-return]  # FixtureRequest.param is Any


@pytest.fixture
def signals_sent() -> Iterator[list[str]]:
    sent: list[str] = []

    def record(signal: str) -> Callable[..., None]:
        return lambda sender, **kwargs: sent.append(signal)

    receivers = {
        task_enqueued: record("task_enqueued"),
        task_started: record("task_started"),
        task_finished: record("task_finished"),
    }
    for signal, receiver in receivers.items():
        signal.connect(receiver, weak=False)
    yield sent
    for signal, receiver in receivers.items():
        signal.disconnect(receiver)


def stored_results() -> list[TaskResult[Any]]:
    backend = tasks["default"]
    return list(backend.results) if isinstance(backend, DummyBackend) else []


def test_a_bad_argument_is_refused_and_nothing_is_enqueued(
    enqueue_echo: Callable[..., TaskResult[Any]], signals_sent: list[str]
) -> None:
    with pytest.raises(InvalidTaskArgumentsError, match=f"^{re.escape(BAD_KWARGS_MESSAGE)}$"):
        enqueue_echo(1, **BAD_KWARGS)
    assert stored_results() == []
    assert signals_sent == []


@pytest.mark.django_db
def test_a_bad_argument_in_a_transaction_schedules_no_on_commit_hook(
    enqueue_echo: Callable[..., TaskResult[Any]],
    signals_sent: list[str],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        transaction.atomic(),
        pytest.raises(InvalidTaskArgumentsError, match=re.escape(BAD_KWARGS_MESSAGE)),
    ):
        enqueue_echo(1, **BAD_KWARGS)
    assert callbacks == []
    assert stored_results() == []
    assert signals_sent == []


@pytest.mark.django_db
def test_good_arguments_in_a_transaction_wait_for_the_commit(
    enqueue_echo: Callable[..., TaskResult[Any]],
    signals_sent: list[str],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    """The counterpart of the test above: the same call with good arguments is scheduled."""
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        result = enqueue_echo(1, user={"name": "Ann", "joined": "2024-05-01"})
        assert signals_sent == []
    assert len(callbacks) == 1
    assert signals_sent[0] == "task_enqueued"
    assert result.kwargs == {"user": {"name": "Ann", "joined": "2024-05-01"}}


def test_arguments_are_stored_as_their_json_round_trip(
    backend: str, enqueue_echo: Callable[..., TaskResult[Any]], signals_sent: list[str]
) -> None:
    result = enqueue_echo((1, 2), "text", nested={"pair": ("a", None)}, number=1.5)
    assert result.args == [[1, 2], "text"]
    assert result.kwargs == {"nested": {"pair": ["a", None]}, "number": 1.5}
    if backend == "immediate":
        assert result.status == ResultStatus.SUCCEEDED
        assert result.return_value == {"args": result.args, "kwargs": result.kwargs}
        assert signals_sent == ["task_enqueued", "task_started", "task_finished"]
    else:
        assert stored_results() == [result]
        assert signals_sent == ["task_enqueued"]


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (({1, 2},), {}, "Argument args[0] is {1, 2} (type set)"),
        ((), {"scores": {1: "a"}}, "Argument kwargs['scores'] has the key 1 (type int)"),
        ((float("nan"),), {}, "Argument args[0] is nan, which is not a JSON number"),
        (("\x00",), {}, "Argument args[0] is '\\x00', which contains a NUL character"),
    ],
)
def test_each_kind_of_bad_argument_stops_the_enqueue(
    enqueue_echo: Callable[..., TaskResult[Any]],
    signals_sent: list[str],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    message: str,
) -> None:
    with pytest.raises(InvalidTaskArgumentsError, match=f"^{re.escape(message)}"):
        enqueue_echo(*args, **kwargs)
    assert stored_results() == []
    assert signals_sent == []
