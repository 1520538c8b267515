"""The backends this project ships pass the conformance suite; the only expected failures are
requirements an engine cannot meet (tests/conformance/celery_*.toml, each with its reason)."""

import importlib.util
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pytest_django import DjangoDbBlocker

from django_tasks.configuration import import_backend_class
from django_tasks_conformance import __version__
from django_tasks_conformance.report import CAPABILITY_COLUMNS, Report, capability_table
from django_tasks_spec.requirements import catalogue
from tests.conformance.conftest import ROOT, UPDATE_DOCS
from tests.conformance.runner import run_suite

DATABASE_BACKEND = "django_tasks.backends.database.DatabaseBackend"
DJANGO_TASKS = importlib.util.find_spec("django.tasks") is not None
"""Whether this Django has django.tasks (6.0 and later): its backends are tested too."""
HERE = Path(__file__).resolve().parent


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """One configuration the suite runs against."""

    name: str
    """How the tests name it."""

    backend: str
    harness: str | None = None
    """The harness, if not the backend's default (a worker-based backend needs its own)."""

    options: dict[str, Any] = field(default_factory=dict)
    on: str = ""
    """Where it keeps its tasks, when the README's table shows it per database."""

    shipped: bool = True
    """Whether it appears in the README's table."""

    expected_failures: str | None = None
    """The TOML file (in tests/conformance/) of the requirements it cannot meet, with why."""

    dialect: str | None = None
    """The dialect to speak to it, if not the one of its base class (--tasks-dialect)."""

    @property
    def label(self) -> str:
        """How the README's table names it."""
        label = f"`{self.backend.rpartition('.')[2]}`"
        return f"{label} on {self.on}" if self.on else label

    @property
    def databases(self) -> list[str]:
        """The test databases the run uses: the queue's, and `default` for transactions."""
        return sorted({"default", self.options["DATABASE"]}) if "DATABASE" in self.options else []


TARGETS = [
    Target(name="ImmediateBackend", backend="django_tasks.backends.immediate.ImmediateBackend"),
    Target(name="DummyBackend", backend="django_tasks.backends.dummy.DummyBackend"),
    *(
        Target(
            name=f"DatabaseBackend on {on}",
            backend=DATABASE_BACKEND,
            options={"DATABASE": alias},
            on=on,
        )
        for alias, on in (("default", "SQLite"), ("postgres", "PostgreSQL"), ("mysql", "MariaDB"))
    ),
    *(
        Target(
            name=f"CeleryBackend on {on}",
            backend="django_tasks.backends.celery.CeleryBackend",
            options={"APP": f"tests.celery.apps.{broker}"},
            on=on,
            expected_failures=f"celery_{broker}.toml",
        )
        for broker, on in (("rabbitmq", "RabbitMQ"), ("redis", "Redis"))
    ),
    Target(
        name="MemoryBackend",
        backend="tests.conformance.memory.MemoryBackend",
        shipped=False,  # The suite's own worker-style backend, the mutants' base.
    ),
    *(
        (
            # Django's own backends, which speak only Django's dialect.
            Target(
                name="Django's ImmediateBackend",
                backend="django.tasks.backends.immediate.ImmediateBackend",
                shipped=False,
            ),
            Target(
                name="Django's DummyBackend",
                backend="django.tasks.backends.dummy.DummyBackend",
                shipped=False,
            ),
            # Ours speak both dialects on Django 6: Django's too.
            Target(
                name="ImmediateBackend in Django's dialect",
                backend="django_tasks.backends.immediate.ImmediateBackend",
                dialect="django.tasks",
                shipped=False,
            ),
            Target(
                name="DummyBackend in Django's dialect",
                backend="django_tasks.backends.dummy.DummyBackend",
                dialect="django.tasks",
                shipped=False,
            ),
            Target(
                name="DatabaseBackend on PostgreSQL in Django's dialect",
                backend=DATABASE_BACKEND,
                options={"DATABASE": "postgres"},
                dialect="django.tasks",
                shipped=False,
            ),
        )
        if DJANGO_TASKS
        else ()
    ),
]
"""Every backend the project ships (and its configurations), in the order of the README's table.
The database backend runs once per database, with its DatabaseHarness (the default for it)
starting real db_worker processes on the test database."""

