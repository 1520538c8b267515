"""A backend class that raises (django_tasks.E019), and a backend's own check(), with and
without databases."""

import pytest
from django.core import checks
from django.test import override_settings

from django_tasks import tasks
from django_tasks.checks import check_task_databases, check_tasks
from django_tasks.exceptions import InvalidTaskBackendError
from django_tasks.registry import task_registry
from django_tasks.task import Task
from tests.checks.support import (
    exactly,
    run_checks,
    send_report,
)


@override_settings(TASKS={"default": {"BACKEND": "tests.backends.BrokenInitBackend"}})
def test_a_backend_that_raises_when_created() -> None:
    message = (
        "Backend 'default' (tests.backends.BrokenInitBackend) could not be created: "
        "RuntimeError: The connection pool is not configured."
    )
    assert run_checks() == [
        checks.Error(
            message,
            hint="The backend class raised; django_tasks.tasks['default'] raises it again, "
            "with its traceback.",
            obj="TASKS['default']",
            id="django_tasks.E019",
        )
    ]
    with pytest.raises(InvalidTaskBackendError, match=exactly(message)) as raised:
        tasks["default"]
    assert isinstance(raised.value.__cause__, RuntimeError)


@override_settings(TASKS={"default": {"BACKEND": "tests.backends.PickyBackend"}})
def test_a_backend_that_refuses_its_configuration_in_its_own_words() -> None:
    message = "Backend 'default' cannot wait for commits; set ENQUEUE_ON_COMMIT to False."
    assert run_checks() == [
        checks.Error(
            message,
            hint="The backend class raised; django_tasks.tasks['default'] raises it again, "
            "with its traceback.",
            obj="TASKS['default']",
            id="django_tasks.E019",
        )
    ]
    with pytest.raises(InvalidTaskBackendError, match=exactly(message)):
        tasks["default"]


@override_settings(TASKS={"default": {"BACKEND": "tests.backends.BrokenCheckBackend"}})
def test_a_backend_whose_check_raises() -> None:
    assert run_checks() == [
        checks.Error(
            "Backend 'default' (tests.backends.BrokenCheckBackend) raised in check(): "
            "KeyError: 'HOST'.",
            hint="The backend class raised; django_tasks.tasks['default'].check() raises it "
            "again, with its traceback.",
            obj="TASKS['default']",
            id="django_tasks.E019",
        )
    ]


@override_settings(TASKS={"default": {"BACKEND": "tests.backends.BrokenValidateBackend"}})
def test_a_backend_whose_validate_task_raises() -> None:
    task_registry.register(Task(func=send_report))
    assert run_checks() == [
        checks.Error(
            "Backend 'default' raised in validate_task() for this task: "
            "AttributeError: 'Task' object has no attribute 'time_limit'.",
            hint="The backend class raised; django_tasks.tasks['default']"
            ".validate_task(tests.checks.support.send_report) raises it again, with its traceback.",
            obj="tests.checks.support.send_report",
            id="django_tasks.E019",
        )
    ]


@override_settings(TASKS={"default": {"BACKEND": "tests.backends.NoSchemaBackend"}})
def test_a_backend_whose_options_schema_is_no_model() -> None:
    assert run_checks(deploy=True) == [
        checks.Error(
            "Backend 'default' could not be checked: AttributeError: type object 'dict' has no "
            "attribute 'model_validate'.",
            hint="The backend class raised; django_tasks.tasks['default'] raises it again, "
            "with its traceback.",
            obj="TASKS['default']",
            id="django_tasks.E019",
        )
    ]


@override_settings(TASKS={"default": {"BACKEND": "tests.backends.CheckingBackend"}})
def test_a_backend_reports_its_own_problems() -> None:
    assert run_checks() == [
        checks.Warning("The queue table is empty.", obj="default", id="tests.W001")
    ]


@override_settings(TASKS={"default": {"BACKEND": "tests.backends.ConnectingCheckBackend"}})
def test_a_backend_checks_the_databases_only_in_the_database_checks() -> None:
    """Django 6.1 gives every check all the databases; only the database-tagged check (run by
    `check --database`) passes them on to the backends, which may then connect."""
    empty = checks.Warning("The queue table is empty.", obj="default", id="tests.W001")
    read_only = checks.Warning("Database 'default' is read-only.", obj="default", id="tests.W002")
    assert check_tasks(databases=["default"]) == [empty]
    assert check_task_databases(databases=["default"]) == [read_only]
    assert check_task_databases(databases=None) == []
    assert check_task_databases(databases=["unreachable"]) == [
        checks.Error(
            "Backend 'default' (tests.backends.ConnectingCheckBackend) raised in check(): "
            "ConnectionError: Connection refused.",
            hint="The backend class raised; django_tasks.tasks['default']"
            ".check(databases=['unreachable']) raises it again, with its traceback.",
            obj="TASKS['default']",
            id="django_tasks.E019",
        )
    ]
    with override_settings(TASKS={"default": {"BACKEND": "tests.backends.BrokenCheckBackend"}}):
        assert check_task_databases(databases=["default"]) == []  # check_tasks() reports it.
