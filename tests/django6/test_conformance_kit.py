"""The conformance kit speaks Django's dialect to a ``django.tasks`` backend: Django's own, and
django-tasks-db 0.13 run as its author would, through its ``db_worker --batch`` command."""

import json
import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

from pytest_django import DjangoDbBlocker

from django_tasks_conformance.report import Report
from django_tasks_spec.dialects import Dialect
from django_tasks_spec.requirements import catalogue
from scripts import matrix
from tests.conformance.conftest import ROOT
from tests.conformance.runner import run_suite

DJANGO_ONLY = ("TASK-CONTEXT-001", "TASK-RESULT-007", "TASK-RESULT-008", "TASK-ERROR-006")
"""Requirements of Django's dialect that a backend running tasks is held to."""


def test_a_django_backend_is_held_only_to_the_requirements_of_its_dialect(
    django_db_setup: None, django_db_blocker: DjangoDbBlocker
) -> None:
    with django_db_blocker.unblock():
        report = run_suite("django.tasks.backends.immediate.ImmediateBackend").checked()
    assert report.dialect == "django.tasks"
    assert report.failures() == {}
    for rule in catalogue():
        if not rule.belongs_to(Dialect.DJANGO) and not rule.untestable:
            assert report.requirements[rule.id] == "not_applicable", rule.id
    for requirement_id in DJANGO_ONLY:
        assert report.requirements[requirement_id] == "passed", requirement_id
    test_id = "test_transactions.py::test_enqueue_on_commit_false_enqueues_at_once_in_a_transaction"
    assert report.tests[test_id].message == (
        "Not applicable: TASK-COMMIT-004 belongs to the django_tasks dialect; the backend "
        "speaks django.tasks."
    )


def run_kit(directory: Path, *arguments: str, apps: str = "") -> Report:
    """Run the kit as a backend's author does, in a process of its own, with the kit's
    settings; return its report."""
    report = directory / "report.json"
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-q",
            "--rootdir",
            str(directory),
            "--pyargs",
            "django_tasks_conformance",
            "--ds=django_tasks_conformance.settings",
            f"--tasks-report={report}",
            *arguments,
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=directory,
        env={
            **os.environ,
            "DJANGO_TASKS_CONFORMANCE_APPS": apps,
            "DJANGO_TASKS_CONFORMANCE_DIR": str(directory),
        },
    )
    assert report.exists(), completed.stdout + completed.stderr
    return Report.from_json(report.read_text(encoding="utf-8"))


def readme_command() -> tuple[dict[str, str], list[str]]:
    """The README's command that runs the kit against django-tasks-db ("A `django.tasks`
    backend"): its environment variables and its pytest arguments."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("#### A `django.tasks` backend\n", 1)[1].split("\n#### ", 1)[0]
    block = re.search(r"```shell\n(.*?)```", section, re.DOTALL)
    assert block is not None
    words = shlex.split(block.group(1).replace("\\\n", " "))
    environment = {}
    while "=" in words[0] and not words[0].startswith("-"):
        name, _, value = words.pop(0).partition("=")
        environment[name] = value
    assert words.pop(0) == "pytest"
    return environment, words


def test_the_readmes_command_runs_the_kit_against_django_tasks_db(tmp_path: Path) -> None:
    # The path of a django.tasks backend's author, as the README gives it: one command, then
    # the report it writes.
    environment, arguments = readme_command()
    pytest = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--rootdir", str(tmp_path)]
    completed = subprocess.run(
        [*pytest, *arguments],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        env={**os.environ, **environment},
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    report = Report.from_json((tmp_path / "conformance.json").read_text(encoding="utf-8"))
    assert report.dialect == "django.tasks"
    assert report.harness == "django_tasks_conformance.command.CommandHarness"
    assert report.failures() == {}
    assert report.summary["passed"] > 50
    for requirement_id in (*DJANGO_ONLY, "TASK-PRIORITY-001", "TASK-DEFER-001", "TASK-GET-005"):
        assert report.requirements[requirement_id] == "passed", requirement_id


def test_a_gap_declared_as_the_readme_shows_is_held_strictly(tmp_path: Path) -> None:
    # The last step of the README's path: known gaps go in a TOML file. The README's own example
    # declares a test django-tasks-db passes, so the run fails, naming it: a declared gap that
    # starts passing is not a silent success.
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("#### Expected failures and reports\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```toml\n(.*?)```", section, re.DOTALL)
    assert block is not None
    declared = tomllib.loads(block.group(1))["expected-failures"]
    (tmp_path / "expected.toml").write_text(block.group(1), encoding="utf-8")
    environment, arguments = readme_command()
    pytest = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--rootdir", str(tmp_path)]
    completed = subprocess.run(
        [
            *pytest,
            *arguments,
            f"--tasks-expected-failures={tmp_path / 'expected.toml'}",
            "--tasks-requirements=TASK-PRIORITY-001",
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        env={**os.environ, **environment},
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 1, output[-3000:]
    for test_id, reason in declared.items():
        assert f"{test_id} - [XPASS" in output, output[-3000:]
        assert f"[XPASS(strict)] {reason}" in output, output[-3000:]


IDLE = (
    "SELECT count(*) FROM django_tasks_database_dbtaskresult WHERE status = 'RUNNING' OR "
    "(status = 'READY' AND (run_after >= '9999-01-01' OR "
    "run_after <= strftime('%Y-%m-%d %H:%M:%f', 'now')))"
)
"""django-tasks-db's rows that are running or due (without run_after it stores 9999-12-31)."""


def test_a_worker_without_a_batch_mode_is_stopped_once_the_queue_is_idle(tmp_path: Path) -> None:
    report = run_kit(
        tmp_path,
        "--tasks-backend=django_tasks_db.DatabaseBackend",
        "--tasks-worker-command=db_worker --queue-name * --interval 0.05 --no-startup-delay "
        "--backend {alias}",
        f"--tasks-worker-idle={IDLE}",
        "--tasks-requirements=TASK-PRIORITY-001,TASK-DEFER-001,TASK-RESULT-008",
        apps="django_tasks_db",
    )
    assert report.failures() == {}
    for requirement_id in ("TASK-PRIORITY-001", "TASK-DEFER-001", "TASK-RESULT-008"):
        assert report.requirements[requirement_id] == "passed", requirement_id


def test_the_published_row_of_djangos_immediate_backend_is_current() -> None:
    # The quick subset of ./dev matrix that CI runs: one published row, made as the matrix
    # makes it (the kit in a process of its own, with its settings), equals the committed one.
    entries = tomllib.loads(matrix.CONFIG.read_text(encoding="utf-8"))["backend"]
    entry = next(entry for entry in entries if entry["name"] == "Django ImmediateBackend")
    published = json.loads(matrix.OUTPUT.read_text(encoding="utf-8"))["Django ImmediateBackend"]
    assert matrix.run(entry, sys.executable) == published
