"""The architecture stays as the README's "Architecture" section draws it: the import contracts
hold, no module imports another in a circle, and every function-local import says why."""

import ast
import subprocess
import sys
from pathlib import Path

from scripts.import_graph import ROOT, _crosses, cycles, problems


def test_the_module_graph_has_no_cycle_and_no_unexplained_local_import() -> None:
    assert problems() == []


def test_only_the_dialect_boundary_imports_django_tasks_or_reads_the_django_version() -> None:
    crossing = [
        "import django.tasks",
        "from django.tasks import task",
        "from django.tasks.backends.base import BaseTaskBackend",
        "from django import tasks",
        "django.VERSION >= (6,)",
    ]
    for source in crossing:
        assert any(map(_crosses, ast.walk(ast.parse(source)))), source
    for source in ["import django_tasks", "from django_tasks.task import task", "django.setup()"]:
        assert not any(map(_crosses, ast.walk(ast.parse(source)))), source


def test_a_cycle_of_any_length_is_found() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert cycles(edges) == [["a", "b", "c"]]


def test_the_import_contracts_are_kept() -> None:
    completed = subprocess.run(
        [Path(sys.executable).parent / "lint-imports", "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-3000:]
    assert ", 0 broken." in completed.stdout, completed.stdout[-3000:]
