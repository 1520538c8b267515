"""Enqueueing on the database backend: the row it writes, transactions, async and bulk."""

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.db import connections, transaction
from django.test import override_settings
from django.utils import timezone

from django_tasks import tasks
from django_tasks.backends.database import DatabaseBackend
from django_tasks.backends.database.models import DBTaskResult
from django_tasks.exceptions import InvalidTaskArgumentsError, InvalidTaskError
from django_tasks.signals import task_enqueued
from django_tasks.task import ResultStatus, TaskResult, task
from tests.database.conftest import tasks_setting
from tests.tasks import add, add_async, echo, never_waits, noop

Captured = Callable[..., Any]


@pytest.fixture
def enqueued() -> Iterator[list[tuple[str, bool]]]:
    """(result id, whether its row was visible to a fresh query) for each task_enqueued."""
    sent: list[tuple[str, bool]] = []

    def receiver(sender: type, *, task_result: TaskResult[Any], **kwargs: Any) -> None:
        backend = tasks["default"]
        assert isinstance(backend, DatabaseBackend)
        rows = DBTaskResult.objects.using(backend.database)
        sent.append((task_result.id, rows.filter(pk=task_result.id).exists()))

    task_enqueued.connect(receiver)
    yield sent
    task_enqueued.disconnect(receiver)


def rows(backend: DatabaseBackend) -> Any:
    return DBTaskResult.objects.using(backend.database)


def available_when_enqueued(backend: DatabaseBackend, row: DBTaskResult) -> bool:
    """Whether an immediate task's row is available from its enqueue time, as the database's
    clock tells it: the same reading on PostgreSQL and MariaDB; on SQLite, whose clock counts
    milliseconds, its reading as the insert ran (from the enqueue's millisecond to now)."""
    if connections[backend.database].vendor != "sqlite":
        return row.available_at == row.enqueued_at
    enqueued_millisecond = row.enqueued_at.replace(
        microsecond=row.enqueued_at.microsecond // 1000 * 1000
    )
    return enqueued_millisecond <= row.available_at <= timezone.now()


def test_enqueue_writes_one_row_with_everything_the_result_knows(
    backend: DatabaseBackend, django_capture_on_commit_callbacks: Captured
) -> None:
    run_after = timezone.now() + timedelta(hours=1)
    with django_capture_on_commit_callbacks(execute=True, using=backend.database):
        result = echo.using(priority=7, queue_name="mail", run_after=run_after).enqueue(
            1, "two", three=[3]
        )

    row = rows(backend).get()
    assert (str(row.id), row.status, row.backend, row.queue_name) == (
        result.id,
        "NEW",
        "default",
        "mail",
    )
    assert (row.task_path, row.priority, row.run_after) == (echo.module_path, 7, run_after)
    assert row.arguments == {"args": [1, "two"], "kwargs": {"three": [3]}}
    assert row.available_at == run_after
    assert (row.attempts, row.worker_id, row.worker_ids, row.started_at) == (0, "", [], None)
    assert result.enqueued_at == row.enqueued_at
    assert len(result.id) == 36


def test_an_immediate_task_is_available_from_its_enqueue_time(
    backend: DatabaseBackend, django_capture_on_commit_callbacks: Captured
) -> None:
    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=True, using=backend.database):
        add.enqueue(1, 2)
    row = rows(backend).get()
    assert available_when_enqueued(backend, row)
    assert row.run_after is None
    # The database's clock, which on this machine is the test's clock.
    assert before - timedelta(seconds=5) < row.enqueued_at < timezone.now() + timedelta(seconds=5)


@pytest.mark.databases("default")
@pytest.mark.transactional
def test_on_sqlite_the_enqueue_time_counts_microseconds(
    alias: str, backend: DatabaseBackend
) -> None:
    """SQLite's clock is this process's, but STRFTIME() counts milliseconds: its time could be
    earlier than the enqueue() call that stored it. The row is available by that clock, which
    claims compare with."""
    from asgiref.sync import async_to_sync

    for enqueue in (add.enqueue, async_to_sync(add.aenqueue)) * 5:
        before = timezone.now()
        result = enqueue(1, 2)
        after = timezone.now()
        assert result.enqueued_at is not None
        assert before <= result.enqueued_at <= after
        row = rows(backend).get(pk=result.id)
        assert row.enqueued_at == result.enqueued_at
        assert available_when_enqueued(backend, row)


