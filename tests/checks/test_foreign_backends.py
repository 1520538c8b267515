"""Django 6: TASKS naming Django's own backends (or any django.tasks backend) is checked with
our IDs, Django's own check_tasks is replaced by ours, and nothing is reported twice or raised.
Collected only where Django has django.tasks (tests/conftest.py)."""

import pytest
from django.core import checks
from django.core.checks.registry import registry
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.tasks import checks as django_checks
from django.tasks.backends.dummy import DummyBackend as DjangoDummyBackend
from django.test import override_settings
from pytest_django import Settings as SettingsWrapper

from django_tasks import tasks
from django_tasks.exceptions import InvalidTaskSettingError
from tests.checks.support import KEYS, exactly, run_checks

DJANGO_IMMEDIATE = "django.tasks.backends.immediate.ImmediateBackend"
DATABASE = "django_tasks.backends.database.DatabaseBackend"


@override_settings(
    TASKS={
        "default": {"BACKEND": DJANGO_IMMEDIATE, "QUEUE": ["default"]},
        "other": {"BACKEND": "django.tasks.backends.dummy.DummyBackend", "OPTIONS": {"A": 1}},
    }
)
def test_django_s_backends_are_held_to_the_schema_and_keep_their_options() -> None:
    assert run_checks() == [
        checks.Error(
            f"Unknown key 'QUEUE'; {KEYS}.",
            hint="Did you mean 'QUEUES'?",
            obj="TASKS['default']['QUEUE']",
            id="django_tasks.E005",
        )
    ]
    assert isinstance(tasks["other"], DjangoDummyBackend)  # Its OPTIONS are its own.


@override_settings(TASKS={"default": {"BACKEND": DJANGO_IMMEDIATE, "ENQUEUE_ON_COMMIT": True}})
def test_enqueue_on_commit_is_refused_for_a_backend_that_cannot_honour_it() -> None:
    message = (
        f"ENQUEUE_ON_COMMIT is True, but backend {DJANGO_IMMEDIATE!r} is not one of "
        f"django_tasks's backends and cannot wait for a transaction to commit."
    )
    hint = (
        "Remove ENQUEUE_ON_COMMIT, and enqueue with transaction.on_commit() where a task must "
        "wait for the commit; or use one of django_tasks's backends."
    )
    assert run_checks() == [
        checks.Error(
            message, hint=hint, obj="TASKS['default']['ENQUEUE_ON_COMMIT']", id="django_tasks.E041"
        )
    ]
    where = "TASKS['default']['ENQUEUE_ON_COMMIT']"
    with pytest.raises(InvalidTaskSettingError, match=exactly(f"{where}: {message} {hint}")):
        tasks["default"]


@override_settings(TASKS={"default": {"BACKEND": DJANGO_IMMEDIATE, "ENQUEUE_ON_COMMIT": False}})
def test_enqueue_on_commit_false_is_what_such_a_backend_does() -> None:
    assert run_checks() == []


def test_django_s_check_tasks_is_replaced_by_ours() -> None:
    registered: set[object] = {*registry.registered_checks, *registry.deployment_checks}
    assert django_checks.check_tasks not in registered


@pytest.mark.django_db(databases="__all__")  # Django 6.1's check gives checks the databases.
@override_settings(TASKS={"default": {"BACKEND": DATABASE, "QUEUE": []}})
def test_manage_py_check_reports_a_typo_once_without_a_traceback() -> None:
    # Django's check_tasks would build the backend and raise on the typo.
    with pytest.raises(SystemCheckError) as raised:
        call_command("check")
    report = str(raised.value)
    assert report.count("django_tasks.E005") == 1
    assert "Traceback" not in report


@pytest.mark.django_db(databases="__all__")
def test_a_backend_s_own_check_is_reported_once(settings: SettingsWrapper) -> None:
    settings.INSTALLED_APPS = [
        app for app in settings.INSTALLED_APPS if app != "django_tasks.backends.database"
    ]
    settings.TASKS = {"default": {"BACKEND": DATABASE}}
    messages = checks.run_checks()  # Every check, Django's own included.
    assert [message.id for message in messages].count("django_tasks.E020") == 1
