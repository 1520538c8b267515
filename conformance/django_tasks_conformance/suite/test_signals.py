"""Signals: task_enqueued, task_started and task_finished, with the result's state at the time."""

from django_tasks_conformance import clause, needs, requirement
from django_tasks_conformance.dialect import words
from django_tasks_conformance.observe import captured
from django_tasks_conformance.plugin import Suite
from django_tasks_conformance.tasks import add, fail

w = words()
"""The words of the dialect the backend under test speaks."""


@requirement("TASK-SIGNAL-001")
def test_task_enqueued_is_sent_with_the_result(suite: Suite) -> None:
    with captured(w.task_enqueued) as sent:
        result = add.enqueue(1, 2)
    with clause("TASK-SIGNAL-001"):
        assert len(sent) == 1
        assert sent[0].sender is type(suite.backend)
        assert sent[0].result_id == result.id
        assert sent[0].status == w.NEW
        assert sent[0].enqueued_at is not None


@requirement(
    "TASK-SIGNAL-001", "TASK-SIGNAL-002", "TASK-SIGNAL-003", "TASK-SIGNAL-004", "TASK-STATUS-003"
)
@needs("worker_signals")
def test_task_started_and_task_finished_are_sent_in_order(suite: Suite) -> None:
    with captured() as sent:
        succeeded = add.enqueue(1, 2)
        suite.run()
    names = [s.signal for s in sent]
    # A signal never sent breaks its own clause, not the order of the three.
    with clause("TASK-SIGNAL-001"):
        assert names.count("enqueued") == 1, f"sent: {names}"
    with clause("TASK-SIGNAL-002"):
        assert names.count("started") == 1, f"sent: {names}"
    with clause("TASK-SIGNAL-003"):
        assert names.count("finished") == 1, f"sent: {names}"
    with clause("TASK-SIGNAL-004"):
        assert [s.signal for s in sent] == ["enqueued", "started", "finished"]
        assert {s.result_id for s in sent} == {succeeded.id}
    _, started, finished = sent
    with clause("TASK-SIGNAL-002"):
        assert started.sender is type(suite.backend)
        assert started.started_at is not None
    with clause("TASK-STATUS-003"):
        assert started.status == w.RUNNING
    with clause("TASK-SIGNAL-003"):
        assert finished.sender is type(suite.backend)
        assert finished.status == w.SUCCEEDED
        assert finished.finished_at is not None


@requirement("TASK-SIGNAL-003")
@needs("worker_signals")
def test_task_finished_is_sent_for_a_failure_once_it_is_recorded(suite: Suite) -> None:
    with captured() as sent:
        fail.enqueue()
        suite.run()
    finished = [s for s in sent if s.signal == "finished"]
    with clause("TASK-SIGNAL-003"):
        assert len(finished) == 1
        assert finished[0].status == w.FAILED
        assert finished[0].finished_at is not None
