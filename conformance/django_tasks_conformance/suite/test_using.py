"""using(): a new task with other options, validated against its backend."""

import re
from datetime import UTC, datetime, timedelta
from datetime import timezone as dt_timezone
from typing import Any

import pytest
from django.utils import timezone

from django_tasks_conformance import clause, requirement
from django_tasks_conformance.dialect import words
from django_tasks_conformance.harness import ALIASES
from django_tasks_conformance.plugin import Suite
from django_tasks_conformance.tasks import add

w = words()
"""The words of the dialect the backend under test speaks."""


@requirement("TASK-USING-001", "TASK-USING-002")
def test_using_returns_a_changed_copy(suite: Suite) -> None:
    changed = add.using(queue_name="conformance-other")
    with clause("TASK-USING-001"):
        assert changed is not add
        assert changed.queue_name == "conformance-other"
        assert add.queue_name == "default"
    with clause("TASK-USING-002"):
        assert changed.func is add.func
        assert changed.priority == add.priority
        assert changed.backend == add.backend
        assert changed.run_after is None


@requirement("TASK-USING-002")
def test_using_accepts_every_option(suite: Suite) -> None:
    moved = add.using(backend=ALIASES["any_queue"], queue_name="anything")
    with clause("TASK-USING-002"):
        assert moved.backend == ALIASES["any_queue"]
        assert moved.queue_name == "anything"
    if suite.capabilities["supports_priority"]:
        with clause("TASK-USING-002"):
            assert add.using(priority=10).priority == 10
    if suite.capabilities["supports_defer"]:
        when = timezone.now() + timedelta(hours=1)
        with clause("TASK-USING-002"):
            assert add.using(run_after=when).run_after == when


@requirement("TASK-USING-003")
def test_run_after_takes_a_timedelta_or_an_aware_datetime(suite: Suite) -> None:
    before = timezone.now()
    deferred = add.using(run_after=timedelta(minutes=5))
    after = timezone.now()
    when = datetime(2100, 1, 1, 12, tzinfo=UTC)
    with clause("TASK-USING-003"):
        assert deferred.run_after is not None
        assert timezone.is_aware(deferred.run_after)
        assert before + timedelta(minutes=5) <= deferred.run_after <= after + timedelta(minutes=5)
        assert add.using(run_after=when).run_after == when


@requirement("TASK-USING-004")
def test_run_after_refuses_naive_datetimes_and_other_values(suite: Suite) -> None:
    invalid: list[Any] = [datetime(2100, 1, 1, 12), "2100-01-01T12:00:00Z", 60]
    for value in invalid:
        with clause("TASK-USING-004"), pytest.raises(w.InvalidTask):
            add.using(run_after=value)


@requirement("TASK-USING-008")
def test_run_after_beyond_the_years_1_to_9999_in_utc_is_refused(suite: Suite) -> None:
    invalid: list[Any] = [
        datetime(1, 1, 1, 0, 30, tzinfo=dt_timezone(timedelta(hours=5))),
        datetime(9999, 12, 31, 23, 0, tzinfo=dt_timezone(timedelta(hours=-5))),
        timedelta(days=3_650_000),
        timedelta(days=-800_000),
    ]
    for value in invalid:
        with clause("TASK-USING-008"), pytest.raises(w.InvalidTask):
            add.using(run_after=value)


@requirement("TASK-USING-005", "TASK-QUEUE-002")
def test_using_validates_against_the_tasks_backend(suite: Suite) -> None:
    with clause("TASK-USING-005"), pytest.raises(w.InvalidTask, match=re.escape("'elsewhere'")):
        add.using(queue_name="elsewhere")
    with clause("TASK-USING-005"):
        # The same queue is fine on a backend that allows any queue.
        assert (
            add.using(backend=ALIASES["any_queue"], queue_name="elsewhere").queue_name
            == "elsewhere"
        )


@requirement("TASK-USING-006")
def test_using_cannot_change_enqueue_on_commit(suite: Suite) -> None:
    with clause("TASK-USING-006"), pytest.raises(TypeError):
        add.using(enqueue_on_commit=False)  # type: ignore[call-arg]  # Invalid on purpose.


@requirement("TASK-USING-007")
def test_using_an_undefined_backend_alias_raises(suite: Suite) -> None:
    with clause("TASK-USING-007"), pytest.raises(w.InvalidTaskBackend):
        add.using(backend="conformance-undefined-alias")
