"""The checks of the declared tasks against their backends (django_tasks.E017, E018)."""

import re

import pytest
from django.core import checks
from django.test import override_settings

from django_tasks.exceptions import InvalidTaskBackendError, InvalidTaskError
from django_tasks.registry import task_registry
from django_tasks.task import Task, task
from tests.checks.support import (
    DUMMY,
    exactly,
    run_checks,
    send_report,
    send_report_async,
)


@override_settings(TASKS={"default": {"BACKEND": DUMMY, "QUEUES": ["emails"]}})
def test_a_task_on_a_queue_its_backend_does_not_allow() -> None:
    on_default_queue = Task(func=send_report)
    task_registry.register(on_default_queue)
    task_registry.register(Task(func=send_report_async, queue_name="emails"))
    message = "Queue 'default' is not valid for backend 'default'; allowed: ['emails']."
    assert run_checks() == [
        checks.Error(
            message,
            hint="Change the task's declaration, or TASKS['default'], so that they agree.",
            obj="tests.checks.support.send_report",
            id="django_tasks.E017",
        )
    ]
    with pytest.raises(InvalidTaskError, match=exactly(message)):
        on_default_queue.enqueue()


@override_settings(TASKS={"default": {"BACKEND": "tests.backends.MinimalBackend"}})
def test_a_task_with_options_its_backend_does_not_support() -> None:
    task_registry.register(Task(func=send_report, priority=10))
    assert run_checks() == [
        checks.Error(
            "Task tests.checks.support.send_report has priority 10, but backend 'default' ignores "
            "priority (supports_priority is False); leave it at 0.",
            hint="Change the task's declaration, or TASKS['default'], so that they agree.",
            obj="tests.checks.support.send_report",
            id="django_tasks.E017",
        )
    ]


def test_a_task_declared_while_its_backend_is_broken() -> None:
    setting = {"default": {"BACKEND": "myproject.Backend", "QUEUES": ["emails"]}}
    with override_settings(TASKS=setting):
        declared = task(queue_name="reports")(send_report)  # Does not raise: the check reports.
        assert [(message.id, message.obj) for message in run_checks()] == [
            ("django_tasks.E008", "TASKS['default']['BACKEND']"),
            ("django_tasks.E017", "tests.checks.support.send_report"),
        ]
        assert run_checks()[1].msg == (
            "Queue 'reports' is not valid for backend 'default'; allowed: ['emails']."
        )
        with pytest.raises(InvalidTaskBackendError, match=re.escape("No module named")):
            declared.enqueue()


@override_settings(TASKS={"default": {"BACKEND": DUMMY, "QUEUES": ["emails"]}})
def test_a_loadable_backend_refuses_a_task_when_it_is_declared() -> None:
    with pytest.raises(
        InvalidTaskError,
        match=exactly("Queue 'reports' is not valid for backend 'default'; allowed: ['emails']."),
    ):
        task(queue_name="reports")(send_report)


@override_settings(TASKS={"default": {"BACKEND": DUMMY}, "emails": {"BACKEND": DUMMY}})
def test_a_task_bound_to_an_undefined_backend() -> None:
    declared = task(backend="email")(send_report)
    message = (
        "The connection 'email' doesn't exist. Task backend 'email' is not defined; TASKS "
        "defines ['default', 'emails']."
    )
    assert run_checks() == [
        checks.Error(
            message,
            hint="Add 'email' to TASKS, or declare the task with a defined alias.",
            obj="tests.checks.support.send_report",
            id="django_tasks.E018",
        )
    ]
    with pytest.raises(InvalidTaskBackendError, match=exactly(message)):
        declared.enqueue()
