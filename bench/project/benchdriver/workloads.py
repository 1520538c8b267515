"""The workloads, written once against the Adapter interface.

Each takes the adapter and the parameters the runner passed, and returns a JSON-able dict of
samples. Every run ends by counting the tasks that did not succeed (``not_succeeded``: must be 0).
"""

import os
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
    """N tasks that each wait 20 ms (as a call to a service would), drained by W workers of
    ``concurrency`` tasks at once each (Celery: in its ``pool``)."""
    count, workers = int(params["n"]), int(params["workers"])
    concurrency, pool = int(params["concurrency"]), str(params["pool"])
    if not adapter.has_concurrency:
        return {"offered": False}
    adapter.enqueue_io()  # Warm-up, as for the drain.
    adapter.reset()
    for _ in range(count):
        adapter.enqueue_io()
    commands = adapter.worker_commands(workers, batch=True, concurrency=concurrency, pool=pool)
    return {
        "offered": True,
        **_drain(adapter, count, workers, logs / f"io-{pool}", params, commands),
    }


def idle(adapter: Adapter, params: dict[str, Any], logs: Path) -> dict[str, Any]:
    """W workers with their default options and nothing to do: what they cost the store's
    server per second (statements, CPU) over ``seconds``, once all of them are up."""
    workers, seconds = int(params["workers"]), float(params["seconds"])
    deadline = time.monotonic() + float(params["timeout"])
    adapter.reset()
    if adapter.idle_counters() is None:
        return {"offered": False}
    commands = adapter.worker_commands(workers, batch=False, pool="solo", defaults=True)
    with Workers(commands, logs / "idle") as running:
        _wait_booted(running, len(commands), deadline)
        time.sleep(min(5.0, seconds / 3))  # Past the first quick polls of a worker at rest.
        failures = running.failures()
        if failures:
            raise BenchError("Idle workers failed:\n" + "\n".join(failures))
        statements_0, server_0 = adapter.idle_counters() or (0.0, 0.0)
        workers_0, started = running.cpu_seconds(), time.monotonic()
        time.sleep(seconds)
        statements_1, server_1 = adapter.idle_counters() or (0.0, 0.0)
        workers_1, elapsed = running.cpu_seconds(), time.monotonic() - started
        rss = running.rss_mib()
        failures = running.failures()
    if failures:
        raise BenchError("Idle workers failed:\n" + "\n".join(failures))
    return {
        "statements per worker": (statements_1 - statements_0) / elapsed / workers,
        "server cpu": (server_1 - server_0) / elapsed * 100,
        "workers cpu": (workers_1 - workers_0) / elapsed * 100,
        "workers rss": rss,
        "not_succeeded": 0,
    }


def _wait_booted(running: Workers, workers: int, deadline: float) -> None:
    """Return once the idle workers are up: their CPU over a second falls under a little per
    worker, or it holds steady (within 15% over three seconds) below three quarters of the
    machine's cores. The second case is Celery's: 64 idle Celery workers keep about a core
    busy between them, which the first never sees; booting keeps every core busy."""
    cores = os.cpu_count() or 1
    last, used = running.cpu_seconds(), []
    while time.monotonic() < deadline:
        time.sleep(1.0)
        now = running.cpu_seconds()
        used.append(now - last)
        last = now
        if used[-1] < 0.2 + 0.005 * workers:
            return
        recent = used[-3:]
        if len(recent) == 3 and max(recent) < 0.75 * cores and max(recent) <= 1.15 * min(recent):
            return


def memory(adapter: Adapter, params: dict[str, Any], logs: Path) -> dict[str, Any]:
    """One worker runs N2 no-op tasks, fed in chunks; its RSS after N1 and after N2 tasks."""
    small, large, chunk = int(params["small"]), int(params["large"]), int(params["chunk"])
    deadline = time.monotonic() + float(params["timeout"])
    adapter.reset()
    samples: list[tuple[int, float]] = []
    rss = {}
    done = 0
    with Workers(adapter.worker_commands(1, batch=False), logs / "memory") as running:
        while done < large:
            size = min(chunk, (small if done < small else large) - done)
            if not adapter.bulk_enqueue_noops(size):
                for _ in range(size):
                    adapter.enqueue_noop()
            done += size
            if not wait_until(_finished(adapter, done), deadline, every=0.2):
                raise BenchError(
                    f"The worker finished {adapter.finished()} of {done} tasks in time.\n"
                    + "\n".join(running.failures())
                )
            samples.append((done, running.rss_mib()))
            if done in (small, large):
                rss[done] = samples[-1][1]
    outcome = adapter.outcome()
    return {
        "small": rss[small],
        "large": rss[large],
        "samples": samples,
        "not_succeeded": large - outcome.succeeded,
    }


