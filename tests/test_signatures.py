"""Annotations JSON cannot carry are refused where they are written: by @task, or by the check."""

import importlib
import re
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.apps import apps
from django.core import checks

from django_tasks import Task, task
from django_tasks.exceptions import InvalidTaskError
from django_tasks.registry import task_registry
from django_tasks.signatures import check_task_signatures, signature_problems
from tests import annotated
from tests import tasks as fixture_tasks

ISO_8601 = "annotate str instead and convert to an ISO 8601 string (value.isoformat())"
GOOD = [
    annotated.scalars,
    annotated.anything,
    annotated.containers,
    annotated.typed_dicts,
    annotated.literals_and_unions,
    annotated.wrappers,
    annotated.variadic,
    annotated.never_returns,
]
# (function, the parameter's annotation as the message shows it, what is wrong, the hint)
BAD: list[tuple[Callable[..., Any], str, str, str]] = [
    (annotated.when, "'when' ... datetime", "which is not JSON-serializable", ISO_8601),
    (
        annotated.amount,
        "'amount' ... Decimal",
        "which is not JSON-serializable",
        "annotate str instead and convert to a string (str(value))",
    ),
    (
        annotated.tags,
        "'tags' ... set[int]",
        "which is not JSON-serializable",
        "annotate list[...] instead and convert to a list (list(value))",
    ),
    (
        annotated.data,
        "'data' ... bytes",
        "which is not JSON-serializable",
        "annotate str instead and convert to a str (decode text; base64-encode binary data)",
    ),
    (
        annotated.user,
        "'user' ... User",
        "which is not JSON-serializable",
        "annotate the primary key's type instead and convert to its primary key (value.pk)",
    ),
    (
        annotated.point,
        "'point' ... tuple[int, int]",
        "which arrives as a list after the JSON round trip",
        "annotate list[...] or Sequence[...] instead",
    ),
    (
        annotated.scores,
        "'scores' ... dict[int, str]",
        "which has int keys, but JSON object keys are strings",
        "annotate dict[str, ...] instead and convert the keys with str()",
    ),
    (
        annotated.events,
        "'events' ... list[dict[str, datetime]]",
        "and datetime in it is not JSON-serializable",
        ISO_8601,
    ),
    (
        annotated.optional_when,
        "'when' ... datetime | None",
        "and datetime in it is not JSON-serializable",
        ISO_8601,
    ),
    (
        annotated.colour,
        "'colour' ... Colour",
        "which is not JSON-serializable",
        "annotate Literal[...] of its values instead and convert to its value (value.value)",
    ),
    (
        annotated.size,
        "'size' ... Size",
        "which arrives as a plain str after the JSON round trip",
        "annotate Literal[...] of its values or str instead and convert with Size(value) in the "
        "task",
    ),
    (
        annotated.email,
        "'email' ... Email",
        "which arrives as a plain str after the JSON round trip",
        "annotate str instead and convert with Email(value) in the task",
    ),
    (annotated.event, "'event' ... Event", "and datetime in it is not JSON-serializable", ISO_8601),
    (
        annotated.literal_member,
        "'colour' ... Literal[<Colour.RED: 'red'>]",
        "and <Colour.RED: 'red'> in it is not JSON-serializable",
        "use Literal values of type str, int, bool or None instead",
    ),
    (
        annotated.data_point,
        "'point' ... DataPoint",
        "which is not JSON-serializable",
        "annotate dict[str, Any] or a TypedDict instead and convert to dataclasses.asdict(value)",
    ),
    (
        annotated.profile,
        "'profile' ... Profile",
        "which is not JSON-serializable",
        "annotate dict[str, Any] or a TypedDict instead and convert to "
        "value.model_dump(mode='json')",
    ),
    (
        annotated.identifier,
        "'identifier' ... UUID",
        "which is not JSON-serializable",
        "annotate str instead and convert to a string (str(value))",
    ),
    (
        annotated.callback,
        "'callback' ... Callable[[], None]",
        "which is not JSON-serializable",
        "annotate str, int, float, bool, None, or list, dict[str, ...] or a TypedDict of them "
        "instead",
    ),
    (annotated.bounded, "'value' ... DateT", "and date in it is not JSON-serializable", ISO_8601),
    (annotated.dates, "'dates' ... date", "which is not JSON-serializable", ISO_8601),
]
BAD_RETURNS: list[tuple[Callable[..., Any], str, str, str]] = [
    (annotated.returns_date, "date", "which is not JSON-serializable", ISO_8601),
    (
        annotated.returns_pair,
        "tuple[int, int]",
        "which arrives as a list after the JSON round trip",
        "annotate list[...] or Sequence[...] instead",
    ),
]


def path(function: Callable[..., Any]) -> str:
    return f"{function.__module__}.{function.__qualname__}"


def parameter_message(function: Callable[..., Any], annotation: str, problem: str) -> str:
    name, written = annotation.split(" ... ")
    return f"Parameter {name} of task {path(function)} is annotated {written}, {problem}"


def return_message(function: Callable[..., Any], annotation: str, problem: str) -> str:
    return f"Task {path(function)} is annotated to return {annotation}, {problem}"


