"""Priority: higher first, where the backend supports it; refused where it does not."""

import time
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from django_tasks_conformance import clause, needs, requirement
from django_tasks_conformance.dialect import words
from django_tasks_conformance.observe import check_priority_and_queue, latest
from django_tasks_conformance.plugin import Suite
from django_tasks_conformance.tasks import add, plain_function, tick

w = words()
"""The words of the dialect the backend under test speaks."""


def _started(results: list[Any]) -> None:
    """The order tasks started in shows in their started_at: a result without one breaks
    TASK-TIME-002, not the priority clause."""
    with clause("TASK-TIME-002"):
        assert all(result.started_at is not None for result in results), [
            (result.return_value, result.started_at) for result in results
        ]


@requirement("TASK-PRIORITY-001", "TASK-TIME-002")
@needs("held")
def test_a_higher_priority_starts_first(suite: Suite) -> None:
    enqueued = [
        tick.using(priority=priority).enqueue(str(priority)) for priority in (-10, 0, 10, 5)
    ]
    suite.run()
    results = [latest(suite, result) for result in enqueued]
    assert all(result.status == w.SUCCEEDED for result in results)
    _started(results)
    order = [result.return_value for result in sorted(results, key=lambda r: r.started_at)]  # type: ignore[arg-type, return-value]  # Every result started.
    with clause("TASK-PRIORITY-001"):
        assert order == ["10", "5", "0", "-10"]


@requirement("TASK-PRIORITY-004", "TASK-TIME-002")
@needs("held")
def test_equal_priorities_start_in_enqueue_order(suite: Suite) -> None:
    enqueued = [tick.enqueue(str(n)) for n in range(4)]
    suite.run()
    results = [latest(suite, result) for result in enqueued]
    _started(results)
    order = [result.return_value for result in sorted(results, key=lambda r: r.started_at)]  # type: ignore[arg-type, return-value]  # Every result started.
    with clause("TASK-PRIORITY-004"):
        assert order == ["0", "1", "2", "3"]


@requirement("TASK-PRIORITY-002")
def test_a_backend_without_priority_support_refuses_priorities(suite: Suite) -> None:
    with clause("TASK-PRIORITY-002"), pytest.raises(w.InvalidTask):
        add.using(priority=10)
    with clause("TASK-PRIORITY-002"), pytest.raises(w.InvalidTask):
        w.task(priority=-5)(plain_function)
    with clause("TASK-PRIORITY-002"):
        assert add.using(priority=0).enqueue(1, 2).task.priority == 0


@requirement("TASK-PRIORITY-003")
def test_a_result_carries_its_priority(suite: Suite) -> None:
    priority = 7 if suite.capabilities["supports_priority"] else 0
    result = add.using(priority=priority).enqueue(1, 2)
    with clause("TASK-PRIORITY-003"):
        assert result.task.priority == priority
    if suite.implements_get_result():
        with clause("TASK-PRIORITY-003"):
            assert suite.backend.get_result(result.id).task.priority == priority


def _start_order(suite: Suite, enqueued: list[Any]) -> list[str]:
    """The return values of the results, in the order they started (each must have run)."""
    results = [latest(suite, result) for result in enqueued]
    assert all(result.status == w.SUCCEEDED for result in results), [r.status for r in results]
    _started(results)
    return [result.return_value for result in sorted(results, key=lambda r: r.started_at)]


@requirement("TASK-PRIORITY-001", "TASK-TIME-002")
@needs("held")
def test_among_due_deferred_tasks_a_higher_priority_starts_first(suite: Suite) -> None:
    if not suite.capabilities["supports_defer"]:  # Cited only where it can fail: priority.
        pytest.skip("Not applicable: deferred tasks need supports_defer; the backend has none.")
    # The lower the priority, the earlier the task is due: an order by run_after is the reverse
    # of the right one. All are due long before the worker starts (2 s leaves time to enqueue
    # them on a loaded machine).
    priorities = (-10, -5, -3, 0, 3, 5, 8, 10)
    due = timezone.now() + timedelta(seconds=2)
    enqueued = [
        tick.using(priority=priority, run_after=due + timedelta(milliseconds=10 * n)).enqueue(
            str(priority)
        )
        for n, priority in enumerate(priorities)
    ]
    time.sleep(max(0.0, (due - timezone.now()).total_seconds()) + 0.2)
    suite.run()
    with clause("TASK-PRIORITY-001"):
        assert _start_order(suite, enqueued) == [str(p) for p in reversed(priorities)]


@requirement("TASK-PRIORITY-001", "TASK-QUEUE-001", "TASK-TIME-002")
@needs("held")
def test_a_higher_priority_starts_first_in_any_queue(suite: Suite) -> None:
    queued = tick.using(queue_name="conformance-other")
    enqueued = [
        queued.using(priority=priority).enqueue(str(priority)) for priority in (-10, 0, 10, 5)
    ]
    with clause("TASK-QUEUE-001"):
        assert {result.task.queue_name for result in enqueued} == {"conformance-other"}
    suite.run()
    with clause("TASK-PRIORITY-001"):
        assert _start_order(suite, enqueued) == ["10", "5", "0", "-10"]


@requirement("TASK-PRIORITY-003", "TASK-QUEUE-001", "TASK-COMMIT-001")
@needs("database")
def test_a_task_enqueued_on_commit_keeps_its_priority_and_queue(suite: Suite) -> None:
    priority = 7 if suite.capabilities["supports_priority"] else 0
    with transaction.atomic():
        result = add.using(priority=priority, queue_name="conformance-other").enqueue(1, 2)
        if suite.holds_to("TASK-COMMIT-001"):
            with clause("TASK-COMMIT-001"):
                assert result.enqueued_at is None
    check_priority_and_queue(suite, result, priority, "conformance-other")
