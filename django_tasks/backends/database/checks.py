"""The system checks of the database backend: django_tasks.E020-E029 and W020-W029.

Each message says what would stop the queue from working, in which setting, and how to fix
it. Checks that need a connection (server versions, SQLite's journal mode) run only for the
databases that ``manage.py check --database`` (or migrate, or the test runner) names.
"""

import sqlite3
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.conf import settings
from django.core import checks
from django.db import connections, router
from django.utils.module_loading import import_string

from django_tasks.exceptions import InvalidTaskError
from django_tasks.registry import task_registry
from django_tasks.schedules import (
    SCHEDULE_NAME_TAKEN,
    SCHEDULED_TASK_UNKNOWN,
    InvalidScheduleError,
    check_schedule,
    schedule_registry,
)

if TYPE_CHECKING:
    from django_tasks.backends.database.backend import DatabaseBackend

APP_NAME = "django_tasks.backends.database"
SUPPORTED_VENDORS = ("postgresql", "mysql", "sqlite")
MIN_SQLITE_VERSION = (3, 35, 0)  # UPDATE ... RETURNING
MIN_MARIADB_VERSION = (10, 6)  # SELECT ... SKIP LOCKED
JSON_GROWTH = 4
"""How many bytes of a MariaDB or MySQL statement one byte of JSON (as MAX_JSON_BYTES counts
it) takes at most, once its characters beyond ASCII and then the statement's quotes are
escaped: 3.5, for a 2-byte character ("é" becomes \\u00e9)."""
STATEMENT_ROOM = 65_536
"""Bytes of a statement that carries JSON, besides the JSON."""


def check_backend(
    backend: "DatabaseBackend", databases: Iterable[str]
) -> Iterable[checks.CheckMessage]:
    """The messages of DatabaseBackend.check(); ``databases`` may be connected to."""
    where = f"TASKS[{backend.alias!r}]"
    if not apps.is_installed(APP_NAME):
        yield checks.Error(
            f"{where} uses the database backend, but {APP_NAME!r} is not in "
            f"INSTALLED_APPS, so its table is never created.",
            hint=f"Add {APP_NAME!r} to INSTALLED_APPS and run migrate.",
            id="django_tasks.E020",
        )
        return
    if backend.database not in settings.DATABASES:
        yield checks.Error(
            f"{where}['OPTIONS']['DATABASE'] is {backend.database!r}, which is not in "
            f"DATABASES; defined: {sorted(settings.DATABASES)}.",
            hint="Name one of the DATABASES aliases.",
            id="django_tasks.E021",
        )
        return
    for path in backend.options.RETRY_ON:
        found = exception_class_at(path)
        if isinstance(found, str):
            yield checks.Error(
                retry_on_message(backend.alias, found),
                hint="Name exception classes by their dotted paths, such as "
                "'requests.ConnectionError'.",
                obj=f"{where}['OPTIONS']['RETRY_ON']",
                id="django_tasks.E027",
            )
    if backend.options.TIMEOUT is not None and backend.options.TIMEOUT <= 0:
        yield checks.Error(
            timeout_option_message(backend),
            hint="Set TIMEOUT to a number of seconds above 0, or to None for no limit.",
            id="django_tasks.E029",
        )
    if not settings.USE_TZ:
        yield checks.Error(
            f"{where} uses the database backend, which needs USE_TZ = True: it compares "
            f"times in UTC.",
            hint="Set USE_TZ = True (Django's default).",
            id="django_tasks.E022",
        )
    yield from _check_database(backend, where, databases)


def timeout_option_message(backend: "DatabaseBackend") -> str:
    """Why OPTIONS["TIMEOUT"] (zero or less) is refused, by the check and by db_worker."""
    return (
        f"TASKS[{backend.alias!r}]['OPTIONS']['TIMEOUT'] is {backend.options.TIMEOUT!r}; it must "
        f"be a number of seconds greater than zero, or None for no limit."
    )


def _check_database(
    backend: "DatabaseBackend", where: str, databases: Iterable[str]
) -> Iterable[checks.CheckMessage]:
    # Imported here: models cannot be imported while Django loads the apps, and this module
    # is imported then (backend.py imports it for DatabaseBackend.check()).
    from django_tasks.backends.database.models import DBTaskResult

    connection = connections[backend.database]
    alias = backend.database
    if connection.vendor not in SUPPORTED_VENDORS:
        yield checks.Error(
            f"{where} keeps its queue in database {alias!r}, whose engine "
            f"{connection.settings_dict['ENGINE']!r} the database backend does not support; "
            f"it supports PostgreSQL, MariaDB, MySQL and SQLite.",
            hint="Point OPTIONS['DATABASE'] at a supported database.",
            id="django_tasks.E023",
        )
        return
    if not router.allow_migrate_model(alias, DBTaskResult):
        yield checks.Error(
            f"{where} keeps its queue in database {alias!r}, but the database routers do "
            f"not allow migrating {DBTaskResult._meta.app_label!r} there, so the table is "
            f"never created.",
            hint="Let allow_migrate() return True for that app on that database.",
            id="django_tasks.E024",
        )
    if connection.vendor == "sqlite":
        yield from _check_sqlite(backend, where, alias in databases)
    if connection.vendor == "mysql" and alias in databases:
        yield from _check_mariadb(backend, where)
    if connection.vendor == "postgresql" and backend.options.NOTIFY:
        from django.db.backends.postgresql.psycopg_any import is_psycopg3

        if not is_psycopg3:
            yield checks.Warning(
                f"{where} has OPTIONS['NOTIFY'] on, which needs psycopg 3; with psycopg2 "
                f"idle workers poll instead of waking on NOTIFY.",
                hint="Install psycopg 3 (pip install 'psycopg[binary]'), or set NOTIFY to False.",
                id="django_tasks.W022",
            )


