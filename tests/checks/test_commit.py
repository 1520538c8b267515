"""Waiting for commits the database cannot give (django_tasks.E016, E060)."""

import pytest
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import connections, transaction
from django.test import override_settings

from django_tasks import tasks
from django_tasks.backends.dummy import DummyBackend
from django_tasks.checks import check_tasks
from django_tasks.exceptions import InvalidTaskBackendError
from django_tasks.registry import task_registry
from django_tasks.task import Task
from tests.checks.support import (
    DUMMY,
    IMMEDIATE,
    MANUAL_COMMIT_MESSAGE,
    exactly,
    run_checks,
    send_report,
    send_report_async,
)


@pytest.mark.usefixtures("manual_commit")
def test_enqueue_on_commit_without_autocommit() -> None:
    waits = Task(func=send_report, enqueue_on_commit=True)
    task_registry.register(waits)
    task_registry.register(Task(func=send_report_async, enqueue_on_commit=False))
    backend_error = checks.Error(
        MANUAL_COMMIT_MESSAGE.format(subject="ENQUEUE_ON_COMMIT of backend 'default' is True"),
        hint="Set TASKS['default']['ENQUEUE_ON_COMMIT'] = False, or let the database autocommit.",
        obj="TASKS['default']['ENQUEUE_ON_COMMIT']",
        id="django_tasks.E016",
    )
    task_error = checks.Error(
        MANUAL_COMMIT_MESSAGE.format(
            subject="Task 'tests.checks.support.send_report' has enqueue_on_commit=True"
        ),
        hint="Declare the task with enqueue_on_commit=False, or let the database autocommit.",
        obj="tests.checks.support.send_report",
        id="django_tasks.E016",
    )
    with override_settings(TASKS={"default": {"BACKEND": DUMMY}}):
        assert run_checks() == [backend_error, task_error]
    with override_settings(TASKS={"default": {"BACKEND": DUMMY, "ENQUEUE_ON_COMMIT": False}}):
        assert run_checks() == [task_error]


@pytest.mark.django_db
@pytest.mark.usefixtures("manual_commit")
@override_settings(TASKS={"default": {"BACKEND": DUMMY}})
def test_enqueueing_in_a_transaction_without_autocommit_raises_the_same_words() -> None:
    waits = Task(func=send_report, enqueue_on_commit=True)
    task_registry.register(waits)
    backend_error, task_error = run_checks()
    with transaction.atomic():
        with pytest.raises(InvalidTaskBackendError, match=exactly(backend_error.msg)):
            Task(func=send_report_async).enqueue()
        with pytest.raises(InvalidTaskBackendError, match=exactly(task_error.msg)):
            waits.enqueue()
    backend = tasks["default"]
    assert isinstance(backend, DummyBackend)
    assert backend.results == []


@pytest.mark.usefixtures("no_database")
def test_enqueue_on_commit_without_a_database() -> None:
    setting = {
        "default": {"BACKEND": IMMEDIATE, "ENQUEUE_ON_COMMIT": True},
        "implicit": {"BACKEND": IMMEDIATE},  # The default, True, is no mistake.
    }
    with override_settings(TASKS=setting):
        assert run_checks() == [
            checks.Error(
                "`ENQUEUE_ON_COMMIT` cannot be used when no databases are configured: "
                "TASKS['default']['ENQUEUE_ON_COMMIT'] is True, but DATABASES defines no "
                "'default' database, so there is no transaction to wait for.",
                hint="Set `ENQUEUE_ON_COMMIT` to False (or remove "
                "TASKS['default']['ENQUEUE_ON_COMMIT']), or configure a database.",
                obj="TASKS['default']['ENQUEUE_ON_COMMIT']",
                id="django_tasks.E060",
            )
        ]


def test_a_broken_databases_setting_does_not_break_the_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(handler: object) -> None:
        raise ImproperlyConfigured("You must define a 'default' database.")

    monkeypatch.setattr(type(connections), "settings", property(broken))
    task_registry.register(Task(func=send_report, enqueue_on_commit=True))
    with override_settings(TASKS={"default": {"BACKEND": DUMMY, "ENQUEUE_ON_COMMIT": True}}):
        # Called directly: Django 6's run_checks() itself reads DATABASES, and reports it.
        assert check_tasks() == []
