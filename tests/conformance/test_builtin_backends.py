"""The backends this project ships pass the conformance suite with no expected failures."""

import re
from typing import Any

import pytest
from pytest_django import DjangoDbBlocker

from django_tasks.configuration import import_backend_class
from django_tasks_conformance import __version__
from django_tasks_conformance.report import CAPABILITY_COLUMNS, Report, capability_table
from django_tasks_conformance.runner import run_suite
from django_tasks_spec.requirements import catalogue
from tests.conformance.conftest import ROOT, UPDATE_DOCS

BUILTIN_BACKENDS = [
    "django_tasks.backends.immediate.ImmediateBackend",
    "django_tasks.backends.dummy.DummyBackend",
]
"""The shipped backends, in the order of the README's table."""

REFERENCE_BACKENDS = [*BUILTIN_BACKENDS, "django_tasks_conformance.memory.MemoryBackend"]
"""Shipped backends, and the suite's own worker-style backend (the mutants' base)."""

HARNESSES: dict[str, str] = {}
"""A harness per backend that needs one other than its default (a worker-based backend's)."""

OPTIONS: dict[str, dict[str, Any]] = {}
"""The OPTIONS to run a backend with, where it needs some."""

TABLE = re.compile(
    r"(<!-- conformance-table: .*? -->\n)(.*?)(<!-- /conformance-table -->)", re.DOTALL
)


@pytest.fixture(scope="module")
def reports(django_db_setup: None, django_db_blocker: DjangoDbBlocker) -> dict[str, Report]:
    with django_db_blocker.unblock():
        return {
            backend: run_suite(
                backend, harness=HARNESSES.get(backend), options=OPTIONS.get(backend)
            ).checked()
            for backend in REFERENCE_BACKENDS
        }


@pytest.mark.parametrize("backend", REFERENCE_BACKENDS)
def test_the_backend_passes_with_no_expected_failures(
    reports: dict[str, Report], backend: str
) -> None:
    report = reports[backend]
    failures = {test: outcome.message for test, outcome in report.failures().items()}
    assert failures == {}
    assert report.summary["xfailed"] == 0
    assert report.summary["passed"] > 40
    assert "failed" not in report.requirements.values()


def test_the_report_describes_the_run(reports: dict[str, Report]) -> None:
    report = reports["django_tasks.backends.immediate.ImmediateBackend"]
    assert report.suite_version == __version__
    assert (report.spec_revision, report.spec_digest) == (catalogue().revision, catalogue().digest)
    assert report.harness == "django_tasks_conformance.harness.InlineHarness"
    assert report.capabilities == {
        "supports_defer": False,
        "supports_async_task": True,
        "supports_get_result": False,
        "supports_priority": True,
    }
    assert set(report.requirements) == {rule.id for rule in catalogue()}
    # Without supports_defer, the negative requirement is checked instead of the positive one.
    assert report.requirements["TASK-DEFER-004"] == "passed"
    assert report.requirements["TASK-DEFER-001"] == "not_applicable"
    # It runs each task as it is enqueued, so no task waits and priority order cannot show.
    assert report.requirements["TASK-PRIORITY-001"] == "not_applicable"
    assert report.tests["test_priority.py::test_a_higher_priority_starts_first"].message == (
        "Not applicable: needs tasks that wait for a worker after enqueue, so the order they "
        "start in shows (the harness's `holds_tasks`); ImmediateBackend with InlineHarness "
        "has none."
    )
    assert report.requirements["TASK-SETTINGS-001"] == "not_run"  # Untestable by the suite.


def test_the_worker_harness_checks_what_the_others_cannot(reports: dict[str, Report]) -> None:
    report = reports["django_tasks_conformance.memory.MemoryBackend"]
    for requirement_id in (
        "TASK-PRIORITY-001",
        "TASK-DEFER-001",
        "TASK-GET-005",
        "TASK-STATUS-003",
    ):
        assert report.requirements[requirement_id] == "passed", requirement_id


def test_the_readme_capability_table_is_generated_from_the_reports(
    reports: dict[str, Report],
) -> None:
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    match = TABLE.search(text)
    assert match, "README.md has no <!-- conformance-table: ... --> section."
    table = capability_table([reports[backend] for backend in BUILTIN_BACKENDS])
    for backend in BUILTIN_BACKENDS:
        flags = [
            getattr(import_backend_class(backend, "test"), name) for name in CAPABILITY_COLUMNS
        ]
        row = next(line for line in table.splitlines() if backend.rpartition(".")[2] in line)
        assert [cell.strip() == "yes" for cell in row.split("|")[2:6]] == flags
    if UPDATE_DOCS:
        readme.write_text(text[: match.start(2)] + table + text[match.end(2) :], encoding="utf-8")
    else:
        assert match.group(2) == table, "README.md's capability table is stale: run ./dev docs."