BY_NAME = {target.name: target for target in TARGETS}

TABLE = re.compile(
    r"(<!-- conformance-table: .*? -->\n)(.*?)(<!-- /conformance-table -->)", re.DOTALL
)


def on_databases(*targets: Target) -> pytest.MarkDecorator:
    """Create the test databases these targets use (pytest-django creates only those that a
    test marks), outside a transaction: the workers must see the suite's commits."""
    databases = sorted({alias for target in targets for alias in target.databases})
    return pytest.mark.django_db(databases=databases, transaction=True)


class Reports:
    """The report of each target, from one run of the suite each, made when first needed."""

    def __init__(self, blocker: DjangoDbBlocker) -> None:
        self._blocker = blocker
        self._reports: dict[str, Report] = {}

    def __getitem__(self, name: str) -> Report:
        if name not in self._reports:
            target = BY_NAME[name]
            with self._blocker.unblock():
                run = run_suite(
                    target.backend,
                    harness=target.harness,
                    options=target.options,
                    dialect=target.dialect,
                    expected_failures=(
                        HERE / target.expected_failures if target.expected_failures else None
                    ),
                )
            self._reports[name] = run.checked()
        return self._reports[name]


@pytest.fixture(scope="module")
def reports(django_db_setup: None, django_db_blocker: DjangoDbBlocker) -> Reports:
    return Reports(django_db_blocker)


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(target.name, marks=[on_databases(target)] if target.databases else [])
        for target in TARGETS
    ],
)
def test_the_backend_passes_with_no_unexpected_failures(reports: Reports, name: str) -> None:
    """Every expected failure is a requirement the engine cannot meet, listed with why."""
    report = reports[name]
    failures = {test: outcome.message for test, outcome in report.failures().items()}
    assert failures == {}
    expected = BY_NAME[name].expected_failures
    listed = tomllib.loads((HERE / expected).read_text())["expected-failures"] if expected else {}
    assert report.summary["xfailed"] == len(listed)
    assert report.summary["passed"] > 40
    assert "failed" not in report.requirements.values()
    assert report.dialect == (BY_NAME[name].dialect or dialect_of(BY_NAME[name].backend))


def dialect_of(backend: str) -> str:
    """The dialect the suite speaks to a backend by default: ours, unless it is Django's."""
    return "django.tasks" if backend.startswith("django.tasks.") else "django_tasks"


def test_the_report_describes_the_run(reports: Reports) -> None:
    report = reports["ImmediateBackend"]
    assert report.suite_version == __version__
    assert (report.spec_revision, report.spec_digest) == (catalogue().revision, catalogue().digest)
    assert report.harness == "django_tasks_conformance.harness.InlineHarness"
    assert report.capabilities == {
        "supports_defer": False,
        "supports_async_task": True,
        "supports_get_result": False,
        "supports_priority": True,
        "supports_unique": False,
        "supports_schedules": False,
        "supports_retries": False,
        "supports_cancel": False,
        "supports_timeout": False,
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


def test_the_worker_harness_checks_what_the_others_cannot(reports: Reports) -> None:
    report = reports["MemoryBackend"]
    for requirement_id in (
        "TASK-PRIORITY-001",
        "TASK-DEFER-001",
        "TASK-GET-005",
        "TASK-STATUS-003",
    ):
        assert report.requirements[requirement_id] == "passed", requirement_id


@on_databases(*TARGETS)
def test_the_readme_capability_table_is_generated_from_the_reports(reports: Reports) -> None:
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    match = TABLE.search(text)
    assert match, "README.md has no <!-- conformance-table: ... --> section."
    shipped = [target for target in TARGETS if target.shipped]
    table = capability_table([(target.label, reports[target.name]) for target in shipped])
    for target in shipped:
        backend_class = import_backend_class("default", target.backend)
        flags = [getattr(backend_class, name) for name in CAPABILITY_COLUMNS]
        row = next(line for line in table.splitlines() if f"| {target.label} |" in line)
        assert [cell.strip() == "yes" for cell in row.split("|")[2:7]] == flags
    if UPDATE_DOCS:
        readme.write_text(text[: match.start(2)] + table + text[match.end(2) :], encoding="utf-8")
    else:
        assert match.group(2) == table, "README.md's capability table is stale: run ./dev docs."
