"""How long the dashboard's queries take on a large table (issue 19: under 100 ms each on 10
million results on PostgreSQL). A benchmark, not a test: run it by hand.

    .venv/bin/python -m bench.dashboard_queries --rows 10000000

It creates (or reuses, with --reuse) the PostgreSQL database ``django_tasks_dashboard_bench`` on
127.0.0.1:5432, migrates it, fills the queue table with ``--rows`` results (finished over the last
14 days, 2% of them failed, the last hour busy, a backlog of NEW and RUNNING rows), then reads the
dashboard's Snapshot ``--repeat`` times and prints each statement's median time.
"""

import argparse
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import django
from django.conf import settings

DATABASE = "django_tasks_dashboard_bench"


def configure() -> None:
    settings.configure(
        INSTALLED_APPS=["django_tasks", "django_tasks.backends.database"],
        DATABASES={
            "default": {
                "ENGINE": "django.db.backends.postgresql",
                "HOST": "127.0.0.1",
                "PORT": 5432,
                "USER": "postgres",
                "NAME": DATABASE,
            }
        },
        TASKS={"default": {"BACKEND": "django_tasks.backends.database.DatabaseBackend"}},
        USE_TZ=True,
    )
    django.setup()


def create_database() -> None:
    import psycopg

    with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as c:
        c.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
        c.execute(f"CREATE DATABASE {DATABASE}")


def fill(rows: int) -> None:
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    table = "django_tasks_spec_database_dbtaskresult"
    backlog = min(20_000, rows // 100)
    finished = rows - backlog
    recent = min(200_000, finished // 10)  # Finished in the last hour.
    with connection.cursor() as cursor:
        started = time.monotonic()
        cursor.execute(
            f"""INSERT INTO {table} (id, status, backend, queue_name, task_path, priority,
                arguments, enqueued_at, available_at, started_at, finished_at, attempts,
                worker_id, worker_ids, exception_class_path, traceback)
            SELECT gen_random_uuid(), CASE WHEN n %% 50 = 0 THEN 'FAILED' ELSE 'SUCCEEDED' END,
                'default', (ARRAY['default', 'mail', 'reports'])[1 + n %% 3],
                'app.tasks.t' || (n %% 20), 0, '{{"args": [], "kwargs": {{}}}}',
                t - interval '3 seconds', t - interval '3 seconds', t - interval '1 second', t,
                1, 'host:' || (n %% 8), '[]',
                CASE WHEN n %% 50 = 0 THEN 'builtins.ValueError' ELSE '' END,
                CASE WHEN n %% 50 = 0 THEN 'ValueError: boom' ELSE '' END
            FROM (SELECT n, CASE WHEN n <= %s
                    THEN now() - (n * interval '1 hour' / %s)
                    ELSE now() - interval '1 hour' - ((n - %s) * interval '14 days' / %s) END AS t
                  FROM generate_series(1, %s) AS n) AS s""",
            [recent, recent, recent, max(finished - recent, 1), finished],
        )
        cursor.execute(
            f"""INSERT INTO {table} (id, status, backend, queue_name, task_path, priority,
                arguments, enqueued_at, available_at, started_at, lease_expires_at, attempts,
                worker_id, worker_ids, exception_class_path, traceback)
            SELECT gen_random_uuid(), CASE WHEN n %% 100 = 0 THEN 'RUNNING' ELSE 'NEW' END,
                'default', (ARRAY['default', 'mail', 'reports'])[1 + n %% 3],
                'app.tasks.t' || (n %% 20), 0, '{{"args": [], "kwargs": {{}}}}',
                now() - interval '1 minute', now() + (n %% 10 - 5) * interval '1 minute',
                CASE WHEN n %% 100 = 0 THEN now() END,
                CASE WHEN n %% 100 = 0 THEN now() + interval '30 seconds' END,
                CASE WHEN n %% 100 = 0 THEN 1 ELSE 0 END,
                CASE WHEN n %% 100 = 0 THEN 'host:' || (n %% 8) ELSE '' END, '[]', '', ''
            FROM generate_series(1, %s) AS n""",
            [backlog],
        )
        cursor.execute(f"VACUUM ANALYZE {table}")
        sys.stderr.write(f"Filled {rows:,} rows in {time.monotonic() - started:.0f} s.\n")


def measure(repeat: int) -> dict[str, list[float]]:
    from django.db import connection

    from django_tasks.backends.database.stats import database_backends, snapshot

    timings: dict[str, list[float]] = defaultdict(list)

    def timed(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            text = " ".join(sql.split()).replace('"django_tasks_spec_database_', '"')
            if "STATEMENT_TIMESTAMP" in text:  # The first statement of a snapshot.
                position[0] = 0
            position[0] += 1
            timings[f"{position[0]}. {text[:150]}"].append((time.perf_counter() - started) * 1000)

    position = [0]
    backends = database_backends()
    with connection.execute_wrapper(timed):
        for _ in range(repeat):
            snapshot(backends)
    return timings


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--reuse", action="store_true", help="Keep the filled database.")
    options = parser.parse_args(argv)
    if not options.reuse:
        create_database()
    configure()
    if not options.reuse:
        fill(options.rows)
    for sql, times in measure(options.repeat).items():
        sys.stdout.write(f"{statistics.median(times):8.1f} ms  (max {max(times):7.1f})  {sql}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
