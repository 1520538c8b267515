"""The queue dashboard in the admin, and the actions on results (with the Django test client;
tests/database/test_dashboard_browser.py looks at it in a real browser)."""

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from django_tasks.backends.database import DatabaseBackend
from django_tasks.backends.database.models import DBTaskResult
from tests.database.seeds import SCRIPT, seed_dashboard, seed_worker

pytestmark = pytest.mark.with_default

DASHBOARD = reverse("admin:django_tasks_spec_database_dbtaskresult_dashboard")
PANEL = reverse("admin:django_tasks_spec_database_dbtaskresult_dashboard_panel")
CHANGELIST = reverse("admin:django_tasks_spec_database_dbtaskresult_changelist")


def cells(content: str, row_class: str, key: str) -> list[str]:
    """The text of the cells of each ``row_class`` row whose data attribute names ``key``."""
    start = content.index(f'<tr class="{row_class}" data-backend="default" data-queue="{key}">')
    end = content.index("</tr>", start)
    return re.findall(r"<td[^>]*>(.*?)</td>", content[start:end], re.DOTALL)


def test_the_dashboard_shows_the_seeded_figures(backend: DatabaseBackend, as_user: Any) -> None:
    seed_dashboard(backend)
    client = as_user("view_dbtaskresult")
    for url in (DASHBOARD, PANEL):
        response = client.get(url)
        assert response.status_code == 200
        content = response.content.decode()
        # backend, queue, waiting, running, deferred, oldest, succeeded, failed, rate, wait, run
        assert cells(content, "queue", "mail") == [
            "default", "mail", "2", "1", "1", "10 min", "3", "1", "25.0%",
            "1.0 s / 5.0 s / 5.0 s", "2.0 s / 4.0 s / 4.0 s",
        ]  # fmt: skip
        assert "host:1" in content
        assert "tests.tasks.noop &times; 1" in content
        assert "(dead)" in content  # host:2's heartbeat is 10 minutes old.
        failure = reverse(
            "admin:django_tasks_spec_database_dbtaskresult_change",
            args=[DBTaskResult.objects.using(backend.database).get(status="FAILED").pk],
        )
        assert f'<a href="{failure}">' in content
        assert SCRIPT not in content
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content
    assert 'aria-label="Tasks finished per minute"' in client.get(DASHBOARD).content.decode()
    assert "4 in the last hour" in client.get(DASHBOARD).content.decode()


def test_the_dashboard_shows_the_queues_a_worker_excludes(
    backend: DatabaseBackend, as_user: Any
) -> None:
    seed_worker(backend, "host:9", None, excluded=["mail", "bulk"])
    content = as_user("view_dbtaskresult").get(PANEL).content.decode()
    assert "<td>* except mail, bulk</td>" in content


def test_the_dashboard_needs_staff_and_the_view_permission(
    backend: DatabaseBackend, client: Client, as_user: Any
) -> None:
    seed_dashboard(backend)
    for url in (DASHBOARD, PANEL):
        assert client.get(url).status_code == 302  # To the login page.
    staff = as_user()
    for url in (DASHBOARD, PANEL):
        response = staff.get(url)
        assert response.status_code == 403
        assert "mail" not in response.content.decode()
    assert DASHBOARD in as_user("view_dbtaskresult").get(CHANGELIST).content.decode()


def post_action(client: Client, action: str, *ids: str) -> str:
    response = client.post(
        CHANGELIST, {"action": action, "_selected_action": list(ids)}, follow=True
    )
    return str(response.content.decode())


def test_run_now_makes_deferred_tasks_due(backend: DatabaseBackend, as_user: Any) -> None:
    ids = seed_dashboard(backend)
    table = DBTaskResult.objects.using(backend.database)
    viewer = as_user("view_dbtaskresult")
    post_action(viewer, "run_now", ids["deferred"])
    assert table.get(pk=ids["deferred"]).available_at > timezone.now()  # Not allowed.

    allowed = as_user("view_dbtaskresult", "reenqueue_dbtaskresult")
    content = post_action(allowed, "run_now", ids["deferred"], ids["succeeded"])
    assert "1 waiting task will run as soon as a worker is free." in content
    assert table.get(pk=ids["deferred"]).available_at <= timezone.now() + timedelta(seconds=1)
    assert table.get(pk=ids["succeeded"]).status == "SUCCEEDED"


def test_delete_finished_keeps_unfinished_tasks(backend: DatabaseBackend, as_user: Any) -> None:
    ids = seed_dashboard(backend)
    table = DBTaskResult.objects.using(backend.database)
    viewer = as_user("view_dbtaskresult")
    assert "delete_finished" not in viewer.get(CHANGELIST).content.decode()
    post_action(viewer, "delete_finished", ids["succeeded"])
    assert table.filter(pk=ids["succeeded"]).exists()

    allowed = as_user("view_dbtaskresult", "delete_dbtaskresult")
    content = post_action(
        allowed, "delete_finished", ids["succeeded"], ids["failed"], ids["running"], ids["deferred"]
    )
    assert "Deleted 2 finished results; unfinished ones were kept." in content
    assert not table.filter(pk__in=[ids["succeeded"], ids["failed"]]).exists()
    assert table.filter(pk__in=[ids["running"], ids["deferred"]]).count() == 2


def test_actions_need_post_and_a_csrf_token(backend: DatabaseBackend, as_user: Any) -> None:
    ids = seed_dashboard(backend)
    table = DBTaskResult.objects.using(backend.database)
    client = as_user(superuser=True)
    client.get(CHANGELIST, {"action": "delete_finished", "_selected_action": ids["succeeded"]})
    assert table.filter(pk=ids["succeeded"]).exists()
    client.handler.enforce_csrf_checks = True
    response = client.post(
        CHANGELIST, {"action": "delete_finished", "_selected_action": [ids["succeeded"]]}
    )
    assert response.status_code == 403
    assert table.filter(pk=ids["succeeded"]).exists()
