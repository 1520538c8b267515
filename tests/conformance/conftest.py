"""Fixtures for testing the conformance suite: it runs in this process, on the test database."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_django import DjangoDbBlocker

ROOT = Path(__file__).resolve().parents[2]

UPDATE_DOCS = bool(os.environ.get("DJANGO_TASKS_UPDATE_DOCS"))
"""Set by `./dev docs`: generated documents are rewritten instead of compared."""


@pytest.fixture
def suite_db(django_db_setup: None, django_db_blocker: DjangoDbBlocker) -> Iterator[None]:
    """Let a nested run of the suite use the test database, with real commits and rollbacks."""
    with django_db_blocker.unblock():
        yield


def check_generated(path: Path, expected: str) -> None:
    """Assert a generated file is current, or rewrite it under `./dev docs`."""
    if UPDATE_DOCS:
        path.write_text(expected, encoding="utf-8")
        return
    current = path.read_text(encoding="utf-8") if path.exists() else ""
    assert current == expected, f"{path.relative_to(ROOT)} is stale: run ./dev docs."
