"""What conformance tests use to observe a backend: signal snapshots and current results."""

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from django.db import connections
from django.dispatch import Signal

from django_tasks_conformance.citing import clause
from django_tasks_conformance.dialect import words
from django_tasks_conformance.plugin import Suite

T = TypeVar("T")


def _signal_names() -> dict[int, str]:
    """The names the suite gives the dialect's three signals."""
    spoken = words()
    return {
        id(spoken.task_enqueued): "enqueued",
        id(spoken.task_started): "started",
        id(spoken.task_finished): "finished",
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class Sent:
    """A signal as a receiver saw it: the sender and the result's state at that moment."""

    signal: str
    sender: type
    result_id: str
    status: Any
    enqueued_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None


@contextmanager
def captured(*signals: Signal) -> Iterator[list[Sent]]:
    """Record each sending of these signals (all three by default) inside the block."""
    received: list[Sent] = []
    lock = threading.Lock()
    spoken = words()
    chosen = signals or (spoken.task_enqueued, spoken.task_started, spoken.task_finished)
    names = _signal_names()
    receivers = []
    for signal in chosen:

        def receive(
            sender: type,
            task_result: Any,
            _name: str = names[id(signal)],
            **kwargs: Any,
        ) -> None:
            with lock:
                received.append(
                    Sent(
                        signal=_name,
                        sender=sender,
                        result_id=task_result.id,
                        status=task_result.status,
                        enqueued_at=task_result.enqueued_at,
                        started_at=task_result.started_at,
                        finished_at=task_result.finished_at,
                    )
                )

        signal.connect(receive, weak=False)
        receivers.append((signal, receive))
    try:
        yield received
    finally:
        for signal, receive in receivers:
            signal.disconnect(receive)


def latest(suite: Suite, result: T) -> T:
    """The result's current state, as its user can see it.

    A backend with get_result is asked for it; otherwise the object enqueue returned is all
    there is (ImmediateBackend and DummyBackend update it in place).
    """
    if suite.implements_get_result():
        result.refresh()  # type: ignore[attr-defined]  # A TaskResult of either dialect.
    return result


def in_thread(function: Callable[[], T]) -> T | BaseException:
    """Call ``function`` in a new thread; return what it returned or the exception it raised."""
    outcome: list[Any] = []

    def target() -> None:
        try:
            outcome.append(function())
        except BaseException as e:  # Handed back to the calling test.
            outcome.append(e)
        finally:
            connections.close_all()

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(timeout=30)
    return outcome[0]  # type: ignore[no-any-return]  # T or the exception


def check_deferred(suite: Suite, result: Any, when: datetime) -> None:
    """Run the due tasks; the deferred result, as enqueue returned it, as it is now and as the
    backend stores it, must carry ``when`` and still wait (TASK-DEFER-005)."""
    suite.run()
    current = latest(suite, result)
    with clause("TASK-DEFER-005"):
        assert result.task.run_after == when
        assert current.task.run_after == when
        assert current.status == words().NEW
    if suite.harness.has_back_door:
        stored = suite.harness.stored(result.id)
        with clause("TASK-DEFER-005"):
            assert stored is not None
            assert stored.run_after == when


def check_priority_and_queue(suite: Suite, result: Any, priority: int, queue_name: str) -> None:
    """The result, as enqueue returned it, as get_result returns it and as the backend stores
    it, carries this priority (TASK-PRIORITY-003) and queue (TASK-QUEUE-001)."""
    seen = [result]
    if suite.implements_get_result():
        seen.append(suite.backend.get_result(result.id))
    if suite.harness.has_back_door:
        stored = suite.harness.stored(result.id)
        with clause("TASK-PRIORITY-003"):
            assert stored is not None
        seen.append(stored)
    for current in seen:
        task = getattr(current, "task", current)  # A StoredTask holds them itself.
        with clause("TASK-PRIORITY-003"):
            assert task.priority == priority, current
        with clause("TASK-QUEUE-001"):
            assert task.queue_name == queue_name, current
