"""Tasks outside INSTALLED_APPS: the TASK_MODULES setting (E061), and tasks declared in modules
the workers do not import, found at check time (E017)."""

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core import checks
from django.test import override_settings

from django_tasks.apps import discover_tasks
from django_tasks.registry import task_registry
from tests.checks.support import run_checks

DATABASE = {"default": {"BACKEND": "django_tasks.backends.database.DatabaseBackend"}}
HINT = 'List module names: TASK_MODULES = ["mysite.tasks"].'


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A project's own package outside INSTALLED_APPS: ``<name>.tasks`` declares a task, and
    ``<name>.urls`` (the URLconf) imports it, as a view module would."""
    name = f"site_{tmp_path.name.replace('-', '_')}"
    package = tmp_path / name
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "tasks.py").write_text(
        "from django_tasks import task\n\n\n@task\ndef send_report() -> None:\n    pass\n"
    )
    (package / "urls.py").write_text(f"import {name}.tasks  # noqa: F401\n\nurlpatterns = []\n")
    (package / "broken.py").write_text("import a_module_that_does_not_exist  # noqa: F401\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    for module in [module for module in sys.modules if module.startswith(name)]:
        del sys.modules[module]


def refused(messages: list[checks.CheckMessage]) -> list[checks.CheckMessage]:
    return [message for message in messages if message.id == "django_tasks.E017"]


def test_a_task_in_a_module_the_workers_do_not_import_is_found_at_check_time(site: str) -> None:
    with override_settings(TASKS=DATABASE, ROOT_URLCONF=f"{site}.urls"):
        assert refused(run_checks()) == [
            checks.Error(
                f"Task {site}.tasks.send_report is defined in module '{site}.tasks', which is "
                f"not part of an installed app nor listed in TASK_MODULES, so workers do not "
                f"import it; add '{site}.tasks' to the TASK_MODULES setting (or move the task "
                f"into an installed app).",
                hint="Add the task's module to TASK_MODULES, or move the task into an app.",
                obj=f"{site}.urls",
                id="django_tasks.E017",
            )
        ]


def test_task_modules_are_imported_at_start_up_and_run_by_workers(site: str) -> None:
    with override_settings(
        TASKS=DATABASE, ROOT_URLCONF=f"{site}.urls", TASK_MODULES=[f"{site}.tasks"]
    ):
        discover_tasks()
        assert task_registry.get(f"{site}.tasks.send_report") is not None
        assert refused(run_checks()) == []
        assert task_registry.resolve(f"{site}.tasks.send_report").module_path == (
            f"{site}.tasks.send_report"
        )


@pytest.mark.parametrize(
    ("value", "obj", "message"),
    [
        (
            "x.tasks",
            "TASK_MODULES",
            "TASK_MODULES 'x.tasks' is invalid; it must be a list of module names.",
        ),
        (
            ["x tasks"],
            "TASK_MODULES[0]",
            "TASK_MODULES[0] 'x tasks' is invalid; it must be a dotted module name.",
        ),
        (
            ["{site}.broken"],
            "TASK_MODULES[0]",
            "TASK_MODULES[0] '{site}.broken' cannot be imported (ModuleNotFoundError: No module "
            "named 'a_module_that_does_not_exist'), so workers would not find its tasks.",
        ),
    ],
)
def test_e061_task_modules_must_be_importable_module_names(
    site: str, value: object, obj: str, message: str
) -> None:
    if isinstance(value, list):
        value = [entry.format(site=site) for entry in value]
    with override_settings(TASK_MODULES=value):
        discover_tasks()  # An unimportable entry does not stop the start-up: the check says it.
        found = [found for found in run_checks() if found.id == "django_tasks.E061"]
    assert found == [
        checks.Error(message.format(site=site), hint=HINT, obj=obj, id="django_tasks.E061")
    ]
