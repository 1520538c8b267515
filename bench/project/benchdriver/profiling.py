"""Where a draining worker's time goes, grouped by layer, measured two ways.

- cProfile (main thread only, exact call counts): self time (tottime) of every function is
  added to the first layer whose pattern matches its file or name.
- py-spy (every thread, sampled): each sample goes to the layer of its innermost frame; samples
  of threads waiting for something to do (a lock, a queue, the selector) count as idle.
  A worker that runs tasks in threads needs this one: cProfile does not see them.
"""

import pstats
import time
from pathlib import Path
from typing import Any

from benchdriver.common import Adapter, BenchError, Workers, python

LAYERS = (
    ("SQL round trips (psycopg: sending, waiting for the server)", ("psycopg",)),
    ("ORM: querysets, SQL compilation, model instances", ("django/db/models/",)),
    ("Django database layer (backends, transactions, connections)", ("django/db/",)),
    ("JSON encoding and decoding", ("/json/", "(json/", "json.", "'_json.")),
    ("signals (django.dispatch)", ("django/dispatch/",)),
    ("logging", ("/logging/", "(logging/")),
    ("the task backend and worker (django_tasks*)", ("django_tasks",)),
    ("pydantic", ("pydantic",)),
    ("other Django", ("/django/", "(django/")),
    ("sleeping or waiting for work", ("time.sleep", "select.", "'poll'", "epoll")),
    ("asgiref (async_to_sync, thread locals)", ("asgiref",)),
)
OTHER = "other Python (standard library, interpreter)"
IDLE = ("threading.py", "queue.py", "selectors.py")
"""Innermost frames of a thread that is waiting for something to do."""


def profile(adapter: Adapter, params: dict[str, Any], logs: Path) -> dict[str, Any]:
    """Drain N tasks with one worker under cProfile, then N more under py-spy; return both."""
    count = int(params["n"])
    logs.mkdir(parents=True, exist_ok=True)
    (command,) = adapter.worker_commands(1, batch=True)
    cprofile_output = logs / f"{adapter.system}.prof"
    _profiled_drain(
        adapter,
        count,
        [python(), "-m", "cProfile", "-o", str(cprofile_output), *command[1:]],
        params,
        logs,
    )
    result = {"tasks": count, "cprofile": analyse(cprofile_output)}
    if params.get("py_spy"):
        spy_output = logs / f"{adapter.system}.py-spy.txt"
        rate = 250
        spy = [str(params["py_spy"]), "record", "--idle", "--threads", "--rate", str(rate)]
        spy += ["--format", "raw", "-o", str(spy_output), "--", *command]
        _profiled_drain(adapter, count, spy, params, logs)
        result["py_spy"] = analyse_samples(spy_output, rate)
    return result


def _profiled_drain(
    adapter: Adapter, count: int, command: list[str], params: dict[str, Any], logs: Path
) -> None:
    adapter.reset()
    for _ in range(count):
        adapter.enqueue_noop()
    deadline = time.monotonic() + float(params["timeout"])
    with Workers([command], logs / "profile") as workers:
        if not workers.wait(deadline):
            raise BenchError("The profiled worker did not finish in time.")
        failures = workers.failures()
    if failures:
        raise BenchError("\n".join(failures))
    outcome = adapter.outcome()
    if outcome.succeeded != count:
        raise BenchError(f"{count - outcome.succeeded} of the profiled tasks did not succeed.")


def analyse_samples(path: Path, rate: int) -> dict[str, Any]:
    """Seconds per layer and thread kind (main, task threads) from py-spy's raw output."""
    seconds: dict[str, dict[str, float]] = {}
    for line in path.read_text().splitlines():
        stack, _, samples = line.rpartition(" ")
        thread, *frames = stack.split(";")
        kind = "main thread" if "MainThread" in thread else "task threads"
        leaf = frames[-1] if frames else ""
        if any(f"({name}:" in leaf for name in IDLE):
            layer = "idle (waiting for work, a lock or a queue)"
        elif "Handler.acquire" in leaf:
            layer = "waiting for the logging handler's lock (contention, not CPU)"
        else:
            layer = next((n for n, patterns in LAYERS if any(p in leaf for p in patterns)), OTHER)
        by_kind = seconds.setdefault(layer, {"main thread": 0.0, "task threads": 0.0})
        by_kind[kind] += int(samples) / rate
    return {
        "rate": rate,
        "layers": sorted(seconds.items(), key=lambda item: -sum(item[1].values())),
    }


def analyse(path: Path) -> dict[str, Any]:
    stats = pstats.Stats(str(path))
    entries: dict[tuple[str, int, str], tuple[int, int, float, float, Any]]
    entries = stats.stats  # type: ignore[attr-defined]  # pstats keeps its table undocumented
    layers: dict[str, float] = {name: 0.0 for name, _ in LAYERS} | {OTHER: 0.0}
    rows = []
    for (filename, line, function), (_, calls, own, cumulative, _) in entries.items():
        where = f"{filename}:{line}({function})"
        layer = next((n for n, patterns in LAYERS if any(p in where for p in patterns)), OTHER)
        layers[layer] += own
        rows.append((where, calls, own, cumulative))
    total = sum(layers.values())
    statements = sum(
        calls
        for (filename, _, function), (_, calls, _, _, _) in entries.items()
        if filename.endswith("psycopg/cursor.py") and function in ("execute", "copy")
    )
    by_own = sorted(rows, key=lambda row: row[2], reverse=True)[:25]
    by_cumulative = sorted(rows, key=lambda row: row[3], reverse=True)[:40]
    return {
        "seconds": total,
        "statements": statements,
        "layers": sorted(layers.items(), key=lambda item: item[1], reverse=True),
        "top_self": [_short(row) for row in by_own],
        "top_cumulative": [_short(row) for row in by_cumulative],
    }


def _short(row: tuple[str, int, float, float]) -> list[Any]:
    where, calls, own, cumulative = row
    for marker in ("site-packages/", "lib/python3.11/", "project/"):
        if marker in where:
            where = where.split(marker, 1)[1]
    return [where, calls, round(own, 4), round(cumulative, 4)]
