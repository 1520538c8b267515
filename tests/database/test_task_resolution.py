"""How a worker finds the task a stored path names: the registry, and nothing else."""

import re
import sys

import pytest

from django_tasks.exceptions import InvalidTaskError
from django_tasks.registry import task_registry
from tests.tasks import noop_async


def test_a_registered_task_is_found_by_its_path() -> None:
    assert task_registry.resolve("tests.tasks.noop_async") is noop_async


def test_a_task_in_a_module_of_an_installed_app_is_found_by_importing_it() -> None:
    sys.modules.pop("tests.database.lazy_tasks", None)
    found = task_registry.resolve("tests.database.lazy_tasks.lazy")
    assert found.module_path == "tests.database.lazy_tasks.lazy"
    assert found.call() == "found"


@pytest.mark.parametrize(
    ("path", "message"),
    [
        (
            "antigravity.fly",
            "Task path 'antigravity.fly' is not a registered task, and its module "
            "'antigravity' is not part of an installed app nor listed in TASK_MODULES, so it is "
            "not imported; only functions declared with @task in installed apps and "
            "TASK_MODULES run.",
        ),
        (
            "os.system",
            "Task path 'os.system' is not a registered task; only functions declared with @task "
            "run.",
        ),
        (
            "tests.database.lazy_tasks.plain",
            "Task path 'tests.database.lazy_tasks.plain' is not a registered task; only "
            "functions declared with @task run.",
        ),
        (
            "tests.database.broken_tasks.task",
            "Task path 'tests.database.broken_tasks.task' cannot be resolved: importing "
            "'tests.database.broken_tasks' failed (RuntimeError: This module is broken.).",
        ),
        ("os", "Task path 'os' is not a dotted path to a function; it cannot name a task."),
        (
            "os.system(1)",
            "Task path 'os.system(1)' is not a dotted path to a function; it cannot name a task.",
        ),
    ],
)
def test_anything_else_is_refused_with_the_reason(path: str, message: str) -> None:
    with pytest.raises(InvalidTaskError, match=re.escape(message)):
        task_registry.resolve(path)


def test_a_module_outside_the_installed_apps_is_never_imported() -> None:
    sys.modules.pop("antigravity", None)
    with pytest.raises(InvalidTaskError):
        task_registry.resolve("antigravity.fly")
    assert "antigravity" not in sys.modules
