"""prune_db_task_results: old finished results go, in batches; queued and running ones stay."""

import io
import re
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone

from django_tasks.backends.database import DatabaseBackend, pruning
from django_tasks.backends.database.models import DBTaskResult
from tests.database.conftest import named_id, tasks_setting

DAY = timedelta(days=1)


SPECS = {  # Results of every status and age: name -> (status, days since it finished, queue).
    "new-old": ("NEW", None, "default"),
    "running-old": ("RUNNING", None, "default"),
    "succeeded-20": ("SUCCEEDED", 20, "default"),
    "succeeded-10": ("SUCCEEDED", 10, "default"),
    "succeeded-20-mail": ("SUCCEEDED", 20, "mail"),
    "failed-40": ("FAILED", 40, "default"),
    "failed-20": ("FAILED", 20, "default"),
    "failed-1": ("FAILED", 1, "default"),
}


@pytest.fixture
def rows(backend: DatabaseBackend) -> Any:
    """The results of SPECS, their ids made from their names."""
    now = timezone.now()
    table = DBTaskResult.objects.using(backend.database)
    for name, (status, days, queue) in SPECS.items():
        table.create(
            id=named_id(name),
            status=status,
            backend="default",
            queue_name=queue,
            task_path="django_tasks_conformance.tasks.noop",
            arguments={"args": [], "kwargs": {}},
            started_at=now - 50 * DAY,
            finished_at=None if days is None else now - days * DAY,
        )
    table.filter(status__in=["NEW", "RUNNING"]).update(enqueued_at=now - 60 * DAY)
    return table


def prune(*arguments: str) -> str:
    output = io.StringIO()
    call_command("prune_db_task_results", *arguments, stdout=output)
    return output.getvalue()


def remaining(rows: Any) -> set[str]:
    """The names (see the rows fixture) of the results left."""
    names = {named_id(name): name for name in SPECS}
    return {names[str(pk)] for pk in rows.values_list("pk", flat=True)}


def test_prune_deletes_finished_results_older_than_the_minimum_age(rows: Any) -> None:
    assert prune() == "Deleted 3 task results (1 succeeded, 2 failed).\n"  # Of 'default'.
    assert remaining(rows) == {
        "new-old",
        "running-old",
        "succeeded-10",
        "failed-1",
        "succeeded-20-mail",
    }
    assert prune("--min-age-days", "0") == "Deleted 2 task results (1 succeeded, 1 failed).\n"
    assert remaining(rows) == {"new-old", "running-old", "succeeded-20-mail"}
    # Never queued or running ones.
    assert prune("--queue-name", "*", "--min-age-days", "0") == (
        "Deleted 1 task result (1 succeeded, 0 failed).\n"
    )
    assert remaining(rows) == {"new-old", "running-old"}


def test_a_dry_run_counts_and_deletes_nothing(rows: Any) -> None:
    message = "Would delete 3 task results (1 succeeded, 2 failed).\n"
    assert prune("--dry-run") == message
    assert len(remaining(rows)) == 8


def test_failed_results_can_be_kept_longer(rows: Any) -> None:
    assert prune("--failed-min-age-days", "30") == (
        "Deleted 2 task results (1 succeeded, 1 failed).\n"
    )
    assert "failed-20" in remaining(rows)
    assert "failed-40" not in remaining(rows)
    assert prune("--min-age-days", "30", "--failed-min-age-days", "0.5") == (
        "Deleted 2 task results (0 succeeded, 2 failed).\n"
    )


def test_pruning_takes_the_default_queue_unless_told_as_the_reference_does(rows: Any) -> None:
    assert prune("--queue-name", "*") == "Deleted 4 task results (2 succeeded, 2 failed).\n"
    assert remaining(rows) == {"new-old", "running-old", "succeeded-10", "failed-1"}


def test_pruning_can_be_limited_to_queues(rows: Any) -> None:
    assert prune("--queue-name", "mail") == "Deleted 1 task result (1 succeeded, 0 failed).\n"
    assert "succeeded-20-mail" not in remaining(rows)
    assert "succeeded-20" in remaining(rows)


def test_pruning_deletes_in_batches(rows: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pruning, "BATCH_SIZE", 1)
    assert prune("--min-age-days", "0", "--queue-name", "*") == (
        "Deleted 6 task results (3 succeeded, 3 failed).\n"
    )


def test_pruning_only_touches_its_backends_results(
    backend: DatabaseBackend, alias: str, rows: Any
) -> None:
    setting = {**tasks_setting(alias), "other": tasks_setting(alias)["default"]}
    with override_settings(TASKS=setting):
        assert prune("--backend", "other", "--min-age-days", "0").startswith("Deleted 0 ")
    assert len(remaining(rows)) == 8


@pytest.mark.django_db(databases=["default"])
@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["--backend", "nope"],
            "The connection 'nope' doesn't exist. "
            "Task backend 'nope' is not defined; TASKS defines ['default'].",
        ),
        (
            ["--min-age-days", "-1"],
            "argument --min-age-days: '-1' is invalid; it must be a number of days, 0 or more",
        ),
    ],
)
def test_bad_arguments_are_refused_with_a_clear_message(arguments: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=re.escape(message)):
        prune(*arguments)


@pytest.mark.django_db(databases=["default"])
def test_only_a_database_backend_can_be_pruned() -> None:
    message = (
        "Backend 'default' (ImmediateBackend) is not a DatabaseBackend; prune_db_task_results "
        "prunes only the results of a DatabaseBackend."
    )
    with pytest.raises(CommandError, match=re.escape(message)):
        prune()


def test_cancelled_results_are_pruned_with_the_failed_ones(rows: Any) -> None:
    now = timezone.now()
    rows.filter(pk=named_id("failed-40")).update(status="CANCELLED", finished_at=now - 40 * DAY)
    assert prune("--min-age-days", "30", "--failed-min-age-days", "30") == (
        "Deleted 1 task result (0 succeeded, 1 failed).\n"
    )
    assert named_id("failed-40") not in {str(pk) for pk in rows.values_list("pk", flat=True)}
