"""DatabaseHarness, the suite's driver for the database backend, and the launcher it forks
db_worker processes from. (The suite's run against the database backend on each database is in
test_builtin_backends.py.)"""

import json
import os
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.db import connections
from django.test import override_settings

from django_tasks_conformance.harnesses.database import DatabaseHarness
from django_tasks_conformance.launcher import Launcher
from tests.conformance.conftest import ROOT
from tests.conformance.runner import run_suite

DATABASE_BACKEND = "django_tasks.backends.database.DatabaseBackend"
SUCCEEDS = "test_results.py::test_a_task_that_returns_succeeds_with_its_return_value"


def test_the_readme_command_runs_the_suite_against_the_database_backend(tmp_path: Path) -> None:
    """pytest-django creates the test database the harness needs; the harness is the default
    for a DatabaseBackend, and its workers run with this run's settings."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = re.search(
        r"```shell\n(python -m pytest [^`]*?DatabaseBackend.*?)```", readme, re.DOTALL
    )
    assert command is not None
    args = shlex.split(command.group(1).replace("\\\n", " ").replace("myproject", "tests"))
    report_path = tmp_path / "conformance.json"
    requirements = "TASK-PRIORITY-001,TASK-DEFER-001,TASK-COMMIT-004,TASK-GET-001"
    environment = {
        **os.environ,
        # Test databases of their own, not this run's.
        "DJANGO_TASKS_TEST_DB_SUFFIX": os.environ.get("DJANGO_TASKS_TEST_DB_SUFFIX", "") + "_cli",
    }
    completed = subprocess.run(
        [
            sys.executable,
            *args[1:],
            f"--tasks-requirements={requirements}",
            f"--tasks-report={report_path}",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
        ],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    report = json.loads(report_path.read_text(encoding="utf-8"))
    assert report["harness"] == "django_tasks_conformance.harnesses.database.DatabaseHarness"
    assert {
        rule: report["requirements"][rule] for rule in requirements.split(",")
    } == dict.fromkeys(requirements.split(","), "passed")


@pytest.mark.django_db(databases=["default"], transaction=True)
def test_a_worker_that_fails_fails_the_drain_and_shows_its_output() -> None:
    run = run_suite(
        DATABASE_BACKEND,
        options={"DATABASE": "default"},
        harness="tests.conformance.harnesses.UnknownQueueHarness",
        requirements=["TASK-STATUS-004"],
    )
    message = run.checked().tests[SUCCEEDS].message
    assert re.match(
        r"WorkerFailedError: Worker 'db_worker --skip-checks --backend=default --queue-name "
        r"no-such-queue --batch' \(pid \d+\) exited with status 1 before the queue was drained\. "
        r"Its output:\n",
        message,
    ), message
    assert (
        "Queue 'no-such-queue' is not valid for backend 'default'; allowed: "
        "['conformance-other', 'default']."
    ) in message


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "/srv/app/db.sqlite3",
            "The queue's database 'default' is '/srv/app/db.sqlite3', not a test database; the "
            "harness deletes every task in it. Run the suite under pytest-django, which creates "
            "the test databases that test_databases() names.",
        ),
        (
            ":memory:",
            "The queue's database 'default' is an in-memory SQLite database, which worker "
            "processes cannot share; give it a file: "
            "DATABASES['default']['TEST']['NAME'] = 'test.sqlite3'.",
        ),
    ],
)
def test_the_harness_refuses_a_database_it_cannot_use(
    monkeypatch: pytest.MonkeyPatch, name: str, message: str
) -> None:
    harness = DatabaseHarness(DATABASE_BACKEND, {"DATABASE": "default"})
    monkeypatch.setitem(connections["default"].settings_dict, "NAME", name)
    with override_settings(TASKS=harness.tasks_setting()):
        with pytest.raises(ImproperlyConfigured, match=re.escape(message)):
            harness.setup()
        with pytest.raises(ImproperlyConfigured, match=re.escape(message)):
            harness.clear()


def test_the_suite_stops_if_the_backend_refuses_its_tasks(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The database backend refuses tasks outside INSTALLED_APPS; the suite says what to do."""
    original = apps.get_containing_app_config

    def without_the_suite(name: str) -> Any:
        return None if name.startswith("django_tasks_conformance") else original(name)

    monkeypatch.setattr(apps, "get_containing_app_config", without_the_suite)
    monkeypatch.setattr(apps, "is_installed", lambda name: name != "django_tasks_conformance")
    run = run_suite(DATABASE_BACKEND, options={"DATABASE": "default"})
    assert run.exit_code == pytest.ExitCode.USAGE_ERROR
    assert (
        "The backend refuses the suite's tasks: Task django_tasks_conformance.tasks.noop is "
        "defined in module 'django_tasks_conformance.tasks', which is not part of an installed "
        "app nor listed in TASK_MODULES, so workers do not import it; add "
        "'django_tasks_conformance.tasks' to the TASK_MODULES setting (or move the task into an "
        "installed app). Add 'django_tasks_conformance' to INSTALLED_APPS in the settings the "
        "suite runs with."
    ) in capsys.readouterr().err


def test_the_launcher_forks_commands_and_reports_how_they_end(tmp_path: Path) -> None:
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "PYTHONPATH": str(ROOT),
    }
    launcher = Launcher(environment, ["django.core.management.commands.shell"], tmp_path / "log")
    try:
        shell = ["shell", "--verbosity=0", "--command"]
        printing = launcher.start([*shell, "import os; print(os.getpid())"], tmp_path / "a")
        failing = launcher.start([*shell, "raise SystemExit(3)"], tmp_path / "b")
        sleeping = launcher.start([*shell, "import time; time.sleep(60)"], tmp_path / "c")
        assert printing.wait(10) == 0
        assert (tmp_path / "a").read_text() == f"{printing.pid}\n"
        assert failing.wait(10) == 3
        assert sleeping.returncode is None
        sleeping.send_signal(signal.SIGTERM)
        assert sleeping.wait(10) == -signal.SIGTERM
    finally:
        launcher.close()
