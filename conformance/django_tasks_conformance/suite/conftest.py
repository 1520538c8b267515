"""The suite's fixture: the backend under test, set up by the plugin's --tasks-* options."""

from collections.abc import Iterator
from typing import cast

import pytest

from django_tasks_conformance.plugin import ConformanceRun, Suite


@pytest.fixture
def suite(request: pytest.FixtureRequest) -> Iterator[Suite]:
    """The backend under test, its harness and capabilities; a clean store for every test."""
    run = request.config.pluginmanager.get_plugin("django_tasks_conformance_run")
    if run is None:
        raise pytest.UsageError(
            "The conformance suite needs a backend: pass --tasks-backend=dotted.path.Backend."
        )
    run = cast(ConformanceRun, run)
    if request.config.pluginmanager.has_plugin("django"):
        request.getfixturevalue("django_db_setup")
        blocker = request.getfixturevalue("django_db_blocker")
        with blocker.unblock():
            yield from run.isolated()
    else:
        yield from run.isolated()
