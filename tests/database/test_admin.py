"""The task results in the Django admin: read-only, escaped, and a guarded re-enqueue action."""

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from django_tasks.backends.database import DatabaseBackend
from django_tasks.backends.database.models import DBTaskResult
from tests.database.conftest import named_id
from tests.tasks import add

pytestmark = pytest.mark.with_default

CHANGELIST = reverse("admin:django_tasks_spec_database_dbtaskresult_changelist")
SCRIPT = "<script>alert(1)</script>"
FAILED_1, FAILED_2, DONE_1 = named_id("failed-1"), named_id("failed-2"), named_id("done-1")


def change_url(result_id: str) -> str:
    return reverse("admin:django_tasks_spec_database_dbtaskresult_change", args=[result_id])


@pytest.fixture
def rows(backend: DatabaseBackend) -> Any:
    table = DBTaskResult.objects.using(backend.database)
    common: dict[str, Any] = {"backend": "default", "queue_name": "mail", "priority": 4}
    table.create(
        id=FAILED_1,
        status="FAILED",
        task_path="django_tasks_conformance.tasks.add",
        arguments={"args": [1, 2], "kwargs": {}},
        exception_class_path="builtins.ValueError",
        traceback=f"ValueError: {SCRIPT}",
        attempts=1,
        worker_id="host:1",
        worker_ids=["host:1"],
        **common,
    )
    table.create(
        id=FAILED_2,
        status="FAILED",
        task_path="os.system",
        arguments={"args": ["ls"], "kwargs": {}},
        **common,
    )
    table.create(
        id=DONE_1,
        status="SUCCEEDED",
        task_path="django_tasks_conformance.tasks.echo",
        arguments={"args": [SCRIPT], "kwargs": {}},
        return_value={"html": SCRIPT},
        **common,
    )
    return table


def test_the_list_shows_each_result_escaped(rows: Any, as_user: Any) -> None:
    response = as_user(superuser=True).get(CHANGELIST)
    assert response.status_code == 200
    content = response.content.decode()
    for result_id in (FAILED_1, FAILED_2, DONE_1):
        assert result_id in content
    for column in ("Task path", "Status", "Queue name", "Priority", "Worker", "Attempts"):
        assert column in content
    assert "host:1" in content
    assert SCRIPT not in content

    filtered = as_user(superuser=True).get(CHANGELIST, {"status__exact": "SUCCEEDED"})
    assert DONE_1 in filtered.content.decode()
    assert FAILED_1 not in filtered.content.decode()
    found = as_user(superuser=True).get(CHANGELIST, {"q": "os.system"})
    assert FAILED_2 in found.content.decode()
    assert DONE_1 not in found.content.decode()
    by_id = as_user(superuser=True).get(CHANGELIST, {"q": DONE_1.upper()})  # Any UUID text.
    assert DONE_1 in by_id.content.decode()
    assert FAILED_2 not in by_id.content.decode()


def test_the_detail_is_read_only_and_escaped(rows: Any, as_user: Any) -> None:
    client = as_user(superuser=True)
    response = client.get(change_url(FAILED_1))
    assert response.status_code == 200
    content = response.content.decode()
    assert "ValueError: &lt;script&gt;alert(1)&lt;/script&gt;" in content
    assert SCRIPT not in content
    assert 'name="task_path"' not in content
    assert 'name="status"' not in content
    assert SCRIPT not in client.get(change_url(DONE_1)).content.decode()

    response = client.post(change_url(FAILED_1), {"task_path": "os.system", "status": "NEW"})
    assert response.status_code == 403
    assert rows.get(pk=FAILED_1).task_path == "django_tasks_conformance.tasks.add"
    add_url = reverse("admin:django_tasks_spec_database_dbtaskresult_add")
    assert client.get(add_url).status_code == 403
    delete_url = reverse("admin:django_tasks_spec_database_dbtaskresult_delete", args=[FAILED_1])
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    assert rows.filter(pk=FAILED_1).exists()


def test_only_staff_with_the_view_permission_see_results(
    rows: Any, client: Client, as_user: Any
) -> None:
    assert client.get(CHANGELIST).status_code == 302  # To the login page.
    assert as_user().get(CHANGELIST).status_code == 403
    viewer = as_user("view_dbtaskresult")
    assert viewer.get(CHANGELIST).status_code == 200
    assert viewer.get(change_url(FAILED_1)).status_code == 200


@pytest.fixture
def reenqueue(django_capture_on_commit_callbacks: Any) -> Any:
    def post(client: Client, *ids: str) -> Any:
        # A queue on another database waits for the commit of the default one's transaction.
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(
                CHANGELIST, {"action": "reenqueue", "_selected_action": list(ids)}, follow=True
            )

    return post


def test_reenqueue_creates_new_results_from_failed_ones(
    backend: DatabaseBackend, rows: Any, as_user: Any, reenqueue: Any
) -> None:
    response = reenqueue(as_user(superuser=True), FAILED_1, FAILED_2, DONE_1)
    content = response.content.decode()
    assert "Re-enqueued 1 failed task as a new result." in content
    assert "Skipped 1 task result that has not FAILED." in content
    assert (
        f"Task result &#x27;{FAILED_2}&#x27; was not re-enqueued: Task path "
        f"&#x27;os.system&#x27; is not a registered task" in content
    )

    (new,) = rows.filter(status="NEW")
    assert (new.task_path, new.arguments, new.queue_name, new.priority) == (
        "django_tasks_conformance.tasks.add",
        {"args": [1, 2], "kwargs": {}},
        "mail",
        4,
    )
    assert backend.get_result(new.id).args == [1, 2]
    assert rows.get(pk=FAILED_1).status == "FAILED"  # The old result stays as it was.


def test_reenqueue_needs_its_own_permission(rows: Any, as_user: Any, reenqueue: Any) -> None:
    viewer = as_user("view_dbtaskresult")
    assert "reenqueue" not in viewer.get(CHANGELIST).content.decode()
    reenqueue(viewer, FAILED_1)
    assert not rows.filter(status="NEW").exists()

    allowed = as_user("view_dbtaskresult", "reenqueue_dbtaskresult")
    assert "Re-enqueue the selected FAILED tasks" in allowed.get(CHANGELIST).content.decode()
    reenqueue(allowed, FAILED_1)
    assert rows.filter(status="NEW").count() == 1


def test_cancel_needs_its_own_permission_and_skips_finished_tasks(
    backend: DatabaseBackend, rows: Any, as_user: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # A queue on another database waits for the commit of the default one's transaction.
    with django_capture_on_commit_callbacks(execute=True):
        waiting = add.enqueue(1, 2)
    viewer = as_user("view_dbtaskresult")
    assert 'value="cancel"' not in viewer.get(CHANGELIST).content.decode()
    viewer.post(CHANGELIST, {"action": "cancel", "_selected_action": [waiting.id]})
    assert backend.get_result(waiting.id).status == "NEW"

    allowed = as_user("view_dbtaskresult", "cancel_dbtaskresult")
    assert 'value="cancel"' in allowed.get(CHANGELIST).content.decode()
    response = allowed.post(
        CHANGELIST, {"action": "cancel", "_selected_action": [waiting.id, DONE_1]}, follow=True
    )
    content = response.content.decode()
    assert "Cancelled 1 task (a running one is asked to stop)." in content
    assert "Skipped 1 task that has finished." in content
    assert backend.get_result(waiting.id).is_cancelled
    assert rows.get(pk=waiting.id).status == "CANCELLED"
