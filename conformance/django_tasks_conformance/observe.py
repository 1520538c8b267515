"""What conformance tests use to observe a backend: signal snapshots and current results."""

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from django.db import connections
from django.dispatch import Signal

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
