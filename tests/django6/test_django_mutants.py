"""Each broken django.tasks backend fails the suite spoken in Django's dialect, blaming the
requirement it breaks; the faithful one they are cut from passes."""

import pytest
from pytest_django import DjangoDbBlocker

from django_tasks_spec.dialects import Dialect
from django_tasks_spec.requirements import catalogue
from tests.conformance.django_mutants import DJANGO_MUTANTS, DjangoMutant, HookedImmediateBackend
from tests.conformance.mutants import MUTANTS
from tests.conformance.runner import run_suite


def test_there_are_at_least_80_mutants_in_all() -> None:
    assert len(MUTANTS) + len(DJANGO_MUTANTS) >= 80
    for mutant in DJANGO_MUTANTS:
        assert catalogue().get(mutant.violates).belongs_to(Dialect.DJANGO), mutant.__name__
        assert mutant.__doc__, mutant.__name__


def test_the_faithful_backend_passes(
    django_db_setup: None, django_db_blocker: DjangoDbBlocker
) -> None:
    with django_db_blocker.unblock():
        report = run_suite(path(HookedImmediateBackend)).checked()
    assert report.dialect == "django.tasks"
    assert report.failures() == {}


def path(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


@pytest.mark.parametrize("mutant", DJANGO_MUTANTS, ids=lambda mutant: mutant.__name__)
def test_the_suite_fails_the_mutant_citing_the_broken_requirement(
    mutant: type[DjangoMutant], django_db_setup: None, django_db_blocker: DjangoDbBlocker
) -> None:
    with django_db_blocker.unblock():
        run = run_suite(path(mutant), requirements=[mutant.violates])
    report = run.checked()
    assert run.exit_code == pytest.ExitCode.TESTS_FAILED
    assert report.requirements[mutant.violates] == "failed"
    quote = f"Violates {catalogue().get(mutant.violates).quote()}"
    messages = [outcome.message for outcome in report.failures().values()]
    assert any(quote in message for message in messages), messages
