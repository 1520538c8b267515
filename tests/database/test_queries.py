"""The worker's statements, one by one, on each database: claim, finish, renew, release, reap."""

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.db import connections
from django.utils import timezone

from django_tasks.backends.database import DatabaseBackend
from django_tasks.backends.database.exceptions import StorageError
from django_tasks.backends.database.models import DBTaskResult
from django_tasks.backends.database.queries import (
    ClaimedRow,
    Finish,
    NewRow,
    Queries,
    queries_for,
)
from django_tasks.backends.database.rows import uuid7
from django_tasks.backends.database.worker.outbox import STORE_ATTEMPTS, Outbox, PendingFinish
from django_tasks.utils import class_path
from tests.tasks import add, echo

pytestmark = pytest.mark.transactional


@pytest.fixture
def cursor(alias: str) -> Iterator[Any]:
    with connections[alias].cursor() as cursor:
        yield cursor


@pytest.fixture
def queries(alias: str) -> Queries:
    return queries_for(alias)


def claim(queries: Queries, cursor: Any, limit: int = 10, **options: Any) -> list[ClaimedRow]:
    arguments: dict[str, Any] = {
        "worker_id": "w1",
        "backend": "default",
        "queues": None,
        "limit": limit,
        "lease_seconds": 30.0,
    }
    return queries.claim(cursor, **{**arguments, **options})


def finish(row: ClaimedRow, **changes: Any) -> Finish:
    now = timezone.now()
    fields: dict[str, Any] = {
        "id": row.id,
        "attempts": row.attempts,
        "status": "SUCCEEDED",
        "started_at": now,
        "finished_at": now,
        "return_value": "42",
        "exception_class_path": "",
        "traceback": "",
    }
    return Finish(**{**fields, **changes})


def row(backend: DatabaseBackend, result_id: str) -> DBTaskResult:
    return DBTaskResult.objects.using(backend.database).get(pk=result_id)


def test_a_claim_takes_the_highest_priority_then_the_oldest_and_counts_the_attempt(
    backend: DatabaseBackend, queries: Queries, cursor: Any
) -> None:
    old = add.enqueue(1, 1)
    new = add.enqueue(2, 2)
    urgent = add.using(priority=50).enqueue(3, 3)
    low = add.using(priority=-50).enqueue(4, 4)

    claimed = claim(queries, cursor, limit=3)
    assert sorted(r.id for r in claimed) == sorted([urgent.id, old.id, new.id])
    first = next(r for r in claimed if r.id == urgent.id)
    assert (first.attempts, first.worker_ids, first.priority) == (1, ["w1"], 50)
    assert first.arguments.replace(" ", "") == '{"args":[3,3],"kwargs":{}}'
    stored = row(backend, urgent.id)
    assert (stored.status, stored.worker_id, stored.attempts) == ("RUNNING", "w1", 1)
    assert stored.started_at == first.started_at
    assert stored.lease_expires_at is not None
    assert stored.lease_expires_at - stored.started_at == timedelta(seconds=30)

    assert [r.id for r in claim(queries, cursor)] == [low.id]
    assert claim(queries, cursor) == []


def test_a_claim_never_takes_a_task_before_its_run_after(
    backend: DatabaseBackend, queries: Queries, cursor: Any
) -> None:
    add.using(run_after=timezone.now() + timedelta(seconds=30), priority=100).enqueue(1, 1)
    due = add.using(run_after=timezone.now() - timedelta(seconds=1)).enqueue(2, 2)
    assert [r.id for r in claim(queries, cursor)] == [due.id]
    assert claim(queries, cursor) == []


def test_a_claim_takes_only_the_queues_and_backend_asked_for(
    backend: DatabaseBackend, queries: Queries, cursor: Any
) -> None:
    a = add.using(queue_name="a").enqueue(1, 1)
    b = add.using(queue_name="b").enqueue(2, 2)
    add.using(queue_name="c").enqueue(3, 3)
    assert claim(queries, cursor, backend="other") == []
    assert sorted(r.id for r in claim(queries, cursor, queues=["a", "b"])) == sorted([a.id, b.id])
    assert [r.queue_name for r in claim(queries, cursor, queues=None)] == ["c"]


def test_queue_names_are_matched_exactly_whatever_they_contain(
    backend: DatabaseBackend, queries: Queries, cursor: Any
) -> None:
    """Names enqueue refuses (see test_task.py), in rows written behind its back."""
    names = ["a,b", "q'; DROP TABLE x; --", "{x}", "50%_off", 'quo"te', "ünï"]
    results = {name: insert_on_queue(queries, cursor, name) for name in names}
    insert_on_queue(queries, cursor, "50%Xoff")  # LIKE would match "50%_off".
    insert_on_queue(queries, cursor, "a")
    claimed = claim(queries, cursor, queues=names)
    assert sorted(r.id for r in claimed) == sorted(results.values())
    assert {r.queue_name for r in claimed} == set(names)


