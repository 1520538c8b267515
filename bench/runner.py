"""Runs the workloads: each one in the system's virtualenv, through the driver, in turn.

Repetitions are interleaved (every system runs its first repetition before any runs its second),
so that a slow minute on a shared machine spreads over all systems instead of landing on one.
"""

import importlib.metadata
import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import ceiling
from bench.config import Config
from bench.systems import BROKERS, System
from bench.venvs import BENCH_DIR

PROJECT_DIR = BENCH_DIR / "project"
DATA_DIR = BENCH_DIR / ".data"
LOG_DIR = DATA_DIR / "logs"
REDIS_URL = "redis://127.0.0.1:6379/14"  # The result backend uses database 15.
RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672//"
CEILING = "psycopg (raw SQL)"
CEILING_HISTORY_ROWS = 1_000_000
"""At most this many history rows in the ceiling's table: it is measured twice a repetition."""
LOAD_PAIRS = {("ours", "postgresql"), ("dtdb", "postgresql"), ("celery", "redis")}
"""Where the load workload runs: the database backends on PostgreSQL and Celery on Redis."""
IDLE_PAIRS = LOAD_PAIRS
RETRY_PAIRS = {("ours", "postgresql"), ("celery", "redis")}
"""django-tasks-db has no retries."""
IDLE_STATEMENTS = "idle statements/s per worker"
IDLE_CPU = "idle server CPU"
MEMORY_SMALL, MEMORY_LARGE = "memory RSS at N1", "memory RSS at N2"


@dataclass(slots=True)
class Measurements:
    """Everything a run measured, keyed by (system, store, workload)."""

    samples: dict[tuple[str, str, str], list[float]] = field(
        default_factory=lambda: defaultdict(list)
    )
    not_succeeded: dict[tuple[str, str], list[int]] = field(
        default_factory=lambda: defaultdict(list)
    )
    not_offered: set[tuple[str, str, str]] = field(default_factory=set)
    info: dict[str, dict[str, Any]] = field(default_factory=dict)
    series: dict[str, list[Any]] = field(default_factory=dict)
    """Measurements over time: the load workload's backlog, the memory workload's RSS."""
    errors: list[str] = field(default_factory=list)


def pairs(config: Config, systems: dict[str, System]) -> list[tuple[System, str]]:
    """The (system, store) combinations this run measures."""
    return [
        (systems[key], store)
        for key in config.systems
        for store in systems[key].stores
        if store in (config.brokers if store in BROKERS else config.stores)
    ]


