"""db_worker as a real process, on each database: running tasks, order, tampered rows."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from django_tasks.backends.database import DatabaseBackend
from django_tasks.backends.database.exceptions import StorageError
from django_tasks.backends.database.models import DatabaseNow, DBTaskResult
from django_tasks.exceptions import InvalidReturnValueError
from django_tasks.task import ResultStatus
from tests.database.conftest import StartWorker, named_id
from tests.database.tasks import ODD_ERRORS, fail_oddly, huge_number, record, text_of_bytes
from tests.helpers import wait_until
from tests.tasks import add, add_async, echo, exit_task, fail, interrupt_task

SUITE = "django_tasks_conformance.tasks"
"""The module of the suite's fixture tasks, which these tests share."""

pytestmark = pytest.mark.transactional


def test_a_worker_runs_tasks_and_stores_their_results(
    backend: DatabaseBackend, start_worker: StartWorker
) -> None:
    added = add.enqueue(1, 2)
    failed = fail.enqueue("Boom <b>")
    coroutine = add_async.enqueue(3, 4)
    echoed = echo.enqueue([1, {"a": None}], key="value")
    exited = exit_task.enqueue()
    interrupted = interrupt_task.enqueue()
    huge = huge_number.enqueue()
    unstorable = text_of_bytes.enqueue(2_000_000)

    worker = start_worker("--batch", "--worker-id", "worker-1", "-v2")
    assert worker.wait() == 0

    result = backend.get_result(added.id)
    assert (result.status, result.return_value, result.attempts) == ("SUCCEEDED", 3, 1)
    assert result.worker_ids == ["worker-1"]
    assert result.started_at
    assert result.finished_at
    assert result.enqueued_at
    assert result.enqueued_at <= result.started_at <= result.finished_at
    assert (result.exception_class, result.traceback) == (None, None)
    assert backend.get_result(coroutine.id).return_value == 7
    assert backend.get_result(echoed.id).return_value == {
        "args": [[1, {"a": None}]],
        "kwargs": {"key": "value"},
    }
    failure = backend.get_result(failed.id)
    assert (failure.status, failure.exception_class) == ("FAILED", ValueError)
    assert failure.traceback is not None
    assert failure.traceback.endswith("ValueError: Boom <b>\n")
    assert backend.get_result(exited.id).exception_class is SystemExit
    assert backend.get_result(interrupted.id).exception_class is KeyboardInterrupt
    too_long = backend.get_result(huge.id)
    assert (too_long.status, too_long.exception_class) == ("FAILED", InvalidReturnValueError)
    assert too_long.traceback is not None
    assert "Return value of task tests.database.tasks.huge_number is an int of more than " in (
        too_long.traceback
    )
    not_stored = backend.get_result(unstorable.id)
    assert (not_stored.status, not_stored.exception_class) == ("FAILED", StorageError)
    assert not_stored.traceback is not None
    assert (
        "The task finished (SUCCEEDED), but its outcome could not be stored: its return value "
        "takes 2,000,002 bytes as JSON, more than backend 'default' stores"
    ) in not_stored.traceback

    output = worker.output()
    assert (
        f"Task finished id={added.id} path={SUITE}.add queue=default state=SUCCEEDED duration="
    ) in output
    assert f"Task started id={added.id} path={SUITE}.add queue=default attempt=1" in output
    assert re.search(
        rf"ERROR django_tasks: Task finished id={failed.id} path={SUITE}.fail queue=default "
        rf"state=FAILED duration=\d+\.\d+s attempt=1\nTraceback \(most recent call last\):\n"
        rf"(  .*\n)*  File .*tasks.py\", line \d+, in fail\n    raise ValueError\(message\)\n"
        rf"ValueError: Boom <b>\n",
        output,
    )  # The task's own traceback, though task_finished is sent by another thread,
    assert "in send_finished" not in output  # which adds no frame of its own.
    assert "Worker stopped id=worker-1 status=0 uptime=" in output
    assert "claimed=8 succeeded=3 failed=5 rejected=0 lost=0 handed_back=0" in output
    assert (
        f"Task outcome not stored id={unstorable.id} path=tests.database.tasks.text_of_bytes"
        in (output)
    )


