"""Async tasks and the a-prefixed API."""

import asyncio
from datetime import timedelta
from typing import Any

from django.utils import timezone

from django_tasks_conformance import clause, needs, requirement
from django_tasks_conformance.dialect import words
from django_tasks_conformance.observe import check_deferred, check_priority_and_queue, latest
from django_tasks_conformance.plugin import Suite
from django_tasks_conformance.tasks import add, echo, fail

w = words()
"""The words of the dialect the backend under test speaks."""


@requirement("TASK-ASYNC-001")
def test_a_coroutine_function_task_runs_and_returns_its_awaited_value(suite: Suite) -> None:
    # Imported here: declaring a coroutine function task raises with a backend that cannot
    # run one (this test applies only to backends that can).
    from django_tasks_conformance.async_tasks import add_async

    enqueued = add_async.enqueue(1, 2)
    aenqueued = asyncio.run(add_async.aenqueue(2, 3))
    with clause("TASK-ASYNC-001"):
        assert enqueued.args == [1, 2]
        assert aenqueued.args == [2, 3]
    if suite.harness.executes:
        suite.run()
        with clause("TASK-ASYNC-001"):
            assert latest(suite, enqueued).status == w.SUCCEEDED
            assert latest(suite, enqueued).return_value == 3
            assert latest(suite, aenqueued).return_value == 5


@requirement("TASK-ASYNC-003")
def test_the_async_api_works_inside_a_running_event_loop(suite: Suite) -> None:
    async def main() -> list[str]:
        first = await add.aenqueue(1, 2)
        second = await add.aenqueue(2, 3)
        return [first.id, second.id]

    with clause("TASK-ASYNC-003"):
        ids = asyncio.run(main())
        assert len(set(ids)) == 2


@requirement("TASK-ASYNC-001")
@needs("execution")
def test_a_coroutine_function_task_that_raises_fails_with_its_exception(suite: Suite) -> None:
    # Imported here: declaring a coroutine function task raises with a backend that cannot
    # run one (this test applies only to backends that can).
    from django_tasks_conformance.async_tasks import fail_async

    result = asyncio.run(fail_async.aenqueue("Async failure."))
    suite.run()
    current = latest(suite, result)
    with clause("TASK-ASYNC-001"):
        assert current.status == w.FAILED
        assert w.exception_class(current) is ValueError
        traceback = w.traceback(current)
        assert traceback is not None
        assert "ValueError: Async failure." in traceback
        assert "fail_async" in traceback  # The coroutine's own frame, not only the runner's.


@requirement("TASK-ASYNC-001", "TASK-ARGS-004")
@needs("execution")
def test_a_coroutine_function_task_receives_the_arguments_as_held(suite: Suite) -> None:
    # Imported here: declaring a coroutine function task raises with a backend that cannot
    # run one (this test applies only to backends that can).
    from django_tasks_conformance.async_tasks import echo_async

    result = asyncio.run(echo_async.aenqueue((1, 2), 0.5, flag=True, items=(3,)))
    suite.run()
    with clause("TASK-ARGS-004"):
        assert latest(suite, result).return_value == {
            "args": [[1, 2], 0.5],
            "kwargs": {"flag": True, "items": [3]},
        }


@requirement("TASK-ENQ-005", "TASK-PRIORITY-003", "TASK-QUEUE-001")
def test_aenqueue_keeps_the_options_and_arguments(suite: Suite) -> None:
    priority = 7 if suite.capabilities["supports_priority"] else 0
    task = echo.using(priority=priority, queue_name="conformance-other")
    result = asyncio.run(task.aenqueue((1, 2), "x", count=3, nested={"t": (4,)}))
    check_priority_and_queue(suite, result, priority, "conformance-other")
    current = suite.backend.get_result(result.id) if suite.implements_get_result() else result
    with clause("TASK-ENQ-005"):
        assert (result.args, current.args) == ([[1, 2], "x"], [[1, 2], "x"])
        assert result.kwargs == current.kwargs == {"count": 3, "nested": {"t": [4]}}
    if suite.harness.has_back_door:
        stored = suite.harness.stored(result.id)
        with clause("TASK-ENQ-005"):
            assert stored is not None
            assert (stored.args, stored.kwargs) == (result.args, result.kwargs)


@requirement("TASK-DEFER-005", "TASK-ENQ-005")
def test_aenqueue_of_a_deferred_task_carries_run_after_and_waits(suite: Suite) -> None:
    when = timezone.now() + timedelta(hours=1)
    check_deferred(suite, asyncio.run(add.using(run_after=when).aenqueue(1, 2)), when)


@requirement("TASK-GET-004", "TASK-RESULT-004", "TASK-ASYNC-003")
@needs("execution", "get_result")
def test_aget_result_and_arefresh_give_the_current_state_of_a_failure(suite: Suite) -> None:
    succeeded = add.enqueue(1, 2)
    failed = fail.enqueue("Seen from async code.")

    async def read() -> tuple[Any, Any, Any]:
        fetched = await suite.backend.aget_result(succeeded.id)
        from_task = await fail.aget_result(failed.id)
        await failed.arefresh()
        return fetched, from_task, failed

    suite.run()
    fetched, from_task, refreshed = asyncio.run(read())
    with clause("TASK-GET-004"):
        assert fetched.status == w.SUCCEEDED
        assert fetched.return_value == 3
        assert from_task.status == w.FAILED
        assert w.exception_class(from_task) is ValueError
        assert "Seen from async code." in (w.traceback(from_task) or "")
    with clause("TASK-RESULT-004"):
        assert refreshed.status == w.FAILED
        assert w.exception_class(refreshed) is ValueError
        assert refreshed.finished_at is not None
