"""Where a draining worker's time goes: cProfile on one db_worker, grouped by layer.

Self time (cProfile's tottime) of every function is added to the first layer whose pattern
matches its file or name, so the layers add up to the whole run.
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
    ("JSON encoding and decoding", ("/json/", "json.", "'_json.")),
    ("signals (django.dispatch)", ("django/dispatch/",)),
    ("logging", ("/logging/",)),
    ("the task backend and worker (django_tasks*)", ("django_tasks",)),
    ("pydantic", ("pydantic",)),
    ("other Django", ("/django/",)),
    ("sleeping or waiting for work", ("time.sleep", "select.", "'poll'", "epoll")),
)
OTHER = "other Python (standard library, interpreter)"


def profile(adapter: Adapter, params: dict[str, Any], logs: Path) -> dict[str, Any]:
    """Enqueue N tasks, drain them with one profiled worker, return the layers and hot spots."""
    count = int(params["n"])
    adapter.reset()
    for _ in range(count):
        adapter.enqueue_noop()
    output = logs / f"{adapter.system}.prof"
    output.parent.mkdir(parents=True, exist_ok=True)
    (command,) = adapter.worker_commands(1, batch=True)
    profiled = [python(), "-m", "cProfile", "-o", str(output), *command[1:]]
    started = time.monotonic()
    with Workers([profiled], logs / "profile") as workers:
        if not workers.wait(started + float(params["timeout"])):
            raise BenchError("The profiled worker did not finish in time.")
        failures = workers.failures()
    if failures:
        raise BenchError("\n".join(failures))
    outcome = adapter.outcome()
    return {"tasks": count, "not_succeeded": count - outcome.succeeded, **analyse(output)}


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
    by_own = sorted(rows, key=lambda row: row[2], reverse=True)[:25]
    by_cumulative = sorted(rows, key=lambda row: row[3], reverse=True)[:40]
    return {
        "seconds": total,
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