def test_get_result_reads_back_the_enqueued_result(
    backend: DatabaseBackend, django_capture_on_commit_callbacks: Captured
) -> None:
    with django_capture_on_commit_callbacks(execute=True, using=backend.database):
        result = echo.using(priority=-3).enqueue({"a": [1, None]}, flag=True)

    found = backend.get_result(result.id)
    assert found.task == echo.using(priority=-3)
    assert found.status == ResultStatus.NEW
    assert (found.args, found.kwargs) == ([{"a": [1, None]}], {"flag": True})
    assert (found.enqueued_at, found.started_at, found.finished_at) == (
        result.enqueued_at,
        None,
        None,
    )
    assert (found.attempts, found.worker_ids, found.backend) == (0, [], "default")
    assert echo.get_result(result.id).id == result.id


@pytest.mark.parametrize(
    "result_id",
    [
        "missing",
        "x" * 65,
        "0193a2b4-5c6d-7e8f-9a0b-1c2d3e4f5a6g",  # Not hexadecimal.
        "0193a2b4-5c6d-7e8f-9a0b",  # Too short for a UUID.
        "00000000-0000-7000-8000-000000000000",  # A UUID, but no result's.
        "",
        7,
        None,
    ],
)
def test_an_unknown_or_malformed_id_raises_result_does_not_exist(
    backend: DatabaseBackend, result_id: Any
) -> None:
    from asgiref.sync import async_to_sync

    from django_tasks.exceptions import ResultDoesNotExist

    message = f"No task result with id {result_id!r} in backend 'default'."
    with pytest.raises(ResultDoesNotExist, match=re.escape(message)):
        backend.get_result(result_id)
    with pytest.raises(ResultDoesNotExist, match=re.escape(message)):
        async_to_sync(backend.aget_result)(result_id)


def test_result_ids_are_uuid_strings_and_get_result_takes_any_form_of_them(
    backend: DatabaseBackend, django_capture_on_commit_callbacks: Captured
) -> None:
    import uuid

    with django_capture_on_commit_callbacks(execute=True, using=backend.database):
        result = add.enqueue(1, 2)
    assert isinstance(result.id, str)
    assert str(uuid.UUID(result.id)) == result.id
    for form in (result.id, result.id.upper(), uuid.UUID(result.id).hex):
        found = backend.get_result(form)
        assert (found.id, found.args) == (result.id, [1, 2])


def test_a_result_of_another_backend_alias_is_not_found(
    backend: DatabaseBackend, alias: str, django_capture_on_commit_callbacks: Captured
) -> None:
    from django_tasks.exceptions import ResultDoesNotExist

    with django_capture_on_commit_callbacks(execute=True, using=alias):
        result = add.enqueue(1, 2)
    setting = {**tasks_setting(alias), "other": tasks_setting(alias)["default"]}
    with override_settings(TASKS=setting):
        with pytest.raises(ResultDoesNotExist):
            tasks["other"].get_result(result.id)
        assert tasks["default"].get_result(result.id).id == result.id


@pytest.mark.transactional
def test_inside_a_transaction_the_row_commits_or_rolls_back_with_it(
    backend: DatabaseBackend, alias: str, enqueued: list[tuple[str, bool]]
) -> None:
    with transaction.atomic(using=alias):
        kept = add.enqueue(1, 2)
        assert rows(backend).filter(pk=kept.id).exists()  # Inserted in the transaction...
        assert enqueued == []  # ...but task_enqueued waits for the commit,
        assert kept.enqueued_at is None  # and so does enqueued_at.
    assert enqueued == [(kept.id, True)]
    assert kept.enqueued_at is not None

    with transaction.atomic(using=alias):
        dropped = add.enqueue(3, 4)
        transaction.set_rollback(True, using=alias)
    assert not rows(backend).filter(pk=dropped.id).exists()
    assert enqueued == [(kept.id, True)]
    assert dropped.enqueued_at is None


