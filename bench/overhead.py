"""What metrics and traces cost a worker (issue 19: "the worker's drain rate with metrics on stays
within 5% of off"). A benchmark, not a test, and not part of ``./dev bench``: run it by hand.

    .venv/bin/python -m bench.overhead --tasks 20000 --repeat 3

Two measurements:

1. Drain: ``--tasks`` no-op tasks are bulk-enqueued on PostgreSQL (the database
   ``django_tasks_overhead_bench`` on 127.0.0.1:5432, created anew), then one
   ``db_worker --batch`` runs them, with metrics off, with ``--metrics-port`` (metrics on), and
   with an OpenTelemetry SDK tracer provider (tracing on: every row carries a trace context, and
   spans go through a BatchSpanProcessor to an exporter that drops them, so the cost is this
   project's instrumentation and the SDK's, not an exporter's). The modes take turns,
   ``--repeat`` times each. Reported: the drain rate (tasks / the time from the first start to
   the last finish, read from the table) and the worker's CPU time per task (user + system,
   less that of a worker of the same mode that starts and finds nothing to do).
2. Isolation: the work each mode adds per task, timed alone in this process in a tight loop
   (µs per task): WorkerMetrics.finished() as the worker calls it, and tracing.consuming()
   around a run, on (SDK) and off. On a shared, noisy machine, drain rates of separate runs
   differ by more than 5% from noise alone; this figure, next to the worker's CPU per task,
   says what the overhead is.
"""

import argparse
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

DATABASE = "django_tasks_overhead_bench"
MODES = ("off", "metrics", "tracing")
TASK_MODULE = "django_tasks_conformance.tasks"
ROOT = Path(__file__).resolve().parent.parent


def configure() -> None:
    # Imported here: the worker's and the driver's settings are made before Django is set up.
    import django
    from django.conf import settings

    settings.configure(
        INSTALLED_APPS=["django_tasks", "django_tasks.backends.database"],
        DATABASES={
            "default": {
                "ENGINE": "django.db.backends.postgresql",
                "HOST": "127.0.0.1",
                "PORT": 5432,
                "USER": "postgres",
                "NAME": DATABASE,
                "CONN_MAX_AGE": None,
            }
        },
        TASKS={"default": {"BACKEND": "django_tasks.backends.database.DatabaseBackend"}},
        TASK_MODULES=[TASK_MODULE],
        USE_TZ=True,
        LOGGING_CONFIG=None,
    )
    django.setup()


def create_database() -> None:
    # Imported here: psycopg is the postgres extra's, needed only by this benchmark's driver.
    import psycopg

    with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as c:
        c.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
        c.execute(f"CREATE DATABASE {DATABASE}")


def discarding_provider() -> Any:
    """An SDK tracer provider whose spans go through a BatchSpanProcessor and are dropped."""
    # Imported here: the SDK is a development dependency, for the tracing mode only.
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        SpanExporter,
        SpanExportResult,
    )

    class Discard(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(Discard()))
    return provider


def worker_main(mode: str) -> None:
    """The worker process of one run: db_worker --batch in this mode."""
    configure()
    # Imported here: Django is set up first (configure()).
    from django.core.management import call_command

    arguments = ["--batch", "--no-startup-delay", "--interval", "0.05", "--skip-checks"]
    if mode == "metrics":
        arguments += ["--metrics-port", str(free_port())]
    if mode == "tracing":
        # Imported here: the API is the opentelemetry extra's, for the tracing mode only.
        from opentelemetry import trace

        trace.set_tracer_provider(discarding_provider())
    call_command("db_worker", *arguments, verbosity=0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def enqueue(tasks: int, traced: bool) -> None:
    """Empty the table, then enqueue ``tasks`` no-op tasks (each with a trace context if
    ``traced``, as an enqueue inside a span would store)."""
    # Imported here: Django is set up first (configure()).
    from django.db import connection

    from django_tasks import default_task_backend
    from django_tasks_conformance.tasks import noop

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE django_tasks_spec_database_dbtaskresult")
        cursor.execute("TRUNCATE django_tasks_spec_database_dbworker")
    backend: Any = default_task_backend
    for start in range(0, tasks, 5000):
        backend.bulk_enqueue(noop, [((), {})] * min(5000, tasks - start))
    if traced:
        context = json.dumps({"traceparent": f"00-{os.urandom(16).hex()}-{os.urandom(8).hex()}-01"})
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE django_tasks_spec_database_dbtaskresult SET trace_context = %s::jsonb",
                [context],
            )
        connection.close()