def test_no_outcome_however_odd_its_text_stops_the_worker_or_loses_its_error(
    backend: DatabaseBackend, alias: str, start_worker: StartWorker
) -> None:
    odd = {kind: fail_oddly.enqueue(kind) for kind in ODD_ERRORS}
    fine = add.using(priority=-1).enqueue(2, 2)  # Runs after the others.

    worker = start_worker("--batch", "--concurrency", "2")
    assert worker.wait() == 0

    def stored(kind: str) -> DBTaskResult:
        row = DBTaskResult.objects.using(alias).get(pk=odd[kind].id)
        assert (row.status, row.attempts) == ("FAILED", 1)
        return row

    # What the databases cannot store is written as Python escapes it; the rest is kept.
    surrogate = stored("surrogate")
    assert surrogate.exception_class_path == "builtins.FileNotFoundError"
    assert surrogate.traceback.startswith("Traceback (most recent call last):\n")
    assert surrogate.traceback.endswith(
        "FileNotFoundError: Report report-\\udcff.csv is missing.\n"
    )
    assert stored("nul").traceback.endswith("ValueError: before\\x00after\n")
    huge = stored("huge").traceback
    assert huge.startswith("Traceback (most recent call last):\n")
    assert huge.endswith("x end\n")  # The message, at the end of the traceback, is kept.
    assert re.search(r"\n\[\.\.\. [\d,]+ characters omitted \.\.\.\]\n", huge)
    assert len(huge) < 100_000
    assert stored("unprintable").traceback.endswith(
        "tests.database.tasks._UnprintableError: <exception str() failed>\n"
    )
    unformattable = stored("unformattable")
    assert unformattable.exception_class_path == "tests.database.tasks._NotesError"
    assert "in fail_oddly\n" in unformattable.traceback  # Its frames, at least.
    assert unformattable.traceback.endswith(
        "tests.database.tasks._NotesError: notes\n(Its traceback could not be formatted in "
        "full: RuntimeError: These notes cannot be read.)\n"
    )
    odd_class = stored("odd-class")
    assert odd_class.exception_class_path == "tests.odd\\x00module.Odd\\ud800Class"
    assert odd_class.traceback.endswith("tests.odd\\x00module.Odd\\ud800Class: odd\n")

    stand_in = backend.get_result(odd["odd-class"].id).exception_class  # Not importable.
    assert stand_in is not None
    assert stand_in.__name__ == "Odd\\ud800Class"
    assert backend.get_result(odd["surrogate"].id).exception_class is FileNotFoundError
    assert backend.get_result(fine.id).return_value == 4
    assert f"claimed={len(odd) + 1} succeeded=1 failed={len(odd)} rejected=0 lost=0" in (
        worker.output()
    )


def test_tasks_run_by_priority_then_age_and_never_before_their_run_after(
    backend: DatabaseBackend, start_worker: StartWorker, tmp_path: Path
) -> None:
    ledger = str(tmp_path / "ledger")
    # Far enough ahead that no load can make it due during the first drain; then brought
    # forward through the table, so the test never races the clock.
    deferred = record.using(run_after=timezone.now() + timedelta(hours=1), priority=100).enqueue(
        ledger, "deferred"
    )
    record.using(priority=-5).enqueue(ledger, "low")
    record.enqueue(ledger, "first")
    record.using(priority=10).enqueue(ledger, "high")
    record.enqueue(ledger, "second")

    assert start_worker("--batch").wait() == 0
    assert [line.split()[0] for line in Path(ledger).read_text().splitlines()] == [
        "high",
        "first",
        "second",
        "low",
    ]
    assert backend.get_result(deferred.id).status == ResultStatus.NEW  # Not ready: left.

    table = DBTaskResult.objects.using(backend.database).filter(id=deferred.id)
    assert table.update(run_after=DatabaseNow(), available_at=DatabaseNow()) == 1
    run_after = table.get().run_after
    assert run_after is not None
    assert start_worker("--batch").wait() == 0
    result = backend.get_result(deferred.id)
    assert result.status == ResultStatus.SUCCEEDED
    assert result.started_at is not None
    assert result.started_at >= run_after


def test_a_deferred_task_starts_within_about_an_interval_of_its_time(
    backend: DatabaseBackend, start_worker: StartWorker
) -> None:
    worker = start_worker("--interval", "0.2")
    worker.wait_for_output("Worker started")
    run_after = timezone.now() + timedelta(seconds=1)
    deferred = add.using(run_after=run_after).enqueue(1, 2)

    wait_until(lambda: backend.get_result(deferred.id).is_finished, timeout=30)
    started_at = backend.get_result(deferred.id).started_at
    assert started_at is not None
    assert run_after <= started_at < run_after + timedelta(seconds=5)


SIDE_EFFECT_MODULE = """
from pathlib import Path
Path({sentinel!r}).write_text("imported")

def run():
    Path({sentinel!r}).write_text("ran")
"""


