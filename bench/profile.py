"""./dev bench --profile: where a draining worker's time goes, for the database engineer.

For each selected Django-based system, drains N pre-enqueued no-op tasks on PostgreSQL with one
db_worker under py-spy (every thread), then N more under cProfile (main thread, call counts),
and prints the time per layer (SQL round trips, ORM, JSON, signals, logging...) and the
hottest functions.
"""

import sys
from pathlib import Path
from typing import Any

from bench.config import Config
from bench.runner import LOG_DIR, Runner
from bench.systems import System, all_systems
from bench.venvs import ensure

PY_SPY = System(key="tools", name="profiling tools", stores=(), requirements=("py-spy==0.4.3",))
"""py-spy samples every thread of a process from outside; it gets a virtualenv of its own."""


WAITING = ("idle", "waiting")
"""py-spy layers that are a thread waiting, not working: left out of the busy time."""


def profile(venvs: dict[str, Path], config: Config) -> int:
    systems = all_systems()
    runner = Runner(config, systems, venvs)
    profiled = [key for key in config.systems if "postgresql" in systems[key].stores]
    runner.steps_total = len(profiled)
    py_spy = ensure(PY_SPY, LOG_DIR) / "bin" / "py-spy"
    status = 0
    for key in profiled:
        system = systems[key]
        runner.driver(system, "postgresql", "setup", {})
        params = {"n": config.n, "timeout": config.timeout, "py_spy": str(py_spy)}
        result = runner.driver(system, "postgresql", "profile", params)
        if result is None:
            status = 1
            continue
        sys.stdout.write(_render(system.name, result))
    sys.stdout.write(f"\nProfiles are in {LOG_DIR}/<system>-postgresql/.\n")
    return status


def _render(name: str, result: dict[str, Any]) -> str:
    tasks = result["tasks"]
    out = [f"\n## {name}: one db_worker draining {tasks} no-op tasks on PostgreSQL"]
    if "py_spy" in result:
        spy = result["py_spy"]
        busy = sum(
            sum(kinds.values()) for layer, kinds in spy["layers"] if not layer.startswith(WAITING)
        )
        out += [
            "",
            f"py-spy, every thread, {spy['rate']} samples/s; shares are of the busy time "
            f"({busy:.2f} thread-seconds, {busy / tasks * 1000:.3f} ms per task):",
            "",
            "| layer (innermost frame) | main thread s | task threads s | share of busy "
            "| ms/task |",
            "|---|---|---|---|---|",
        ]
        for layer, kinds in spy["layers"]:
            both = sum(kinds.values())
            share = "-" if layer.startswith(WAITING) else f"{both / busy:.0%}"
            out.append(
                f"| {layer} | {kinds['main thread']:.3f} | {kinds['task threads']:.3f} | "
                f"{share} | {both / tasks * 1000:.3f} |"
            )
    profiled = result["cprofile"]
    total = profiled["seconds"]
    out += [
        "",
        f"cProfile, main thread only (exact call counts): {total:.2f} s, "
        f"{total / tasks * 1000:.3f} ms per task (cProfile slows Python code down: read the "
        f"shares and the call counts). SQL statements: {profiled['statements']} "
        f"({profiled['statements'] / tasks:.2f} per task).",
        "",
        "| layer (self time) | s | share | ms/task |",
        "|---|---|---|---|",
    ]
    for layer, seconds in profiled["layers"]:
        out.append(
            f"| {layer} | {seconds:.3f} | {seconds / total:.0%} | {seconds / tasks * 1000:.3f} |"
        )
    out += ["", "Hottest functions by self time:", ""]
    out += ["| function | calls | self s | cumulative s |", "|---|---|---|---|"]
    out += [f"| {w} | {c} | {o} | {cu} |" for w, c, o, cu in profiled["top_self"]]
    out += ["", "By cumulative time:", ""]
    out += ["| function | calls | self s | cumulative s |", "|---|---|---|---|"]
    out += [f"| {w} | {c} | {o} | {cu} |" for w, c, o, cu in profiled["top_cumulative"]]
    return "\n".join(out) + "\n"