def drain(mode: str) -> tuple[float, float]:
    """Run a worker until the queue is empty; return its CPU seconds and the drain's seconds
    (first start to last finish)."""
    # Imported here: Django is set up first (configure()).
    from django.db import connection

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(
        [sys.executable, "-m", "bench.overhead", "--worker", mode],
        cwd=ROOT,
        check=True,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FILTER (WHERE status <> 'SUCCEEDED'), "
            "EXTRACT(EPOCH FROM max(finished_at) - min(started_at)) "
            "FROM django_tasks_spec_database_dbtaskresult"
        )
        unfinished, seconds = cursor.fetchone()
    assert unfinished == 0, f"{unfinished} tasks did not succeed in mode {mode!r}."
    return cpu, float(seconds or 0.0)


def per_call(function: Callable[[], Any], number: int = 20_000) -> float:
    """The best of five timings of ``function``, in µs per call."""
    return min(timeit.repeat(function, number=number, repeat=5)) / number * 1e6


def isolation() -> dict[str, float]:
    """µs per task of what each mode adds, timed alone (see the module docstring)."""
    # Imported here: Django is set up first (configure()); the SDK for the tracing figure.
    from opentelemetry import trace

    from django_tasks import tasks, tracing
    from django_tasks.backends.database.metrics import WorkerMetrics
    from django_tasks.execution import Outcome
    from django_tasks.results import ResultStatus
    from django_tasks_conformance.tasks import noop

    metrics = WorkerMetrics(free_port(), "127.0.0.1")
    try:
        metrics_us = per_call(
            lambda: metrics.finished(
                backend="default",
                queue="default",
                task=noop.module_path,
                status="SUCCEEDED",
                run_seconds=0.0004,
            )
        )
    finally:
        metrics.close()
    result: Any = tasks["default"]._new_result(noop, (), {})
    outcome = Outcome(status=ResultStatus.SUCCEEDED)
    fields = {"traceparent": f"00-{os.urandom(16).hex()}-{os.urandom(8).hex()}-01"}

    def traced_run() -> Any:
        return tracing.consuming(result, fields, lambda: outcome)

    off_us = per_call(traced_run)
    trace.set_tracer_provider(discarding_provider())
    on_us = per_call(traced_run, number=5_000)
    return {"metrics": metrics_us, "tracing off": off_us, "tracing on": on_us}


def say(line: str) -> None:
    sys.stdout.write(f"{line}\n")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--worker", choices=MODES, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.worker:
        worker_main(options.worker)
        return
    create_database()
    configure()
    # Imported here: Django is set up first (configure()).
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    enqueue(0, traced=False)
    # Each mode's start-up differs (prometheus_client, the SDK): subtract each its own.
    idle = {mode: statistics.median(drain(mode)[0] for _ in range(3)) for mode in MODES}
    cpu: dict[str, list[float]] = {mode: [] for mode in MODES}
    rate: dict[str, list[float]] = {mode: [] for mode in MODES}
    for round_number in range(options.repeat):
        for mode in MODES:
            enqueue(options.tasks, traced=mode == "tracing")
            seconds_cpu, seconds = drain(mode)
            cpu[mode].append((seconds_cpu - idle[mode]) / options.tasks * 1e6)
            rate[mode].append(options.tasks / seconds)
            say(
                f"round {round_number + 1} {mode:8} {rate[mode][-1]:8.0f} tasks/s "
                f"{cpu[mode][-1]:7.1f} µs CPU/task"
            )
    idle_text = ", ".join(f"{mode} {seconds:.2f} s" for mode, seconds in idle.items())
    say(f"\nworker start-up and idle exit, CPU (subtracted): {idle_text}")
    say(f"{'mode':8} {'drain (median)':>16} {'vs off':>8} {'CPU/task':>12} {'vs off':>8}")
    base_rate, base_cpu = statistics.median(rate["off"]), statistics.median(cpu["off"])
    for mode in MODES:
        r, c = statistics.median(rate[mode]), statistics.median(cpu[mode])
        say(
            f"{mode:8} {r:12.0f} t/s {r / base_rate - 1:+8.1%} {c:9.1f} µs {c / base_cpu - 1:+8.1%}"
        )
    say("\nadded per task, timed alone:")
    for name, micros in isolation().items():
        say(f"  {name:12} {micros:7.2f} µs  ({micros / base_cpu:.1%} of a task's worker CPU)")


if __name__ == "__main__":
    main()
