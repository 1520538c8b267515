"""What a new user of Django 6 meets on day one (issue 13's first list), each a test that failed
before our backends served django.tasks."""

import subprocess
import sys
from pathlib import Path
from typing import Any, cast

import pytest
from django.tasks import Task, TaskResultStatus, default_task_backend, task_backends
from django.tasks import signals as django_signals
from django.tasks.base import TaskResult as DjangoTaskResult
from django.tasks.exceptions import InvalidTask, InvalidTaskBackend, TaskResultDoesNotExist
from django.test import override_settings

import django_tasks
from django_tasks import ResultStatus, TaskResult, tasks
from django_tasks.backends.dummy import DummyBackend
from django_tasks.exceptions import InvalidTaskError, ResultDoesNotExist
from django_tasks.signals import task_enqueued, task_finished, task_started
from tests.django6.tasks import attempt_number, explode, multiply, plain_multiply
from tests.tasks import add

ROOT = Path(__file__).resolve().parents[2]
DUMMY = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}


def run_project(script: str, installed_apps: list[str], tasks_setting: str = "") -> str:
    """Run ``script`` in a fresh process whose settings define no TASKS unless given."""
    setup = f"""
import django
from django.conf import settings

settings.configure(
    INSTALLED_APPS={installed_apps!r},
    USE_TZ=True,
    DATABASES={{"default": {{"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}}},
    {tasks_setting}
)
django.setup()
"""
    completed = subprocess.run(
        [sys.executable, "-c", setup + script],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


def test_a_project_with_no_tasks_setting_checks_clean_and_runs_both_apis() -> None:
    output = run_project(
        """
from django.core.management import call_command
from django.tasks import task_backends, TaskResultStatus
from django_tasks import ResultStatus, tasks
from tests.django6.tasks import add, multiply

call_command("check")
backend = tasks["default"]
print(type(backend).__module__, backend is task_backends["default"])
result = add.enqueue(1, 2)
print(type(result).__module__, result.status == ResultStatus.SUCCEEDED, result.return_value)
result = multiply.enqueue(3, 4)
print(result.status == TaskResultStatus.SUCCESSFUL, result.return_value)
""",
        ["django_tasks", "django_tasks_conformance", "tests.django6"],
    )
    assert output.splitlines() == [
        "System check identified no issues (0 silenced).",
        "django.tasks.backends.immediate True",
        "django_tasks.results True 3",
        "True 12",
    ]


def test_django_tasks_declared_in_an_app_s_tasks_module_let_django_start() -> None:
    output = run_project(
        """
from django_tasks.registry import task_registry

task = task_registry.get("tests.django6.tasks.multiply")
print(type(task).__name__, task.enqueue(2, 3).return_value)
""",
        ["django_tasks", "django_tasks.backends.database", "tests.django6"],
        'TASKS={"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}},',
    )
    assert output == "DjangoTask 6\n"


@override_settings(TASKS=DUMMY)
def test_our_backend_takes_a_plain_django_task() -> None:
    plain = cast("Task[[int, int], int]", plain_multiply)  # As @task rebinds it.
    assert type(plain) is Task
    result = plain.enqueue(2, 5)
    assert isinstance(result, DjangoTaskResult)
    assert result.status == TaskResultStatus.READY
    # enqueue returns a copy of the stored result, as Django's DummyBackend does.
    assert cast(object, tasks["default"].get_result(result.id)) == result


def test_each_alias_has_one_backend_instance_for_both_apis() -> None:
    assert task_backends["default"] is cast(object, tasks["default"])
    with override_settings(TASKS=DUMMY):
        assert isinstance(task_backends["default"], DummyBackend)
        assert task_backends["default"] is cast(object, tasks["default"])
        assert default_task_backend.alias == django_tasks.default_task_backend.alias == "default"
    assert task_backends["default"] is cast(object, tasks["default"])


def test_the_signals_are_django_s() -> None:
    assert task_enqueued is django_signals.task_enqueued
    assert task_started is django_signals.task_started
    assert task_finished is django_signals.task_finished
    heard: list[Any] = []

    def receiver(sender: type, task_result: Any, **kwargs: Any) -> None:
        heard.append((sender, task_result.id))

    django_signals.task_finished.connect(receiver)
    try:
        result = add.enqueue(1, 2)  # A 0.6.1 task, on our ImmediateBackend.
    finally:
        django_signals.task_finished.disconnect(receiver)
    assert heard == [(type(tasks["default"]), result.id)]


def test_results_of_django_tasks_are_django_s() -> None:
    succeeded = multiply.enqueue(6, 7)
    assert isinstance(succeeded, DjangoTaskResult)
    assert succeeded.status == TaskResultStatus.SUCCESSFUL
    assert succeeded.return_value == 42
    assert succeeded.errors == []
    assert succeeded.attempts == len(succeeded.worker_ids) == 1
    assert succeeded.last_attempted_at is not None
    failed = explode.enqueue("Boom")
    assert failed.status == TaskResultStatus.FAILED
    (error,) = failed.errors
    assert error.exception_class is ValueError
    assert error.exception_class_path == "builtins.ValueError"
    assert "ValueError: Boom" in error.traceback
    with pytest.raises(ValueError, match="Task failed"):
        failed.return_value  # noqa: B018  # The property raises.


def test_results_of_0_6_1_tasks_gain_django_s_fields() -> None:
    result = add.enqueue(1, 2)
    assert isinstance(result, TaskResult)
    assert result.status == ResultStatus.SUCCEEDED
    assert (result.errors, result.attempts) == ([], 1)
    assert result.last_attempted_at == result.started_at


def test_a_task_that_takes_its_context_gets_the_attempt() -> None:
    result = attempt_number.enqueue("x")
    assert result.return_value == {"attempt": 1, "id": result.id, "label": "x"}


@override_settings(TASKS=DUMMY)
def test_our_exceptions_are_django_s_too() -> None:
    with pytest.raises(TaskResultDoesNotExist):
        tasks["default"].get_result("nothing")
    with pytest.raises(ResultDoesNotExist):
        default_task_backend.get_result("nothing")
    assert issubclass(InvalidTaskError, InvalidTask)
    assert issubclass(django_tasks.exceptions.InvalidTaskBackendError, InvalidTaskBackend)
