"""Rows that hold what cannot be read, as older versions wrote them (a run_after PostgreSQL
holds but Python's datetime does not) or as someone wrote them behind the backend's back: each
fails or is shown on its own, and the queue, get_result and the admin go on."""

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.models import User
from django.db import connections
from django.test import Client
from django.urls import reverse

from django_tasks.backends.database import DatabaseBackend
from django_tasks.backends.database.exceptions import UnreadableResultError
from django_tasks.backends.database.models import DBTaskResult
from django_tasks.exceptions import InvalidTaskError
from tests.database.conftest import StartWorker
from tests.tasks import add

pytestmark = pytest.mark.transactional

# What each database holds and gives back as text, for a run_after Python cannot read: on
# PostgreSQL as the old enqueue stored datetime(1, 1, 1, 0, 30, tzinfo=UTC+5) and
# datetime(9999, 12, 31, 23, 0, tzinfo=UTC-5); on SQLite, text written behind its back.
# (MariaDB's driver reads such times as None, so nothing there fails.)
BEFORE_YEAR_1 = {
    "postgresql": ("0001-01-01 00:30:00+05", "0001-12-31 19:30:00+00 BC"),
    "sqlite": ("0000-12-31 19:30:00", "0000-12-31 19:30:00"),
}
AFTER_YEAR_9999 = ("9999-12-31 23:00:00-05", "10000-01-01 04:00:00+00")


def store_run_after(alias: str, result_id: str, value: str) -> None:
    """Set a row's run_after (and so its available_at) as an older version, or a hand, did."""
    connection = connections[alias]
    table = connection.ops.quote_name(DBTaskResult._meta.db_table)
    row_id = result_id if connection.vendor == "postgresql" else result_id.replace("-", "")
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET run_after = %s, available_at = %s WHERE id = %s",
            [value, value, row_id],
        )
        assert cursor.rowcount == 1


def unreadable(alias: str, when: str = "before") -> tuple[str, str]:
    vendor = connections[alias].vendor
    return BEFORE_YEAR_1[vendor] if when == "before" else AFTER_YEAR_9999


@pytest.mark.databases("default", "postgres")
def test_the_worker_fails_an_unreadable_row_alone_and_runs_the_rest(
    alias: str, backend: DatabaseBackend, start_worker: StartWorker
) -> None:
    """On 14857a8, reading the row back failed the whole claim: the other tasks claimed with
    it stayed RUNNING until their leases expired, and ended FAILED without ever running."""
    before = [add.enqueue(i, i) for i in range(3)]
    poison = add.enqueue(100, 100)
    after = [add.enqueue(i, i) for i in range(3, 6)]
    stored, text = unreadable(alias)
    store_run_after(alias, poison.id, stored)

    worker = start_worker("--batch")
    assert worker.wait() == 0, worker.output()

    for result in before + after:
        found = backend.get_result(result.id)
        assert (found.status, found.attempts) == ("SUCCEEDED", 1), worker.output()
    row = DBTaskResult.objects.using(alias).defer("run_after", "available_at").get(pk=poison.id)
    assert (row.status, row.exception_class_path) == (
        "FAILED",
        "django_tasks.exceptions.InvalidTaskError",
    )
    assert row.traceback.endswith(
        f"InvalidTaskError: The stored run_after of result {poison.id!r}, {text!r}, is outside "
        f"the years 1 to 9999 (UTC) that Python's datetime holds, so the task cannot run; "
        f"enqueue it again with a run_after in that range.\n"
    )
    assert f"Task rejected id={poison.id}" in worker.output()
    assert "rejected=1" in worker.output()


def assert_get_result_names_the_row(backend: DatabaseBackend, when: str) -> None:
    alias = backend.database
    result = add.enqueue(1, 2)
    other = add.enqueue(3, 4)
    stored, text = unreadable(alias, when)
    store_run_after(alias, result.id, stored)

    message = (
        f"Task result {result.id!r} cannot be read: it holds run_after {text!r} and "
        f"available_at {text!r}, outside the years 1 to 9999 (UTC) that Python's datetime "
        f"holds; delete the row, or correct it in the database."
    )
    with pytest.raises(UnreadableResultError, match=f"^{re.escape(message)}$"):
        backend.get_result(result.id)
    with pytest.raises(UnreadableResultError, match=re.escape(message)):
        async_to_sync(backend.aget_result)(result.id)
    with pytest.raises(ValueError, match=re.escape(message)):  # As a bare ValueError was.
        add.get_result(result.id)
    assert backend.get_result(other.id).args == [3, 4]


