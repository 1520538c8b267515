"""The machine-readable report of one run, and the capability table built from reports.

A report says which suite and spec revision ran against which backend with which declared
capabilities, and the outcome of every test and every requirement:

- ``passed``: every test citing it that applied passed.
- ``failed``: a test citing it failed (for a failure inside ``clause(ID)``, only that ID).
- ``xfailed``: a test citing it is a listed expected failure, and failed as expected (inside
  ``clause(ID)``: only that ID).
- ``not_applicable``: no test citing it applies to this backend (a capability it does not
  declare, or a backend that runs no tasks).
- ``not_run``: no test citing it ran (deselected, or not cited at all).
"""

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from django_tasks_spec.requirements import Catalogue

OUTCOME_ORDER = ("failed", "xpassed", "xfailed", "passed", "not_applicable", "not_run")


@dataclass(slots=True, kw_only=True)
class TestOutcome:
    """How one test of the suite ended."""

    outcome: str
    """passed, failed, xfailed, xpassed or not_applicable."""

    requirements: list[str]
    """The requirement IDs the test cites."""

    violated: list[str] = field(default_factory=list)
    """The requirements a failure is blamed on."""

    message: str = ""
    """For a failure: its message; for a test that does not apply: why."""


@dataclass(slots=True, kw_only=True)
class Report:
    suite_version: str
    spec_revision: str
    spec_digest: str
    backend: str
    dialect: str
    """The dialect the suite spoke to the backend: django_tasks or django.tasks."""
    harness: str
    options: dict[str, Any]
    capabilities: dict[str, bool]
    tests: dict[str, TestOutcome]
    requirements: dict[str, str]
    summary: dict[str, int]

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> "Report":
        data = json.loads(text)
        data["tests"] = {key: TestOutcome(**value) for key, value in data["tests"].items()}
        return cls(**data)

    def failures(self) -> dict[str, TestOutcome]:
        return {
            test_id: outcome
            for test_id, outcome in self.tests.items()
            if outcome.outcome in ("failed", "xpassed")
        }


def requirement_outcomes(catalogue: Catalogue, tests: dict[str, TestOutcome]) -> dict[str, str]:
    """Fold test outcomes into one outcome per requirement of the catalogue."""
    seen: dict[str, set[str]] = {rule.id: set() for rule in catalogue}
    for outcome in tests.values():
        for requirement_id in outcome.requirements:
            if outcome.outcome in ("failed", "xfailed") and outcome.violated:
                # A failure blamed on one clause says nothing about the test's other clauses.
                state = outcome.outcome if requirement_id in outcome.violated else "not_run"
            else:
                state = outcome.outcome
            seen.setdefault(requirement_id, set()).add(state)
    return {
        requirement_id: next((o for o in OUTCOME_ORDER if o in states), "not_run")
        for requirement_id, states in seen.items()
    }


def summarise(tests: dict[str, TestOutcome]) -> dict[str, int]:
    counts = dict.fromkeys(("passed", "failed", "xfailed", "xpassed", "not_applicable"), 0)
    for outcome in tests.values():
        counts[outcome.outcome] += 1
    return counts


def write(report: Report, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report.to_json(), encoding="utf-8")


CAPABILITY_COLUMNS = (
    "supports_defer",
    "supports_async_task",
    "supports_get_result",
    "supports_priority",
    "supports_timeout",
)


def capability_table(reports: list[tuple[str, Report]]) -> str:
    """The README's backend table, built from conformance reports (never by hand).

    Each report comes with the label its row shows, as Markdown (one backend may run in several
    configurations: "`DatabaseBackend` on SQLite").
    """
    header = ["Backend", *(f"`{name}`" for name in CAPABILITY_COLUMNS), "Conformance"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for label, report in reports:
        states = list(report.requirements.values())
        checked = sum(state != "not_run" for state in states)
        passed = states.count("passed")
        applicable = checked - states.count("not_applicable")
        verdict = f"{passed}/{applicable} requirements pass"
        if states.count("failed") or states.count("xfailed"):
            verdict += f", {states.count('failed')} fail, {states.count('xfailed')} expected to"
        cells = [
            label,
            *("yes" if report.capabilities[name] else "no" for name in CAPABILITY_COLUMNS),
            verdict,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
