"""The two database backends that implement DEP 0014: ours and django-tasks-db.

Both are driven through the same public API (``benchtasks.tasks``, ``default_task_backend``) and
their own ``db_worker``. The store is read through the backend's result model, found in the
backend's app by its fields, so nothing here depends on a table layout.
"""

import importlib.metadata
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.core.management.color import no_style
from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.models import Count, Max, Min

from benchdriver.common import (
    Adapter,
    BenchError,
    Outcome,
    Window,
    Workers,
    process_stat,
    python,
)

POLL_INTERVAL = "0.1"
"""db_worker's --interval for both systems: how long an idle worker sleeps between polls."""


class DjangoTasksAdapter(Adapter):
    """A DEP 0014 database backend, its result model and its db_worker."""

    app_module: str
    """The module of the backend's Django app, which holds the result model."""

    succeeded: str
    """The status value of a task that succeeded."""

    finished_statuses: tuple[str, ...]
    """The status values of a finished task."""

    distributions: tuple[str, ...]
    """The packages whose versions are reported."""

    worker_options: tuple[str, ...] = ("--interval", POLL_INTERVAL)

    time_ordered_keys: bool = False
    """Whether the backend's primary keys grow with time (UUIDv7), as the history's copy."""

    def __init__(self, system: str, store: str) -> None:
        super().__init__(system, store)
        self._model: type[models.Model] | None = None

    @property
    def model(self) -> type[models.Model]:
        if self._model is None:
            self._model = _result_model(self.app_module)
        return self._model

    def setup(self) -> dict[str, Any]:
        _recreate_database()
        call_command("migrate", verbosity=0, interactive=False)
        connection = connections[DEFAULT_DB_ALIAS]
        server = ".".join(map(str, connection.get_database_version()))
        return {
            "versions": _versions(self.distributions, self.store),
            "server": f"{connection.display_name} {server}",
            "settings": {
                "CONN_MAX_AGE": settings.DATABASES[DEFAULT_DB_ALIAS]["CONN_MAX_AGE"],
                "TASKS": settings.TASKS,
                "database OPTIONS": settings.DATABASES[DEFAULT_DB_ALIAS].get("OPTIONS", {}),
                "worker": "manage.py db_worker " + " ".join(self.worker_options),
                "result table": self.model._meta.db_table,
                **self.backend_settings(),
            },
        }

    def backend_settings(self) -> dict[str, Any]:
        """What else decides the backend's speed, as this system reports it."""
        return {}

    def reset(self) -> None:
        connection = connections[DEFAULT_DB_ALIAS]
        statements = connection.ops.sql_flush(no_style(), [self.model._meta.db_table])
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)

    def enqueue_noop(self) -> str:
        from benchtasks.tasks import noop

        return noop.enqueue().id

    def enqueue_stamp(self) -> str:
        from benchtasks.tasks import stamp

        return stamp.enqueue().id

    def enqueue_io(self) -> str:
        from benchtasks.tasks import io

        return io.enqueue().id

    def worker_commands(
        self,
        workers: int,
        *,
        batch: bool,
        concurrency: int = 1,
        pool: str = "prefork",
        defaults: bool = False,
    ) -> list[list[str]]:
        command = [python(), "manage.py", "db_worker"]
        if not defaults:
            command += self.worker_options
        if concurrency > 1:
            if not self.has_concurrency:
                raise BenchError(f"{self.system!r}'s db_worker runs one task at a time.")
            command += ["--concurrency", str(concurrency)]
        if batch:
            command.append("--batch")
        return [[*command, "--worker-id", f"bench-{i}"] for i in range(workers)]

    def idle_counters(self) -> tuple[float, float] | None:
        if self.store != "postgresql":
            return None
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT xact_commit + xact_rollback FROM pg_stat_database "
                "WHERE datname = current_database()"
            )
            (transactions,) = cursor.fetchone()
            cursor.execute(
                "SELECT pid FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            pids = [pid for (pid,) in cursor.fetchall()]
        cpu = 0.0
        for pid in pids:
            stat = process_stat(pid)
            if stat is not None:
                cpu += stat[1].cpu
        # This query's own transactions (two) are not the workers'.
        return float(transactions) - 2, cpu

    def wait_drained(self, expected: int, workers: Workers, deadline: float) -> None:
        workers.wait(deadline)  # --batch: each worker exits once nothing is left.

    def finished(self) -> int:
        return self.model._default_manager.filter(status__in=self.finished_statuses).count()

    def outcome(self) -> Outcome:
        by_status = dict(
            self.model._default_manager.values_list("status").annotate(n=Count("pk")).order_by()
        )
        return Outcome(succeeded=by_status.get(self.succeeded, 0), total=sum(by_status.values()))

    def window(self, since: float) -> Window:
        recent = self.model._default_manager.filter(
            status=self.succeeded, started_at__gte=datetime.fromtimestamp(since, UTC)
        )
        span = recent.aggregate(first=Min("started_at"), last=Max("finished_at"), n=Count("pk"))
        if not span["n"]:
            raise BenchError(f"No task of {self.system!r} succeeded on {self.store!r}.")
        first, last = span["first"].timestamp(), span["last"].timestamp()
        return Window(first=first, last=last, rate=span["n"] / max(last - first, 1e-9))

    def stamps(self, ids: Sequence[str]) -> list[float]:
        found: dict[str, Any] = {}
        for start in range(0, len(ids), 5000):
            chunk = ids[start : start + 5000]
            rows = self.model._default_manager.filter(pk__in=chunk).values_list(
                "pk", "return_value"
            )
            found.update((str(pk), value) for pk, value in rows)
        missing = [result_id for result_id in ids if found.get(result_id) is None]
        if missing:
            raise BenchError(
                f"{len(missing)} stamp tasks have no return value (e.g. {missing[0]})."
            )
        return [float(found[result_id]) for result_id in ids]

    def analyze(self) -> None:
        if self.store == "postgresql":
            table = connections[DEFAULT_DB_ALIAS].ops.quote_name(self.model._meta.db_table)
            with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
                cursor.execute(f"ANALYZE {table}")

    def add_history(self, rows: int) -> None:
        if self.store != "postgresql":
            raise BenchError(f"The history workload runs on PostgreSQL, not on {self.store!r}.")
        template = self.model._default_manager.filter(status=self.succeeded).first()
        if template is None:
            raise BenchError("The history workload needs one finished task to copy.")
        _clone_rows(self.model, template.pk, rows, time_ordered_keys=self.time_ordered_keys)


class Ours(DjangoTasksAdapter):
    app_module = "django_tasks.backends.database"
    time_ordered_keys = True
    succeeded = "SUCCEEDED"
    finished_statuses = ("SUCCEEDED", "FAILED")
    distributions = ("django-tasks-spec", "Django", "psycopg", "mysqlclient")

    def backend_settings(self) -> dict[str, Any]:
        from django_tasks import default_task_backend

        return {
            "OPTIONS (effective)": default_task_backend.options.model_dump(),
            "concurrency": "db_worker's default (--concurrency 1: one task at a time)",
        }

    def bulk_enqueue_noops(self, count: int) -> bool:
        from benchtasks.tasks import noop

        from django_tasks import default_task_backend

        # DatabaseBackend.bulk_enqueue(task, [(args, kwargs), ...]); absent: not offered.
        bulk_enqueue = getattr(default_task_backend, "bulk_enqueue", None)
        if bulk_enqueue is None:
            return False
        bulk_enqueue(noop, [([], {})] * count)
        return True

    def enqueue_flaky(self, number: int) -> str | None:
        # Imported here: the module declares retry options only our backend knows.
        from benchtasks.retrying import flaky

        return str(flaky.enqueue(number).id)

    def bulk_enqueue_flaky(self, numbers: range) -> bool:
        # Imported here: the module declares retry options only our backend knows.
        from benchtasks.retrying import flaky

        from django_tasks import default_task_backend

        bulk_enqueue = getattr(default_task_backend, "bulk_enqueue", None)
        if bulk_enqueue is None:
            return False
        bulk_enqueue(flaky, [([number], {}) for number in numbers])
        return True

    def enqueue_unique_noop(self, key: str) -> str | None:
        from benchtasks.tasks import noop

        from django_tasks import default_task_backend

        # supports_unique: unique_key (issue 17); absent (an older checkout): not offered.
        if not getattr(default_task_backend, "supports_unique", False):
            return None
        return str(noop.using(unique_key=key).enqueue().id)


class DjangoTasksDb(DjangoTasksAdapter):
    app_module = "django_tasks_db"
    succeeded = "SUCCESSFUL"
    finished_statuses = ("SUCCESSFUL", "FAILED")
    distributions = ("django-tasks-db", "django-tasks", "Django", "psycopg", "mysqlclient")
    # The 0-1 s random sleep at start-up (against thundering herds) is switched off.
    worker_options = ("--interval", POLL_INTERVAL, "--no-startup-delay")
    has_concurrency = False

    def backend_settings(self) -> dict[str, Any]:
        return {"concurrency": "one task at a time (db_worker has no concurrency option)"}


def _result_model(app_module: str) -> type[models.Model]:
    config = apps.get_containing_app_config(app_module)
    if config is None:
        raise BenchError(f"No installed app contains {app_module!r}; check INSTALLED_APPS.")
    for model in config.get_models():
        fields = {field.name for field in model._meta.get_fields()}
        if {"status", "started_at", "finished_at"} <= fields:
            return model
    raise BenchError(
        f"App {config.label!r} has no model with status, started_at and finished_at fields."
    )


def _recreate_database() -> None:
    """Start from an empty database, so that each run migrates the schema it measures (a
    database left by an earlier run may hold another version of the tables)."""
    name = settings.DATABASES[DEFAULT_DB_ALIAS]["NAME"]
    if "server" not in settings.DATABASES:  # SQLite: the database is a file (and its journals).
        connections[DEFAULT_DB_ALIAS].close()
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{name}{suffix}").unlink(missing_ok=True)
        return
    server = connections["server"]
    quoted = server.ops.quote_name(str(name))
    with server.cursor() as cursor:
        if server.vendor == "postgresql":
            cursor.execute(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")
            cursor.execute(f"CREATE DATABASE {quoted}")
        else:
            cursor.execute(f"DROP DATABASE IF EXISTS {quoted}")
            cursor.execute(f"CREATE DATABASE {quoted} CHARACTER SET utf8mb4")
    server.close()


DRIVERS = {"psycopg": "postgresql", "mysqlclient": "mysql"}


def _versions(distributions: Sequence[str], store: str) -> dict[str, str]:
    versions = {}
    for name in distributions:
        if DRIVERS.get(name, store) != store:
            continue  # Another store's database driver.
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def _clone_rows(
    model: type[models.Model], template_pk: Any, rows: int, *, time_ordered_keys: bool
) -> None:
    """Insert ``rows`` copies of one finished row with one INSERT ... SELECT over
    generate_series (PostgreSQL), oldest first.

    Each copy gets a new primary key and timestamps one second further in the past per row, so
    the history spans days (10 million rows: about 4 months), as a real one does; then VACUUM
    ANALYZE, as autovacuum would. Where the backend's keys are UUIDv7 (``time_ordered_keys``),
    the copies' keys are too, from their own time, so the history sits below the new tasks in
    the primary key's index as it does in a real table; elsewhere they are random (UUIDv4).
    """
    connection = connections[DEFAULT_DB_ALIAS]
    quote = connection.ops.quote_name
    columns, values = [], []
    pk_column = ""
    for field in model._meta.concrete_fields:
        column = quote(str(field.column))
        if field.primary_key:
            pk_column = column
            if isinstance(field, models.AutoField | models.BigAutoField | models.SmallAutoField):
                continue  # The identity column numbers the copies.
            if isinstance(field, models.UUIDField) and time_ordered_keys:
                # UUIDv7: 48 bits of Unix milliseconds, the version, random bits, the variant.
                value = (
                    "(lpad(to_hex((extract(epoch FROM now() - g * interval '1 second') * 1000)"
                    "::bigint), 12, '0') || '7' || substr(md5(g::text), 1, 3) || '8' || "
                    "substr(md5(g::text), 4, 15))::uuid"
                )
            elif isinstance(field, models.UUIDField):
                value = "gen_random_uuid()"
            elif isinstance(field, models.CharField):
                value = "'history-' || g::text || '-' || md5(random()::text)"
            else:
                raise BenchError(f"Cannot invent primary keys for {field!r}.")
        elif isinstance(field, models.DateTimeField):
            value = f"{column} - g * interval '1 second'"
        else:
            value = column
        columns.append(column)
        values.append(value)
    table = quote(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(values)} "
            f"FROM {table} CROSS JOIN generate_series(%s, 1, -1) AS g WHERE {pk_column} = %s",
            [rows, template_pk],
        )
        cursor.execute(f"VACUUM ANALYZE {table}")


ADAPTERS: dict[str, type[DjangoTasksAdapter]] = {"ours": Ours, "dtdb": DjangoTasksDb}
