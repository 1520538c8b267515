"""./dev bench --profile: where a draining worker's time goes, for the database engineer.

Runs one db_worker under cProfile on N pre-enqueued no-op tasks (PostgreSQL), for each selected
Django-based system, and prints the time per layer (SQL round trips, ORM, JSON, signals,
logging...) and the hottest functions.
"""

import sys
from pathlib import Path
from typing import Any

from bench.config import Config
from bench.runner import LOG_DIR, Runner
from bench.systems import all_systems


def profile(venvs: dict[str, Path], config: Config) -> int:
    systems = all_systems()
    runner = Runner(config, systems, venvs)
    status = 0
    for key in config.systems:
        if key == "celery":
            continue
        system = systems[key]
        runner.driver(system, "postgresql", "setup", {})
        params = {"n": config.n, "timeout": config.timeout}
        result = runner.driver(system, "postgresql", "profile", params)
        if result is None:
            status = 1
            continue
        sys.stdout.write(_render(system.name, result))
    sys.stdout.write(f"\nProfiles are in {LOG_DIR}/<system>-postgresql/.\n")
    return status


def _render(name: str, result: dict[str, Any]) -> str:
    total, tasks = result["seconds"], result["tasks"]
    out = [
        f"\n## {name}: one db_worker draining {tasks} no-op tasks on PostgreSQL (cProfile)",
        f"{total:.2f} s profiled, {total / tasks * 1000:.3f} ms per task "
        f"(cProfile slows Python code down; read the shares, not the absolute times). "
        f"Not succeeded: {result['not_succeeded']}.",
        "",
        "| layer (self time) | s | share | ms/task |",
        "|---|---|---|---|",
    ]
    for layer, seconds in result["layers"]:
        out.append(
            f"| {layer} | {seconds:.3f} | {seconds / total:.0%} | {seconds / tasks * 1000:.3f} |"
        )
    out += ["", "Hottest functions by self time:", ""]
    out += ["| function | calls | self s | cumulative s |", "|---|---|---|---|"]
    out += [f"| {w} | {c} | {o} | {cu} |" for w, c, o, cu in result["top_self"]]
    out += ["", "By cumulative time:", ""]
    out += ["| function | calls | self s | cumulative s |", "|---|---|---|---|"]
    out += [f"| {w} | {c} | {o} | {cu} |" for w, c, o, cu in result["top_cumulative"]]
    return "\n".join(out) + "\n"