def insert_on_queue(queries: Queries, cursor: Any, queue_name: str) -> str:
    result_id = uuid7()
    queries.insert(
        cursor,
        NewRow(
            id=result_id,
            backend="default",
            queue_name=queue_name,
            task_path=add.module_path,
            priority=0,
            arguments='{"args": [1, 1], "kwargs": {}}',
            run_after=None,
        ),
    )
    return result_id


def test_finish_stores_the_outcome_only_for_the_worker_and_attempt_holding_the_lease(
    backend: DatabaseBackend, queries: Queries, cursor: Any
) -> None:
    one, two, three = (add.enqueue(i, i) for i in range(3))
    rows = {r.id: r for r in claim(queries, cursor)}
    stored = queries.finish(
        cursor,
        worker_id="w1",
        finishes=[
            finish(rows[one.id]),
            finish(rows[two.id], attempts=7),  # Another attempt holds it.
            finish(
                rows[three.id],
                status="FAILED",
                return_value=None,
                exception_class_path="builtins.ValueError",
                traceback="Traceback: ValueError: <script>",
            ),
        ],
    )
    assert stored == {one.id, three.id}
    assert queries.finish(cursor, worker_id="w2", finishes=[finish(rows[two.id])]) == set()

    assert backend.get_result(one.id).return_value == 42
    assert backend.get_result(two.id).status == "RUNNING"
    failed = backend.get_result(three.id)
    assert (failed.status, failed.exception_class, failed.traceback) == (
        "FAILED",
        ValueError,
        "Traceback: ValueError: <script>",
    )
    assert row(backend, one.id).lease_expires_at is None


def test_finish_is_idempotent_for_a_retried_write(
    backend: DatabaseBackend, queries: Queries, cursor: Any
) -> None:
    add.enqueue(1, 1)
    (claimed,) = claim(queries, cursor)
    outcome = finish(claimed)
    assert queries.finish(cursor, worker_id="w1", finishes=[outcome]) == {claimed.id}
    # The connection dropped before the answer came back; the worker writes again.
    assert queries.finish(cursor, worker_id="w1", finishes=[outcome]) == {claimed.id}
    later = finish(claimed, finished_at=timezone.now() + timedelta(seconds=1))
    assert queries.finish(cursor, worker_id="w1", finishes=[later]) == set()


def test_an_outcome_the_driver_refuses_is_replaced_alone_and_the_others_are_stored(
    backend: DatabaseBackend, queries: Queries, cursor: Any
) -> None:
    fine, refused = add.enqueue(1, 1), add.enqueue(2, 2)
    claimed = {r.id: r for r in claim(queries, cursor)}
    # Text that skipped make_finish (which escapes it): the driver cannot encode it.
    unencodable = finish(
        claimed[refused.id],
        status="FAILED",
        return_value=None,
        exception_class_path="builtins.FileNotFoundError",
        traceback="FileNotFoundError: caf\u00e9 report-\udcff.csv\n",
    )
    settled: dict[str, tuple[bool, str]] = {}
    outbox = Outbox(lambda p, stored: settled.update({p.finish.id: (stored, p.replaced)}))
    outbox.put(PendingFinish(None, finish(claimed[fine.id])))
    outbox.put(PendingFinish(None, unencodable))

    flushes = 0
    while outbox and flushes < 10:  # Never raised: the worker would go on.
        outbox.flush(lambda f: queries.finish(cursor, worker_id="w1", finishes=f), lambda: True)
        flushes += 1

    # Both together, the fine one alone, then the refused one alone until it is replaced.
    assert (bool(outbox), flushes) == (False, 2 + STORE_ATTEMPTS)
    assert settled[fine.id] == (True, "")
    stored, replaced = settled[refused.id]
    assert stored
    assert replaced.startswith("UnicodeEncodeError: 'utf-8' codec can't encode character")
    assert row(backend, fine.id).return_value == 42
    failure = row(backend, refused.id)
    assert (failure.status, failure.exception_class_path) == ("FAILED", class_path(StorageError))
    assert failure.traceback.startswith(  # Its own traceback, in ASCII, then why it was replaced.
        "FileNotFoundError: caf\\xe9 report-\\udcff.csv\n\nThe outcome above could not be "
        "stored; this one was stored instead:\n\n"
        f"{class_path(StorageError)}: The task finished (FAILED), "
        "but its outcome could not be stored: UnicodeEncodeError: "
    )


