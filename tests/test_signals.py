"""The task signals and the log lines they produce.

Which signals each backend sends, when and with what, is the contract: the conformance suite
checks it for every shipped backend (test_signals.py, test_transactions.py of the suite).
"""

import logging

import pytest

from django_tasks import ResultStatus
from django_tasks.backends.dummy import DummyBackend
from django_tasks.signals import task_enqueued, task_finished
from django_tasks_conformance.observe import captured
from tests import tasks as test_tasks

SUITE = "django_tasks_conformance.tasks"
"""The module of the suite's fixture tasks, which these tests share."""


def test_dummy_backend_sends_only_enqueued(dummy: DummyBackend) -> None:
    with captured(task_enqueued, task_finished) as sent:
        result = test_tasks.noop.enqueue()
    assert [(s.signal, s.sender, s.result_id) for s in sent] == [
        ("enqueued", DummyBackend, result.id)
    ]


def test_logs_enqueue_and_finish(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="django_tasks"):
        result = test_tasks.add.enqueue(1, 2)
    messages = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "django_tasks"]
    assert result.started_at is not None
    assert result.finished_at is not None
    duration = f"{(result.finished_at - result.started_at).total_seconds():.3f}s"
    assert messages == [
        (
            "DEBUG",
            f"Task enqueued id={result.id} path={SUITE}.add queue=default backend=default",
        ),
        (
            "DEBUG",
            f"Task started id={result.id} path={SUITE}.add queue=default attempt=1",
        ),
        (
            "INFO",
            f"Task finished id={result.id} path={SUITE}.add queue=default state=SUCCEEDED "
            f"duration={duration} attempt=1",
        ),
    ]


def test_logs_failures_with_the_traceback(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="django_tasks"):
        result = test_tasks.fail.enqueue("Logged.")
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert record.getMessage().startswith(
        f"Task finished id={result.id} path={SUITE}.fail queue=default state=FAILED duration="
    )
    assert record.exc_info is not None
    assert record.exc_info[0] is ValueError
    assert str(record.exc_info[1]) == "Logged."


def test_a_deferred_task_finished_hands_receivers_the_failure_with_its_own_traceback() -> None:
    """send_finished, for runners that store outcomes later (the database worker): receivers
    see the task's exception in sys.exc_info(), with the traceback of the task's own frames."""
    import sys
    import traceback

    from django_tasks.backends.base import BaseTaskBackend
    from django_tasks.execution import Outcome, send_finished
    from django_tasks.task import TaskResult

    with pytest.raises(ValueError, match=r"^Raised in the task$") as raised:
        test_tasks.fail.call("Raised in the task")
    outcome = Outcome.failed(raised.value)
    frames = [frame.name for frame in traceback.extract_tb(raised.value.__traceback__)]
    result: TaskResult[None] = TaskResult(
        task=test_tasks.fail,
        id="r1",
        status=ResultStatus.RUNNING,
        enqueued_at=None,
        started_at=None,
        finished_at=None,
        args=[],
        kwargs={},
        backend="default",
    )
    seen: list[tuple[object, list[str]]] = []

    def receiver(**kwargs: object) -> None:
        _, value, tb = sys.exc_info()
        seen.append((value, [frame.name for frame in traceback.extract_tb(tb)]))

    task_finished.connect(receiver, weak=False, dispatch_uid="deferred")
    try:
        send_finished(result, BaseTaskBackend, outcome)
    finally:
        task_finished.disconnect(dispatch_uid="deferred")
    assert seen == [(outcome.exception, frames)]
    assert frames[-1] == "fail"
    assert (result.status, result.exception_class, result.traceback) == (
        ResultStatus.FAILED,
        ValueError,
        outcome.traceback,
    )
    assert sys.exc_info() == (None, None, None)
