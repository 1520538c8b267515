"""Retrieving results by id: get_result and aget_result, on the backend and on a task."""

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.core.exceptions import ObjectDoesNotExist
from django.db import connections

from django_tasks_conformance import clause, more_tasks, needs, requirement
from django_tasks_conformance.dialect import words
from django_tasks_conformance.observe import in_thread
from django_tasks_conformance.plugin import Suite
from django_tasks_conformance.tasks import add, echo, fail

w = words()
"""The words of the dialect the backend under test speaks."""

UNKNOWN_ID = "conformance-unknown-result-id"


@requirement("TASK-GET-001")
@needs("get_result")
def test_get_result_returns_the_result(suite: Suite) -> None:
    result = add.enqueue(1, 2)
    fetched = suite.backend.get_result(result.id)
    with clause("TASK-GET-001"):
        assert fetched.id == result.id
        assert fetched.task.module_path == add.module_path
        assert fetched.args == [1, 2]
        assert fetched.kwargs == {}
        assert fetched.backend == "default"


@requirement("TASK-GET-001")
@needs("get_result", "execution")
def test_get_result_returns_the_current_state(suite: Suite) -> None:
    result = add.enqueue(1, 2)
    suite.run()
    fetched = suite.backend.get_result(result.id)
    with clause("TASK-GET-001"):
        assert fetched.status == w.SUCCEEDED
        assert fetched.return_value == 3


@requirement("TASK-GET-002", "TASK-GET-007")
@needs("get_result")
def test_an_unknown_id_raises_result_does_not_exist(suite: Suite) -> None:
    add.enqueue(1, 2)
    rule = "TASK-GET-007" if w.django else "TASK-GET-002"
    with clause(rule), pytest.raises(w.ResultDoesNotExist) as caught:
        suite.backend.get_result(UNKNOWN_ID)
    if suite.holds_to("TASK-GET-002"):
        with clause("TASK-GET-002"):
            assert isinstance(caught.value, ObjectDoesNotExist)
    with clause(rule), pytest.raises(w.ResultDoesNotExist):
        add.get_result(UNKNOWN_ID)


@requirement("TASK-GET-003", "TASK-GET-008")
@needs("get_result")
def test_a_task_returns_only_its_own_results(suite: Suite) -> None:
    other = more_tasks.echo.enqueue(1)
    mine = echo.enqueue(2)
    rule = "TASK-GET-008" if w.django else "TASK-GET-003"
    with clause(rule):
        assert suite.backend.get_result(other.id).task.module_path == more_tasks.echo.module_path
        assert more_tasks.echo.get_result(other.id).id == other.id
        assert echo.get_result(mine.id).id == mine.id
    with clause(rule), pytest.raises(w.ResultMismatch):
        echo.get_result(other.id)
    with clause(rule), pytest.raises(w.ResultMismatch):
        add.get_result(mine.id)


@requirement("TASK-GET-004", "TASK-ASYNC-003")
@needs("get_result")
def test_aget_result_behaves_as_get_result(suite: Suite) -> None:
    result = add.enqueue(1, 2)

    async def fetch() -> tuple[str, str]:
        from_backend = await suite.backend.aget_result(result.id)
        from_task = await add.aget_result(result.id)
        return from_backend.id, from_task.id

    with clause("TASK-GET-004"):
        assert asyncio.run(fetch()) == (result.id, result.id)
    with clause("TASK-GET-004"), pytest.raises(w.ResultDoesNotExist):
        asyncio.run(suite.backend.aget_result(UNKNOWN_ID))
    with clause("TASK-GET-004"), pytest.raises(w.ResultMismatch):
        asyncio.run(echo.aget_result(result.id))


@requirement("TASK-GET-005")
def test_results_can_be_retrieved_from_another_thread(suite: Suite) -> None:
    result = add.enqueue(1, 2)
    fetched = in_thread(lambda: w.backends["default"].get_result(result.id))
    with clause("TASK-GET-005"):
        assert not isinstance(fetched, BaseException), repr(fetched)
        assert fetched.id == result.id
        assert fetched.args == [1, 2]


@requirement("TASK-GET-006")
def test_without_get_result_support_another_thread_gets_no_result(suite: Suite) -> None:
    result = add.enqueue(1, 2)
    fetched = in_thread(lambda: w.backends["default"].get_result(result.id))
    with clause("TASK-GET-006"):
        assert isinstance(fetched, (NotImplementedError, w.ResultDoesNotExist)), repr(fetched)


@requirement("TASK-GET-005")
@needs("execution")
def test_another_thread_reads_the_current_state_of_a_result(suite: Suite) -> None:
    succeeded = add.enqueue(1, 2)
    failed = fail.enqueue("Read elsewhere.")
    # One thread reads each result before and after the run: what it saw first must not stick.
    with ThreadPoolExecutor(max_workers=1) as reader:
        before = [reader.submit(_read, r.id).result(timeout=30) for r in (succeeded, failed)]
        suite.run()
        after = [reader.submit(_read, r.id).result(timeout=30) for r in (succeeded, failed)]
    with clause("TASK-GET-005"):
        assert [read.id for read in before] == [succeeded.id, failed.id]
        assert after[0].status == w.SUCCEEDED
        assert after[0].return_value == 3
        assert after[1].status == w.FAILED
        assert w.exception_class(after[1]) is ValueError
        assert "Read elsewhere." in (w.traceback(after[1]) or "")


@requirement("TASK-GET-005")
def test_a_result_enqueued_in_another_thread_is_found_here(suite: Suite) -> None:
    enqueued = in_thread(lambda: echo.using(priority=0).enqueue("from a thread"))
    assert not isinstance(enqueued, BaseException), repr(enqueued)
    with clause("TASK-GET-005"):
        fetched = suite.backend.get_result(enqueued.id)
        assert fetched.id == enqueued.id
        assert fetched.args == ["from a thread"]
        assert echo.get_result(enqueued.id).id == enqueued.id


def _read(result_id: str) -> Any:
    """The result, as this thread's instance of the backend returns it."""
    try:
        return w.backends["default"].get_result(result_id)
    finally:
        connections.close_all()