def retry(adapter: Adapter, params: dict[str, Any], logs: Path) -> dict[str, Any]:
    """N no-op tasks, then N tasks of which every tenth fails once and is retried at once, each
    drained by W running workers: the rate from the store and the workers' CPU per task."""
    count, workers = int(params["n"]), int(params["workers"])
    if adapter.enqueue_flaky(1) is None:
        return {"offered": False}
    adapter.reset()
    results: dict[str, float] = {}
    for name, flaky in (("plain", None), ("retry", adapter.enqueue_flaky)):
        adapter.reset()
        deadline = time.monotonic() + float(params["timeout"])
        with Workers(adapter.worker_commands(workers, batch=False), logs / name) as running:
            adapter.enqueue_noop()  # Warm-up: every worker booted and connected.
            wait_until(lambda: adapter.finished() >= 1, deadline)
            time.sleep(1.0)
            cpu_0, since = running.cpu_seconds(), time.time()
            _enqueue_all(adapter, count, flaky)
            wait_until(lambda: adapter.outcome().succeeded >= count + 1, deadline, every=0.25)
            cpu = running.cpu_seconds() - cpu_0
            failures = running.failures()
        outcome = adapter.outcome()
        if failures:
            raise BenchError(f"The {name} drain's workers failed:\n" + "\n".join(failures))
        results[name] = adapter.window(since).rate
        results[f"{name} cpu"] = cpu / count * 1000
        results[f"{name} not succeeded"] = count + 1 - outcome.succeeded
    return {
        **results,
        "offered": True,
        "not_succeeded": results["plain not succeeded"] + results["retry not succeeded"],
    }


def load(adapter: Adapter, params: dict[str, Any], logs: Path) -> dict[str, Any]:
    """W running workers. Capacity: tasks finished per second while one process enqueues as
    fast as it can. Then, for each level, tasks arrive open-loop at that share of the capacity
    (evenly spaced, on a schedule the enqueuer keeps whatever the queue does) for ``seconds``:
    each task's wait (enqueue to start) and the backlog (enqueued, not finished) over time."""
    workers, seconds = int(params["workers"]), float(params["seconds"])
    deadline = time.monotonic() + float(params["timeout"])
    adapter.reset()
    result: dict[str, Any] = {"levels": {}, "backlog": {}}
    with Workers(adapter.worker_commands(workers, batch=False), logs / "load") as running:
        adapter.enqueue_stamp()
        sent = 1
        if not wait_until(lambda: adapter.finished() >= 1, deadline):
            raise BenchError("The warm-up task did not finish.\n" + "\n".join(running.failures()))
        started, finished_0 = time.monotonic(), adapter.finished()
        while time.monotonic() - started < float(params["capacity_seconds"]):
            adapter.enqueue_stamp()
            sent += 1
        elapsed = time.monotonic() - started
        capacity = (adapter.finished() - finished_0) / elapsed
        result["capacity"] = capacity
        result["capacity enqueue"] = (sent - 1) / elapsed
        for level in params["levels"]:
            if not wait_until(_finished(adapter, sent), deadline, every=0.1):
                raise BenchError("The backlog did not drain.\n" + "\n".join(running.failures()))
            gap = 1 / (capacity * float(level) / 100)
            sent_ids: list[str] = []
            times: list[float] = []
            backlog: list[tuple[float, int]] = []
            started = next_at = next_sample = time.monotonic()
            while (now := time.monotonic()) - started < seconds:
                if now >= next_sample:
                    backlog.append((round(now - started, 2), sent - adapter.finished()))
                    next_sample += 0.5
                pause = next_at - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                times.append(time.time())
                sent_ids.append(adapter.enqueue_stamp())
                sent += 1
                next_at += gap
            arrival = len(sent_ids) / (time.monotonic() - started)
            while adapter.finished() < sent and time.monotonic() < deadline:
                backlog.append((round(time.monotonic() - started, 2), sent - adapter.finished()))
                time.sleep(0.5)
            waits = sorted(
                (start - t0) * 1000
                for start, t0 in zip(adapter.stamps(sent_ids), times, strict=True)
            )
            result["levels"][str(level)] = {
                "scheduled": 1 / gap,
                "arrival": arrival,
                "p50": statistics.median(waits),
                "p99": statistics.quantiles(waits, n=100, method="inclusive")[98],
                "max": waits[-1],
            }
            result["backlog"][str(level)] = backlog
        failures = running.failures()
    if failures:
        raise BenchError("The load workload's workers failed:\n" + "\n".join(failures))
    result["not_succeeded"] = sent - adapter.outcome().succeeded
    return result


def _finished(adapter: Adapter, count: int) -> Callable[[], bool]:
    """Whether at least ``count`` tasks have finished."""
    return lambda: adapter.finished() >= count


def _enqueue_all(adapter: Adapter, count: int, enqueue: Callable[[int], str | None] | None) -> None:
    """Enqueue ``count`` tasks at once where the system can (bulk), else one by one."""
    if enqueue is None:
        if not adapter.bulk_enqueue_noops(count):
            for _ in range(count):
                adapter.enqueue_noop()
        return
    bulk = getattr(adapter, "bulk_enqueue_flaky", None)
    if bulk is None or not bulk(range(count)):
        for number in range(count):
            enqueue(number)


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
    adapter: Adapter,
    count: int,
    workers: int,
    log_stem: Path,
    params: dict[str, Any],
    commands: list[list[str]] | None = None,
) -> dict[str, Any]:
    """Start the workers on ``count`` waiting tasks; rates and boot time from the store."""
    before = adapter.outcome()
    deadline = time.monotonic() + float(params["timeout"])
    commands = commands or adapter.worker_commands(workers, batch=True)
    with Workers(commands, log_stem) as running:
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
    "idle": idle,
    "load": load,
    "memory": memory,
    "retry": retry,
    "profile": profile,
}
