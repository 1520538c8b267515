"""The checks of schedules (E070-E075), ``manage.py task_schedules`` and the schedules in the
admin."""

import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core import checks
from django.core.management import call_command
from django.test import Client, override_settings
from django.urls import reverse

from django_tasks import tasks
from django_tasks.backends.database import DatabaseBackend
from django_tasks.backends.database.models import DBScheduleTick
from django_tasks.checks import check_schedules
from django_tasks.schedules import InvalidScheduleError, Schedule, periodic, schedule_registry
from tests.database.conftest import tasks_setting
from tests.database.tasks import record

pytestmark = pytest.mark.databases("default")

WHERE = "TASKS['default']['OPTIONS']['SCHEDULES']"


@pytest.fixture
def configured(alias: str) -> Iterator[Any]:
    def configure(**schedules: dict[str, Any]) -> list[checks.CheckMessage]:
        setting = tasks_setting(alias, SCHEDULES=schedules)
        override = override_settings(TASKS=setting)
        override.enable()
        stack.append(override)
        backend = tasks["default"]
        assert isinstance(backend, DatabaseBackend)
        return [m for m in backend.check() if m.id and m.id.startswith("django_tasks.E07")]

    stack: list[Any] = []
    yield configure
    for override in reversed(stack):
        override.disable()


RECORD = "tests.database.tasks.record"


def test_valid_schedules_pass(configured: Any) -> None:
    assert configured(ok={"task": RECORD, "every": 60, "args": ["/dev/null"]}) == []


@pytest.mark.parametrize(
    ("entry", "check_id", "message"),
    [
        (
            {"task": RECORD, "cron": "61 * * * *", "args": ["/dev/null"]},
            "django_tasks.E070",
            "Schedule 'bad' has an invalid cron expression '61 * * * *': Bad minute.",
        ),
        (
            {"task": RECORD, "cron": "0 3 * * *", "every": 60, "args": ["/dev/null"]},
            "django_tasks.E070",
            "Schedule 'bad' must have either cron or every, not both or neither.",
        ),
        (
            {"task": RECORD, "cron": "0 3 * * *", "time_zone": "Mars/Olympus", "args": ["x"]},
            "django_tasks.E071",
            "Schedule 'bad' has time zone 'Mars/Olympus', which is not an IANA time zone name "
            "(such as 'Europe/Paris' or 'UTC').",
        ),
        (
            {"task": RECORD, "every": 60},
            "django_tasks.E073",
            "Schedule 'bad' enqueues task tests.database.tasks.record without its required "
            "arguments 'ledger'.",
        ),
        (
            {"task": "tests.database.tasks.nothing_here", "every": 60},
            "django_tasks.E074",
            "Task path 'tests.database.tasks.nothing_here' is not a registered task; only "
            "functions declared with @task run.",
        ),
    ],
)
def test_an_invalid_schedule_in_the_setting_is_reported(
    configured: Any, entry: dict[str, Any], check_id: str, message: str
) -> None:
    [found] = configured(bad=entry)
    assert (found.id, found.msg, found.obj) == (check_id, message, f"{WHERE}['bad']")


def test_a_setting_schedule_with_the_name_of_a_code_schedule_is_reported(
    configured: Any,
) -> None:
    declared = Schedule(name="twice", task_path=RECORD, backend="default", every=timedelta(60))
    schedule_registry.register(declared)
    try:
        found = configured(twice={"task": RECORD, "every": 60, "args": ["/dev/null"]})
    finally:
        schedule_registry.unregister(declared)
    assert [m.id for m in found] == ["django_tasks.E075"]


def test_a_code_schedule_on_a_backend_that_cannot_run_it_is_reported(alias: str) -> None:
    declared = Schedule(
        name="dummy", task_path=RECORD, backend="default", every=timedelta(seconds=60)
    )
    schedule_registry.register(declared)
    setting = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    try:
        with override_settings(TASKS=setting):
            found = check_schedules()
    finally:
        schedule_registry.unregister(declared)
    assert [(m.id, m.obj) for m in found] == [
        ("django_tasks.E072", "schedule 'dummy'"),
        ("django_tasks.E073", "schedule 'dummy'"),
    ]
    assert found[0].msg == (
        "Schedule 'dummy' of task tests.database.tasks.record is on backend 'default' "
        "(django_tasks.backends.dummy.DummyBackend), which cannot run schedules "
        "(supports_schedules is False)."
    )


def test_periodic_refuses_an_invalid_expression_when_declared() -> None:
    with pytest.raises(
        InvalidScheduleError,
        match=re.escape("Schedule 'x' has an invalid cron expression '* * *': Wrong number"),
    ):
        periodic(cron="* * *", name="x")(record)
    with pytest.raises(InvalidScheduleError, match=r"periodic\(\) decorates a task; 42 is not"):
        periodic(every=timedelta(seconds=5))(42)


@pytest.mark.with_default
def test_the_command_and_the_admin_list_schedules_and_their_next_runs(
    configured: Any, client: Client
) -> None:
    configured(
        nightly={
            "task": RECORD,
            "cron": "0 3 * * *",
            "time_zone": "Europe/Paris",
            "args": ["/dev/null"],
        },
        often={"task": RECORD, "every": 10, "args": ["/dev/null"], "missed": "skip"},
    )
    backend = tasks["default"]
    assert isinstance(backend, DatabaseBackend)
    tick = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)
    DBScheduleTick.objects.using(backend.database).create(
        backend="default", schedule="nightly", tick_at=tick, outcome="BEGAN"
    )
    output = io.StringIO()
    call_command("task_schedules", stdout=output)

    lines = output.getvalue().splitlines()
    assert lines[0].startswith(
        f"nightly: {RECORD}, cron '0 3 * * *' in Europe/Paris, missed=run_once; last tick "
        f"2026-06-01T01:00:00+00:00 (BEGAN); next run 20"
    )
    assert lines[0].endswith(":00:00+00:00")
    assert lines[1].startswith(
        f"often: {RECORD}, every 0:00:10, missed=skip; last tick never; next run 20"
    )

    user = User.objects.create_superuser("admin")
    client.force_login(user)
    page = client.get(reverse("admin:django_tasks_spec_database_dbscheduletick_changelist"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "cron &#x27;0 3 * * *&#x27; in Europe/Paris" in html
    assert "2026-06-01T01:00:00+00:00 (BEGAN)" in html
    assert "every 0:00:10" in html