@pytest.mark.transactional
def test_outside_a_transaction_the_row_is_committed_at_once(
    backend: DatabaseBackend, enqueued: list[tuple[str, bool]]
) -> None:
    result = add.enqueue(1, 2)
    assert enqueued == [(result.id, True)]
    assert result.enqueued_at == rows(backend).get(pk=result.id).enqueued_at


@pytest.mark.django_db(databases=["default", "postgres"], transaction=True)
@pytest.mark.parametrize("enqueue_on_commit", [True, False])
def test_a_queue_on_another_database_waits_for_the_default_databases_commit(
    enqueued: list[tuple[str, bool]], enqueue_on_commit: bool
) -> None:
    setting = tasks_setting("postgres")
    setting["default"]["ENQUEUE_ON_COMMIT"] = enqueue_on_commit
    with override_settings(TASKS=setting):
        backend = tasks["default"]
        assert isinstance(backend, DatabaseBackend)
        with transaction.atomic():  # On "default"; the queue lives on "postgres".
            result = add.enqueue(1, 2)
            inserted_before_commit = rows(backend).filter(pk=result.id).exists()
        assert inserted_before_commit is not enqueue_on_commit
        assert enqueued == [(result.id, True)]

        with transaction.atomic():
            dropped = add.enqueue(3, 4)
            transaction.set_rollback(True)
        assert rows(backend).filter(pk=dropped.id).exists() is not enqueue_on_commit


@pytest.mark.django_db(databases=["default", "postgres"], transaction=True)
def test_a_refused_argument_is_raised_by_enqueue_even_when_the_insert_waits_for_a_commit(
    enqueued: list[tuple[str, bool]],
) -> None:
    """An int too long for JSON was raised only at the end of atomic(), after the commit,
    taking the next task's on-commit INSERT with it."""
    with override_settings(TASKS=tasks_setting("postgres")):
        with transaction.atomic():  # On "default"; the queue lives on "postgres".
            before = add.enqueue(1, 2)
            with pytest.raises(InvalidTaskArgumentsError, match=re.escape("args[0] is an int")):
                echo.enqueue(10**5000)
            after = add.enqueue(3, 4)
        assert [result_id for result_id, _ in enqueued] == [before.id, after.id]
        assert all(visible for _, visible in enqueued)


@pytest.mark.django_db(databases=["default", "postgres"], transaction=True)
def test_an_on_commit_enqueue_that_fails_loses_none_of_its_neighbours(
    enqueued: list[tuple[str, bool]], caplog: pytest.LogCaptureFixture
) -> None:
    """A task_enqueued receiver that raises, and an INSERT that fails once "default" has
    committed (its connection killed), neither escape atomic() nor stop the on-commit
    callbacks after them: the other tasks' and the project's own."""
    postgres = connections["postgres"]

    def receiver(sender: type, *, task_result: TaskResult[Any], **kwargs: Any) -> None:
        if task_result.args == [1, 2]:
            raise RuntimeError("A receiver's bug.")

    ran: list[str] = []
    task_enqueued.connect(receiver)
    try:
        with override_settings(TASKS=tasks_setting("postgres")):
            with transaction.atomic():
                first = add.enqueue(1, 2)
                second = add.enqueue(3, 4)
                transaction.on_commit(lambda: ran.append("project"))
            assert [result_id for result_id, _ in enqueued] == [first.id, second.id]
            assert ran == ["project"]
            assert "A receiver's bug." in caplog.text

            with transaction.atomic():
                lost = add.enqueue(5, 6)
                kill_connection(postgres)
                transaction.on_commit(lambda: ran.append("project again"))
            assert ran == ["project", "project again"]
            assert (
                f"Task not enqueued id={lost.id} path={add.module_path} database=postgres: the "
                f"transaction on 'default' committed, but the task could not be inserted."
            ) in caplog.text
    finally:
        task_enqueued.disconnect(receiver)
        postgres.close()
    assert not DBTaskResult.objects.using("postgres").filter(pk=lost.id).exists()


def kill_connection(connection: Any) -> None:
    """End this PostgreSQL connection from the server's side, as a restart would."""
    import psycopg

    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"], port=settings["PORT"], user=settings["USER"], autocommit=True
    ) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])


