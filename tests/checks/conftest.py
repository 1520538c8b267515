"""Fixtures of the tests of the system checks."""

import pytest
from django.db import connections

from django_tasks.registry import task_registry


@pytest.fixture(autouse=True)
def no_declared_tasks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Start each test with an empty task registry: tasks declared elsewhere are not checked."""
    monkeypatch.setattr(task_registry, "_tasks", {})


@pytest.fixture
def manual_commit(monkeypatch: pytest.MonkeyPatch) -> None:
    """DATABASES['default'] with AUTOCOMMIT False (a copy: open connections keep theirs)."""
    default = {**connections.settings["default"], "AUTOCOMMIT": False}
    monkeypatch.setitem(connections.settings, "default", default)


@pytest.fixture
def no_database(monkeypatch: pytest.MonkeyPatch) -> None:
    """A project with no DATABASES: Django's placeholder for the default alias."""
    monkeypatch.setitem(connections.settings, "default", {"ENGINE": "django.db.backends.dummy"})
