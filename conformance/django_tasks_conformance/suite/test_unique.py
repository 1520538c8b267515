"""Unique tasks and periodic tasks, where the backend supports them; refused or reported where
it does not. Every requirement here belongs to this project's dialect: its names are imported in
the tests, so that the module imports where only django.tasks is installed."""

from datetime import timedelta

import pytest
from django.core.checks import run_checks

from django_tasks_conformance import clause, needs, requirement
from django_tasks_conformance.dialect import words
from django_tasks_conformance.observe import latest
from django_tasks_conformance.plugin import Suite
from django_tasks_conformance.tasks import add

w = words()
"""The words of the dialect the backend under test speaks."""


@requirement("TASK-UNIQUE-001")
@needs("held")
def test_a_second_enqueue_with_a_waiting_key_returns_the_waiting_task(suite: Suite) -> None:
    first = add.using(unique_key="conformance").enqueue(1, 2)
    second = add.using(unique_key="conformance").enqueue(3, 4)
    other = add.using(unique_key="another").enqueue(5, 6)
    with clause("TASK-UNIQUE-001"):
        assert second.id == first.id
        assert second.args == [1, 2]
        assert other.id != first.id


@requirement("TASK-UNIQUE-002")
@needs("execution")
def test_the_key_is_free_once_the_task_has_finished(suite: Suite) -> None:
    first = add.using(unique_key="conformance").enqueue(1, 2)
    suite.run()
    assert latest(suite, first).status == w.SUCCEEDED
    again = add.using(unique_key="conformance").enqueue(1, 2)
    with clause("TASK-UNIQUE-002"):
        assert again.id != first.id


@requirement("TASK-UNIQUE-004")
def test_a_backend_without_unique_support_refuses_a_key(suite: Suite) -> None:
    # Imported here: only this project's dialect has these names (the kit runs without it).
    from django_tasks.exceptions import InvalidTaskError

    with clause("TASK-UNIQUE-004"), pytest.raises(InvalidTaskError):
        add.using(unique_key="conformance").enqueue(1, 2)


@requirement("TASK-SCHED-003")
def test_a_schedule_on_a_backend_without_schedules_is_reported(suite: Suite) -> None:
    # Imported here: only this project's dialect has these names (the kit runs without it).
    from django_tasks import periodic

    # Imported here: as above.
    from django_tasks.schedules import schedule_registry

    periodic(every=timedelta(minutes=5), args=[1, 2], name="conformance")(add)
    try:
        messages = run_checks(tags=["tasks"])
    finally:
        for schedule in schedule_registry:
            if schedule.name == "conformance":
                schedule_registry.unregister(schedule)
    with clause("TASK-SCHED-003"):
        assert [m.id for m in messages if m.obj == "schedule 'conformance'"] == [
            "django_tasks.E072"
        ]
