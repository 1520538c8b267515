"""Enqueueing: enqueue(), aenqueue() and backend.enqueue() return a result for the run."""

import asyncio

import pytest

from django_tasks_conformance import clause, requirement
from django_tasks_conformance.dialect import words
from django_tasks_conformance.harness import ALIASES
from django_tasks_conformance.observe import captured
from django_tasks_conformance.plugin import Suite
from django_tasks_conformance.tasks import add, plain_function

w = words()
"""The words of the dialect the backend under test speaks."""


@requirement("TASK-ENQ-001", "TASK-ENQ-002")
def test_enqueue_returns_a_result_of_the_task(suite: Suite) -> None:
    enqueued = add.using(queue_name="conformance-other")
    result = enqueued.enqueue(1, 2)
    with clause("TASK-ENQ-001"):
        assert isinstance(result, w.TaskResult)
    with clause("TASK-ENQ-002"):
        assert result.task.func is enqueued.func
        assert result.task.module_path == enqueued.module_path
        assert result.task.priority == enqueued.priority
        assert result.task.queue_name == "conformance-other"
        assert result.task.run_after is None
        assert result.task.backend == "default"


@requirement("TASK-ENQ-003")
def test_result_ids_are_short_unique_strings(suite: Suite) -> None:
    ids: list[object] = [add.enqueue(1, i).id for i in range(5)]
    with clause("TASK-ENQ-003"):
        assert all(isinstance(result_id, str) and 0 < len(result_id) <= 64 for result_id in ids), (
            ids
        )
        assert len(set(ids)) == len(ids), ids


@requirement("TASK-ENQ-004")
def test_result_backend_is_the_alias(suite: Suite) -> None:
    with clause("TASK-ENQ-004"):
        assert add.enqueue(1, 2).backend == "default"
        assert add.using(backend=ALIASES["any_queue"]).enqueue(1, 2).backend == ALIASES["any_queue"]


@requirement("TASK-ENQ-005", "TASK-SIGNAL-001")
def test_aenqueue_enqueues_from_async_code(suite: Suite) -> None:
    with captured(w.task_enqueued) as sent:
        result = asyncio.run(add.aenqueue(1, 2))
    with clause("TASK-ENQ-005"):
        assert isinstance(result, w.TaskResult)
        assert result.args == [1, 2]
        assert result.task.module_path == add.module_path
    with clause("TASK-SIGNAL-001"):  # A backend that never sends it breaks only this clause.
        assert [s.result_id for s in sent] == [result.id]


@requirement("TASK-ENQ-006")
def test_backend_enqueue_takes_the_task_and_its_arguments(suite: Suite) -> None:
    result = suite.backend.enqueue(add, [1, 2], {})
    with clause("TASK-ENQ-006"):
        assert isinstance(result, w.TaskResult)
        assert result.task.module_path == add.module_path
        assert result.args == [1, 2]
        assert result.kwargs == {}
        assert result.backend == "default"


@requirement("TASK-ENQ-007", "TASK-QUEUE-002")
def test_enqueue_validates_the_task_first(suite: Suite) -> None:
    undeclared = w.unvalidated_task(plain_function, queue_name="no-such-queue")  # Never validated.
    with captured(w.task_enqueued) as sent, clause("TASK-ENQ-007"), pytest.raises(w.InvalidTask):
        undeclared.enqueue()
    with clause("TASK-ENQ-007"):
        assert sent == []


@requirement("TASK-ENQ-008")
def test_a_backend_refuses_a_task_of_another_backend(suite: Suite) -> None:
    other = w.backends[ALIASES["any_queue"]]
    with captured(w.task_enqueued) as sent, clause("TASK-ENQ-008"), pytest.raises(w.InvalidTask):
        other.enqueue(add, [1, 2], {})
    with clause("TASK-ENQ-008"):
        assert sent == []
