"""python -m bench: the command line (./dev bench passes its arguments here)."""

import argparse
import json
import os
import platform
import socket
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from bench import plot, report
from bench.config import FULL, QUICK, WORKLOADS, Config
from bench.runner import LOG_DIR, Runner, pairs
from bench.systems import BROKERS, DJANGO_STORES, REPO_DIR, all_systems
from bench.venvs import BENCH_DIR, SetupError, ensure, snapshot_ours

RESULTS_DIR = BENCH_DIR / "results"
SYSTEMS = ("ours", "dtdb", "ours-celery", "celery")
T = TypeVar("T")


def main(argv: Sequence[str]) -> int:
    parser = _parser()
    options = parser.parse_args(argv)
    if options.report:
        sys.stdout.write(report.render(json.loads(Path(options.report).read_text())))
        return 0
    if options.readme:
        return _rewrite_readme(Path(options.readme))
    config = _config(options)
    missing = _services(config)
    if missing:
        sys.stderr.write("\n".join(missing) + "\n")
        return 2
    systems = all_systems()
    started = time.monotonic()
    started_at = datetime.now(UTC)
    machine = _machine()
    try:
        source = snapshot_ours(config.ours)
        venvs = {}
        for key in config.systems:
            sys.stdout.write(f"Preparing the {key} virtualenv...\n")
            sys.stdout.flush()
            venvs[key] = ensure(systems[key], LOG_DIR)
    except SetupError as e:
        sys.stderr.write(f"{e}\n")
        return 2
    if options.profile:
        from bench.profile import profile

        return profile(venvs, config)
    measurements = Runner(config, systems, venvs).run()
    meta = {
        "started": started_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "duration_s": round(time.monotonic() - started, 1),
        "mode": "quick" if config.quick else "full",
        "machine": {**machine, "load average at end": _load()},
        "parameters": {
            "N": config.n,
            "W": list(config.workers),
            "reps": config.reps,
            "stores": list(config.stores),
            "brokers": list(config.brokers),
            "io tasks per drain": config.io_n,
            "io concurrency": config.io_concurrency,
            "io ideal": config.io_ideal,
            "load": f"capacity over {config.load_capacity_seconds:g} s, then "
            f"{config.load_seconds:g} s at each of {list(config.load_levels)}% of it",
            "idle": f"{config.idle_workers} workers for {config.idle_seconds:g} s",
            "memory tasks": list(config.memory_tasks),
            "retry tasks per drain": config.retry_n,
            "latency": f"{config.latency_count} probes, {config.latency_gap_ms:g} ms apart",
            "history rows": config.history_rows,
            "history tasks per drain": config.history_n,
            "ceiling batch": config.ceiling_batch,
            "ours": source,
            "pairs": [f"{s.key}/{store}" for s, store in pairs(config, systems)],
            "names": {key: system.name for key, system in systems.items()},
        },
    }
    RESULTS_DIR.mkdir(exist_ok=True)
    suffix = "-quick" if config.quick else ""
    path = RESULTS_DIR / f"{started_at.strftime('%Y%m%dT%H%M%SZ')}{suffix}.json"
    backlog = {name: points for name, points in measurements.series.items() if name.endswith("%")}
    if backlog:
        svg = plot.write_backlog(
            path.with_suffix(".load.svg"),
            "Tasks enqueued and not finished, under open-loop load (% of capacity)",
            backlog,
        )
        meta["plots"] = [str(svg.relative_to(REPO_DIR))]
    document = report.build(measurements, meta)
    path.write_text(json.dumps(document, indent=1) + "\n")
    sys.stdout.write("\n" + report.render(document))
    sys.stdout.write(f"\nWritten to {path.relative_to(REPO_DIR)} in {meta['duration_s']} s.\n")
    failed = any(row["workload"] == "not succeeded" and row["median"] for row in document["rows"])
    return 1 if measurements.errors or failed else 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="./dev bench",
        description="Measure our DatabaseBackend against django-tasks-db and Celery, and the "
        "raw-SQL ceiling, in one run; print the table and the targets, write bench/results/.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="small sizes, Celery on Redis only: 4-6 minutes"
    )
    parser.add_argument("--n", type=_positive, help="tasks per enqueue/drain run (full: 5000)")
    parser.add_argument(
        "--workers", type=_list(_positive), help="worker processes W (default: 1,2)"
    )
    parser.add_argument("--reps", type=_positive, help="repetitions (full: 2)")
    parser.add_argument(
        "--systems",
        type=_list(_choice(SYSTEMS)),
        help=f"default: {','.join(SYSTEMS)}",
    )
    parser.add_argument(
        "--stores",
        type=_list(_choice(DJANGO_STORES)),
        help="for the database systems (default: sqlite,postgresql; mysql is MariaDB)",
    )
    parser.add_argument(
        "--brokers",
        type=_list(_choice(BROKERS)),
        help="for the Celery-based systems (default: redis,rabbitmq; quick: redis)",
    )
    parser.add_argument("--io-n", type=_positive, help="tasks per I/O drain (full: 8000)")
    parser.add_argument(
        "--io-concurrency", type=_positive, default=16, help="slots per I/O worker (default: 16)"
    )
    parser.add_argument(
        "--load-seconds",
        type=_positive,
        help="seconds at each load level (full: 30; issue 20 asks for 60)",
    )
    parser.add_argument("--idle-workers", type=_positive, help="idle workers (full: 64; quick: 16)")
    parser.add_argument(
        "--idle-seconds",
        type=_positive,
        help="seconds the idle workers are measured (full: 30; issue 20 asks for 60)",
    )
    parser.add_argument(
        "--memory-tasks",
        type=_two,
        help="the two task counts the worker's RSS is read at (full: 10000,200000)",
    )
    parser.add_argument("--retry-n", type=_positive, help="tasks per retry drain (full: 5000)")
    parser.add_argument("--workloads", type=_list(_choice(WORKLOADS)), help="default: all")
    parser.add_argument("--latency-count", type=_positive, help="latency probes (full: 200)")
    parser.add_argument("--latency-gap-ms", type=_positive, default=20, help="default: 20")
    parser.add_argument(
        "--history-rows", type=_positive, help="finished rows for history (full: 10000000)"
    )
    parser.add_argument("--history-n", type=_positive, help="tasks per history drain (full: 2000)")
    parser.add_argument("--ceiling-batch", type=_positive, default=500, help="default: 500")
    parser.add_argument(
        "--ours", type=Path, default=REPO_DIR, help="the checkout to measure (default: this one)"
    )
    parser.add_argument("--profile", action="store_true", help="profile our draining worker")
    parser.add_argument("--report", metavar="FILE", help="print a stored result file")
    parser.add_argument(
        "--readme",
        metavar="FILE",
        help="rewrite the README's latest-results section from a stored result file",
    )
    return parser


