"""Async tasks and the a-prefixed API."""

import asyncio

from django_tasks_conformance import clause, requirement
from django_tasks_conformance.dialect import words
from django_tasks_conformance.observe import latest
from django_tasks_conformance.plugin import Suite
from django_tasks_conformance.tasks import add

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
