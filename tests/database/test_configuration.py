"""Configuring the database backend: OPTIONS, system checks, db_worker's arguments."""

import io
import re
from typing import Any

import pytest
from django.core import checks
from django.core.management import CommandError, call_command, load_command_class
from django.core.management.base import SystemCheckError
from django.db import connections
from django.test import override_settings

from django_tasks import tasks
from django_tasks.backends.database import DatabaseBackend
from django_tasks.exceptions import InvalidTaskBackendError
from tests.database.conftest import tasks_setting

pytestmark = pytest.mark.django_db(databases=["default", "postgres", "mysql"])


OPTIONS_HINT = (
    "See the documentation of backend 'django_tasks.backends.database.DatabaseBackend' for its "
    "options."
)


def backend_with(alias: str = "default", **options: Any) -> DatabaseBackend:
    with override_settings(TASKS=tasks_setting(alias, **options)):
        backend = tasks["default"]
    assert isinstance(backend, DatabaseBackend)
    return backend


def ids(messages: Any) -> list[str]:
    return [message.id for message in messages]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"LEASE": 5},
            "TASKS['default']['OPTIONS']['LEASE']: Unknown option 'LEASE'; backend "
            "'django_tasks.backends.database.DatabaseBackend' takes 'DATABASE', 'LEASE_SECONDS', "
            "'HEARTBEAT_SECONDS', 'MAX_ATTEMPTS', 'RETRY_ON', 'BACKOFF_SECONDS', "
            "'BACKOFF_MAX_SECONDS', 'BACKOFF_JITTER', 'NOTIFY', 'MAX_JSON_BYTES', 'SCHEDULES' "
            "and 'TIMEOUT'. "
            "Remove it.",
        ),
        (
            {"LEASE_SECONDS": 0},
            "TASKS['default']['OPTIONS']['LEASE_SECONDS']: Input should be greater than 0; "
            f"found 0. {OPTIONS_HINT}",
        ),
        (
            {"LEASE_SECONDS": 10, "HEARTBEAT_SECONDS": 6},
            "TASKS['default']['OPTIONS']: HEARTBEAT_SECONDS (6.0) must be at most half of "
            "LEASE_SECONDS (10.0), so that a lease is renewed at least twice before it expires.",
        ),
        (
            {"MAX_ATTEMPTS": 0},
            "TASKS['default']['OPTIONS']['MAX_ATTEMPTS']: Input should be greater than or equal "
            f"to 1; found 0. {OPTIONS_HINT}",
        ),
        (
            {"MAX_JSON_BYTES": 0},
            "TASKS['default']['OPTIONS']['MAX_JSON_BYTES']: Input should be greater than or "
            f"equal to 1; found 0. {OPTIONS_HINT}",
        ),
        (
            {"DATABASE": ""},
            "TASKS['default']['OPTIONS']['DATABASE']: String should have at least 1 character; "
            f"found ''. {OPTIONS_HINT}",
        ),
    ],
)
def test_invalid_options_are_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidTaskBackendError, match=re.escape(message)):
        backend_with(**options)


def test_options_have_documented_defaults() -> None:
    options = backend_with().options
    assert (options.DATABASE, options.LEASE_SECONDS, options.HEARTBEAT_SECONDS) == (
        "default",
        30.0,
        10.0,
    )
    assert (options.MAX_ATTEMPTS, options.NOTIFY, options.MAX_JSON_BYTES) == (3, True, 2**20)
    backend = backend_with("postgres", LEASE_SECONDS=60, HEARTBEAT_SECONDS=5)
    assert (backend.database, backend.options.LEASE_SECONDS) == ("postgres", 60.0)


def test_a_well_configured_backend_has_no_check_messages() -> None:
    for alias in ("postgres", "mysql"):
        assert list(backend_with(alias).check(databases=[alias])) == []


