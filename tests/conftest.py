"""Fixtures shared by the whole suite."""

from typing import cast

import pytest
from pytest_django import Settings as SettingsWrapper

from django_tasks import tasks
from django_tasks.backends.dummy import DummyBackend

DUMMY = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def dummy(settings: SettingsWrapper) -> DummyBackend:
    """Make the DummyBackend the default backend, and return it."""
    settings.TASKS = DUMMY
    return cast(DummyBackend, tasks["default"])
