"""The README's Python examples run, in order, as a user would copy them into a project.

Settings blocks (only UPPERCASE assignments) are validated as the settings they show. Code
blocks run in one namespace, as if in a module of an installed app, against the database backend;
after each block a worker drains the queue, as a running ``db_worker`` would. The "Writing a
backend" section is run by tests/conformance/test_readme_example.py.
"""

import ast
import importlib
import importlib.util
import re
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db.utils import load_backend
from django.test import override_settings
from pytest_django import Settings as SettingsWrapper

from django_tasks.configuration import resolve_backend
from django_tasks.problems import tasks_setting_problems
from django_tasks.registry import task_modules

README = Path(__file__).resolve().parent.parent / "README.md"
SNIPPETS_MODULE = "tests.readme_snippets"
NOT_RUN_HERE = ("## Writing a backend",)
DJANGO_6_ONLY = () if importlib.util.find_spec("django.tasks") else ("## Django 6",)
"""The "Django 6" section's examples speak django.tasks, which Django 5.2 does not have."""


def python_blocks() -> list[tuple[int, str]]:
    """(line number, code) of every Python block, outside the sections run elsewhere."""
    blocks: list[tuple[int, str]] = []
    section = ""
    lines = README.read_text(encoding="utf-8").splitlines()
    block: list[str] | None = None
    for number, line in enumerate(lines, 1):
        if block is not None:
            if line == "```":
                if not section.startswith((*NOT_RUN_HERE, *DJANGO_6_ONLY)):
                    blocks.append((number - len(block), "\n".join(block)))
                block = None
            else:
                block.append(line)
        elif line.startswith("## "):
            section = line
        elif line == "```python":
            block = []
    return blocks


def is_settings(code: str) -> bool:
    statements = ast.parse(code).body
    return all(
        isinstance(statement, ast.Assign)
        and all(
            isinstance(target, ast.Name) and target.id.isupper() for target in statement.targets
        )
        for statement in statements
    )


def check_settings(values: dict[str, Any], where: str) -> None:
    for name, value in values.items():
        if name == "TASKS":
            assert tasks_setting_problems(value) == [], where
            for alias, params in value.items():
                assert resolve_backend(alias, params).problems == [], f"{where}: {alias}"
        elif name == "INSTALLED_APPS":
            for app in value:
                importlib.import_module(app)
        elif name == "DATABASES":
            for config in value.values():
                load_backend(config["ENGINE"])
        elif name == "TASK_MODULES":  # Module names (the example's project does not exist here).
            with override_settings(TASK_MODULES=value):
                assert task_modules() == value, where
        else:
            pytest.fail(f"{where}: no check for the setting {name}.")


@pytest.fixture
def snippets_module() -> Iterator[types.ModuleType]:
    """A module inside the installed "tests" app, for the examples' tasks to live in."""
    module = types.ModuleType(SNIPPETS_MODULE)
    sys.modules[SNIPPETS_MODULE] = module
    yield module
    del sys.modules[SNIPPETS_MODULE]


def test_the_readme_has_examples() -> None:
    assert len(python_blocks()) >= 15


@pytest.mark.django_db(transaction=True)
def test_the_readme_examples_run_in_order(
    settings: SettingsWrapper, snippets_module: types.ModuleType
) -> None:
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.database.DatabaseBackend"}}
    namespace = snippets_module.__dict__
    for line, code in python_blocks():
        where = f"README.md, the block at line {line}"
        if is_settings(code):
            values: dict[str, Any] = {}
            exec(compile(code, where, "exec"), values)  # The README's own code.
            check_settings({k: v for k, v in values.items() if k.isupper()}, where)
            continue
        try:
            exec(compile(code, where, "exec"), namespace)  # The README's own code.
        except Exception as e:
            pytest.fail(f"{where} raised {e!r}:\n{code}")
        call_command("db_worker", "--batch", "--interval", "0.01", verbosity=0)
    # The examples ran against the database backend, a worker in between.
    assert namespace["result"].return_value == 42
    assert namespace["failed"].exception_class is ZeroDivisionError
    assert namespace["failed"].worker_ids


def test_settings_blocks_are_recognised() -> None:
    settings_blocks = [code for _, code in python_blocks() if is_settings(code)]
    assert any(re.search(r"^TASKS = ", code, re.MULTILINE) for code in settings_blocks)
    assert any(re.search(r"^INSTALLED_APPS = ", code, re.MULTILINE) for code in settings_blocks)