class Runner:
    """Calls the driver for every workload of the run and collects what it measured."""

    def __init__(self, config: Config, systems: dict[str, System], venvs: dict[str, Path]) -> None:
        self.config = config
        self.systems = systems
        self.venvs = venvs
        self.results = Measurements()
        self.steps_done = 0
        self.steps_total = self._count_steps()

    def run(self) -> Measurements:
        config, results = self.config, self.results
        combos = []
        for system, store in pairs(config, self.systems):
            info = self.driver(system, store, "setup", {})
            if info is None:  # Reported as an error; its workloads are skipped.
                continue
            results.info[f"{system.key}/{store}"] = info
            combos.append((system, store))
        for _ in range(config.reps):
            # The ceiling brackets every repetition, so that its samples see the same machine.
            if "ceiling" in config.workloads:
                self._ceiling()
            for system, store in combos:
                self._rep(system, store)
            if "ceiling" in config.workloads:
                self._ceiling()
        for system, store in combos:
            self._issue_20(system, store)
        if "history" in config.workloads:
            for system, store in combos:
                if store == "postgresql" and system.key in config.history_systems:
                    self._history(system, store)
        return results

    def _issue_20(self, system: System, store: str) -> None:
        """The workloads of the work users run (issue 20), once each: I/O is in every
        repetition; load, idle, memory and retry are long and run once."""
        config, key = self.config, (system.key, store)
        workers = max(config.workers)
        timeout = config.timeout
        if "load" in config.workloads and (system.key, store) in LOAD_PAIRS:
            params = {
                "workers": workers,
                "seconds": config.load_seconds,
                "capacity_seconds": config.load_capacity_seconds,
                "levels": list(config.load_levels),
                "timeout": timeout + config.load_seconds * len(config.load_levels) * 3,
            }
            result = self.driver(system, store, "load", params)
            if result is not None:
                self._add(key, "load capacity", result["capacity"])
                self._add(key, "load capacity enqueue", result["capacity enqueue"])
                for level, figures in result["levels"].items():
                    self._add(key, f"load {level}% scheduled", figures["scheduled"])
                    self._add(key, f"load {level}% arrival", figures["arrival"])
                    for quantile in ("p50", "p99", "max"):
                        self._add(key, f"load {level}% {quantile} wait", figures[quantile])
                    self.results.series[f"{system.key}/{store} {level}%"] = result["backlog"][level]
                self._count(key, result)
        if "idle" in config.workloads and (system.key, store) in IDLE_PAIRS:
            params = {
                "workers": config.idle_workers,
                "seconds": config.idle_seconds,
                "timeout": timeout + config.idle_workers * 3,
            }
            result = self.driver(system, store, "idle", params)
            if result is not None and result.get("offered", True):
                self._add(key, IDLE_STATEMENTS, result["statements per worker"])
                self._add(key, IDLE_CPU, result["server cpu"])
                self._add(key, "idle workers CPU", result["workers cpu"])
                self._add(key, "idle workers RSS", result["workers rss"])
        if (
            "memory" in config.workloads
            and store == "postgresql"
            and system.key in config.memory_systems
        ):
            small, large = config.memory_tasks
            params = {
                "small": small,
                "large": large,
                "chunk": min(small, 10_000),
                "timeout": timeout + large / 100,
            }
            result = self.driver(system, store, "memory", params)
            if result is not None:
                self._add(key, MEMORY_SMALL, result["small"])
                self._add(key, MEMORY_LARGE, result["large"])
                self.results.series[f"{system.key}/{store} memory"] = result["samples"]
                self._count(key, result)
        if "retry" in config.workloads and (system.key, store) in RETRY_PAIRS:
            params = {"n": config.retry_n, "workers": workers, "timeout": timeout}
            result = self.driver(system, store, "retry", params)
            if result is not None and result["offered"]:
                self._add(key, f"retry plain drain W={workers}", result["plain"])
                self._add(key, f"retry drain W={workers}", result["retry"])
                self._add(key, "retry plain CPU per task", result["plain cpu"])
                self._add(key, "retry CPU per task", result["retry cpu"])
                self._count(key, result)

    def _rep(self, system: System, store: str) -> None:
        config, key = self.config, (system.key, store)
        if "drain" in config.workloads:
            for workers in config.workers:
                result = self._drain(system, store, "drain", config.n, workers)
                if result is not None:
                    self._add(key, "enqueue 1-by-1", result["enqueue"])
                    self._add(key, f"drain W={workers} boot", result["boot"])
                    self._add(key, f"drain W={workers} from spawn", result["wall"])
        if "io" in config.workloads and store in ("postgresql", *BROKERS):
            for pool in io_pools(system.key, store):
                self._io(system, store, pool)
        if "latency" in config.workloads:
            params = {
                "count": config.latency_count,
                "gap_ms": config.latency_gap_ms,
                "timeout": config.timeout,
            }
            result = self.driver(system, store, "latency", params)
            if result is not None:
                if "p50" in result:
                    self._add(key, "latency p50", result["p50"])
                    self._add(key, "latency p95", result["p95"])
                self._count(key, result)
        for workload, names in (
            ("bulk", {"bulk": "enqueue bulk"}),
            ("unique", {"unique": "enqueue unique", "unique taken": "enqueue unique taken"}),
        ):
            if workload in config.workloads and store not in BROKERS:
                self._enqueue_path(system, store, workload, names)

    def _io(self, system: System, store: str, pool: str) -> None:
        """The I/O workload: 20 ms tasks, the largest W of ``io_concurrency`` slots each."""
        config, key = self.config, (system.key, store)
        workers = max(config.workers)
        label = f"io {pool + ' ' if pool else ''}W={workers}x{config.io_concurrency}"
        params = {
            "n": config.io_n,
            "workers": workers,
            "concurrency": config.io_concurrency,
            "pool": pool or "prefork",
            "timeout": config.timeout,
        }
        result = self.driver(system, store, "io", params, label)
        if result is None:
            return
        if not result["offered"]:
            self.results.not_offered.add((*key, label))
            return
        self._add(key, label, result["drain"])
        self._count(key, result)
        for failure in result["worker_errors"]:
            self._fail(f"{system.key} on {store}, {label}: {failure}")

    def _enqueue_path(
        self, system: System, store: str, workload: str, names: dict[str, str]
    ) -> None:
        """Run a workload of another enqueue path (bulk, unique), which a system may not
        offer; record its rates under ``names`` (result key -> row name)."""
        config, key = self.config, (system.key, store)
        params = {"n": config.n, "workers": max(config.workers), "timeout": config.timeout}
        result = self.driver(system, store, workload, params)
        if result is None:
            return
        if not result["offered"]:
            self.results.not_offered.add((*key, next(iter(names.values()))))
            return
        for result_key, name in names.items():
            self._add(key, name, result[result_key])
        self._count(key, result)

    def _drain(
        self, system: System, store: str, workload: str, n: int, workers: int
    ) -> dict[str, Any] | None:
        """Run a drain workload; record its rate (and its workers' failures)."""
        label = f"{'io ' if workload == 'io' else ''}drain W={workers}"
        params = {"n": n, "workers": workers, "timeout": self.config.timeout}
        result = self.driver(system, store, workload, params, label)
        if result is not None:
            self._add((system.key, store), label, result["drain"])
            self._count((system.key, store), result)
            for failure in result["worker_errors"]:  # Even if others ran its tasks.
                self._fail(f"{system.key} on {store}, {label}: {failure}")
        return result

    def _history(self, system: System, store: str) -> None:
        config, key = self.config, (system.key, store)
        workers = max(config.workers)
        params = {
            "n": config.history_n,
            "workers": workers,
            # At least three drains per state: one slow drain must not decide a ratio.
            "reps": max(config.reps, 3),
            "rows": config.history_rows,
            "timeout": config.timeout + config.history_rows / 10_000,
        }
        result = self.driver(system, store, "history", params)
        if result is not None:
            self.results.samples[(*key, f"history empty W={workers}")] += result["empty"]
            self.results.samples[(*key, f"history full W={workers}")] += result["full"]
            self._add(key, "history insert", result["insert_seconds"])
            self._count(key, result)

    def _ceiling(self) -> None:
        config = self.config
        parameters = ceiling.Parameters(
            count=config.n,
            batch=config.ceiling_batch,
            latency_count=config.latency_count,
            gap_ms=config.latency_gap_ms,
            history_rows=min(config.history_rows, CEILING_HISTORY_ROWS),
        )
        started = time.monotonic()
        for name, value in ceiling.measure(parameters).items():
            self._add((CEILING, "postgresql"), name, value)
        self._progress(CEILING, "postgresql", "ceiling", time.monotonic() - started, "")
        server = ceiling.server_settings()
        self.results.info[f"{CEILING}/postgresql"] = {
            "versions": {"psycopg": importlib.metadata.version("psycopg")},
            "server": f"PostgreSQL {server.pop('server_version')}",
            "settings": {
                **server,
                "transactions": "autocommit: one per statement",
                "rows per batched statement": config.ceiling_batch,
            },
        }

    def driver(
        self, system: System, store: str, workload: str, params: dict[str, Any], label: str = ""
    ) -> dict[str, Any] | None:
        """Run one workload in the system's virtualenv; None (and an error noted) if it failed."""
        env = {
            **os.environ,
            "PYTHONPATH": str(PROJECT_DIR),
            "DJANGO_SETTINGS_MODULE": "benchproj.settings",
            "BENCH_SYSTEM": system.key,
            "BENCH_STORE": store,
            "BENCH_DB_NAME": f"bench_{system.key}",
            "BENCH_DATA_DIR": str(DATA_DIR),
            "BENCH_LOG_DIR": str(LOG_DIR),
            "BENCH_REDIS_URL": REDIS_URL,
            "BENCH_RABBITMQ_URL": RABBITMQ_URL,
        }
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        python = self.venvs[system.key] / "bin" / "python"
        started = time.monotonic()
        completed = subprocess.run(
            [str(python), "-m", "benchdriver", workload, json.dumps(params)],
            cwd=PROJECT_DIR,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        elapsed = time.monotonic() - started
        lines = completed.stdout.strip().splitlines()
        where = f"{system.key} on {store}, {label or workload}"
        if completed.returncode or not lines:
            self._fail(
                f"{where}: the driver exited with {completed.returncode}:\n"
                f"{completed.stderr[-3000:]}"
            )
            return None
        result: dict[str, Any] = json.loads(lines[-1])
        if "error" in result:
            self._fail(f"{where}: {result['error']}")
            return None
        if workload != "setup":
            self._progress(system.key, store, label or workload, elapsed, _headline(result))
        return result

    def _add(self, key: tuple[str, str], workload: str, value: float) -> None:
        self.results.samples[(*key, workload)].append(value)

    def _count(self, key: tuple[str, str], result: dict[str, Any]) -> None:
        self.results.not_succeeded[key].append(int(result["not_succeeded"]))

    def _fail(self, message: str) -> None:
        self.results.errors.append(message)
        sys.stderr.write(f"ERROR {message}\n")

    def _progress(self, system: str, store: str, what: str, seconds: float, headline: str) -> None:
        self.steps_done += 1
        sys.stdout.write(
            f"[{self.steps_done:>3}/{self.steps_total}] {system} on {store}: {what}"
            f" ({seconds:.1f} s) {headline}\n"
        )
        sys.stdout.flush()

    def _count_steps(self) -> int:
        config = self.config
        per_rep = 0
        for system, store in pairs(config, self.systems):
            key = system.key
            per_rep += len(config.workers) * ("drain" in config.workloads)
            if "io" in config.workloads and store in ("postgresql", *BROKERS):
                per_rep += len(io_pools(key, store))
            per_rep += "latency" in config.workloads
            per_rep += "bulk" in config.workloads and store not in BROKERS
            per_rep += "unique" in config.workloads and store not in BROKERS
        per_rep += 2 * ("ceiling" in config.workloads)
        history = sum(
            store == "postgresql" and system.key in config.history_systems
            for system, store in pairs(config, self.systems)
        ) * ("history" in config.workloads)
        once = sum(
            ("load" in config.workloads and (system.key, store) in LOAD_PAIRS)
            + ("idle" in config.workloads and (system.key, store) in IDLE_PAIRS)
            + ("retry" in config.workloads and (system.key, store) in RETRY_PAIRS)
            + (
                "memory" in config.workloads
                and store == "postgresql"
                and system.key in config.memory_systems
            )
            for system, store in pairs(config, self.systems)
        )
        return per_rep * config.reps + history + once


def io_pools(system: str, store: str) -> tuple[str, ...]:
    """The Celery pools the I/O workload runs in ("" for a database worker): both for Celery on
    Redis (the target is to be ahead of its better pool), prefork elsewhere (the pool our
    CeleryBackend's overhead is judged in); booting 32 prefork processes takes a while."""
    if store not in BROKERS:
        return ("",)
    return ("prefork", "threads") if (system, store) == ("celery", "redis") else ("prefork",)


def _headline(result: dict[str, Any]) -> str:
    parts = []
    if "enqueue" in result:
        parts.append(f"enqueue {result['enqueue']:,.0f}/s")
    if "drain" in result:
        parts.append(f"drain {result['drain']:,.0f}/s, boot {result['boot']:.2f} s")
    if "p50" in result:
        parts.append(f"p50 {result['p50']:.1f} ms, p95 {result['p95']:.1f} ms")
    if "bulk" in result:
        parts.append(f"bulk {result['bulk']:,.0f}/s")
    if "unique" in result:
        parts.append(f"unique {result['unique']:,.0f}/s, taken {result['unique taken']:,.0f}/s")
    if result.get("offered") is False:
        parts.append("not offered")
    if "full" in result:
        parts.append(f"empty {result['empty']}, full {result['full']}")
    parts += _headline_20(result)
    if result.get("not_succeeded"):
        parts.append(f"NOT SUCCEEDED: {result['not_succeeded']}")
    return "; ".join(parts)


def _headline_20(result: dict[str, Any]) -> list[str]:
    """The progress line's figures of the workloads of issue 20."""
    parts = []
    if "capacity" in result:
        parts.append(f"capacity {result['capacity']:,.0f}/s")
        for level, figures in result["levels"].items():
            parts.append(
                f"{level}%: {figures['arrival']:,.0f}/s of {figures['scheduled']:,.0f}/s "
                f"scheduled, wait p50 {figures['p50']:.1f} ms, "
                f"p99 {figures['p99']:.1f} ms, max {figures['max']:.0f} ms"
            )
    if "statements per worker" in result:
        parts.append(
            f"{result['statements per worker']:.2f} statements/s per worker, server CPU "
            f"{result['server cpu']:.1f}%, workers CPU {result['workers cpu']:.1f}%"
        )
    if "large" in result:
        parts.append(f"RSS {result['small']:.1f} -> {result['large']:.1f} MiB")
    if "retry" in result:
        parts.append(
            f"plain {result['plain']:,.0f}/s ({result['plain cpu']:.2f} ms CPU/task), retry "
            f"{result['retry']:,.0f}/s ({result['retry cpu']:.2f} ms CPU/task)"
        )
    return parts
