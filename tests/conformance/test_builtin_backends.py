"""The backends this project ships pass the conformance suite with no expected failures."""

import re
from dataclasses import dataclass, field
from typing import Any

import pytest
from pytest_django import DjangoDbBlocker

from django_tasks.configuration import import_backend_class
from django_tasks_conformance import __version__
from django_tasks_conformance.report import CAPABILITY_COLUMNS, Report, capability_table
from django_tasks_conformance.runner import run_suite
from django_tasks_spec.requirements import catalogue
from tests.conformance.conftest import ROOT, UPDATE_DOCS


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """One configuration the suite runs against."""

    name: str
    """How the README's table names it."""

    backend: str
    harness: str | None = None
    """The harness, if not the backend's default (a worker-based backend needs its own)."""

    options: dict[str, Any] = field(default_factory=dict)
    shipped: bool = True
    """Whether it appears in the README's table."""


TARGETS = [
    Target(name="ImmediateBackend", backend="django_tasks.backends.immediate.ImmediateBackend"),
    Target(name="DummyBackend", backend="django_tasks.backends.dummy.DummyBackend"),
    Target(
        name="MemoryBackend",
        backend="django_tasks_conformance.memory.MemoryBackend",
        shipped=False,  # The suite's own worker-style backend, the mutants' base.
    ),
]
"""Every backend the project ships (and its configurations), in the order of the README's table.
A worker-based backend adds one Target per database, with its harness and OPTIONS."""

TABLE = re.compile(
    r"(<!-- conformance-table: .*? -->\n)(.*?)(<!-- /conformance-table -->)", re.DOTALL
)


@pytest.fixture(scope="module")
def reports(django_db_setup: None, django_db_blocker: DjangoDbBlocker) -> dict[str, Report]:
    with django_db_blocker.unblock():
        return {
            target.name: run_suite(
                target.backend, harness=target.harness, options=target.options
            ).checked()
            for target in TARGETS
        }


@pytest.mark.parametrize("name", [target.name for target in TARGETS])
def test_the_backend_passes_with_no_expected_failures(
    reports: dict[str, Report], name: str
) -> None:
    report = reports[name]
    failures = {test: outcome.message for test, outcome in report.failures().items()}
    assert failures == {}
    assert report.summary["xfailed"] == 0
    assert report.summary["passed"] > 40
    assert "failed" not in report.requirements.values()


def test_the_report_describes_the_run(reports: dict[str, Report]) -> None:
    report = reports["ImmediateBackend"]
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
    report = reports["MemoryBackend"]
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
    shipped = [target for target in TARGETS if target.shipped]
    table = capability_table([(target.name, reports[target.name]) for target in shipped])
    for target in shipped:
        backend_class = import_backend_class("default", target.backend)
        flags = [getattr(backend_class, name) for name in CAPABILITY_COLUMNS]
        row = next(line for line in table.splitlines() if f"`{target.name}`" in line)
        assert [cell.strip() == "yes" for cell in row.split("|")[2:6]] == flags
    if UPDATE_DOCS:
        readme.write_text(text[: match.start(2)] + table + text[match.end(2) :], encoding="utf-8")
    else:
        assert match.group(2) == table, "README.md's capability table is stale: run ./dev docs."
