"""check --deploy: backends made for development and tests (django_tasks.W002, W003)."""

from django.core import checks
from django.core.management import call_command
from django.test import override_settings

from tests.checks.support import (
    DEPLOY_HINT,
    DUMMY,
    IMMEDIATE,
    run_checks,
)


@override_settings(
    TASKS={
        "default": {"BACKEND": IMMEDIATE},
        "tests": {"BACKEND": DUMMY},
        "subclass": {"BACKEND": "tests.backends.OptionsBackend", "OPTIONS": {"database": "q"}},
        "other": {"BACKEND": "tests.backends.MinimalBackend"},
    }
)
def test_deploy_warns_about_development_backends() -> None:
    assert run_checks() == []
    assert run_checks(deploy=True) == [
        checks.Warning(
            f"Backend 'default' is {IMMEDIATE}, which runs each task inside the request or "
            f"command that enqueues it, which waits for it.",
            hint=DEPLOY_HINT,
            obj="TASKS['default']['BACKEND']",
            id="django_tasks.W003",
        ),
        checks.Warning(
            f"Backend 'tests' is {DUMMY}, which keeps tasks in memory and never runs them.",
            hint=DEPLOY_HINT,
            obj="TASKS['tests']['BACKEND']",
            id="django_tasks.W002",
        ),
        checks.Warning(
            "Backend 'subclass' is tests.backends.OptionsBackend, which keeps tasks in memory "
            "and never runs them.",
            hint=DEPLOY_HINT,
            obj="TASKS['subclass']['BACKEND']",
            id="django_tasks.W002",
        ),
    ]


@override_settings(
    TASKS={"default": {"BACKEND": DUMMY}}, SILENCED_SYSTEM_CHECKS=["django_tasks.W002"]
)
def test_a_warning_can_be_silenced_by_id() -> None:
    call_command("check", "--deploy", "--tag", "tasks", "--fail-level", "WARNING")