def test_renew_extends_the_leases_still_held(
    backend: DatabaseBackend, queries: Queries, cursor: Any
) -> None:
    mine, taken = (add.enqueue(i, i) for i in range(2))
    claim(queries, cursor)
    DBTaskResult.objects.using(backend.database).filter(pk=taken.id).update(worker_id="w2")
    before = row(backend, mine.id).lease_expires_at
    assert before is not None
    held = queries.renew(cursor, worker_id="w1", ids=[mine.id, taken.id], lease_seconds=300)
    assert held == {mine.id}
    after = row(backend, mine.id).lease_expires_at
    assert after is not None
    assert after - before > timedelta(seconds=200)


def test_release_puts_tasks_back_undoing_the_claim_of_unstarted_ones(
    backend: DatabaseBackend, queries: Queries, cursor: Any
) -> None:
    started, unstarted = (echo.using(queue_name="q").enqueue(i) for i in range(2))
    claim(queries, cursor)
    assert queries.release(cursor, worker_id="w2", ids=[started.id], started=True) == 0
    assert queries.release(cursor, worker_id="w1", ids=[started.id], started=True) == 1
    assert queries.release(cursor, worker_id="w1", ids=[unstarted.id], started=False) == 1

    back = row(backend, started.id)
    assert (back.status, back.worker_id, back.lease_expires_at) == ("NEW", "", None)
    assert (back.attempts, back.worker_ids) == (1, ["w1"])
    never = row(backend, unstarted.id)
    assert (never.status, never.attempts, never.worker_ids, never.started_at) == (
        "NEW",
        0,
        [],
        None,
    )
    again = {r.id: r for r in claim(queries, cursor, worker_id="w3")}
    assert (again[started.id].attempts, again[started.id].worker_ids) == (2, ["w1", "w3"])
    assert (again[unstarted.id].attempts, again[unstarted.id].worker_ids) == (1, ["w3"])


def test_reap_requeues_expired_leases_and_fails_tasks_on_their_last_attempt(
    backend: DatabaseBackend, queries: Queries, cursor: Any
) -> None:
    alive, expired, exhausted, other_backend = (
        echo.using(queue_name="q").enqueue(i) for i in range(4)
    )
    claim(queries, cursor)
    table = DBTaskResult.objects.using(backend.database)
    past = timezone.now() - timedelta(seconds=1)
    table.filter(pk__in=[expired.id, exhausted.id, other_backend.id]).update(lease_expires_at=past)
    table.filter(pk=exhausted.id).update(attempts=3)
    table.filter(pk=other_backend.id).update(backend="other")

    decided = []

    def decide(task_path: str, attempts: int) -> float | None:
        decided.append((task_path, attempts))
        return None if attempts >= 3 else 0.0

    failed, requeued = queries.reap(
        cursor,
        backend="default",
        decide=decide,
        lost_class_path="django_tasks.backends.database.exceptions.LeaseExpiredError",
        lost_traceback="LeaseExpiredError: gone\n",
    )
    assert (failed, requeued) == (1, 1)
    assert sorted(decided) == [(echo.module_path, 1), (echo.module_path, 3)]
    assert row(backend, alive.id).status == "RUNNING"
    assert row(backend, other_backend.id).status == "RUNNING"
    back = row(backend, expired.id)
    assert (back.status, back.worker_id, back.lease_expires_at, back.attempts) == (
        "NEW",
        "",
        None,
        1,
    )
    assert [
        (e.exception_class_path, e.traceback) for e in backend.get_result(expired.id).errors
    ] == [
        ("django_tasks.backends.database.exceptions.LeaseExpiredError", "LeaseExpiredError: gone\n")
    ]
    from django_tasks.backends.database.exceptions import LeaseExpiredError

    lost = backend.get_result(exhausted.id)
    assert (lost.status, lost.exception_class, lost.traceback) == (
        "FAILED",
        LeaseExpiredError,
        "LeaseExpiredError: gone\n",
    )
    assert lost.finished_at is not None


def test_a_task_can_be_claimed_as_soon_as_its_enqueue_returns(
    backend: DatabaseBackend, queries: Queries, cursor: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A worker woken by an enqueue claims at once, by the database's clock. The host's clock
    # may read ahead of it (SQLite's counts whole milliseconds, the host's microseconds): the
    # row must not wait for the host's reading to come round.
    ahead = timezone.now() + timedelta(seconds=5)
    monkeypatch.setattr(timezone, "now", lambda: ahead)
    one = echo.using(queue_name="q").enqueue(0)
    many = backend.bulk_enqueue(echo.using(queue_name="q"), [((i,), {}) for i in (1, 2)])

    claimed = claim(queries, cursor)
    assert sorted(r.id for r in claimed) == sorted([one.id, *(r.id for r in many)])
