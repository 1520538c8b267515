"""The spec's dictionary between the two dialects names what each dialect really defines."""

import importlib.util

from django_tasks import ResultStatus
from django_tasks_spec.dialects import (
    FINISHED_STATUSES,
    STATUS_TO_DJANGO,
    STATUS_TO_REFERENCE,
    STATUSES,
    Dialect,
)


def test_the_reference_statuses_are_those_of_result_status() -> None:
    assert [c.reference for c in STATUSES] == [status.value for status in ResultStatus]
    assert {ResultStatus.FAILED, ResultStatus.SUCCEEDED} == FINISHED_STATUSES[Dialect.REFERENCE]


def test_the_django_statuses_are_those_of_task_result_status_where_django_has_them() -> None:
    if importlib.util.find_spec("django.tasks") is None:  # Django 5.2: the table's text only.
        assert sorted(STATUS_TO_REFERENCE) == ["FAILED", "READY", "RUNNING", "SUCCESSFUL"]
        return
    from django.tasks import TaskResultStatus

    assert [c.django for c in STATUSES] == [status.value for status in TaskResultStatus]
    assert {TaskResultStatus.FAILED, TaskResultStatus.SUCCESSFUL} == FINISHED_STATUSES[
        Dialect.DJANGO
    ]


def test_the_two_status_maps_are_inverse() -> None:
    assert {v: k for k, v in STATUS_TO_DJANGO.items()} == STATUS_TO_REFERENCE