def _config(options: argparse.Namespace) -> Config:
    sizes: dict[str, Any] = QUICK if options.quick else FULL

    def pick(name: str) -> Any:
        value = getattr(options, name)
        return sizes[name] if value is None else value

    return Config(
        n=pick("n"),
        workers=tuple(options.workers or (1, 2)),
        reps=pick("reps"),
        systems=tuple(options.systems or SYSTEMS),
        stores=tuple(pick("stores")),
        brokers=tuple(pick("brokers")),
        io_n=pick("io_n"),
        io_concurrency=options.io_concurrency,
        load_seconds=float(pick("load_seconds")),
        load_capacity_seconds=sizes["load_capacity_seconds"],
        load_levels=(50, 80),
        idle_workers=pick("idle_workers"),
        idle_seconds=float(pick("idle_seconds")),
        memory_tasks=pick("memory_tasks"),
        memory_systems=sizes["memory_systems"],
        retry_n=pick("retry_n"),
        workloads=tuple(options.workloads or WORKLOADS),
        latency_count=pick("latency_count"),
        latency_gap_ms=options.latency_gap_ms,
        history_rows=pick("history_rows"),
        history_n=pick("history_n"),
        history_systems=sizes["history_systems"],
        ceiling_batch=options.ceiling_batch,
        ours=options.ours.resolve(),
        quick=options.quick,
    )


def _rewrite_readme(path: Path) -> int:
    """Rewrite the README's results section from the run stored in ``path``."""
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        sys.stderr.write(f"--readme {str(path)!r}: not a readable results file ({e}).\n")
        return 2
    readme = REPO_DIR / "README.md"
    try:
        source = str(path.resolve().relative_to(REPO_DIR))
    except ValueError:
        source = str(path)
    try:
        text = report.rewrite_readme(readme.read_text(), report.readme_section(document, source))
        text = report.rewrite_scaling_table(text, report.scaling_table(document, source))
    except ValueError as e:
        sys.stderr.write(f"{e}\n")
        return 2
    readme.write_text(text)
    sys.stdout.write(
        f"Rewrote the results section and the Scaling out table of {readme.name} from {source}.\n"
    )
    return 0


def _two(text: str) -> tuple[int, int]:
    counts = _list(_positive)(text)
    if len(counts) != 2 or counts[0] >= counts[1]:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not two task counts, the smaller first (e.g. 10000,200000)."
        )
    return counts[0], counts[1]


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 1 or more.")
    return value


def _choice(allowed: Sequence[str]) -> Callable[[str], str]:
    def check(text: str) -> str:
        if text not in allowed:
            raise argparse.ArgumentTypeError(f"{text!r} is not one of {', '.join(allowed)}.")
        return text

    return check


def _list(item: Callable[[str], T]) -> Callable[[str], list[T]]:
    def parse(text: str) -> list[T]:
        return [item(part.strip()) for part in text.split(",")]

    return parse


def _machine() -> dict[str, Any]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory = Path("/proc/meminfo").read_text().split()[1]
    return {
        "cpu": f"{cpu}, {os.cpu_count()} cores",
        "memory": f"{int(memory) / 2**20:.0f} GiB",
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "load average at start": _load(),
    }


def _load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


START = {
    "PostgreSQL": "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    "MariaDB": "start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd",
    "Redis": 'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no',
    "RabbitMQ": "rabbitmq-server -detached",
}


def _services(config: Config) -> list[str]:
    """What is missing among the servers this run needs, with the command that starts each."""
    databases = set(config.systems) - {"celery", "ours-celery"}
    needed = [("PostgreSQL", 5432)]
    if "mysql" in config.stores and databases:
        needed.append(("MariaDB", 3306))
    if databases != set(config.systems):
        needed.append(("Redis", 6379))  # The Celery systems' results, and one broker.
        if "rabbitmq" in config.brokers:
            needed.append(("RabbitMQ", 5672))
    missing = []
    for name, port in needed:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=3).close()
        except OSError as e:
            missing.append(
                f"{name} is not reachable on 127.0.0.1:{port} ({e}); start it: {START[name]}"
            )
    return missing