@pytest.mark.databases("default", "postgres")
def test_get_result_says_which_row_holds_a_time_before_year_1(backend: DatabaseBackend) -> None:
    assert_get_result_names_the_row(backend, "before")


@pytest.mark.databases("postgres")  # Django reads SQLite's year 10000 as None.
def test_get_result_says_which_row_holds_a_time_after_year_9999(
    backend: DatabaseBackend,
) -> None:
    assert_get_result_names_the_row(backend, "after")


def test_get_result_says_which_row_holds_an_unknown_status(
    alias: str, backend: DatabaseBackend
) -> None:
    result = add.enqueue(1, 2)
    DBTaskResult.objects.using(alias).filter(pk=result.id).update(status="PAUSED")
    message = (
        f"Task result {result.id!r} cannot be read: its status 'PAUSED' is none of NEW, "
        f"RUNNING, FAILED, SUCCEEDED, CANCELLED; it was changed behind the backend's back."
    )
    with pytest.raises(UnreadableResultError, match=f"^{re.escape(message)}$"):
        backend.get_result(result.id)


@pytest.mark.with_default
def test_the_admin_shows_rows_that_hold_what_cannot_be_read(
    alias: str, backend: DatabaseBackend, client: Client
) -> None:
    client.force_login(User.objects.create_user("admin", is_staff=True, is_superuser=True))
    readable = add.using(run_after=datetime(1, 1, 1, tzinfo=UTC)).enqueue(1, 2)
    paused = add.enqueue(3, 4)
    DBTaskResult.objects.using(alias).filter(pk=paused.id).update(status="PAUSED")
    broken = []
    if connections[alias].vendor != "mysql":
        broken.append((add.enqueue(5, 6).id, *unreadable(alias)))
    if connections[alias].vendor == "postgresql":
        broken.append((add.enqueue(7, 8).id, *unreadable(alias, "after")))
    for result_id, stored, _ in broken:
        store_run_after(alias, result_id, stored)

    changelist = client.get(reverse("admin:django_tasks_spec_database_dbtaskresult_changelist"))
    assert changelist.status_code == 200
    content = changelist.content.decode()
    for result_id in [readable.id, paused.id, *(row[0] for row in broken)]:
        assert result_id in content
    assert "PAUSED" in content

    def detail(result_id: str) -> str:
        url = reverse("admin:django_tasks_spec_database_dbtaskresult_change", args=[result_id])
        response = client.get(url)
        assert response.status_code == 200
        return str(response.content.decode())

    assert "PAUSED" in detail(paused.id)
    assert "Jan. 1, 0001" in detail(readable.id)
    for result_id, _, text in broken:
        content = detail(result_id)
        for name in ("run_after", "available_at"):
            warning = (
                f"The stored {name} is {text!r}, outside the years 1 to 9999 (UTC) that "
                f"Python's datetime holds, so it is shown empty; this task cannot run."
            )
            assert warning.replace("'", "&#x27;") in content


def test_every_database_keeps_run_after_at_the_ends_of_the_years_1_to_9999(
    backend: DatabaseBackend,
) -> None:
    for run_after in (datetime(1, 1, 1, tzinfo=UTC), datetime.max.replace(tzinfo=UTC)):
        result = add.using(run_after=run_after).enqueue(1, 2)
        assert backend.get_result(result.id).task.run_after == run_after


def test_run_after_beyond_the_years_1_to_9999_is_refused_on_every_database(
    backend: DatabaseBackend,
) -> None:
    """On 14857a8 PostgreSQL stored it (and could not read it back); SQLite and MariaDB
    raised a bare OverflowError at enqueue."""
    for run_after in (
        datetime(1, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=5))),
        datetime(9999, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-5))),
    ):
        with pytest.raises(InvalidTaskError, match="outside the years 1 to 9999 once in UTC"):
            add.using(run_after=run_after).enqueue(1, 2)
    assert not DBTaskResult.objects.using(backend.database).exists()
