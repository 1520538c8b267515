"""Harnesses for testing the suite's DatabaseHarness."""

from typing import ClassVar

from django_tasks_conformance.harnesses.database import DatabaseHarness


class UnknownQueueHarness(DatabaseHarness):
    """Starts workers on a queue the backend does not allow: db_worker exits at once, failing."""

    worker_arguments: ClassVar[tuple[str, ...]] = ("--queue-name", "no-such-queue")
