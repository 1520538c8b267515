"""The requirement catalogue: well-formed, rendered, and covered by the conformance suite."""

import ast
import importlib
import pkgutil
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

import django_tasks_conformance.suite
from django_tasks_spec.requirements import Level, catalogue, render_markdown
from tests.conformance.conftest import ROOT, check_generated


def suite_citations() -> dict[str, list[str]]:
    """Requirement ID -> the suite tests that cite it, read from the test functions' markers."""
    cited: dict[str, list[str]] = {}
    for module_info in pkgutil.iter_modules(django_tasks_conformance.suite.__path__):
        module = importlib.import_module(f"django_tasks_conformance.suite.{module_info.name}")
        for name, function in vars(module).items():
            for mark in getattr(function, "pytestmark", []):
                if name.startswith("test_") and mark.name == "requirement":
                    for requirement_id in mark.args:
                        cited.setdefault(requirement_id, []).append(f"{module_info.name}::{name}")
    return cited


def test_requirement_ids_are_unique_and_well_formed() -> None:
    ids = [rule.id for rule in catalogue()]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"TASK-[A-Z]+-\d{3}", requirement_id) for requirement_id in ids)
    assert len(ids) >= 80


def test_requirements_page_is_current() -> None:
    check_generated(ROOT / "spec" / "REQUIREMENTS.md", render_markdown(catalogue()))


def test_every_must_requirement_is_cited_by_a_conformance_test_or_says_why_not() -> None:
    cited = suite_citations()
    uncovered = [
        rule.id
        for rule in catalogue()
        if rule.level is Level.MUST and rule.untestable is None and rule.id not in cited
    ]
    assert uncovered == [], f"MUST requirements no conformance test cites: {uncovered}"


def test_untestable_requirements_are_not_cited() -> None:
    cited = suite_citations()
    contradictions = [rule.id for rule in catalogue() if rule.untestable and rule.id in cited]
    assert contradictions == []


def test_every_cited_requirement_is_in_the_catalogue() -> None:
    unknown = [
        requirement_id for requirement_id in suite_citations() if requirement_id not in catalogue()
    ]
    assert unknown == []


def test_project_sources_name_sections_of_the_readme() -> None:
    headings = set(re.findall(r"^#+ (.+)$", (ROOT / "README.md").read_text(), re.MULTILINE))
    cited = {
        source.removeprefix("project: ")
        for rule in catalogue()
        for source in rule.sources
        if source.startswith("project: ")
    }
    assert sorted(cited - headings) == []


def test_an_unknown_id_suggests_the_nearest() -> None:
    with pytest.raises(
        KeyError,
        match=re.escape(
            "Requirement 'TASK-ENQ-03' is not in the catalogue. Did you mean 'TASK-ENQ-003'?"
        ),
    ):
        catalogue().get("TASK-ENQ-03")


def _catalogue_data(**changes: Any) -> dict[str, Any]:
    data = catalogue().model_dump()
    data.update(changes)
    return data


def test_a_duplicate_id_is_refused() -> None:
    rules = list(catalogue().model_dump()["requirements"])
    with pytest.raises(
        ValidationError, match=re.escape("requirement TASK-DECL-001 is defined twice")
    ):
        type(catalogue()).model_validate(_catalogue_data(requirements=[rules[0], rules[0]]))


def test_an_unknown_source_is_refused() -> None:
    rule = {**catalogue().model_dump()["requirements"][0], "sources": ["rfc: 1"]}
    with pytest.raises(
        ValidationError, match=re.escape("requirement TASK-DECL-001 cites 'rfc: 1'")
    ):
        type(catalogue()).model_validate(_catalogue_data(requirements=[rule]))


def test_an_unknown_capability_is_refused() -> None:
    rule = {**catalogue().model_dump()["requirements"][0], "capability": "supports_teleport"}
    with pytest.raises(
        ValidationError, match=re.escape("capability 'supports_teleport' is not one of")
    ):
        type(catalogue()).model_validate(_catalogue_data(requirements=[rule]))


def test_every_clause_a_test_blames_is_one_it_cites() -> None:
    """A failure inside clause(ID) is blamed on ID, so ID must be among the test's citations."""
    suite_dir = Path(django_tasks_conformance.suite.__path__[0])
    stray = []
    for path in sorted(suite_dir.glob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.FunctionDef) and node.name.startswith("test_")):
                continue
            cited = {
                str(arg.value)
                for decorator in node.decorator_list
                if isinstance(decorator, ast.Call)
                and getattr(decorator.func, "id", "") == "requirement"
                for arg in decorator.args
                if isinstance(arg, ast.Constant)
            }
            blamed = {
                str(call.args[0].value)
                for call in ast.walk(node)
                if isinstance(call, ast.Call)
                and getattr(call.func, "id", "") == "clause"
                and isinstance(call.args[0], ast.Constant)
            }
            stray += [f"{path.name}::{node.name} {rid}" for rid in sorted(blamed - cited)]
    assert stray == []
