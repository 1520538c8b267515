"""Reading conformance test items: their IDs, citations, and how their failures are blamed."""

import pytest

from django_tasks_conformance.citing import RequirementViolation
from django_tasks_conformance.dialect import base_classes
from django_tasks_spec.requirements import catalogue

SUITE_PACKAGE = "django_tasks_conformance.suite"


def implements_get_result(backend_class: type) -> bool:
    """Whether a backend class overrides the get_result of the dialects' base classes (which
    raises NotImplementedError)."""
    found = getattr(backend_class, "get_result", None)
    return all(found is not getattr(base, "get_result", None) for base in base_classes().values())


def is_suite_item(item: pytest.Item) -> bool:
    module = getattr(item, "module", None)
    return module is not None and module.__name__.startswith(SUITE_PACKAGE + ".")


def suite_test_id(item: pytest.Item) -> str:
    """The test's ID in the suite, independent of where it is installed: module.py::name."""
    return f"{item.path.name}::{item.name}"


def cited_requirements(item: pytest.Item) -> list[str]:
    return [arg for marker in item.iter_markers("requirement") for arg in marker.args]


def blamed(error: BaseException, cited: list[str]) -> list[str]:
    if isinstance(error, RequirementViolation):
        return [error.requirement_id]
    return cited


def citation(requirement_ids: list[str]) -> str:
    lines = []
    for requirement_id in requirement_ids:
        rule = catalogue().get(requirement_id)
        lines.append(f"{rule.quote()} [{'; '.join(rule.sources)}]")
    return "This failure breaks:\n" + "\n".join(f"  {line}" for line in lines)


def failure_message(call: pytest.CallInfo[None]) -> str:
    if call.excinfo is None:
        return ""
    return f"{call.excinfo.typename}: {call.excinfo.value}".strip()


def skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple):
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)