def _check_mariadb(backend: "DatabaseBackend", where: str) -> Iterable[checks.CheckMessage]:
    connection: Any = connections[backend.database]
    if connection.mysql_is_mariadb and connection.mysql_version < MIN_MARIADB_VERSION:
        version = ".".join(map(str, connection.mysql_version))
        yield checks.Error(
            f"{where} keeps its queue in database {backend.database!r}, a MariaDB {version} "
            f"server; the database backend needs MariaDB 10.6 or later (SKIP LOCKED).",
            hint="Upgrade MariaDB, or keep the queue in another database.",
            id="django_tasks.E026",
        )
    with connection.cursor() as cursor:
        cursor.execute("SELECT @@max_allowed_packet")
        packet = int(cursor.fetchone()[0])
    largest = backend.options.MAX_JSON_BYTES
    needed = JSON_GROWTH * largest + STATEMENT_ROOM
    if needed > packet:
        yield checks.Warning(
            f"{where}['OPTIONS']['MAX_JSON_BYTES'] is {largest:,}, but the server of database "
            f"{backend.database!r} takes statements of at most {packet:,} bytes "
            f"(max_allowed_packet): escaped for it, JSON that large takes up to {needed:,}, "
            f"and the server drops the connection of a statement it cannot take.",
            hint=f"Lower MAX_JSON_BYTES to {(packet - STATEMENT_ROOM) // JSON_GROWTH:,} or less, "
            f"or raise the server's max_allowed_packet to {needed:,} or more.",
            id="django_tasks.W023",
        )


def _check_sqlite(
    backend: "DatabaseBackend", where: str, can_connect: bool
) -> Iterable[checks.CheckMessage]:
    alias = backend.database
    if sqlite3.sqlite_version_info < MIN_SQLITE_VERSION:
        yield checks.Error(
            f"{where} keeps its queue in SQLite database {alias!r}, but this Python uses "
            f"SQLite {sqlite3.sqlite_version}; the database backend needs 3.35 or later "
            f"(UPDATE ... RETURNING).",
            hint="Use a Python built with a newer SQLite, or install pysqlite3.",
            id="django_tasks.E025",
        )
    options = connections[alias].settings_dict["OPTIONS"]
    if str(options.get("transaction_mode", "")).upper() != "IMMEDIATE":
        yield checks.Warning(
            f"{where} keeps its queue in SQLite database {alias!r}, whose transactions "
            f"start DEFERRED: a transaction that reads, then enqueues a task while a worker "
            f"writes, fails at once with 'database is locked'.",
            hint=f"Set DATABASES[{alias!r}]['OPTIONS']['transaction_mode'] = 'IMMEDIATE'.",
            id="django_tasks.W020",
        )
    if can_connect:
        with connections[alias].cursor() as cursor:
            cursor.execute("PRAGMA journal_mode")
            mode = cursor.fetchone()[0]
        if str(mode).lower() != "wal":
            yield checks.Warning(
                f"{where} keeps its queue in SQLite database {alias!r}, which is in "
                f"{mode!r} journal mode: every commit waits for the disk, and readers "
                f"block writers.",
                hint=f"Add 'PRAGMA journal_mode=WAL' to DATABASES[{alias!r}]['OPTIONS']"
                f"['init_command'] (WAL persists in the database file).",
                id="django_tasks.W021",
            )


def check_schedules(backend: "DatabaseBackend") -> Iterable[checks.CheckMessage]:
    """The schedules of OPTIONS["SCHEDULES"]: IDs E070-E075 (see django_tasks.schedules)."""
    declared = {schedule.name for schedule in schedule_registry.for_backend(backend.alias)}
    for name, options in backend.options.SCHEDULES.items():
        where = f"TASKS[{backend.alias!r}]['OPTIONS']['SCHEDULES'][{name!r}]"
        if name in declared:
            yield checks.Error(
                f"Schedule {name!r} of backend {backend.alias!r} is declared both in code and "
                f"in OPTIONS['SCHEDULES'].",
                hint="Rename one of them.",
                obj=where,
                id=SCHEDULE_NAME_TAKEN,
            )
        try:
            schedule = backend.schedule_from_options(name, options)
        except InvalidScheduleError as e:
            yield checks.Error(str(e), hint=f"Correct {where}.", obj=where, id=e.check_id)
            continue
        try:
            task = task_registry.resolve(options.task)
        except InvalidTaskError as e:
            yield checks.Error(
                str(e),
                hint=f"Set {where}['task'] to the module path of a task.",
                obj=where,
                id=SCHEDULED_TASK_UNKNOWN,
            )
            continue
        yield from check_schedule(schedule, backend, task)


def exception_class_at(path: str) -> type[BaseException] | str:
    """The exception class at the dotted ``path`` (an entry of OPTIONS RETRY_ON), or what is
    wrong with it, as the end of a sentence."""
    try:
        found = import_string(path)
    except ImportError as e:
        return f"{path!r} cannot be imported ({e})"
    if not (isinstance(found, type) and issubclass(found, BaseException)):
        return f"{path!r} is {found!r}, not an exception class"
    return found


def retry_on_message(alias: str, problem: str) -> str:
    """The message of an entry of RETRY_ON that is not an exception class (see
    exception_class_at)."""
    return f"TASKS[{alias!r}]['OPTIONS']['RETRY_ON'] is invalid: {problem}."