def test_max_json_bytes_beyond_what_mariadb_takes_is_reported() -> None:
    """The test server keeps MariaDB's default max_allowed_packet, 16 MiB."""
    assert list(backend_with("mysql", MAX_JSON_BYTES=4_000_000).check(databases=["mysql"])) == []
    (warning,) = backend_with("mysql", MAX_JSON_BYTES=5_000_000).check(databases=["mysql"])
    assert warning.id == "django_tasks.W023"
    assert warning.msg == (
        "TASKS['default']['OPTIONS']['MAX_JSON_BYTES'] is 5,000,000, but the server of database "
        "'mysql' takes statements of at most 16,777,216 bytes (max_allowed_packet): escaped for "
        "it, JSON that large takes up to 20,065,536, and the server drops the connection of a "
        "statement it cannot take."
    )
    assert warning.hint == (
        "Lower MAX_JSON_BYTES to 4,177,920 or less, or raise the server's max_allowed_packet to "
        "20,065,536 or more."
    )
    assert list(backend_with("mysql", MAX_JSON_BYTES=5_000_000).check()) == []  # Offline.


def test_the_checks_run_through_the_system_check_framework() -> None:
    with override_settings(TASKS=tasks_setting("nowhere")):
        messages = checks.run_checks(tags=["tasks"])
    assert "django_tasks.E021" in ids(messages)


def test_e020_the_app_is_not_installed() -> None:
    with override_settings(INSTALLED_APPS=["django_tasks"]):
        messages = list(backend_with().check())
    assert ids(messages) == ["django_tasks.E020"]
    assert messages[0].msg == (
        "TASKS['default'] uses the database backend, but 'django_tasks.backends.database' is "
        "not in INSTALLED_APPS, so its table is never created."
    )


def test_e021_the_database_alias_is_unknown() -> None:
    (message,) = backend_with("nowhere").check()
    assert (message.id, message.msg) == (
        "django_tasks.E021",
        "TASKS['default']['OPTIONS']['DATABASE'] is 'nowhere', which is not in DATABASES; "
        "defined: ['default', 'mysql', 'postgres'].",
    )


def test_e022_use_tz_is_off() -> None:
    with override_settings(USE_TZ=False):
        messages = list(backend_with("postgres").check())
    assert ids(messages) == ["django_tasks.E022"]


def test_e023_the_database_engine_is_unsupported(monkeypatch: pytest.MonkeyPatch) -> None:
    connection: Any = connections["postgres"]
    monkeypatch.setattr(connection, "vendor", "oracle")
    monkeypatch.setitem(connection.settings_dict, "ENGINE", "django.db.backends.oracle")
    (message,) = backend_with("postgres").check()
    assert (message.id, message.msg) == (
        "django_tasks.E023",
        "TASKS['default'] keeps its queue in database 'postgres', whose engine "
        "'django.db.backends.oracle' the database backend does not support; it supports "
        "PostgreSQL, MariaDB, MySQL and SQLite.",
    )


class NoTasksOnPostgres:
    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        return False if (db, app_label) == ("postgres", "django_tasks_spec_database") else None


def test_e024_the_routers_keep_the_table_out_of_the_database() -> None:
    with override_settings(DATABASE_ROUTERS=[NoTasksOnPostgres()]):
        assert ids(backend_with("postgres").check()) == ["django_tasks.E024"]
        assert ids(backend_with("mysql").check()) == []


def test_e025_sqlite_is_too_old(monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlite3

    monkeypatch.setattr(sqlite3, "sqlite_version_info", (3, 34, 1))
    monkeypatch.setattr(sqlite3, "sqlite_version", "3.34.1")
    assert "django_tasks.E025" in ids(backend_with("default").check())


def test_e026_mariadb_is_too_old(monkeypatch: pytest.MonkeyPatch) -> None:
    connection: Any = connections["mysql"]
    monkeypatch.setattr(connection, "mysql_version", (10, 5, 2))
    (message,) = backend_with("mysql").check(databases=["mysql"])
    assert (message.id, message.msg) == (
        "django_tasks.E026",
        "TASKS['default'] keeps its queue in database 'mysql', a MariaDB 10.5.2 server; the "
        "database backend needs MariaDB 10.6 or later (SKIP LOCKED).",
    )


def test_w020_and_w021_sqlite_is_not_set_up_for_concurrent_writers() -> None:
    messages = list(backend_with("default").check(databases=["default"]))
    assert ids(messages) == ["django_tasks.W020", "django_tasks.W021"]
    assert messages[1].msg == (
        "TASKS['default'] keeps its queue in SQLite database 'default', which is in 'delete' "
        "journal mode: every commit waits for the disk, and readers block writers."
    )
    assert ids(backend_with("default").check()) == ["django_tasks.W020"]  # No connection.


def manage_py_check(*arguments: str) -> str:
    """What ``manage.py check`` reports, whatever the level of its messages."""
    output = io.StringIO()
    try:
        call_command("check", *arguments, stdout=output, stderr=output)
    except SystemCheckError as e:
        return str(e)
    return output.getvalue()


def test_manage_py_check_connects_to_the_queues_database_only_when_asked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Like Django's own, the checks that connect run with --database (and in migrate and the
    test runner), not in every command's checks: with Django 6.1 those get every database."""
    connection: Any = connections["mysql"]
    monkeypatch.setattr(connection, "mysql_version", (10, 5, 2))
    with override_settings(TASKS=tasks_setting("mysql")):
        assert "django_tasks.E026" not in manage_py_check()
        e026 = "(django_tasks.E026) TASKS['default'] keeps its queue in database 'mysql', a MariaDB"
        assert e026 in manage_py_check("--database", "mysql")
    with override_settings(TASKS=tasks_setting("default")):
        everyday = manage_py_check()
        assert "(django_tasks.W020)" in everyday
        assert "django_tasks.W021" not in everyday
        asked = manage_py_check("--database", "default")
        assert asked.count("(django_tasks.W020)") == 1
        assert asked.count("(django_tasks.W021)") == 1