@pytest.mark.django_db(databases=["default", "postgres"], transaction=True)
def test_a_task_that_never_waits_is_inserted_inside_the_default_transaction(
    enqueued: list[tuple[str, bool]],
) -> None:
    with override_settings(TASKS=tasks_setting("postgres")):
        backend = tasks["default"]
        assert isinstance(backend, DatabaseBackend)
        with transaction.atomic():
            result = never_waits.enqueue()
            assert rows(backend).filter(pk=result.id).exists()
            assert enqueued == [(result.id, True)]


@pytest.mark.transactional
def test_aenqueue_writes_the_same_row_as_enqueue(
    backend: DatabaseBackend, enqueued: list[tuple[str, bool]]
) -> None:
    from asgiref.sync import async_to_sync

    run_after = timezone.now() + timedelta(minutes=5)
    deferred = echo.using(priority=3, queue_name="q", run_after=run_after)
    sync = deferred.enqueue(1, k="v")

    async def enqueue_async() -> tuple[TaskResult[Any], TaskResult[Any], TaskResult[Any]]:
        asynchronous = await deferred.aenqueue(1, k="v")
        now = await add_async.aenqueue(1, 2)
        return asynchronous, now, await backend.aget_result(now.id)

    asynchronous, now, found = async_to_sync(enqueue_async)()

    fields = ["status", "backend", "queue_name", "task_path", "priority", "arguments"]
    fields += ["run_after", "available_at", "attempts", "worker_id", "worker_ids"]
    one, two = (rows(backend).values(*fields).get(pk=r.id) for r in (sync, asynchronous))
    assert one == two
    row = rows(backend).get(pk=now.id)
    assert row.enqueued_at == now.enqueued_at
    assert available_when_enqueued(backend, row)
    assert row.task_path == "django_tasks_conformance.async_tasks.add_async"
    assert [result_id for result_id, _ in enqueued] == [sync.id, asynchronous.id, now.id]
    assert found.args == [1, 2]


def test_bulk_enqueue_inserts_every_call_and_signals_each_after_the_commit(
    backend: DatabaseBackend,
    enqueued: list[tuple[str, bool]],
    django_capture_on_commit_callbacks: Captured,
) -> None:
    calls = [((i,), {"b": i * 2}) for i in range(1200)]
    deferred = timezone.now() + timedelta(minutes=1)
    with django_capture_on_commit_callbacks(execute=True, using=backend.database):
        results = backend.bulk_enqueue(add.using(run_after=deferred), calls)
        assert enqueued == []

    assert len(results) == 1200
    assert [result_id for result_id, _ in enqueued] == [result.id for result in results]
    stored = {str(row.id): row for row in rows(backend).all()}
    assert set(stored) == {result.id for result in results}
    assert stored[results[7].id].arguments == {"args": [7], "kwargs": {"b": 14}}
    assert stored[results[7].id].available_at == deferred
    assert results[0].enqueued_at == stored[results[0].id].enqueued_at
    assert backend.get_result(results[1199].id).args == [1199]
    assert backend.bulk_enqueue(noop, []) == []


def test_bulk_enqueue_stores_nothing_if_one_call_is_invalid(backend: DatabaseBackend) -> None:
    calls: list[Any] = [((1, 2), {}), ((1, {2}), {})]
    message = (
        "calls[1]: Argument args[1] is {2} (type set), which is not JSON-serializable; use a "
        "list (list(value))."
    )
    with pytest.raises(InvalidTaskArgumentsError, match=re.escape(message)):
        backend.bulk_enqueue(add, calls)
    with pytest.raises(
        TypeError,
        match=re.escape("calls[1] is (1, 2, 3); each call must be a pair (args, kwargs)."),
    ):
        backend.bulk_enqueue(add, [((1, 2), {}), (1, 2, 3)])  # type: ignore[list-item]  # The wrong shape on purpose.
    assert not rows(backend).exists()


@pytest.mark.transactional
def test_bulk_enqueue_rolls_back_with_the_transaction(backend: DatabaseBackend) -> None:
    with transaction.atomic(using=backend.database):
        backend.bulk_enqueue(add, [((1, 2), {})] * 3)
        assert rows(backend).count() == 3
        transaction.set_rollback(True, using=backend.database)
    assert not rows(backend).exists()


