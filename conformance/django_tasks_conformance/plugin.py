"""The pytest plugin that runs the conformance suite against a backend.

Registered through the ``pytest11`` entry point, so it is active wherever this project is
installed; it does nothing unless ``--tasks-backend`` is given::

    pytest --pyargs django_tasks_conformance --tasks-backend=myapp.backends.MyBackend \
        --tasks-options='{"url": "redis://localhost"}' --tasks-harness=myapp.testing.MyHarness \
        --tasks-expected-failures=conformance.toml --tasks-report=conformance.json

Django must be configured (pytest-django with DJANGO_SETTINGS_MODULE); the plugin sets TASKS
for the whole session to the backend under test.
"""

import asyncio
import json
import platform
import sys
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.apps import apps
from django.db import connections
from django.test.utils import override_settings
from django.utils.module_loading import import_string

from django_tasks_conformance import __version__, dialect, report
from django_tasks_conformance.command import CommandHarness
from django_tasks_conformance.expectations import check_known, load_expected_failures
from django_tasks_conformance.harness import Harness
from django_tasks_conformance.harnesses import default_harness
from django_tasks_conformance.items import (
    SUITE_PACKAGE,
    blamed,
    citation,
    cited_requirements,
    failure_message,
    implements_get_result,
    is_suite_item,
    skip_reason,
    suite_test_id,
)
from django_tasks_conformance.report import TestOutcome
from django_tasks_spec.dialects import Dialect
from django_tasks_spec.requirements import CAPABILITIES, Requirement, catalogue

FIXTURE_MODULES = ("tasks", "more_tasks", "async_tasks", "context_tasks", "retry_tasks")
"""The kit's modules that declare tasks, in the dialect of the run (re-imported by each run)."""