def test_w022_notify_needs_psycopg_3(monkeypatch: pytest.MonkeyPatch) -> None:
    from django.db.backends.postgresql import psycopg_any

    monkeypatch.setattr(psycopg_any, "is_psycopg3", False)
    assert ids(backend_with("postgres").check()) == ["django_tasks.W022"]
    assert ids(backend_with("postgres", NOTIFY=False).check()) == []


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["--backend", "nope"],
            "The connection 'nope' doesn't exist. "
            "Task backend 'nope' is not defined; TASKS defines ['default'].",
        ),
        (["--queue-name", "a,,b"], "--queue-name 'a,,b' contains an empty queue name."),
        (
            ["--queue-name", "mail,the mail"],
            "Queue name 'the mail' has characters a queue name cannot have; it may use ASCII "
            "letters and digits and _ - . : / @ only.",
        ),
        (
            ["--queue-name", "*,a"],
            "--queue-name '*,a' mixes '*' (every queue) with queue names; pass one or the other.",
        ),
        (
            ["--queue-name", "secret"],
            "Queue 'secret' is not valid for backend 'default'; allowed: ['default', 'mail'].",
        ),
        (
            ["--worker-id", "x" * 256],
            f"--worker-id {'x' * 50!r} is invalid; it must be between 1 and 255 characters long.",
        ),
        (
            ["--interval", "-1"],
            "argument --interval: '-1' is invalid; it must be a number, 0 or more",
        ),
        (
            ["--exclude-queues", "mail"],
            "--exclude-queues can only be used with --queue-name=*: --exclude-queues 'mail' "
            "excludes from every queue, but --queue-name names 'default'.",
        ),
        (
            ["--concurrency", "1.5"],
            "argument --concurrency: '1.5' is invalid; it must be a whole number above 0",
        ),
        (
            ["--max-tasks", "-3"],
            "argument --max-tasks: '-3' is invalid; it must be a whole number above 0",
        ),
        (
            ["--max-tasks-per-child", "10"],
            "--max-tasks-per-child 10 needs --pool process; the thread pool has no child "
            "processes to replace.",
        ),
        (
            ["--pool", "fork"],
            "argument --pool: invalid choice: 'fork' (choose from",
        ),
        (
            ["--reload", "--batch"],
            "--reload cannot be combined with --batch or --max-tasks: the reloader keeps the "
            "worker running until it is stopped.",
        ),
    ],
)
def test_db_worker_refuses_bad_arguments_with_a_clear_message(
    arguments: list[str], message: str
) -> None:
    setting = tasks_setting("postgres")
    setting["default"]["QUEUES"] = ["default", "mail"]
    with override_settings(TASKS=setting), pytest.raises(CommandError, match=re.escape(message)):
        call_command("db_worker", *arguments)


def test_db_worker_runs_only_a_database_backend() -> None:
    message = (
        "Backend 'default' (ImmediateBackend) is not a DatabaseBackend; db_worker runs only "
        "the tasks of a DatabaseBackend."
    )
    with pytest.raises(CommandError, match=re.escape(message)):
        call_command("db_worker")


