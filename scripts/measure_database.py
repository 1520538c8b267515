"""Rough throughput and latency numbers of the database backend, for development.

Not a benchmark (issue 7 has the real one, against the peers): a quick way to see the effect of
a change. It uses the test settings on databases of its own (DJANGO_TASKS_TEST_DB_SUFFIX, by
default "_measure"), which it creates and migrates.

    .venv/bin/python scripts/measure_database.py --database postgres enqueue bulk drain latency
    .venv/bin/python scripts/measure_database.py --database default drain --workers 2
    .venv/bin/python scripts/measure_database.py --database postgres history
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_TASKS_TEST_DB_SUFFIX", "_measure")
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.worker_settings"


def report(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def setup(database: str) -> None:
    import django
    from django.conf import settings

    backend = {
        "BACKEND": "django_tasks.backends.database.DatabaseBackend",
        "QUEUES": [],
        "OPTIONS": {"DATABASE": database},
    }
    os.environ["DJANGO_TASKS_TEST_TASKS"] = json.dumps({"default": backend})
    django.setup()
    name = settings.DATABASES[database]["NAME"]
    if database == "postgres":
        subprocess.run(
            ["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"CREATE DATABASE {name}"],
            capture_output=True,
        )
    elif database == "mysql":
        subprocess.run(
            ["mysql", "-h127.0.0.1", "-uroot", "-e", f"CREATE DATABASE IF NOT EXISTS {name}"],
            capture_output=True,
        )
    from django.core.management import call_command

    call_command("migrate", database=database, verbosity=0)


def clear(database: str) -> None:
    from django_tasks.backends.database.models import DBTaskResult

    DBTaskResult.objects.using(database).all().delete()


def measure_enqueue(database: str, n: int) -> None:
    from tests.tasks import noop

    clear(database)
    noop.enqueue()
    start = time.perf_counter()
    for _ in range(n):
        noop.enqueue()
    elapsed = time.perf_counter() - start
    report(f"enqueue one by one: {n / elapsed:8.0f} tasks/s  ({elapsed * 1e6 / n:.0f} us each)")


def measure_bulk(database: str, n: int) -> None:
    from django_tasks import default_task_backend
    from tests.tasks import noop

    clear(database)
    start = time.perf_counter()
    default_task_backend.bulk_enqueue(noop, [((), {})] * n)  # type: ignore[attr-defined]
    elapsed = time.perf_counter() - start
    report(f"bulk_enqueue:       {n / elapsed:8.0f} tasks/s  ({n} in {elapsed:.3f} s)")


def finished(database: str) -> int:
    from django_tasks.backends.database.models import DBTaskResult

    return DBTaskResult.objects.using(database).filter(finished_at__isnull=False).count()


def worker(extra: list[str]) -> "subprocess.Popen[bytes]":
    """A db_worker process (at verbosity 0 unless ``extra`` says otherwise), its output
    appended to /tmp/measure_database_worker.log."""
    verbosity = [] if any(arg.startswith("-v") for arg in extra) else ["-v0"]
    with open("/tmp/measure_database_worker.log", "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "django", "db_worker", *verbosity, *extra],
            cwd=ROOT,
            env=os.environ,
            stdout=log,
            stderr=log,
        )


def measure_drain(database: str, n: int, workers: int, extra: list[str]) -> None:
    from django_tasks import default_task_backend
    from django_tasks.backends.database.models import DBTaskResult
    from tests.tasks import noop

    clear(database)
    default_task_backend.bulk_enqueue(noop, [((), {})] * n)  # type: ignore[attr-defined]
    start = time.perf_counter()
    processes = [worker(["--batch", *extra]) for _ in range(workers)]
    while finished(database) < n:
        time.sleep(0.05)
    elapsed = time.perf_counter() - start
    for process in processes:
        process.wait()
    rows = DBTaskResult.objects.using(database)
    first = min(start for start in rows.values_list("started_at", flat=True) if start)
    last = max(end for end in rows.values_list("finished_at", flat=True) if end)
    steady = n / (last - first).total_seconds()
    report(
        f"drain W={workers} {' '.join(extra)}: {n / elapsed:8.0f} tasks/s wall, {steady:.0f} steady"
    )


def measure_latency(database: str, count: int, extra: list[str]) -> None:
    from tests.database.tasks import started_at

    clear(database)
    process = worker(["--interval", "1", *extra])
    try:
        started_at.enqueue()  # Warm up.
        time.sleep(2)
        delays = []
        results = []
        for _ in range(count):
            t0 = time.time()
            results.append((t0, started_at.enqueue()))
            time.sleep(0.02)
        time.sleep(1)
        for t0, result in results:
            result.refresh()
            delays.append((result.return_value - t0) * 1000)
    finally:
        process.terminate()
        process.wait()
    delays.sort()
    p95 = delays[int(len(delays) * 0.95) - 1]
    report(f"latency: median {statistics.median(delays):.1f} ms, p95 {p95:.1f} ms")


def measure_claims(database: str, n: int) -> float:
    """Claim+finish rate of one in-process loop, as the worker's statements do it."""
    from django.db import connections

    from django_tasks import default_task_backend
    from django_tasks.backends.database.queries import Finish, queries_for
    from tests.tasks import noop

    default_task_backend.bulk_enqueue(noop, [((), {})] * n)  # type: ignore[attr-defined]
    queries = queries_for(database)
    start = time.perf_counter()
    with connections[database].cursor() as cursor:
        while True:
            rows = queries.claim(
                cursor, worker_id="m", backend="default", queues=None, limit=1, lease_seconds=30
            )
            if not rows:
                break
            row = rows[0]
            queries.finish(
                cursor,
                worker_id="m",
                finishes=[
                    Finish(
                        id=row.id,
                        attempts=row.attempts,
                        status="SUCCEEDED",
                        started_at=row.started_at,
                        finished_at=row.started_at,
                        return_value="null",
                        exception_class_path="",
                        traceback="",
                    )
                ],
            )
    return n / (time.perf_counter() - start)


