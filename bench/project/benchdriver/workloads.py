"""The workloads, written once against the Adapter interface.

Each takes the adapter and the parameters the runner passed, and returns a JSON-able dict of
samples. Every run ends by counting the tasks that did not succeed (``not_succeeded``: must be 0).
"""

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchdriver.common import Adapter, BenchError, Workers, wait_until
from benchdriver.profiling import profile

WARM_UP_IDLE_SECONDS = 1.5
"""How long the latency workload's worker sits idle, after one warm-up task, before the probes."""


def setup(adapter: Adapter, params: dict[str, Any], logs: Path) -> dict[str, Any]:
    """Create the store and report versions and settings."""
    info = adapter.setup()
    adapter.reset()
    return info


def drain(adapter: Adapter, params: dict[str, Any], logs: Path) -> dict[str, Any]:
    """Enqueue N no-op tasks one by one (timed), then drain them with W worker processes.

    One task is enqueued and removed first, so that imports, the connection and the driver's
    caches are warm, as they are in a running web process.
    """
    count, workers = int(params["n"]), int(params["workers"])
    adapter.enqueue_noop()  # Warm-up: imports, connections, caches; not timed.
    adapter.reset()
    started = time.perf_counter()
    for _ in range(count):
        adapter.enqueue_noop()
    enqueue_seconds = time.perf_counter() - started
    result = _drain(adapter, count, workers, logs / f"drain-w{workers}", params)
    return {"enqueue": count / enqueue_seconds, **result}


def io(adapter: Adapter, params: dict[str, Any], logs: Path) -> dict[str, Any]:
    """N tasks that each wait 10 ms (as a call to a service would), drained by W workers."""
    count, workers = int(params["n"]), int(params["workers"])
    adapter.enqueue_io()  # Warm-up, as for the drain.
    adapter.reset()
    for _ in range(count):
        adapter.enqueue_io()
    return _drain(adapter, count, workers, logs / f"io-w{workers}", params)


def bulk(adapter: Adapter, params: dict[str, Any], logs: Path) -> dict[str, Any]:
    """Enqueue N no-op tasks with the bulk path (timed), then drain them to check they run."""
    count = int(params["n"])
    if not adapter.bulk_enqueue_noops(1):  # Warm-up, as for the one-by-one enqueue.
        return {"offered": False}
    adapter.reset()
    started = time.perf_counter()
    adapter.bulk_enqueue_noops(count)
    enqueue_seconds = time.perf_counter() - started
    result = _drain(adapter, count, int(params["workers"]), logs / "bulk", params)
    return {
        "offered": True,
        "bulk": count / enqueue_seconds,
        "not_succeeded": result["not_succeeded"],
    }


def unique(adapter: Adapter, params: dict[str, Any], logs: Path) -> dict[str, Any]:
    """Enqueue N no-op tasks each with a key of its own (timed: the insert that takes a key),
    then N with one key (timed: N-1 of them find the waiting task), then drain them."""
    count = int(params["n"])
    if adapter.enqueue_unique_noop("warm-up") is None:  # Warm-up, as for the drain.
        return {"offered": False}
    adapter.reset()
    started = time.perf_counter()
    for n in range(count):
        adapter.enqueue_unique_noop(f"key-{n}")
    fresh_seconds = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(count):
        adapter.enqueue_unique_noop("shared")
    taken_seconds = time.perf_counter() - started
    result = _drain(adapter, count + 1, int(params["workers"]), logs / "unique", params)
    return {
        "offered": True,
        "unique": count / fresh_seconds,
        "unique taken": count / taken_seconds,
        "not_succeeded": result["not_succeeded"],
    }


