"""Queues: the default queue, QUEUES validation, and QUEUES: [] for any name."""

from typing import Any

import pytest

from django_tasks_conformance import clause, requirement
from django_tasks_conformance.dialect import words
from django_tasks_conformance.harness import ALIASES
from django_tasks_conformance.plugin import Suite
from django_tasks_conformance.tasks import add

w = words()
"""The words of the dialect the backend under test speaks."""


@requirement("TASK-QUEUE-001")
def test_a_result_carries_its_queue(suite: Suite) -> None:
    default = add.enqueue(1, 2)
    other = add.using(queue_name="conformance-other").enqueue(1, 2)
    with clause("TASK-QUEUE-001"):
        assert default.task.queue_name == "default"
        assert other.task.queue_name == "conformance-other"
    if suite.implements_get_result():
        with clause("TASK-QUEUE-001"):
            assert suite.backend.get_result(other.id).task.queue_name == "conformance-other"
    if suite.harness.has_back_door:
        stored = suite.harness.stored(other.id)
        with clause("TASK-QUEUE-001"):
            assert stored is not None
            assert stored.queue_name == "conformance-other"


@requirement("TASK-QUEUE-002")
def test_a_queue_not_in_queues_is_refused(suite: Suite) -> None:
    with clause("TASK-QUEUE-002"), pytest.raises(w.InvalidTask):
        add.using(queue_name="not-listed")


@requirement("TASK-QUEUE-003")
def test_an_empty_queues_list_allows_any_queue(suite: Suite) -> None:
    anywhere = add.using(backend=ALIASES["any_queue"], queue_name="any-name-at-all")
    with clause("TASK-QUEUE-003"):
        assert anywhere.enqueue(1, 2).task.queue_name == "any-name-at-all"


@requirement("TASK-QUEUE-004")
def test_omitted_queues_allow_only_the_default_queue(suite: Suite) -> None:
    on_default = add.using(backend=ALIASES["default_queues"])
    with clause("TASK-QUEUE-004"):
        assert on_default.enqueue(1, 2).task.queue_name == "default"
    with clause("TASK-QUEUE-004"), pytest.raises(w.InvalidTask):
        on_default.using(queue_name="conformance-other")


@requirement("TASK-QUEUE-005")
def test_a_queue_name_is_a_non_empty_string(suite: Suite) -> None:
    invalid: list[Any] = ["", 5, ["default"]]
    for name in invalid:
        with clause("TASK-QUEUE-005"), pytest.raises(w.InvalidTask):
            add.using(backend=ALIASES["any_queue"], queue_name=name)


@requirement("TASK-QUEUE-006")
def test_a_queue_name_is_one_a_worker_can_select(suite: Suite) -> None:
    allowed = ["emails", "high-priority", "low_priority", "app.reports", "tenant:42", "a/b@c"]
    for name in allowed:
        with clause("TASK-QUEUE-006"):
            assert add.using(backend=ALIASES["any_queue"], queue_name=name).queue_name == name
    refused = ["a,b", " padded ", "a b", "*", "a\x00b", "\ud800", "ünï"]
    for name in refused:
        with clause("TASK-QUEUE-006"), pytest.raises(w.InvalidTask):
            add.using(backend=ALIASES["any_queue"], queue_name=name)
        with clause("TASK-QUEUE-006"), pytest.raises(w.InvalidTask):
            w.task(backend=ALIASES["any_queue"], queue_name=name)(add.func)