def test_db_worker_help_documents_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        call_command("db_worker", "--help")
    text = capsys.readouterr().out
    for option in (
        "--queue-name",
        "--backend",
        "--interval",
        "--batch",
        "--max-tasks",
        "--worker-id",
        "--concurrency",
        "--pool",
        "--max-tasks-per-child",
        "--reload",
        "--no-reload",
        "--no-startup-delay",
        "--exclude-queues",
    ):
        assert option in text


@override_settings(DEBUG=True)
def test_db_worker_takes_the_references_options_under_its_names() -> None:
    """The reference's (0.6.1) and django-tasks-db's options, and call_command's keywords of
    the reference's ``dest`` names; DEBUG does not turn the reloader on."""
    parser = load_command_class("django_tasks.backends.database", "db_worker").create_parser(
        "manage.py", "db_worker"
    )
    defaults = vars(parser.parse_args([]))
    assert (defaults["startup_delay"], defaults["reload"], defaults["backend_name"]) == (
        True,
        False,
        "default",
    )
    given = vars(
        parser.parse_args(
            ["--no-startup-delay", "--no-reload", "--queue-name", "*", "--exclude-queues", "a,b"]
        )
    )
    assert (given["startup_delay"], given["reload"], given["exclude_queues"]) == (
        False,
        False,
        ["a,b"],
    )
    assert vars(parser.parse_args(["--interval", "0"]))["interval"] == 0.0


def test_the_package_imports_before_the_app_registry_is_ready() -> None:
    import subprocess
    import sys

    code = (
        "import sys, django_tasks.backends.database as db; "
        "assert db.__all__ == ['DatabaseBackend']; "
        "assert 'django_tasks.backends.database.models' not in sys.modules"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr


def test_e027_an_entry_of_retry_on_that_is_not_an_exception_class() -> None:
    backend = backend_with("postgres", RETRY_ON=["builtins.ValueError", "os.path", "nowhere.Error"])
    messages = list(backend.check())
    assert ids(messages) == ["django_tasks.E027", "django_tasks.E027"]
    assert messages[0].msg.startswith(
        "TASKS['default']['OPTIONS']['RETRY_ON'] is invalid: 'os.path' is <module 'posixpath'"
    )
    assert messages[0].msg.endswith(", not an exception class.")
    assert messages[1].msg == (
        "TASKS['default']['OPTIONS']['RETRY_ON'] is invalid: 'nowhere.Error' cannot be imported "
        "(No module named 'nowhere')."
    )
    with pytest.raises(InvalidTaskBackendError, match=re.escape(messages[0].msg)):
        backend.retry_defaults  # noqa: B018  # The worker reads it when it starts.


def test_the_retry_defaults_come_from_the_options() -> None:
    policy = backend_with(
        MAX_ATTEMPTS=5,
        RETRY_ON=["builtins.ValueError"],
        BACKOFF_SECONDS=2.0,
        BACKOFF_MAX_SECONDS=5.0,
        BACKOFF_JITTER=0,
    ).retry_defaults
    assert (policy.max_attempts, policy.retry_on) == (5, (ValueError,))
    assert [policy.backoff(attempt) for attempt in (1, 2, 3)] == [2.0, 4.0, 5.0]
    default = backend_with().retry_defaults
    assert (default.max_attempts, default.retry_on) == (3, ())


@pytest.mark.parametrize("timeout", [0.0, -1.5])
def test_e029_a_timeout_of_zero_or_less(timeout: float) -> None:
    backend = backend_with("default", TIMEOUT=timeout)
    message = (
        f"TASKS['default']['OPTIONS']['TIMEOUT'] is {timeout!r}; it must be a number of seconds "
        f"greater than zero, or None for no limit."
    )
    assert [(m.id, m.msg) for m in backend.check() if m.id == "django_tasks.E029"] == [
        ("django_tasks.E029", message)
    ]
    assert "django_tasks.E029" not in ids(backend_with("default", TIMEOUT=2.5).check())
    with (
        override_settings(TASKS=tasks_setting("default", TIMEOUT=timeout)),
        pytest.raises(CommandError, match=re.escape(message)),
    ):
        call_command("db_worker", "--skip-checks")
