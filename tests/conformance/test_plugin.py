"""The plugin's options: expected failures, requirement selection, harness choice, failures."""

import re
from pathlib import Path

import pytest
from pytest_django import Settings as SettingsWrapper

from django_tasks import tasks
from tests.conformance.runner import run_suite

DUMMY = "django_tasks.backends.dummy.DummyBackend"
KEY_ERROR_MUTANT = "tests.conformance.mutants.KeyErrorForUnknownId"
UNKNOWN_ID_TEST = "test_get_result.py::test_an_unknown_id_raises_result_does_not_exist"

pytestmark = pytest.mark.usefixtures("suite_db")


def _expected_failures(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "expected-failures.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_listed_failure_runs_as_an_expected_failure(tmp_path: Path) -> None:
    listed = _expected_failures(
        tmp_path, f'[expected-failures]\n"{UNKNOWN_ID_TEST}" = "Raises KeyError (#1)."\n'
    )
    run = run_suite(KEY_ERROR_MUTANT, requirements=["TASK-GET-002"], expected_failures=listed)
    report = run.checked()
    assert run.exit_code == pytest.ExitCode.OK
    assert report.tests[UNKNOWN_ID_TEST].outcome == "xfailed"
    assert report.tests[UNKNOWN_ID_TEST].message == "Raises KeyError (#1)."
    assert report.requirements["TASK-GET-002"] == "xfailed"
    assert report.summary["xfailed"] == 1


def test_a_listed_test_that_passes_fails_the_run(tmp_path: Path) -> None:
    listed = _expected_failures(
        tmp_path, f'[expected-failures]\n"{UNKNOWN_ID_TEST}" = "Fixed since."\n'
    )
    run = run_suite(DUMMY, requirements=["TASK-GET-002"], expected_failures=listed)
    assert run.exit_code == pytest.ExitCode.TESTS_FAILED
    assert run.checked().tests[UNKNOWN_ID_TEST].outcome == "xpassed"


def test_an_unknown_test_id_is_an_error_with_a_suggestion(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    listed = _expected_failures(
        tmp_path, '[expected-failures]\n"test_get_result.py::test_an_unknown_id_raises" = "Typo."\n'
    )
    run = run_suite(DUMMY, expected_failures=listed)
    assert run.exit_code == pytest.ExitCode.USAGE_ERROR
    assert (
        f"Expected failure 'test_get_result.py::test_an_unknown_id_raises' in {str(listed)!r} is "
        f"not a test of the conformance suite. Did you mean '{UNKNOWN_ID_TEST}'?"
    ) in capsys.readouterr().err


def test_an_expected_failure_needs_a_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    listed = _expected_failures(tmp_path, f'[expected-failures]\n"{UNKNOWN_ID_TEST}" = " "\n')
    run = run_suite(DUMMY, expected_failures=listed)
    assert run.exit_code == pytest.ExitCode.USAGE_ERROR
    assert (
        f"Expected failure {UNKNOWN_ID_TEST!r} in {str(listed)!r} has no reason; give one as a "
        f"non-empty string."
    ) in capsys.readouterr().err


def test_an_unknown_requirement_selection_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    run = run_suite(DUMMY, requirements=["TASK-GET-02"])
    assert run.exit_code == pytest.ExitCode.USAGE_ERROR
    assert (
        "--tasks-requirements: Requirement 'TASK-GET-02' is not in the catalogue. "
        "Did you mean 'TASK-GET-002'?"
    ) in capsys.readouterr().err


def test_a_harness_must_be_a_harness(capsys: pytest.CaptureFixture[str]) -> None:
    run = run_suite(DUMMY, harness="tests.conformance.memory.MemoryBackend")
    assert run.exit_code == pytest.ExitCode.USAGE_ERROR
    assert re.search(
        r"--tasks-harness 'tests\.conformance\.memory\.MemoryBackend' is <class .*>, not a "
        r"subclass of django_tasks_conformance\.Harness\.",
        capsys.readouterr().err,
    )


def test_selection_runs_only_the_tests_citing_the_requirements() -> None:
    report = run_suite(DUMMY, requirements=["TASK-QUEUE-003", "TASK-QUEUE-004"]).checked()
    assert sorted(report.tests) == [
        "test_queues.py::test_an_empty_queues_list_allows_any_queue",
        "test_queues.py::test_omitted_queues_allow_only_the_default_queue",
    ]
    assert {k for k, v in report.requirements.items() if v != "not_run"} == {
        "TASK-QUEUE-003",
        "TASK-QUEUE-004",
    }


def test_a_failure_quotes_the_requirement_it_breaks() -> None:
    report = run_suite(KEY_ERROR_MUTANT, requirements=["TASK-GET-002"]).checked()
    outcome = report.tests[UNKNOWN_ID_TEST]
    assert outcome.outcome == "failed"
    assert outcome.violated == ["TASK-GET-002"]
    assert outcome.message.startswith(
        "RequirementViolation: Violates TASK-GET-002 (MUST): `get_result` with an id the backend "
        "does not hold raises `ResultDoesNotExist` (an `ObjectDoesNotExist`).\nKeyError: "
    )


def test_a_run_restores_tasks_however_it_ends(tmp_path: Path, settings: SettingsWrapper) -> None:
    before = settings.TASKS
    no_reason = _expected_failures(tmp_path, f'[expected-failures]\n"{UNKNOWN_ID_TEST}" = ""\n')
    assert run_suite(DUMMY, expected_failures=no_reason).exit_code == pytest.ExitCode.USAGE_ERROR
    assert (
        run_suite(KEY_ERROR_MUTANT, requirements=["TASK-GET-002"]).exit_code
        == pytest.ExitCode.TESTS_FAILED
    )
    assert before == settings.TASKS
    assert type(tasks["default"]).__name__ == "ImmediateBackend"


def test_the_suite_needs_a_backend(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ini = tmp_path / "pytest.ini"
    ini.write_text("[pytest]\nfilterwarnings = ignore::pytest.PytestAssertRewriteWarning\n")
    args = ["-c", str(ini), "-p", "no:django", "-p", "no:cacheprovider", "-p", "no:asyncio"]
    code = pytest.main([*args, "--pyargs", "django_tasks_conformance.suite"])
    assert code == pytest.ExitCode.USAGE_ERROR
    assert (
        "The conformance suite needs a backend to test: pass --tasks-backend=dotted.path.to."
        "Backend (see the README's 'Writing a backend')."
    ) in capsys.readouterr().err


@pytest.mark.parametrize(
    ("backend", "message"),
    [
        (
            "tests.conformance.no_such_module.Backend",
            "--tasks-backend 'tests.conformance.no_such_module.Backend' cannot be imported: No "
            "module named 'tests.conformance.no_such_module'.",
        ),
        (
            "tests.conformance.memory.MemoryHarness",
            "--tasks-backend 'tests.conformance.memory.MemoryHarness' is <class "
            "'tests.conformance.memory.MemoryHarness'>, which subclasses neither "
            "django_tasks.backends.base.BaseTaskBackend nor "
            "django.tasks.backends.base.BaseTaskBackend.",
        ),
    ],
)
def test_the_backend_must_be_a_backend(
    capsys: pytest.CaptureFixture[str], backend: str, message: str
) -> None:
    run = run_suite(backend)
    assert run.exit_code == pytest.ExitCode.USAGE_ERROR
    assert message in capsys.readouterr().err
