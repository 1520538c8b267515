"""Declaring tasks: @task, validation at declaration, the Task value."""

import asyncio
import dataclasses
import functools
import re
from datetime import timedelta
from typing import Any

import pytest

from django_tasks_conformance import clause, requirement
from django_tasks_conformance.dialect import words
from django_tasks_conformance.plugin import Suite
from django_tasks_conformance.tasks import add, noop, plain_coroutine_function, plain_function

w = words()
"""The words of the dialect the backend under test speaks."""


class _Holder:
    def method(self) -> None:
        """A method: not importable as a module attribute."""


@requirement("TASK-DECL-001")
def test_task_turns_a_function_into_a_task(suite: Suite) -> None:
    bare = w.task(plain_function)
    called = w.task()(plain_function)
    with clause("TASK-DECL-001"):
        assert isinstance(bare, w.Task)
        assert bare.func is plain_function
        assert isinstance(called, w.Task)
        assert called.func is plain_function


@requirement("TASK-DECL-002")
def test_only_module_level_functions_become_tasks(suite: Suite) -> None:
    def nested() -> None:
        """Defined inside a function."""

    refused: list[Any] = [
        lambda: None,
        nested,
        _Holder().method,
        len,
        functools.partial(plain_function),
    ]
    if not w.django:  # Django's validate_task takes a function defined in a class body.
        refused.append(_Holder.method)
    for func in refused:
        with clause("TASK-DECL-002"), pytest.raises(w.InvalidTask):
            w.task(func)


@requirement("TASK-DECL-003", "TASK-QUEUE-002")
def test_declaring_a_task_validates_it_against_the_backend(suite: Suite) -> None:
    with (
        clause("TASK-DECL-003"),
        pytest.raises(w.InvalidTask, match=re.escape("'no-such-queue'")),
    ):
        w.task(queue_name="no-such-queue")(plain_function)


@requirement("TASK-DECL-004")
def test_priority_is_a_whole_number_between_minus_100_and_100(suite: Suite) -> None:
    with clause("TASK-DECL-004"):
        assert noop.priority == 0
    invalid: list[Any] = [101, -101, 1.5]
    if not w.django:  # Django compares priorities as numbers: these raise TypeError there.
        invalid += [True, "1", None]
    for priority in invalid:
        with clause("TASK-DECL-004"), pytest.raises(w.InvalidTask):
            w.task(priority=priority)(plain_function)
    if suite.capabilities["supports_priority"]:
        for priority in (-100, 100):
            with clause("TASK-DECL-004"):
                assert w.task(priority=priority)(plain_function).priority == priority


@requirement("TASK-DECL-012")
def test_a_timeout_is_none_or_seconds_above_zero(suite: Suite) -> None:
    with clause("TASK-DECL-012"):
        assert noop.timeout is None
        assert w.task(timeout=2.5)(plain_function).timeout == 2.5
    invalid: list[Any] = [0, -1, float("inf"), True, "30"]
    for timeout in invalid:
        with clause("TASK-DECL-012"), pytest.raises(w.InvalidTask):
            w.task(timeout=timeout)(plain_function)


@requirement("TASK-DECL-005")
def test_a_task_uses_the_default_queue_and_backend(suite: Suite) -> None:
    with clause("TASK-DECL-005"):
        assert noop.queue_name == "default"
        assert noop.backend == "default"


@requirement("TASK-DECL-006")
def test_run_after_cannot_be_passed_to_task(suite: Suite) -> None:
    with clause("TASK-DECL-006"), pytest.raises(TypeError):
        w.task(run_after=timedelta(minutes=1))  # Invalid on purpose.


@requirement("TASK-DECL-007")
def test_a_task_is_immutable(suite: Suite) -> None:
    with clause("TASK-DECL-007"), pytest.raises((AttributeError, dataclasses.FrozenInstanceError)):
        noop.queue_name = "conformance-other"  # type: ignore[misc]  # Frozen on purpose.
    with clause("TASK-DECL-007"):
        assert noop.queue_name == "default"


@requirement("TASK-DECL-008")
def test_call_runs_the_function_here_and_now(suite: Suite) -> None:
    with clause("TASK-DECL-008"):
        assert add.call(1, 2) == 3
        assert asyncio.run(add.acall(2, 3)) == 5
    if suite.capabilities["supports_async_task"]:
        # Imported here: declaring a coroutine function task raises with a backend that
        # cannot run one, so the module is imported only when the backend supports them.
        from django_tasks_conformance.async_tasks import add_async

        with clause("TASK-DECL-008"):
            assert add_async.call(3, 4) == 7
            assert asyncio.run(add_async.acall(4, 5)) == 9


@requirement("TASK-DECL-009")
def test_module_path_and_name(suite: Suite) -> None:
    with clause("TASK-DECL-009"):
        assert add.module_path == "django_tasks_conformance.tasks.add"
        assert add.name == "add"


@requirement("TASK-ASYNC-002")
def test_a_backend_without_async_support_refuses_coroutine_functions(suite: Suite) -> None:
    with clause("TASK-ASYNC-002"), pytest.raises(w.InvalidTask):
        w.task(plain_coroutine_function)
    undeclared = w.unvalidated_task(plain_coroutine_function)  # Never validated.
    with clause("TASK-ASYNC-002"), pytest.raises(w.InvalidTask):
        undeclared.enqueue()
