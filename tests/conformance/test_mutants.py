"""Each mutant breaks one requirement; the suite must fail it, blaming that requirement."""

import pytest

from django_tasks_spec.requirements import catalogue
from tests.conformance.mutants import MUTANTS, Mutant
from tests.conformance.runner import run_suite


def test_there_are_at_least_45_mutants_breaking_distinct_bugs() -> None:
    assert len(MUTANTS) >= 45
    assert len({mutant.__name__ for mutant in MUTANTS}) == len(MUTANTS)
    for mutant in MUTANTS:
        assert mutant.violates in catalogue(), mutant.__name__
        assert mutant.__doc__, mutant.__name__


@pytest.mark.usefixtures("suite_db")
@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda mutant: mutant.__name__)
def test_the_suite_fails_the_mutant_citing_the_broken_requirement(mutant: type[Mutant]) -> None:
    run = run_suite(f"{mutant.__module__}.{mutant.__qualname__}", requirements=[mutant.violates])
    report = run.checked()
    assert run.exit_code == pytest.ExitCode.TESTS_FAILED
    assert report.requirements[mutant.violates] == "failed"
    messages = [outcome.message for outcome in report.failures().values()]
    quote = f"Violates {catalogue().get(mutant.violates).quote()}"
    assert any(quote in message for message in messages), messages
