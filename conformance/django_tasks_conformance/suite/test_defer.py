"""Deferred tasks: run_after, where the backend supports it; refused where it does not."""

import contextlib
import time
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from django_tasks_conformance import clause, needs, requirement
from django_tasks_conformance.dialect import words
from django_tasks_conformance.observe import captured, check_deferred, latest
from django_tasks_conformance.plugin import Suite
from django_tasks_conformance.tasks import add

w = words()
"""The words of the dialect the backend under test speaks."""


@requirement("TASK-DEFER-005")
def test_a_deferred_result_carries_run_after_and_waits(suite: Suite) -> None:
    when = timezone.now() + timedelta(hours=1)
    check_deferred(suite, add.using(run_after=when).enqueue(1, 2), when)


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


@requirement("TASK-DEFER-006", "TASK-TIME-002")
@needs("execution")
def test_run_after_is_an_instant_whatever_its_time_zone(suite: Suite) -> None:
    # A server far west of the times given, which are far east and west of UTC.
    with override_settings(TIME_ZONE="America/Los_Angeles"):
        later_at = (timezone.now() + timedelta(hours=1)).astimezone(ZoneInfo("Etc/GMT+5"))
        later = add.using(run_after=later_at).enqueue(1, 2)
        soon_at = (timezone.now() + timedelta(milliseconds=300)).astimezone(ZoneInfo("Asia/Tokyo"))
        soon = add.using(run_after=soon_at).enqueue(2, 3)
        with clause("TASK-DEFER-006"):
            assert later.task.run_after == later_at
        if suite.implements_get_result():
            with clause("TASK-DEFER-006"):
                assert suite.backend.get_result(later.id).task.run_after == later_at
        if suite.harness.has_back_door:
            stored = suite.harness.stored(later.id)
            with clause("TASK-DEFER-006"):
                assert stored is not None
                assert stored.run_after == later_at
        time.sleep(max(0.0, (soon_at - timezone.now()).total_seconds()) + 0.01)
        suite.run()
        current = latest(suite, soon)
        with clause("TASK-DEFER-006"):
            assert latest(suite, later).status == w.NEW, "It ran hours before its run_after."
            assert current.status == w.SUCCEEDED, "It has not run once its run_after passed."
        with clause("TASK-TIME-002"):
            assert current.started_at is not None, "A finished result's started_at is None."
        with clause("TASK-DEFER-006"):
            assert current.started_at >= soon_at


@requirement("TASK-DEFER-005", "TASK-COMMIT-001")
@needs("database")
def test_a_deferred_task_enqueued_in_a_transaction_keeps_run_after(suite: Suite) -> None:
    when = timezone.now() + timedelta(hours=1)
    with transaction.atomic():
        result = add.using(run_after=when).enqueue(1, 2)
        if suite.holds_to("TASK-COMMIT-001"):
            with clause("TASK-COMMIT-001"):
                assert result.enqueued_at is None
    check_deferred(suite, result, when)


@requirement("TASK-COMMIT-002", "TASK-DEFER-005")
@needs("database")
def test_a_deferred_task_of_a_rolled_back_transaction_is_never_enqueued(suite: Suite) -> None:
    suite.require("TASK-COMMIT-002")
    enqueued: list[Any] = []
    with (
        captured(w.task_enqueued) as sent,
        contextlib.suppress(RollbackError),
        transaction.atomic(),
    ):
        enqueued.append(add.using(run_after=timezone.now() + timedelta(hours=1)).enqueue(1, 2))
        raise RollbackError
    with clause("TASK-COMMIT-002"):
        assert sent == []
        if suite.harness.has_back_door:
            assert suite.harness.stored(enqueued[0].id) is None
        elif suite.implements_get_result():
            with pytest.raises(w.ResultDoesNotExist):
                suite.backend.get_result(enqueued[0].id)


class RollbackError(Exception):
    """Raised to roll a transaction back."""
