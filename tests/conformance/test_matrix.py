"""The compatibility matrix (scripts/matrix.py, ./dev matrix) publishes only runs that went
through the whole suite, and the kit it runs imports beside a backend without this project."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from django_tasks_conformance import report
from django_tasks_spec.requirements import catalogue
from scripts.matrix import check_run, environment
from tests.conformance.conftest import ROOT

SUITE = ROOT / "conformance" / "django_tasks_conformance" / "suite"


def test_no_suite_module_imports_this_projects_package_when_it_is_collected() -> None:
    # The kit runs against a django.tasks backend in a virtualenv without our django_tasks: a
    # module-level import of it is a collection error there, and the run counts none of the
    # module's tests.
    found = []
    for path in sorted(SUITE.glob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            found += [
                f"{path.name}: {name}"
                for name in names
                if name == "django_tasks" or name.startswith("django_tasks.")
            ]
    assert found == []


def _completed(code: int) -> "subprocess.CompletedProcess[str]":
    return subprocess.CompletedProcess(["pytest"], code, stdout="collected 3 items\n", stderr="")


@pytest.mark.parametrize("code", [0, 1])
def test_a_run_whose_tests_all_ran_makes_a_row(tmp_path: Path, code: int) -> None:
    written = tmp_path / "report.json"
    written.write_text("{}", encoding="utf-8")
    check_run("Some backend", _completed(code), written)


@pytest.mark.parametrize("code", [2, 3, 4, 5, -11])
def test_a_run_that_did_not_go_through_the_suite_makes_no_row(tmp_path: Path, code: int) -> None:
    # 2: interrupted (a collection error), 3: internal error, 4: usage error, 5: no test ran,
    # -11: the process crashed. A report may still have been written; it does not count.
    written = tmp_path / "report.json"
    written.write_text("{}", encoding="utf-8")
    with pytest.raises(SystemExit) as raised:
        check_run("Some backend", _completed(code), written)
    assert str(raised.value).startswith(
        f"The kit's run against Some backend ended with pytest exit status {code}; its row is "
        f"left as it was. Its output:\ncollected 3 items\n"
    )


def test_a_run_without_a_report_makes_no_row(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="exit status 1 and no report; its row is left as it was"):
        check_run("Some backend", _completed(1), tmp_path / "report.json")


def test_the_kits_settings_name_the_databases_they_know() -> None:
    completed = subprocess.run(
        [sys.executable, "-c", "import django_tasks_conformance.settings"],
        env={"DJANGO_TASKS_CONFORMANCE_DATABASE": "oracle", "PATH": ""},
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 1
    assert completed.stderr.splitlines()[-1] == (
        "django.core.exceptions.ImproperlyConfigured: DJANGO_TASKS_CONFORMANCE_DATABASE is "
        "'oracle'; allowed: sqlite, postgresql."
    )


def test_an_expected_failure_inside_a_clause_counts_against_that_clause_alone() -> None:
    # The priority tests rely on started_at (TASK-TIME-002) to see the order: a broker whose
    # priorities are listed as an expected failure has not failed TASK-TIME-002.
    tests = {
        "test_priority.py::test_a_higher_priority_starts_first": report.TestOutcome(
            outcome="xfailed",
            requirements=["TASK-PRIORITY-001", "TASK-TIME-002"],
            violated=["TASK-PRIORITY-001"],
        ),
        "test_results.py::test_times": report.TestOutcome(
            outcome="passed", requirements=["TASK-TIME-002"]
        ),
    }
    outcomes = report.requirement_outcomes(catalogue(), tests)
    assert outcomes["TASK-PRIORITY-001"] == "xfailed"
    assert outcomes["TASK-TIME-002"] == "passed"


def test_a_postgresql_backend_runs_in_a_database_named_after_the_runs_suffix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DJANGO_TASKS_TEST_DB_SUFFIX", "_helper")
    entry = {"name": "dj-queue", "database": "postgresql", "apps": ["dj_queue"]}
    env = environment(entry, "/tmp/run")
    assert env["DJANGO_TASKS_CONFORMANCE_DATABASE"] == "postgresql"
    assert env["DJANGO_TASKS_CONFORMANCE_DATABASE_NAME"] == "tasks_matrix_helper"
    assert (env["PGHOST"], env["PGUSER"]) == ("127.0.0.1", "postgres")
    assert env["PYTHONPATH"].split(os.pathsep)[0] == str(ROOT / "scripts")
    assert env["DJANGO_TASKS_CONFORMANCE_APPS"] == "dj_queue"


def test_an_unknown_database_in_the_matrix_is_refused() -> None:
    with pytest.raises(SystemExit) as raised:
        environment({"name": "Some backend", "database": "oracle"}, "/tmp/run")
    assert str(raised.value) == (
        "Backend 'Some backend' of conformance/matrix.toml has database 'oracle'; allowed: "
        "sqlite, postgresql."
    )
