"""Running the suite in this process, to get a Report back (for tests, mutants and the docs).

``run_suite`` calls ``pytest.main`` on the suite with the plugin's options and returns the
report. Django must already be configured, with any database the suite needs set up: the nested
run does not load pytest-django. A MemoryBackend (the mutants' base) is driven by its
MemoryHarness unless another harness is given: the suite's own registry knows only the backends
this project ships.
"""

import json
import tempfile
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.utils.module_loading import import_string

from django_tasks_conformance.report import Report
from tests.conformance.memory import MemoryBackend, MemoryHarness

_INI = """\
[pytest]
xfail_strict = true
filterwarnings =
    error
    ignore::pytest.PytestAssertRewriteWarning
"""


@dataclass(frozen=True, slots=True)
class SuiteRun:
    """How a run ended: pytest's exit code, and the report (None if it stopped before tests)."""

    exit_code: int
    report: Report | None

    def checked(self) -> Report:
        """The report; raise AssertionError if there is none."""
        if self.report is None:
            raise AssertionError(f"The run wrote no report (pytest exit code {self.exit_code}).")
        return self.report


def run_suite(
    backend: str,
    *,
    options: dict[str, Any] | None = None,
    harness: str | None = None,
    requirements: Iterable[str] = (),
    expected_failures: Path | None = None,
    timeout: float | None = None,
    dialect: str | None = None,
    worker_command: str | None = None,
) -> SuiteRun:
    """Run the conformance suite against ``backend``; return pytest's exit code and the report.

    ``requirements`` limits the run to the tests that cite those IDs.
    """
    with tempfile.TemporaryDirectory(prefix="tasks-conformance-") as tmp:
        ini = Path(tmp, "pytest.ini")
        ini.write_text(_INI, encoding="utf-8")
        report_path = Path(tmp, "report.json")
        args = [
            "-c", str(ini), "--rootdir", tmp,
            "-p", "no:django", "-p", "no:cacheprovider", "-p", "no:asyncio", "-p", "no:randomly",
            "-qq", "--no-header",
            "--pyargs", "django_tasks_conformance.suite",
            f"--tasks-backend={backend}",
            f"--tasks-options={json.dumps(options or {})}",
            f"--tasks-report={report_path}",
        ]  # fmt: skip
        harness = harness or (None if worker_command else _own_harness(backend))
        if dialect:
            args.append(f"--tasks-dialect={dialect}")
        if worker_command:
            args.append(f"--tasks-worker-command={worker_command}")
        if harness:
            args.append(f"--tasks-harness={harness}")
        if requirements:
            args.append(f"--tasks-requirements={','.join(requirements)}")
        if expected_failures:
            args.append(f"--tasks-expected-failures={expected_failures}")
        if timeout is not None:
            args.append(f"--tasks-timeout={timeout}")
        with warnings.catch_warnings():
            code = pytest.main(args)
        report = None
        if report_path.exists():
            report = Report.from_json(report_path.read_text(encoding="utf-8"))
        return SuiteRun(int(code), report)


def _own_harness(backend: str) -> str | None:
    """The harness of a backend of these tests' own, which the suite's registry does not know."""
    try:
        backend_class = import_string(backend)
    except ImportError:
        return None  # The run reports it.
    if isinstance(backend_class, type) and issubclass(backend_class, MemoryBackend):
        return f"{MemoryHarness.__module__}.{MemoryHarness.__qualname__}"
    return None
