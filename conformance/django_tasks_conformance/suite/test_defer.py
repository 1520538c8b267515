"""Deferred tasks: run_after, where the backend supports it; refused where it does not."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from django_tasks_conformance import clause, needs, requirement
from django_tasks_conformance.dialect import words
from django_tasks_conformance.observe import latest
from django_tasks_conformance.plugin import Suite
from django_tasks_conformance.tasks import add

w = words()
"""The words of the dialect the backend under test speaks."""


@requirement("TASK-DEFER-005")
def test_a_deferred_result_carries_run_after_and_waits(suite: Suite) -> None:
    when = timezone.now() + timedelta(hours=1)
    result = add.using(run_after=when).enqueue(1, 2)
    suite.run()
    current = latest(suite, result)
    with clause("TASK-DEFER-005"):
        assert result.task.run_after == when
        assert current.task.run_after == when
        assert current.status == w.NEW
    if suite.harness.has_back_door:
        stored = suite.harness.stored(result.id)
        with clause("TASK-DEFER-005"):
            assert stored is not None
            assert stored.run_after == when


@requirement("TASK-DEFER-001", "TASK-DEFER-002", "TASK-TIME-002")
@needs("execution")
def test_a_deferred_task_runs_after_run_after_and_not_before(suite: Suite) -> None:
    later = add.using(run_after=timezone.now() + timedelta(hours=1)).enqueue(1, 2)
    soon_at = timezone.now() + timedelta(milliseconds=300)
    soon = add.using(run_after=soon_at).enqueue(2, 3)
    suite.run()
    drained = timezone.now()
    with clause("TASK-DEFER-001"):
        assert latest(suite, later).status == w.NEW
        if drained < soon_at:  # A drain that takes longer (a worker to start) may run it.
            assert latest(suite, soon).status == w.NEW
    time.sleep(max(0.0, (soon_at - timezone.now()).total_seconds()) + 0.01)
    suite.run()
    current = latest(suite, soon)
    with clause("TASK-DEFER-002"):
        assert current.status == w.SUCCEEDED
        assert current.return_value == 5
    with clause("TASK-TIME-002"):
        assert current.started_at is not None
    with clause("TASK-DEFER-001"):
        assert current.started_at >= soon_at
        assert latest(suite, later).status == w.NEW


@requirement("TASK-DEFER-004")
def test_a_backend_without_defer_support_refuses_run_after(suite: Suite) -> None:
    if not w.django:  # Only ours takes a timedelta (TASK-USING-003).
        with clause("TASK-DEFER-004"), pytest.raises(w.InvalidTask):
            add.using(run_after=timedelta(minutes=1))
    with clause("TASK-DEFER-004"), pytest.raises(w.InvalidTask):
        add.using(run_after=timezone.now() + timedelta(minutes=1))