@pytest.fixture
def isolated_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tasks declared in the test are forgotten after it, and so is tests.annotated_later."""
    monkeypatch.setattr(task_registry, "_tasks", dict(task_registry._tasks))
    yield
    sys.modules.pop("tests.annotated_later", None)


@pytest.mark.parametrize("function", GOOD, ids=lambda f: f.__name__)
@pytest.mark.usefixtures("isolated_registry")
def test_annotations_json_carries_are_accepted(function: Callable[..., Any]) -> None:
    declared = task(function)
    assert task_registry.get(declared.module_path) is declared
    assert check_task_signatures(tasks=[declared]) == []


@pytest.mark.parametrize(
    ("function", "annotation", "problem", "hint"), BAD, ids=lambda f: getattr(f, "__name__", "")
)
@pytest.mark.usefixtures("isolated_registry")
def test_task_refuses_a_parameter_json_cannot_carry(
    function: Callable[..., Any], annotation: str, problem: str, hint: str
) -> None:
    message = f"{parameter_message(function, annotation, problem)}; {hint}."
    with pytest.raises(InvalidTaskError, match=f"^{re.escape(message)}$"):
        task(function)
    with pytest.raises(InvalidTaskError, match=f"^{re.escape(message)}$"):
        task(priority=0)(function)
    assert task_registry.get(path(function)) is None


@pytest.mark.parametrize(
    ("function", "annotation", "problem", "hint"),
    BAD_RETURNS,
    ids=lambda f: getattr(f, "__name__", ""),
)
def test_task_refuses_a_return_annotation_json_cannot_carry(
    function: Callable[..., Any], annotation: str, problem: str, hint: str
) -> None:
    message = f"{return_message(function, annotation, problem)}; {hint}."
    with pytest.raises(InvalidTaskError, match=f"^{re.escape(message)}$"):
        task(function)


@pytest.mark.parametrize(
    ("function", "annotation", "problem", "hint"), BAD, ids=lambda f: getattr(f, "__name__", "")
)
def test_the_check_reports_a_parameter_json_cannot_carry(
    function: Callable[..., Any], annotation: str, problem: str, hint: str
) -> None:
    assert check_task_signatures(tasks=[Task(func=function)]) == [
        checks.Error(
            f"{parameter_message(function, annotation, problem)}.",
            hint=f"{hint[0].upper()}{hint[1:]}.",
            obj=path(function),
            id="django_tasks.E030",
        )
    ]


def test_task_raises_for_the_first_problem_and_the_check_reports_them_all() -> None:
    function = annotated.three_problems
    first = parameter_message(function, "'when' ... datetime", "which is not JSON-serializable")
    with pytest.raises(InvalidTaskError, match=f"^{re.escape(first)};"):
        task(function)
    messages = check_task_signatures(tasks=[Task(func=function)])
    assert [(message.id, message.msg) for message in messages] == [
        ("django_tasks.E030", f"{first}."),
        (
            "django_tasks.E030",
            parameter_message(function, "'tags' ... set[int]", "which is not JSON-serializable")
            + ".",
        ),
        (
            "django_tasks.E031",
            return_message(function, "date", "which is not JSON-serializable") + ".",
        ),
    ]


@pytest.mark.usefixtures("isolated_registry")
def test_annotations_resolvable_only_later_are_left_to_the_check() -> None:
    later = importlib.import_module("tests.annotated_later")  # @task raises nothing
    messages = [
        message
        for message in checks.run_checks(tags=["tasks"])
        if message.obj
        in {later.schedule.module_path, later.charge.module_path, later.move.module_path}
    ]
    assert messages == [
        checks.Error(
            "Parameter 'event' of task tests.annotated_later.schedule is annotated Meeting, and "
            "datetime in it is not JSON-serializable.",
            hint=f"{ISO_8601[0].upper()}{ISO_8601[1:]}.",
            obj="tests.annotated_later.schedule",
            id="django_tasks.E030",
        ),
        checks.Warning(
            "Parameter 'amount' of task tests.annotated_later.charge is annotated 'Decimal', "
            "which cannot be resolved (NameError: name 'Decimal' is not defined), so its "
            "JSON-safety is not checked.",
            hint="Import the names it uses at module level rather than only under "
            "TYPE_CHECKING, or silence django_tasks.W030.",
            obj="tests.annotated_later.charge",
            id="django_tasks.W030",
        ),
    ]


@pytest.mark.usefixtures("isolated_registry")
def test_the_check_limited_to_apps_reports_only_their_tasks() -> None:
    later = importlib.import_module("tests.annotated_later")
    in_tests = check_task_signatures(app_configs=[apps.get_app_config("tests")])
    assert {message.obj for message in in_tests} == {
        later.schedule.module_path,
        later.charge.module_path,
    }
    assert check_task_signatures(app_configs=[apps.get_app_config("auth")]) == []


def test_the_fixture_tasks_pass_the_check() -> None:
    declared = [value for value in vars(fixture_tasks).values() if isinstance(value, Task)]
    assert len(declared) > 10
    assert check_task_signatures(tasks=declared) == []


def test_a_typed_dict_field_that_cannot_be_resolved_is_a_warning() -> None:
    problems = list(signature_problems(Task(func=annotated.unresolvable_field)))
    assert [(problem.check_id, str(problem)) for problem in problems] == [
        (
            "django_tasks.W030",
            "Parameter 'broken' of task tests.annotated.unresolvable_field is annotated "
            "'Broken', which cannot be resolved (NameError: name 'Missing' is not defined), so "
            "its JSON-safety is not checked; import the names it uses at module level rather "
            "than only under TYPE_CHECKING, or silence django_tasks.W030.",
        )
    ]
