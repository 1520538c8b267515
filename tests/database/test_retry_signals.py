"""What a worker's signals and log lines say about a failed attempt: whether it will be
retried, and in how long; with real db_worker processes, each pool, on each database.

The workers write each signal they send to a file (tests/database/signal_log.py): task_started
from where the task runs (a thread of the worker, or a child process), task_retried and
task_finished from the worker, once the outcome is stored.
"""

import signal
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from django_tasks.backends.database import DatabaseBackend
from tests.database import signal_log
from tests.database.conftest import StartWorker
from tests.database.tasks import always_fails, fails_then_asks_again
from tests.helpers import wait_until

pytestmark = pytest.mark.transactional


def finished(backend: DatabaseBackend, result_id: str) -> bool:
    return backend.get_result(result_id).is_finished


def sent_for(lines: list[dict[str, Any]], result_id: str) -> list[tuple[Any, ...]]:
    """The signals sent for one task, attempt by attempt: each attempt's task_started, then
    its task_retried or task_finished.

    That is the order within an attempt. Across attempts it need not be the order they were
    sent in: task_retried is sent once the outcome is stored, and a retry due at once may be
    claimed, and its next attempt started, by a runner before a finisher sends it.
    """
    sent = [
        (line["signal"], line["status"], line["attempts"], line["retry_in"], line["errors"])
        for line in lines
        if line["id"] == result_id
    ]
    for attempt in {entry[2] for entry in sent}:
        kinds = [entry[0] for entry in sent if entry[2] == attempt]
        assert kinds[0] == "started", (attempt, sent)
        assert len(kinds) == 2, (attempt, sent)
    return sorted(sent, key=lambda entry: (entry[2], entry[0] != "started"))


@pytest.mark.parametrize("pool", ["thread", "process"])
def test_signals_and_logs_say_whether_an_attempt_will_be_retried(
    backend: DatabaseBackend, start_worker: StartWorker, tmp_path: Path, pool: str
) -> None:
    log = tmp_path / "signals.jsonl"
    retried = fails_then_asks_again.enqueue()
    exhausted = always_fails.enqueue()
    worker = start_worker(
        "--pool",
        pool,
        "--worker-id",
        "w1",
        "--interval",
        "0.05",
        env={"DJANGO_TASKS_TEST_WORKER_SIGNALS": str(log)},
    )
    for result in (retried, exhausted):
        wait_until(partial(finished, backend, result.id), 60, worker.output)
    worker.signal(signal.SIGTERM)
    assert worker.wait() == 0, worker.output()

    lines = signal_log.read(log)
    # Each failed attempt that runs again: task_retried with its delay, the result waiting
    # again with the attempt's error; task_finished once, when the task has finished.
    assert sent_for(lines, retried.id) == [
        ("started", "RUNNING", 1, None, 0),
        ("retried", "NEW", 1, 0.2, 1),  # The backoff of a KeyError (a LookupError).
        ("started", "RUNNING", 2, None, 1),
        ("retried", "NEW", 2, 0.5, 2),  # The delay the task's RetryTask asked for.
        ("started", "RUNNING", 3, None, 2),
        ("finished", "SUCCEEDED", 3, None, 2),
    ]
    assert sent_for(lines, exhausted.id) == [
        ("started", "RUNNING", 1, None, 0),
        ("retried", "NEW", 1, 0.0, 1),
        ("started", "RUNNING", 2, None, 1),
        ("finished", "FAILED", 2, None, 2),  # Its last attempt: no task_retried.
    ]
    # Receivers of task_retried and task_finished see the attempt's exception (with the
    # process pool, a stand-in made from what the child sent: class, arguments, delay).
    handled = {
        (line["signal"], line["attempts"]): (line["exception"], line["exception_args"])
        for line in lines
        if line["id"] == retried.id and line["signal"] == "retried"
    }
    assert handled == {
        ("retried", 1): ("builtins.KeyError", ["'first'", "1"]),
        ("retried", 2): ("django_tasks.exceptions.RetryTask", ["'second'"]),
    }
    last = [line for line in lines if line["id"] == exhausted.id][-1]
    assert (last["exception"], last["exception_args"]) == (
        "builtins.ValueError",
        ["'no luck'", "2"],
    )
    workers = {line["pid"] for line in lines if line["signal"] != "started"}
    assert workers == {worker.pid}  # Sent by the worker, whichever pool ran the task.

    output = worker.output()
    assert f"Task attempt failed, will be retried id={retried.id} " in output
    assert "attempt=1 retry_in=0.200s" in output
    assert "attempt=2 retry_in=0.500s" in output
    assert f"Task finished id={exhausted.id} " in output
    assert "state=FAILED" in output
    # The log's traceback is the task's own, from the child with the process pool.
    assert 'raise KeyError("first", 1)' in output
    assert 'raise ValueError("no luck", context.attempt)' in output
    assert "succeeded=1 failed=1 rejected=0 lost=0 handed_back=0 retried=3" in output