FEATURES = {
    "execution": "a backend that runs tasks (the harness's `executes`)",
    "held": "tasks that wait for a worker after enqueue, so the order they start in shows "
    "(the harness's `holds_tasks`)",
    "waiting": "tasks that are still NEW when enqueue returns",
    "worker_signals": "task_started and task_finished sent in this process "
    "(the harness's `observes_worker_signals`)",
    "get_result": "a backend that implements get_result, in this thread at least",
    "database": "a default database, for transactions",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("django_tasks_conformance", "task backend conformance suite")
    group.addoption(
        "--tasks-backend", metavar="PATH", help="Dotted path of the task backend class to test."
    )
    group.addoption(
        "--tasks-options", metavar="JSON", default="{}", help="The backend's OPTIONS, as JSON."
    )
    group.addoption(
        "--tasks-harness",
        metavar="PATH",
        help="Dotted path of the harness (a django_tasks_conformance.Harness subclass); "
        "by default chosen from the backend's base class.",
    )
    group.addoption(
        "--tasks-dialect",
        choices=[d.value for d in Dialect],
        help="The dialect to speak to the backend: by default the one of its base class "
        "(django_tasks for a backend that subclasses both, as this project's do on Django 6).",
    )
    group.addoption(
        "--tasks-worker-command",
        metavar="COMMAND",
        help="A management command that runs the waiting tasks and exits once none is left "
        '("db_worker --batch"): the suite drives the backend with a CommandHarness.',
    )
    group.addoption(
        "--tasks-worker-idle",
        metavar="SQL",
        help="For a worker command that never exits on its own: a query on the default "
        "database whose first column is 0 once no task is waiting or running; the suite then "
        "stops the workers with SIGINT.",
    )
    group.addoption(
        "--tasks-expected-failures",
        metavar="FILE",
        help="A TOML file of known failures with reasons; they run as strict expected failures.",
    )
    group.addoption("--tasks-report", metavar="FILE", help="Write a JSON report of the run here.")
    group.addoption(
        "--tasks-requirements",
        metavar="IDS",
        help="Run only the tests citing these requirement IDs (comma-separated).",
    )
    group.addoption(
        "--tasks-timeout",
        metavar="SECONDS",
        type=float,
        default=10.0,
        help="How long to wait for a worker to run waiting tasks (default 10).",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "requirement(*ids): the catalogue requirements a conformance test checks."
    )
    config.addinivalue_line(
        "markers", f"needs(*features): what a conformance test needs, among {sorted(FEATURES)}."
    )
    if config.getoption("tasks_backend"):
        config.pluginmanager.register(ConformanceRun(config), "django_tasks_conformance_run")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("tasks_backend") and any(is_suite_item(item) for item in items):
        raise pytest.UsageError(
            "The conformance suite needs a backend to test: pass "
            "--tasks-backend=dotted.path.to.Backend (see the README's 'Writing a backend')."
        )


@dataclass(slots=True, kw_only=True)
class Suite:
    """What a conformance test works with: the harness, the backend and its capabilities."""

    harness: Harness
    capabilities: dict[str, bool]
    timeout: float

    words: dialect.Words
    """The names the backend's dialect gives what the suite speaks about."""

    @property
    def backend(self) -> Any:
        return self.words.backends["default"]

    def run(self) -> None:
        """Let the backend run every due task that is waiting, and wait for it to finish."""
        self.harness.drain(self.timeout)

    def holds_to(self, requirement_id: str) -> bool:
        """Whether the backend is held to this requirement: it belongs to the dialect spoken.

        A test that checks requirements of both dialects checks each one only where it holds.
        """
        return catalogue().get(requirement_id).belongs_to(self.words.dialect)

    def require(self, requirement_id: str) -> None:
        """Skip the test as not applicable unless the backend is held to this requirement (for a
        test whose other citations hold in both dialects, but which makes sense in one)."""
        if not self.holds_to(requirement_id):
            rule = catalogue().get(requirement_id)
            pytest.skip(
                f"Not applicable: {rule.id} belongs to the {' and '.join(rule.dialects)} "
                f"dialect; the backend speaks {self.words.dialect}."
            )

    def implements_get_result(self) -> bool:
        return implements_get_result(type(self.backend))


class ConformanceRun:
    """The state of one run of the suite: settings, harness, expectations and outcomes."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.outcomes: dict[str, TestOutcome] = {}
        self.expected_failures: dict[str, str] = {}
        self.cited: set[str] = set()
        """The requirements the selected tests cite."""
        self._override: override_settings | None = None

    # --- Session -------------------------------------------------------------------------------

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        option = self.config.getoption
        self.backend_path: str = option("tasks_backend")
        try:
            self.options = json.loads(option("tasks_options"))
        except json.JSONDecodeError as e:
            raise pytest.UsageError(f"--tasks-options is not valid JSON: {e}.") from e
        if not isinstance(self.options, dict):
            raise pytest.UsageError(
                f"--tasks-options must be a JSON object; found {self.options!r}."
            )
        backend_class = _import_class("--tasks-backend", self.backend_path, object, "a class")
        self.dialect = _dialect(backend_class, self.backend_path, option("tasks_dialect"))
        dialect.speak(self.dialect)
        _forget_fixture_tasks()
        self.words = dialect.words()
        self.capabilities = {
            # A django.tasks backend lacks our extensions' flags: it supports none of them.
            name: bool(getattr(backend_class, name, False))
            for name in CAPABILITIES
        }
        # Later flags: a backend written before them (another django.tasks backend) lacks them.
        self.capabilities.update(
            {
                name: getattr(backend_class, name, False)
                for name in ("supports_retries", "supports_cancel")
            }
        )
        harness_class = self._harness_class(backend_class)
        self.harness_path = f"{harness_class.__module__}.{harness_class.__qualname__}"
        self.harness = harness_class(self.backend_path, self.options)
        if option("tasks_expected_failures"):
            self.expected_failures = load_expected_failures(Path(option("tasks_expected_failures")))
        self._set_up = False
        # Last, so that nothing above can fail with TASKS changed (unconfigure restores it).
        self._override = override_settings(TASKS=self.harness.tasks_setting())
        self._override.enable()
        self.features = self._features(backend_class)
        self._check_fixture_tasks()

    def _check_fixture_tasks(self) -> None:
        """Stop at once if the backend refuses the suite's tasks for not being in an installed
        app (as a backend whose workers import tasks from INSTALLED_APPS does)."""
        if apps.is_installed("django_tasks_conformance"):
            return
        try:
            backend = self.words.backends["default"]
        except Exception:  # Every test reports what is wrong with the backend.
            return
        try:
            # Imported here: @task validates each task against its backend, so the suite's
            # tasks are declared only once the suite's TASKS is in place.
            from django_tasks_conformance.tasks import noop

            backend.validate_task(noop)
        except self.words.InvalidTask as e:
            raise pytest.UsageError(
                f"The backend refuses the suite's tasks: {e} Add 'django_tasks_conformance' "
                f"to INSTALLED_APPS in the settings the suite runs with."
            ) from None

    def _harness_class(self, backend_class: type) -> type[Harness]:
        path = self.config.getoption("tasks_harness")
        if self.config.getoption("tasks_worker_idle") and not self.config.getoption(
            "tasks_worker_command"
        ):
            raise pytest.UsageError(
                "--tasks-worker-idle says when to stop a worker command: give the command with "
                "--tasks-worker-command."
            )
        if self.config.getoption("tasks_worker_command"):
            if path:
                raise pytest.UsageError(
                    "Give --tasks-harness or --tasks-worker-command, not both: the worker "
                    "command makes the harness a CommandHarness."
                )
            return CommandHarness.running(
                self.config.getoption("tasks_worker_command"),
                self.config.getoption("tasks_worker_idle"),
            )
        if not path:
            return default_harness(backend_class)
        harness_class: type[Harness] = _import_class(
            "--tasks-harness", path, Harness, "django_tasks_conformance.Harness"
        )
        return harness_class

    def _features(self, backend_class: type) -> dict[str, bool]:
        harness = self.harness
        return {
            "execution": harness.executes,
            "held": harness.executes and harness.holds_tasks,
            "waiting": not harness.executes or harness.holds_tasks,
            "worker_signals": harness.executes and harness.observes_worker_signals,
            "get_result": implements_get_result(backend_class),
            "database": _database_configured("default"),
        }

    def isolated(self) -> Iterator[Suite]:
        if not self._set_up:
            try:
                self.harness.setup()
            except Exception as e:  # Every test would fail the same way: stop, and say why.
                pytest.exit(
                    f"{self.harness_path}.setup() failed: {type(e).__name__}: {e}",
                    returncode=pytest.ExitCode.USAGE_ERROR,
                )
            self._set_up = True
        self.harness.stop_worker()
        self.harness.clear()
        try:
            yield Suite(
                words=self.words,
                harness=self.harness,
                capabilities=self.capabilities,
                timeout=self.config.getoption("tasks_timeout"),
            )
        finally:
            self.harness.stop_worker()
            self.harness.clear()
            close_async_connections()

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if getattr(self, "_set_up", False):
            self.harness.teardown()
            self._set_up = False
        self.pytest_unconfigure()
        report_path = self.config.getoption("tasks_report")
        if report_path and hasattr(self, "harness"):
            report.write(self.report(), Path(report_path))

    def pytest_unconfigure(self) -> None:
        """Restore TASKS, however the session ended."""
        if self._override is not None:
            self._override.disable()
            self._override = None
        dialect.forget()

    # --- Collection ----------------------------------------------------------------------------

    def pytest_collection_modifyitems(
        self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        suite_items = [item for item in items if is_suite_item(item)]
        known = [suite_test_id(item) for item in suite_items]
        if self.expected_failures:
            check_known(
                self.expected_failures,
                known,
                Path(self.config.getoption("tasks_expected_failures")),
            )
        selected = self._selection()
        kept, deselected = [], []
        for item in items:
            if not is_suite_item(item):
                kept.append(item)
                continue
            cited = cited_requirements(item)
            if not cited:
                raise pytest.UsageError(f"Conformance test {item.nodeid} cites no requirement.")
            if selected and not selected & set(cited):
                deselected.append(item)
                continue
            kept.append(item)
            self.cited.update(cited)
            rules = [catalogue().get(requirement_id) for requirement_id in cited]
            reason = self._not_applicable(item, rules)
            if reason:
                item.add_marker(pytest.mark.skip(reason=f"Not applicable: {reason}"))
            elif suite_test_id(item) in self.expected_failures:
                item.add_marker(
                    pytest.mark.xfail(
                        reason=self.expected_failures[suite_test_id(item)], strict=True
                    )
                )
        if deselected:
            config.hook.pytest_deselected(items=deselected)
            items[:] = kept
        self._mark_test_databases([item for item in kept if is_suite_item(item)])

    def _mark_test_databases(self, items: list[pytest.Item]) -> None:
        """Have pytest-django create the test databases the harness needs.

        pytest-django creates the databases that tests name in a django_db marker; the suite's
        tests need no marker (the harness isolates them), so one test names them, outside a
        transaction (workers must see its commits).
        """
        databases = self.harness.test_databases()
        if databases and items and self.config.pluginmanager.has_plugin("django"):
            items[0].add_marker(pytest.mark.django_db(databases=databases, transaction=True))

    def _held(self, cited: list[str]) -> list[str]:
        """Of the requirements a test cites, those of the dialect spoken (all of them for a test
        that does not apply: it is reported not applicable to each)."""
        held = [rid for rid in cited if catalogue().get(rid).belongs_to(self.dialect)]
        return held or cited

    def _selection(self) -> set[str]:
        raw = self.config.getoption("tasks_requirements")
        if not raw:
            return set()
        ids = {part.strip() for part in raw.split(",") if part.strip()}
        for requirement_id in ids:
            try:
                catalogue().get(requirement_id)
            except KeyError as e:
                raise pytest.UsageError(f"--tasks-requirements: {e.args[0]}") from None
        return ids

    def _not_applicable(self, item: pytest.Item, rules: list[Requirement]) -> str | None:
        if not any(rule.belongs_to(self.dialect) for rule in rules):
            verb = "belongs" if len(rules) == 1 else "belong"
            return (
                f"{', '.join(rule.id for rule in rules)} {verb} to the "
                f"{' and '.join(rules[0].dialects)} dialect; the backend speaks {self.dialect}."
            )
        for rule in rules:
            gate = rule.gate
            if gate is not None and not gate.applies_to(self.capabilities):
                return (
                    f"{rule.id} applies when {gate}; the backend declares "
                    f"{gate.flag}={self.capabilities[gate.flag]}."
                )
        marker = item.get_closest_marker("needs")
        for feature in marker.args if marker else ():
            if feature not in FEATURES:
                raise pytest.UsageError(f"{item.nodeid} needs unknown feature {feature!r}.")
            if not self.features[feature]:
                backend = self.backend_path.rpartition(".")[2]
                harness = self.harness_path.rpartition(".")[2]
                return f"needs {FEATURES[feature]}; {backend} with {harness} has none."
        return None

    # --- Outcomes ------------------------------------------------------------------------------

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        if not is_suite_item(item):
            return report
        cited = self._held(cited_requirements(item))
        if report.failed and call.excinfo is not None and not hasattr(report, "wasxfail"):
            violated = blamed(call.excinfo.value, cited)
            report.sections.append(("Requirements", citation(violated)))
        self._record(item, report, call, cited)
        return report

    def _record(
        self,
        item: pytest.Item,
        report: pytest.TestReport,
        call: pytest.CallInfo[None],
        cited: list[str],
    ) -> None:
        test_id = suite_test_id(item)
        if report.when == "call" or (report.when == "setup" and not report.passed):
            if hasattr(report, "wasxfail"):
                outcome = "xfailed" if report.skipped else "xpassed"
                message = report.wasxfail
            elif report.failed and call.excinfo is None and test_id in self.expected_failures:
                outcome, message = "xpassed", self.expected_failures[test_id]  # strict XPASS
            elif report.skipped:
                outcome = "not_applicable"
                message = skip_reason(report)
            elif report.failed:
                outcome, message = "failed", failure_message(call)
            else:
                outcome, message = "passed", ""
            violated = (
                blamed(call.excinfo.value, cited)
                if outcome in ("failed", "xfailed") and call.excinfo is not None
                else []
            )
            self.outcomes[test_id] = TestOutcome(
                outcome=outcome, requirements=cited, violated=violated, message=message
            )
        elif report.when == "teardown" and report.failed and test_id in self.outcomes:
            self.outcomes[test_id].outcome = "failed"
            self.outcomes[test_id].message = failure_message(call)

    def report(self) -> report.Report:
        cat = catalogue()
        return report.Report(
            suite_version=__version__,
            spec_revision=cat.revision,
            spec_digest=cat.digest,
            backend=self.backend_path,
            dialect=self.dialect.value,
            harness=self.harness_path,
            options=self.options,
            capabilities=self.capabilities,
            tests=dict(sorted(self.outcomes.items())),
            requirements={
                requirement_id: self._foreign(requirement_id) or outcome
                for requirement_id, outcome in report.requirement_outcomes(
                    cat, self.outcomes
                ).items()
            },
            summary=report.summarise(self.outcomes),
        )

    def _foreign(self, requirement_id: str) -> str | None:
        """ "not_applicable" for a requirement of the other dialect that a selected test cites
        (a test of both dialects checks it only where it holds); None otherwise."""
        if requirement_id in self.cited and not catalogue().get(requirement_id).belongs_to(
            self.dialect
        ):
            return "not_applicable"
        return None

    def pytest_report_header(self, config: pytest.Config) -> list[str]:
        flags = ", ".join(f"{name}={value}" for name, value in self.capabilities.items())
        return [
            f"django_tasks_conformance: backend {self.backend_path} ({flags}), dialect "
            f"{self.dialect}, harness "
            f"{self.harness_path}, spec {catalogue().revision} ({catalogue().digest}), "
            f"Python {platform.python_version()}"
        ]


def close_async_connections() -> None:
    """Close the database connections of the thread that ran the async ORM's queries.

    A test that calls asyncio.run() from sync code gets its sync_to_async() calls run in one
    long-lived thread, whose connections would outlive the run (and stop the test databases from
    being dropped).
    """
    asyncio.run(sync_to_async(connections.close_all)())


def _import_class(option: str, path: str, base: type[Any], named: str) -> Any:
    """The class at ``path``, given with ``option``; pytest.UsageError unless it subclasses
    ``base`` (``named`` as users import it)."""
    try:
        found = import_string(path)
    except ImportError as e:
        raise pytest.UsageError(f"{option} {path!r} cannot be imported: {e}.") from e
    if not (isinstance(found, type) and issubclass(found, base)):
        raise pytest.UsageError(f"{option} {path!r} is {found!r}, not a subclass of {named}.")
    return found


def _dialect(backend_class: type, path: str, chosen: str | None) -> Dialect:
    """The dialect to speak to the backend: ``chosen`` (--tasks-dialect) if it speaks it, or else
    the first it speaks; pytest.UsageError if it subclasses neither dialect's base class."""
    spoken = dialect.dialects_of(backend_class)
    if not spoken:
        raise pytest.UsageError(
            f"--tasks-backend {path!r} is {backend_class!r}, which subclasses neither "
            f"{' nor '.join(dialect.BASE_CLASSES.values())}."
        )
    if chosen is None:
        return spoken[0]
    if Dialect(chosen) not in spoken:
        raise pytest.UsageError(
            f"--tasks-dialect {chosen!r}: backend {path!r} speaks only "
            f"{', '.join(spoken)} (it does not subclass {dialect.BASE_CLASSES[Dialect(chosen)]})."
        )
    return Dialect(chosen)


def _forget_fixture_tasks() -> None:
    """Have the fixture tasks and the suite's modules imported afresh, in this run's dialect:
    a process may run the suite more than once, against backends of either dialect."""
    prefixes = (f"{SUITE_PACKAGE}.", *(f"django_tasks_conformance.{m}" for m in FIXTURE_MODULES))
    for name in [name for name in sys.modules if name.startswith(prefixes)]:
        del sys.modules[name]


def _database_configured(alias: str) -> bool:
    """Whether DATABASES defines ``alias`` with a real engine."""
    engine = connections.settings.get(alias, {}).get("ENGINE", "django.db.backends.dummy")
    return bool(engine != "django.db.backends.dummy")
