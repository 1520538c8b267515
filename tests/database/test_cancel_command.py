"""manage.py cancel_db_tasks, on each database."""

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from django_tasks.backends.database import DatabaseBackend
from django_tasks.backends.database.models import DBTaskResult
from tests.tasks import add


def test_cancel_db_tasks_cancels_waiting_tasks_and_says_which_it_could_not(
    backend: DatabaseBackend,
) -> None:
    waiting = add.enqueue(1, 2)
    running = add.enqueue(3, 4)
    rows = DBTaskResult.objects.using(backend.database)
    rows.filter(pk=running.id).update(status="RUNNING", attempts=1)
    output = StringIO()
    call_command("cancel_db_tasks", waiting.id, running.id, stdout=output)
    assert output.getvalue().splitlines() == [
        f"{waiting.id}: cancelled",
        f"{running.id}: asked to stop (it is running)",
    ]
    assert rows.get(pk=waiting.id).status == "CANCELLED"
    assert rows.get(pk=running.id).cancel_requested_at is not None

    unknown = "0190d2f4-0000-7000-8000-000000000000"
    message = (
        f"Task result {waiting.id!r} has finished (cancelled); a finished task cannot be "
        f"cancelled.\nNo task result with id {unknown!r} in backend 'default'."
    )
    with pytest.raises(CommandError, match=f"^{re.escape(message)}$"):
        call_command("cancel_db_tasks", waiting.id, unknown, stdout=StringIO())