def latency(adapter: Adapter, params: dict[str, Any], logs: Path) -> dict[str, Any]:
    """One idle worker; probes enqueued one at a time, ``gap_ms`` apart: enqueue-to-start delay.

    The delay runs from just before the enqueue call to the task function's first statement.
    """
    count, gap = int(params["count"]), float(params["gap_ms"]) / 1000
    deadline = time.monotonic() + float(params["timeout"])
    adapter.reset()
    sent: list[tuple[str, float]] = []
    with Workers(adapter.worker_commands(1, batch=False), logs / "latency") as workers:
        adapter.enqueue_stamp()
        if not wait_until(lambda: adapter.finished() >= 1, deadline):
            raise BenchError("The warm-up task did not finish.\n" + "\n".join(workers.failures()))
        time.sleep(WARM_UP_IDLE_SECONDS)
        next_at = time.monotonic()
        for _ in range(count):
            pause = next_at - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            t0 = time.time()
            sent.append((adapter.enqueue_stamp(), t0))
            next_at += gap
        wait_until(lambda: adapter.finished() >= count + 1, deadline)
    outcome = adapter.outcome()
    finished = adapter.finished()
    if finished < count + 1:
        return {"not_succeeded": count + 1 - outcome.succeeded}
    delays = sorted(
        (started - t0) * 1000
        for started, (_, t0) in zip(adapter.stamps([i for i, _ in sent]), sent, strict=True)
    )
    return {
        "p50": statistics.median(delays),
        "p95": statistics.quantiles(delays, n=20, method="inclusive")[18],
        "max": delays[-1],
        "not_succeeded": count + 1 - outcome.succeeded,
    }


def history(adapter: Adapter, params: dict[str, Any], logs: Path) -> dict[str, Any]:
    """Drain rate on an empty table, then with ``rows`` finished tasks in it (inserted with SQL).

    The empty table is measured before the history is added and again after it is removed, and
    the table is analysed before every measured drain, so that neither the order of the states
    nor stale planner statistics weigh on the comparison: only the table's size.
    """
    count, workers, reps = int(params["n"]), int(params["workers"]), int(params["reps"])
    adapter.reset()
    empty: list[float] = []
    full: list[float] = []
    not_succeeded = 0

    def one_drain(into: list[float]) -> None:
        nonlocal not_succeeded
        for _ in range(count):
            adapter.enqueue_noop()
        adapter.analyze()
        result = _drain(adapter, count, workers, logs / "history", params)
        into.append(result["drain"])
        not_succeeded += result["not_succeeded"]

    for _ in range(reps):
        one_drain(empty)
    started = time.perf_counter()
    adapter.add_history(int(params["rows"]) - count * reps)
    insert_seconds = time.perf_counter() - started
    for _ in range(reps):
        one_drain(full)
    adapter.reset()
    for _ in range(reps):  # Empty again, so that the order of the two states cancels out.
        one_drain(empty)
    adapter.reset()
    return {
        "empty": empty,
        "full": full,
        "rows": int(params["rows"]),
        "insert_seconds": insert_seconds,
        "not_succeeded": not_succeeded,
    }


def _drain(
    adapter: Adapter, count: int, workers: int, log_stem: Path, params: dict[str, Any]
) -> dict[str, Any]:
    """Start the workers on ``count`` waiting tasks; rates and boot time from the store."""
    before = adapter.outcome()
    deadline = time.monotonic() + float(params["timeout"])
    with Workers(adapter.worker_commands(workers, batch=True), log_stem) as running:
        adapter.wait_drained(before.total, running, deadline)
        failures = running.failures()
    after = adapter.outcome()
    succeeded = after.succeeded - before.succeeded
    if succeeded == 0:
        raise BenchError("No task succeeded.\n" + "\n".join(failures))
    window = adapter.window(since=running.started_at)
    return {
        "drain": window.rate,
        "boot": window.first - running.started_at,
        "wall": succeeded / (window.last - running.started_at),
        "not_succeeded": count - succeeded,
        "worker_errors": failures,
    }


WORKLOADS: dict[str, Callable[[Adapter, dict[str, Any], Path], dict[str, Any]]] = {
    "setup": setup,
    "drain": drain,
    "io": io,
    "bulk": bulk,
    "unique": unique,
    "latency": latency,
    "history": history,
    "profile": profile,
}