def test_invalid_arguments_store_nothing(backend: DatabaseBackend) -> None:
    with pytest.raises(InvalidTaskArgumentsError):
        echo.enqueue(timezone.now())
    assert not rows(backend).exists()


def main_task() -> None:
    """Given __main__ as its module below."""


@pytest.fixture
def main_task_module() -> Iterator[None]:
    yield
    main_task.__module__ = __name__


def test_tasks_a_worker_cannot_import_are_refused(
    backend: DatabaseBackend, main_task_module: None
) -> None:
    main_task.__module__ = "__main__"
    message = (
        "Task __main__.main_task is defined in __main__, which a worker cannot import; move it "
        "into a module of an installed app, or one listed in TASK_MODULES."
    )
    with pytest.raises(InvalidTaskError, match=re.escape(message)):
        task(main_task)
    main_task.__module__ = "outside_the_apps"
    message = (
        "Task outside_the_apps.main_task is defined in module 'outside_the_apps', which is not "
        "part of an installed app nor listed in TASK_MODULES, so workers do not import it; add "
        "'outside_the_apps' to the TASK_MODULES setting (or move the task into an installed "
        "app)."
    )
    with pytest.raises(InvalidTaskError, match=re.escape(message)):
        task(main_task)
    with override_settings(TASK_MODULES=["outside_the_apps"]):
        assert task(main_task).enqueue().status == ResultStatus.NEW


def test_queue_names_longer_than_the_column_are_refused(backend: DatabaseBackend) -> None:
    name = "q" * 101
    message = (
        f"Queue name {name[:50]!r}... is 101 characters long; the database backend stores "
        f"queue names of at most 100 characters."
    )
    with pytest.raises(InvalidTaskError, match=re.escape(message)):
        add.using(queue_name=name)


@pytest.fixture
def notifications(alias: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], list[str]]]:
    """The queue names NOTIFYed to idle workers (read from a connection of its own, which
    LISTENs); NOTIFY_WINDOW is a minute, so that the test does not depend on its speed."""
    import psycopg
    from django.db import connections

    from django_tasks.backends.database.queries import postgresql, queries_for
    from django_tasks.backends.database.schema import NOTIFY_CHANNEL

    monkeypatch.setattr(postgresql, "NOTIFY_WINDOW", 60.0)
    queries = queries_for(alias)
    assert isinstance(queries, postgresql.PostgreSQLQueries)
    monkeypatch.setattr(queries, "_notified_at", {})
    settings = connections[alias].settings_dict
    listener = psycopg.connect(
        host=settings["HOST"],
        port=settings["PORT"],
        user=settings["USER"],
        dbname=settings["NAME"],
        autocommit=True,
    )
    listener.execute(f'LISTEN "{NOTIFY_CHANNEL}"')

    def received() -> list[str]:
        return [notify.payload for notify in listener.notifies(timeout=0.2)]

    yield received
    listener.close()


@pytest.mark.databases("postgres")
@pytest.mark.transactional
def test_enqueues_wake_idle_workers_once_per_window_and_queue(
    backend: DatabaseBackend, notifications: Callable[[], list[str]]
) -> None:
    add.enqueue(1, 2)
    add.enqueue(3, 4)  # Within the window of the first: no notification of its own.
    add.using(queue_name="mail").enqueue(5, 6)
    add.using(run_after=timezone.now() + timedelta(hours=1)).enqueue(7, 8)  # Polled for.
    assert notifications() == ["default", "mail"]

    with transaction.atomic(using=backend.database):
        add.enqueue(1, 2)  # In a transaction: notified at the commit, whenever that is.
        add.using(queue_name="mail").enqueue(3, 4)
    assert notifications() == ["default", "mail"]

    backend.bulk_enqueue(add.using(queue_name="bulk"), [((1, 2), {})] * 3)
    assert notifications() == ["bulk"]


@pytest.mark.databases("postgres")
@pytest.mark.transactional
def test_aenqueue_wakes_idle_workers_too(
    backend: DatabaseBackend, notifications: Callable[[], list[str]]
) -> None:
    from asgiref.sync import async_to_sync

    async_to_sync(add.using(queue_name="async").aenqueue)(1, 2)
    assert notifications() == ["async"]
