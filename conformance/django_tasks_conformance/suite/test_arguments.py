"""Arguments: JSON data only, normalised, refused before anything is enqueued."""

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from django_tasks_conformance import clause, needs, requirement
from django_tasks_conformance.dialect import words
from django_tasks_conformance.observe import captured, latest
from django_tasks_conformance.plugin import Suite
from django_tasks_conformance.tasks import describe, echo

w = words()
"""The words of the dialect the backend under test speaks."""


class Label(str):
    """A str subclass, such as a TextChoices member."""


class Count(int):
    """An int subclass, such as an IntegerChoices member."""


@requirement("TASK-ARGS-001")
def test_arguments_that_are_not_json_are_refused(suite: Suite) -> None:
    # Imported here: the requirement is our dialect's, whose package has the class.
    from django_tasks.exceptions import InvalidTaskArgumentsError

    cases: list[tuple[tuple[Any, ...], dict[str, Any], str]] = [
        ((datetime(2100, 1, 1, tzinfo=UTC),), {}, "args[0]"),
        ((), {"tags": {1, 2}}, "kwargs['tags']"),
        (({1: "one"},), {}, "args[0]"),
        ((1, float("nan")), {}, "args[1]"),
    ]
    for args, kwargs, where in cases:
        with clause("TASK-ARGS-001"), pytest.raises(InvalidTaskArgumentsError) as caught:
            echo.enqueue(*args, **kwargs)
        with clause("TASK-ARGS-001"):
            assert isinstance(caught.value, w.InvalidTask)
            assert isinstance(caught.value, ValueError)
            assert re.search(re.escape(where), str(caught.value)), str(caught.value)


@requirement("TASK-ARGS-002", "TASK-ARGS-005")
def test_arguments_are_held_as_json_data(suite: Suite) -> None:
    result = echo.enqueue((1, 2), Label("label"), [(3,)], count=Count(4), nested={"t": (5,)})
    with clause("TASK-ARGS-002"):
        assert result.args == [[1, 2], "label", [[3]]]
        assert type(result.args) is list
        assert type(result.args[0]) is list
        assert type(result.args[2][0]) is list
        assert result.kwargs == {"count": 4, "nested": {"t": [5]}}
        assert type(result.kwargs) is dict
        assert type(result.kwargs["nested"]["t"]) is list
    if suite.holds_to("TASK-ARGS-005"):
        with clause("TASK-ARGS-005"):
            assert type(result.args[1]) is str
            assert type(result.kwargs["count"]) is int
    if suite.harness.has_back_door:
        stored = suite.harness.stored(result.id)
        with clause("TASK-ARGS-002"):
            assert stored is not None
            assert stored.args == [[1, 2], "label", [[3]]]
            assert stored.kwargs == {"count": 4, "nested": {"t": [5]}}
    if suite.implements_get_result():
        fetched = suite.backend.get_result(result.id)
        with clause("TASK-ARGS-002"):
            assert fetched.args == result.args
            assert fetched.kwargs == result.kwargs


@requirement("TASK-ARGS-003")
def test_nothing_is_enqueued_when_an_argument_is_refused(suite: Suite) -> None:
    # Imported here: the requirement is our dialect's, whose package has the class.
    from django_tasks.exceptions import InvalidTaskArgumentsError

    with captured(w.task_enqueued, w.task_started) as sent:
        with pytest.raises(InvalidTaskArgumentsError):
            echo.enqueue({"when": datetime(2100, 1, 1, tzinfo=UTC)})
        suite.run()
    with clause("TASK-ARGS-003"):
        assert sent == []


@requirement("TASK-ARGS-004")
@needs("execution")
def test_the_function_receives_the_arguments_as_held(suite: Suite) -> None:
    result = echo.enqueue((1, 2), Label("x"), flag=True, items=(3,))
    suite.run()
    with clause("TASK-ARGS-004"):
        assert latest(suite, result).return_value == {
            "args": [[1, 2], "x"],
            "kwargs": {"flag": True, "items": [3]},
        }


@requirement("TASK-ARGS-004")
@needs("execution")
def test_the_function_receives_each_json_type_as_it_was_given(suite: Suite) -> None:
    result = describe.enqueue(
        1, 1.0, 0.1, True, None, "日本語 ✓", [1, [2.5]], {"a": False}, big=2**62, f=-0.5
    )
    suite.run()
    with clause("TASK-ARGS-004"):
        assert latest(suite, result).return_value == {
            "args": [
                *("int", "float", "float", "bool", "NoneType", "str"),
                ["int", ["float"]],
                {"a": "bool"},
            ],
            "kwargs": {"big": "int", "f": "float"},
        }
