"""Arguments and return values as each database stores them: the same JSON types come back
through every path (enqueue, aenqueue, bulk_enqueue, get_result, the worker, the admin), and
what a database cannot store is refused at enqueue, naming the limit, without touching the
connection."""

import re
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.test import Client, override_settings
from django.urls import reverse

from django_tasks.backends.database import DatabaseBackend
from django_tasks.backends.database.exceptions import StorageError
from django_tasks.backends.database.models import DBTaskResult
from django_tasks.exceptions import InvalidTaskArgumentsError
from django_tasks.serialization import MAX_INT_DIGITS
from tests.database.conftest import StartWorker, tasks_setting
from tests.database.tasks import text_of_bytes
from tests.helpers import FLOATS, KWARGS, refused_arguments, same_json
from tests.tasks import add, echo

pytestmark = pytest.mark.transactional


def rows(backend: DatabaseBackend) -> Any:
    return DBTaskResult.objects.using(backend.database)


def test_floats_come_back_as_floats_from_every_way_in(backend: DatabaseBackend) -> None:
    enqueued = echo.enqueue(*FLOATS, **KWARGS)
    asynchronous = async_to_sync(echo.aenqueue)(*FLOATS, **KWARGS)
    (bulk,) = backend.bulk_enqueue(echo, [(FLOATS, KWARGS)])

    for result in (enqueued, asynchronous, bulk):
        found = backend.get_result(result.id)
        assert same_json(found.args, FLOATS), found.args
        assert same_json(found.kwargs, KWARGS), found.kwargs
        stored = rows(backend).get(pk=result.id).arguments
        assert same_json(stored, {"args": FLOATS, "kwargs": KWARGS}), stored


def test_floats_returned_by_a_task_come_back_as_floats(
    backend: DatabaseBackend, start_worker: StartWorker
) -> None:
    result = echo.enqueue(*FLOATS, **KWARGS)
    assert start_worker("--batch").wait() == 0

    found = backend.get_result(result.id)
    assert found.status == "SUCCEEDED"
    assert same_json(found.return_value, {"args": FLOATS, "kwargs": KWARGS}), found.return_value


@pytest.mark.with_default
def test_the_admin_shows_floats_as_floats(backend: DatabaseBackend, client: Client) -> None:
    from django.contrib.auth.models import User

    result = echo.enqueue(1e20)
    client.force_login(User.objects.create_user("admin", is_staff=True, is_superuser=True))
    url = reverse("admin:django_tasks_spec_database_dbtaskresult_change", args=[result.id])
    content = client.get(url).content.decode()
    assert "1e+20" in content
    assert "100000000000000000000" not in content


def test_ints_of_up_to_4300_digits_are_stored_and_longer_ones_refused(
    backend: DatabaseBackend,
) -> None:
    largest = 10**MAX_INT_DIGITS - 1
    result = echo.enqueue(largest, -largest)
    assert backend.get_result(result.id).args == [largest, -largest]

    message = (
        "Argument kwargs['n'] is an int of more than 4,300 digits, the most Python converts to "
        "and from JSON text; pass it as a string (str(value), after "
        "sys.set_int_max_str_digits())."
    )
    with pytest.raises(InvalidTaskArgumentsError, match=f"^{re.escape(message)}$"):
        echo.enqueue(n=10**MAX_INT_DIGITS)
    with pytest.raises(InvalidTaskArgumentsError, match=re.escape("calls[1]: Argument args[0]")):
        backend.bulk_enqueue(echo, [((1,), {}), ((-(10**5000),), {})])
    assert rows(backend).count() == 1


def test_arguments_larger_than_max_json_bytes_are_refused_and_the_connection_kept(
    backend: DatabaseBackend,
) -> None:
    """10 MB of text beyond ASCII, which MariaDB's max_allowed_packet (16 MiB) cut off with
    "Server has gone away" once escaped, is refused before anything is sent."""
    ten_megabytes = "é" * 5_000_000
    size = len('{"args":[""],"kwargs":{}}') + 10_000_000
    with pytest.raises(InvalidTaskArgumentsError, match=f"^{re.escape(refused_arguments(size))}$"):
        echo.enqueue(ten_megabytes)
    with pytest.raises(InvalidTaskArgumentsError, match=re.escape(refused_arguments(size))):
        async_to_sync(echo.aenqueue)(ten_megabytes)
    with pytest.raises(
        InvalidTaskArgumentsError, match=f"^calls\\[1\\]: {re.escape(refused_arguments(size))}$"
    ):
        backend.bulk_enqueue(echo, [(("small",), {}), ((ten_megabytes,), {})])
    assert not rows(backend).exists()
    assert backend.get_result(add.enqueue(1, 2).id).args == [1, 2]  # The same connection.


def test_the_default_limit_is_stored_by_every_database(backend: DatabaseBackend) -> None:
    """1 MiB of the text that grows most once escaped for MariaDB ("é": 2 bytes of UTF-8, 7
    of escaped SQL) is stored and read back, by enqueue and by bulk_enqueue."""
    envelope = len('{"args":[""],"kwargs":{}}')
    largest = text_of_bytes.call(backend.options.MAX_JSON_BYTES - envelope)
    result = echo.enqueue(largest)
    assert backend.get_result(result.id).args == [largest]
    (bulk,) = backend.bulk_enqueue(echo, [((largest,), {})])
    assert backend.get_result(bulk.id).args == [largest]

    with pytest.raises(InvalidTaskArgumentsError, match=re.escape(refused_arguments(2**20 + 1))):
        echo.enqueue(largest + "x")


def test_max_json_bytes_is_an_option(alias: str) -> None:
    with override_settings(TASKS=tasks_setting(alias, MAX_JSON_BYTES=100)):
        envelope = len('{"args":[""],"kwargs":{}}')
        echo.enqueue("x" * (100 - envelope))
        echo.enqueue("é" * ((100 - envelope) // 2))  # Counted in bytes of UTF-8.
        with pytest.raises(
            InvalidTaskArgumentsError, match=re.escape(refused_arguments(101, limit=100))
        ):
            echo.enqueue("x" * (101 - envelope))
        with pytest.raises(
            InvalidTaskArgumentsError, match=re.escape(refused_arguments(101, limit=100))
        ):
            echo.enqueue("é" * ((100 - envelope) // 2 + 1))


def test_a_return_value_larger_than_max_json_bytes_fails_its_task_alone(
    backend: DatabaseBackend, start_worker: StartWorker
) -> None:
    too_large = text_of_bytes.enqueue(10_000_000)
    after = add.enqueue(1, 2)
    assert start_worker("--batch").wait() == 0

    failed = backend.get_result(too_large.id)
    assert (failed.status, failed.exception_class) == ("FAILED", StorageError)
    assert failed.traceback is not None
    assert failed.traceback.endswith(
        "StorageError: The task finished (SUCCEEDED), but its outcome could not be stored: its "
        "return value takes 10,000,002 bytes as JSON, more than backend 'default' stores "
        "(OPTIONS['MAX_JSON_BYTES'] is 1,048,576); return a reference to the data instead\n"
    )
    assert failed.attempts == 1
    assert backend.get_result(after.id).return_value == 3  # After it, on the same connection.
