"""The expected-failures file: known gaps of a backend, each with a reason.

A TOML file with one table::

    [expected-failures]
    "test_priority.py::test_a_higher_priority_starts_first" = "No priorities yet (#12)."

Listed tests run as strict expected failures: one that passes fails the run, so the file never
outlives the gap. A test ID that the suite does not have is an error, with a "did you mean".
"""

import tomllib
from pathlib import Path

import pytest

from django_tasks_spec.names import did_you_mean

TABLE = "expected-failures"


def load_expected_failures(path: Path) -> dict[str, str]:
    """Read the file: test ID to reason. Raise pytest.UsageError on any mistake."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise pytest.UsageError(
            f"Cannot read the expected-failures file {str(path)!r}: {e}."
        ) from e
    except tomllib.TOMLDecodeError as e:
        raise pytest.UsageError(
            f"The expected-failures file {str(path)!r} is not TOML: {e}."
        ) from e
    unknown = sorted(set(data) - {TABLE})
    if unknown or not isinstance(data.get(TABLE, {}), dict):
        raise pytest.UsageError(
            f"The expected-failures file {str(path)!r} must hold one table, [{TABLE}], mapping "
            f"test IDs to reasons; found {sorted(data)!r}."
        )
    entries: dict[str, object] = data.get(TABLE, {})
    for test_id, reason in entries.items():
        if not isinstance(reason, str) or not reason.strip():
            raise pytest.UsageError(
                f"Expected failure {test_id!r} in {str(path)!r} has no reason; give one as a "
                f"non-empty string."
            )
    return {test_id: str(reason) for test_id, reason in entries.items()}


def check_known(entries: dict[str, str], known_ids: list[str], path: Path) -> None:
    """Raise pytest.UsageError for an entry naming a test the suite does not have."""
    for test_id in entries:
        if test_id not in known_ids:
            hint = did_you_mean(test_id, known_ids)
            raise pytest.UsageError(
                f"Expected failure {test_id!r} in {str(path)!r} is not a test of the conformance "
                f"suite."
                + (f" {hint}" if hint else " Test IDs look like 'test_module.py::test_name'.")
            )