def measure_history(database: str, n: int, history: int) -> None:
    """Claim+finish rate with an empty table, then with ``history`` finished rows (PostgreSQL),
    alternating three times; the claim index covers only NEW rows, so it should not matter."""
    from django.db import connections

    table = "django_tasks_spec_database_dbtaskresult"
    rates: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(3):
        for full in (False, True):
            clear(database)
            with connections[database].cursor() as cursor:
                if full:
                    cursor.execute(
                        f"INSERT INTO {table} (id, status, backend, queue_name, task_path, "
                        f"priority, arguments, enqueued_at, available_at, started_at, "
                        f"finished_at, attempts, worker_id, worker_ids, return_value, "
                        f"exception_class_path, traceback) "
                        f"SELECT gen_random_uuid(), 'SUCCEEDED', 'default', 'default', "
                        f"'tests.tasks.noop', 0, '{{\"args\": [], \"kwargs\": {{}}}}', now(), "
                        f"now(), now(), now(), 1, 'w', '[\"w\"]', 'null', '', '' "
                        f"FROM generate_series(1, %s) AS i",
                        [history],
                    )
                cursor.execute(f"VACUUM ANALYZE {table}")
            rates[full].append(measure_claims(database, n))
    empty, loaded = statistics.median(rates[False]), statistics.median(rates[True])
    report(
        f"claim+finish, 1 by 1, empty table: {empty:8.0f} /s  {[round(r) for r in rates[False]]}"
    )
    report(
        f"claim+finish, 1 by 1, {history} finished rows: {loaded:8.0f} /s "
        f"{[round(r) for r in rates[True]]} ({loaded / empty:.0%} of empty)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", nargs="+")
    parser.add_argument("--database", default="postgres")
    parser.add_argument("-n", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--history", type=int, default=1_000_000)
    parser.add_argument("--worker-args", default="")
    args = parser.parse_args()
    setup(args.database)
    extra = args.worker_args.split()
    for what in args.what:
        if what == "enqueue":
            measure_enqueue(args.database, args.n)
        elif what == "bulk":
            measure_bulk(args.database, args.n)
        elif what == "drain":
            measure_drain(args.database, args.n, args.workers, extra)
        elif what == "latency":
            measure_latency(args.database, 200, extra)
        elif what == "history":
            measure_history(args.database, args.n, args.history)


if __name__ == "__main__":
    main()