def test_rows_naming_anything_but_a_registered_task_fail_without_running_anything(
    backend: DatabaseBackend, alias: str, start_worker: StartWorker, tmp_path: Path
) -> None:
    sentinel = tmp_path / "sentinel"
    (tmp_path / "side_effect_module.py").write_text(
        SIDE_EFFECT_MODULE.format(sentinel=str(sentinel))
    )
    paths = {
        "os.system": "Task path 'os.system' is not a registered task; only functions",
        "subprocess.check_output": "Task path 'subprocess.check_output' is not a registered task",
        "antigravity.fly": "its module 'antigravity' is not part of an installed app",
        "side_effect_module.run": "its module 'side_effect_module' is not part of an installed",
        "tests.tasks.missing": "Task path 'tests.tasks.missing' is not a registered task; only",
        "tests.tasks": "Task path 'tests.tasks' is not a registered task",
        "__main__.main": "Task path '__main__.main' is not a registered task",
        "x" * 8000: "is not a dotted path to a function; it cannot name a task.",
        "django_tasks_conformance.tasks.add; DROP TABLE x": "is not a dotted path to a function",
    }
    rows = DBTaskResult.objects.using(alias)
    arguments = {"args": ["touch " + str(sentinel)], "kwargs": {}}
    for number, path in enumerate(paths):
        rows.create(
            id=named_id(f"tampered-{number}"),
            backend="default",
            queue_name="default",
            task_path=path,
            arguments=arguments,
        )
    malformed = {
        "args-not-a-list": {"args": "rm -rf /", "kwargs": {}},
        "not-an-object": ["args", "kwargs"],
        "extra-key": {"args": [], "kwargs": {}, "more": 1},
    }
    for name, value in malformed.items():
        rows.create(
            id=named_id(name),
            backend="default",
            queue_name="default",
            task_path="django_tasks_conformance.tasks.noop",
            arguments=value,
        )
    rows.create(
        id=named_id("bad-priority"),
        backend="default",
        queue_name="default",
        task_path="django_tasks_conformance.tasks.noop",
        arguments={"args": [], "kwargs": {}},
        priority=500,
    )
    fine = add.using(priority=-1).enqueue(2, 2)  # Runs after the others.

    worker = start_worker("--batch", env={"PYTHONPATH": str(tmp_path)})
    assert worker.wait() == 0

    assert not sentinel.exists()
    for number, message in enumerate(paths.values()):
        result = rows.get(pk=named_id(f"tampered-{number}"))
        assert (result.status, result.exception_class_path) == (
            "FAILED",
            "django_tasks.exceptions.InvalidTaskError",
        )
        assert message in result.traceback
    for name in malformed:
        result = rows.get(pk=named_id(name))
        assert result.exception_class_path == "django_tasks.exceptions.InvalidTaskArgumentsError"
        assert f"The stored arguments of result {named_id(name)!r} are malformed" in (
            result.traceback
        )
    assert "Priority 500 is invalid" in rows.get(pk=named_id("bad-priority")).traceback
    assert backend.get_result(fine.id).return_value == 4
    assert "rejected=13" in worker.output()
    rejected = f"Task rejected id={named_id('tampered-0')} path=os.system queue=default error="
    assert rejected in worker.output()


def test_max_tasks_and_queue_names_limit_what_a_worker_takes(
    backend: DatabaseBackend, start_worker: StartWorker, tmp_path: Path
) -> None:
    ledger = str(tmp_path / "ledger")
    for queue in ("a", "b", "c", "a", "b", "c"):
        record.using(queue_name=queue).enqueue(ledger, queue)

    assert start_worker("--queue-name", "a,b", "--max-tasks", "3").wait() == 0
    assert sorted(Path(ledger).read_text().split()[::2]) in (["a", "a", "b"], ["a", "b", "b"])
    assert start_worker("--queue-name", "a", "--queue-name", "b", "--batch").wait() == 0
    assert sorted(Path(ledger).read_text().split()[::2]) == ["a", "a", "b", "b"]
    assert start_worker("--queue-name", "*", "--batch").wait() == 0
    assert sorted(Path(ledger).read_text().split()[::2]) == ["a", "a", "b", "b", "c", "c"]


def test_concurrency_runs_several_tasks_at_once_but_no_more(
    backend: DatabaseBackend, start_worker: StartWorker
) -> None:
    from tests.database.tasks import sleep

    results = [sleep.enqueue(0.3) for _ in range(9)]
    assert start_worker("--batch", "--concurrency", "3").wait() == 0

    spans = []
    for result in results:
        found = backend.get_result(result.id)
        assert found.status == ResultStatus.SUCCEEDED
        assert found.started_at
        assert found.finished_at
        spans.append((found.started_at, found.finished_at))
    most = max(sum(1 for start, end in spans if start <= moment < end) for moment, _ in spans)
    assert most == 3


def test_every_queue_but_the_excluded_ones_after_the_startup_delay(
    backend: DatabaseBackend, start_worker: StartWorker
) -> None:
    """django-tasks-db's --exclude-queues, with --queue-name '*'. The startup delay is on (the
    default): a --batch worker still claims once it has passed, rather than finding nothing."""
    ran = add.enqueue(1, 2)
    other = add.using(queue_name="other").enqueue(1, 2)
    excluded = [add.using(queue_name=name).enqueue(1, 2) for name in ("mail", "bulk")]
    worker = start_worker("--batch", "--queue-name", "*", "--exclude-queues", "mail,bulk")
    assert worker.wait() == 0
    assert backend.get_result(ran.id).status == ResultStatus.SUCCEEDED
    assert backend.get_result(other.id).status == ResultStatus.SUCCEEDED
    assert [backend.get_result(result.id).status for result in excluded] == [ResultStatus.NEW] * 2
