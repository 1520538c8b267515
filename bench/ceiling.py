"""The physical limit: a task queue's statements issued with psycopg directly, no framework.

One table shaped like a task-result table, a partial index on the ready rows, and the three
statements every PostgreSQL queue needs: insert a row, claim the next ready row
(``UPDATE ... WHERE id = (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING``), record the outcome.
Each is measured one per task (autocommit: one transaction per statement) and batched, on one
connection and on two processes, and the wake-up delay of LISTEN/NOTIFY is measured the way the
latency workload measures a system's.
"""

import multiprocessing
import statistics
import time
from dataclasses import dataclass
from multiprocessing.synchronize import Barrier
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

SERVER_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
DATABASE = "bench_ceiling"
DSN = f"host=127.0.0.1 port=5432 user=postgres dbname={DATABASE}"
CHANNEL = "bench_ceiling_ready"

SCHEMA = """
DROP TABLE IF EXISTS q;
CREATE TABLE q (
    id bigserial PRIMARY KEY,
    status text NOT NULL,
    queue_name text NOT NULL,
    priority integer NOT NULL,
    args jsonb NOT NULL,
    enqueued_at timestamptz NOT NULL,
    started_at timestamptz,
    finished_at timestamptz,
    worker_id text,
    return_value jsonb
);
CREATE INDEX q_ready ON q (queue_name, priority DESC, id) WHERE status = 'READY';
"""
ROW = "('READY', 'default', 0, %s, now())"
INSERT = "INSERT INTO q (status, queue_name, priority, args, enqueued_at) VALUES "
NEXT_READY = (
    "SELECT id FROM q WHERE status = 'READY' AND queue_name = 'default' "
    "ORDER BY priority DESC, id LIMIT %s FOR UPDATE SKIP LOCKED"
)
CLAIM = (
    f"UPDATE q SET status = 'RUNNING', started_at = now(), worker_id = %s "
    f"WHERE id IN ({NEXT_READY}) RETURNING id, args"
)
FINISH = (
    "UPDATE q SET status = 'SUCCEEDED', finished_at = now(), return_value = 'null' "
    "WHERE id = ANY(%s)"
)
HISTORY = (
    "INSERT INTO q (status, queue_name, priority, args, enqueued_at, started_at, finished_at, "
    "return_value) SELECT 'SUCCEEDED', 'default', 0, '{}', now() - g * interval '1 second', "
    "now() - g * interval '1 second', now() - g * interval '1 second', 'null' "
    "FROM generate_series(1, %s) AS g"
)
ARGS = Jsonb({"args": [], "kwargs": {}})
NOTIFYING_INSERT = (
    f"WITH new AS ({INSERT}{ROW} RETURNING queue_name) "
    f"SELECT pg_notify('{CHANNEL}', queue_name) FROM new"
)
"""One statement, one round trip, one transaction: the row and the wake-up commit together."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Parameters:
    count: int
    """Tasks per measurement."""

    batch: int
    """Rows per statement in the batched variants."""

    latency_count: int
    """Probes in the LISTEN/NOTIFY latency measurement."""

    gap_ms: float
    """Milliseconds between two probes."""

    history_rows: int
    """Finished rows in the table for the history measurement."""


def measure(parameters: Parameters) -> dict[str, float]:
    """One sample of every ceiling figure (tasks/s, or ms for latency)."""
    _create_database()
    n, batch = parameters.count, parameters.batch
    results: dict[str, float] = {}
    with psycopg.connect(DSN, autocommit=True) as conn:
        _reset(conn)
        results["enqueue 1-by-1"] = n / _timed(lambda: _insert(conn, n, 1))
        results["drain 1 conn"] = n / _timed(lambda: _drain(conn, 1))
        _reset(conn)
        results["enqueue batched"] = n / _timed(lambda: _insert(conn, n, batch))
        results["drain batched"] = n / _timed(lambda: _drain(conn, batch))
        _reset(conn)
        _insert(conn, n, batch)
        results["drain 2 procs"] = n / _drain_in_processes(2)
        p50, p95 = _latency(conn, parameters.latency_count, parameters.gap_ms / 1000)
        results["latency p50"], results["latency p95"] = p50, p95
        _reset(conn)
        conn.execute(HISTORY, [parameters.history_rows])
        conn.execute("VACUUM ANALYZE q")
        _insert(conn, n, batch)
        results["history drain 2 procs"] = n / _drain_in_processes(2)
        _reset(conn)
    return results


def server_settings() -> dict[str, str]:
    """The server's version and the settings that bound a commit's cost."""
    with psycopg.connect(SERVER_DSN, autocommit=True) as conn:
        names = (
            "server_version",
            "synchronous_commit",
            "fsync",
            "shared_buffers",
            "max_connections",
        )
        return {name: str(conn.execute(f"SHOW {name}").fetchone()[0]) for name in names}  # type: ignore[index]  # SHOW returns one row


def _create_database() -> None:
    with psycopg.connect(SERVER_DSN, autocommit=True) as conn:
        if (
            conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone()
            is None
        ):
            conn.execute(f"CREATE DATABASE {DATABASE}")


def _reset(conn: psycopg.Connection[Any]) -> None:
    conn.execute(SCHEMA)


def _timed(work: Any) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def _insert(conn: psycopg.Connection[Any], count: int, batch: int) -> None:
    for start in range(0, count, batch):
        rows = min(batch, count - start)
        conn.execute(INSERT + ", ".join([ROW] * rows), [ARGS] * rows)


def _drain(conn: psycopg.Connection[Any], batch: int, worker_id: str = "ceiling") -> int:
    """Claim and finish until nothing is ready; return how many tasks were done."""
    done = 0
    while True:
        claimed = conn.execute(CLAIM, [worker_id, batch]).fetchall()
        if not claimed:
            return done
        conn.execute(FINISH, [[row[0] for row in claimed]])
        done += len(claimed)


def _drain_worker(barrier: Barrier, results: "multiprocessing.Queue[tuple[float, float]]") -> None:
    with psycopg.connect(DSN, autocommit=True) as conn:
        barrier.wait()
        started = time.time()
        _drain(conn, 1, worker_id=str(multiprocessing.current_process().pid))
        results.put((started, time.time()))


def _drain_in_processes(processes: int) -> float:
    """Drain with ``processes`` connections in as many processes; seconds from start to end."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(processes)
    results: multiprocessing.Queue[tuple[float, float]] = context.Queue()
    workers = [
        context.Process(target=_drain_worker, args=(barrier, results)) for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    spans = [results.get(timeout=300) for _ in workers]
    for worker in workers:
        worker.join()
    return max(end for _, end in spans) - min(start for start, _ in spans)


def _listener(ready: Barrier, expected: int, delays: "multiprocessing.Queue[list[float]]") -> None:
    """Wake on NOTIFY, claim what is ready, record each task's delay since it was enqueued."""
    found: list[float] = []
    with psycopg.connect(DSN, autocommit=True) as conn:
        conn.execute(f"LISTEN {CHANNEL}")
        ready.wait()
        while len(found) < expected:
            for _ in conn.notifies(timeout=5.0, stop_after=1):
                pass
            while claimed := conn.execute(CLAIM, ["listener", 1]).fetchall():
                found.append(time.time() - claimed[0][1]["t0"])
                conn.execute(FINISH, [[claimed[0][0]]])
    delays.put(found)


def _latency(conn: psycopg.Connection[Any], count: int, gap: float) -> tuple[float, float]:
    """Enqueue ``count`` probes ``gap`` seconds apart, each notifying in its own statement."""
    _reset(conn)
    context = multiprocessing.get_context("spawn")
    ready = context.Barrier(2)
    delays: multiprocessing.Queue[list[float]] = context.Queue()
    listener = context.Process(target=_listener, args=(ready, count + 1, delays))
    listener.start()
    ready.wait()
    next_at = time.monotonic()
    for _ in range(count + 1):  # The first probe warms the listener up; it is not counted.
        pause = next_at - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        conn.execute(NOTIFYING_INSERT, [Jsonb({"t0": time.time()})])
        next_at += gap
    found = sorted(delay * 1000 for delay in delays.get(timeout=300)[1:])
    listener.join()
    return statistics.median(found), statistics.quantiles(found, n=20, method="inclusive")[18]
