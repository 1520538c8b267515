"""Every check ID is documented in the README and has a test."""

import re
from pathlib import Path

from tests.checks.support import (
    ROOT,
)

CHECK_ID = re.compile(r"django_tasks\.[EW]\d{3}")


def check_ids_in(*paths: Path) -> set[str]:
    return {found for path in paths for found in CHECK_ID.findall(path.read_text())}


def test_every_check_id_is_documented_in_the_readme() -> None:
    in_code = check_ids_in(*(ROOT / "django_tasks").rglob("*.py"))
    in_readme = check_ids_in(ROOT / "README.md")
    assert sorted(in_code - in_readme) == [], "Check IDs missing from README.md"
    assert sorted(in_readme - in_code) == [], "README.md documents check IDs the code lacks"


def test_every_check_id_of_the_checks_module_has_a_test() -> None:
    own_ids = check_ids_in(ROOT / "django_tasks" / "checks.py")
    assert len(own_ids) == 24
    tests = "".join(path.read_text() for path in Path(__file__).parent.glob("test_*.py"))
    tested = set(re.findall(r'id="(django_tasks\.[EW]\d{3})"', tests))
    assert sorted(own_ids - tested) == []
