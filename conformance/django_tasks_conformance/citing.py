"""How conformance tests cite the requirements they check.

    @requirement("TASK-ENQ-003")
    def test_result_ids_are_short_and_unique(suite: Suite) -> None:
        ids = [noop.enqueue().id for _ in range(3)]
        with clause("TASK-ENQ-003"):
            assert all(len(i) <= 64 for i in ids)

A test cites every requirement it checks with ``@requirement``. An assertion that fails inside
``clause(ID)`` fails as a ``RequirementViolation`` of that requirement, whose message quotes it;
a failure anywhere else is blamed on every requirement the test cites.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from django_tasks_spec.requirements import catalogue


class RequirementViolation(AssertionError):  # noqa: N818  # It is an assertion that failed.
    """A backend broke a requirement of the catalogue."""

    def __init__(self, requirement_id: str, detail: str) -> None:
        rule = catalogue().get(requirement_id)
        super().__init__(f"Violates {rule.quote()}\n{detail}")
        self.requirement_id = requirement_id


def requirement(*requirement_ids: str) -> pytest.MarkDecorator:
    """Mark a test as checking these requirements (validated against the catalogue)."""
    for requirement_id in requirement_ids:
        catalogue().get(requirement_id)  # KeyError with a "did you mean" for a typo.
    return pytest.mark.requirement(*requirement_ids)


def needs(*features: str) -> pytest.MarkDecorator:
    """Mark a test as applicable only to harnesses/backends with these features.

    Features: ``execution`` (the backend runs tasks), ``held`` (tasks wait for a worker),
    ``worker_signals`` (task_started/task_finished are sent in this process), ``get_result``
    (the backend implements get_result, in this thread at least), ``database`` (a default
    database is configured, for transactions).
    """
    return pytest.mark.needs(*features)


@contextmanager
def clause(requirement_id: str) -> Iterator[None]:
    """Blame a failure inside the block on one requirement, quoting it."""
    rule = catalogue().get(requirement_id)
    try:
        yield
    except RequirementViolation:
        raise
    except (Exception, pytest.fail.Exception) as e:  # pytest.raises() fails with fail.Exception.
        detail = str(e) if isinstance(e, AssertionError) else f"{type(e).__name__}: {e}"
        raise RequirementViolation(rule.id, detail) from e
