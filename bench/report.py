"""The table, the targets and the distance to the raw-SQL ceiling, from a run's measurements.

Everything printed is derived from the JSON document ``build`` returns, so ``python -m bench
--report FILE`` prints a stored run exactly as the run printed it.
"""

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.runner import (
    CEILING,
    IDLE_STATEMENTS,
    MEMORY_LARGE,
    MEMORY_SMALL,
    Measurements,
)

OURS, DTDB, OURS_CELERY, CELERY = "ours", "dtdb", "ours-celery", "celery"
PG, SQLITE, REDIS, RABBITMQ = "postgresql", "sqlite", "redis", "rabbitmq"

CELERY_OVERHEAD = 0.85
"""Our CeleryBackend's rates must be at least this share of plain Celery's (15% overhead)."""


def unit(workload: str) -> str:
    if workload.startswith(("latency", "ceiling latency")) or workload.endswith(
        (" wait", " per task")
    ):
        return "ms"
    if workload.endswith(" boot") or workload.endswith(" insert"):
        return "s"
    if workload.startswith("memory") or workload.endswith("RSS"):
        return "MiB"
    if workload == IDLE_STATEMENTS:
        return "statements/s"
    if workload.endswith("CPU"):
        return "% of a core"
    return "tasks/s"


IO = "io W=2x16"
"""The I/O workload's row: 20 ms tasks, two workers of 16 threads (Celery: the pool's name
follows ``io``, prefork or threads)."""
IO_POOLS = ("prefork", "threads")


def build(measurements: Measurements, meta: dict[str, Any]) -> dict[str, Any]:
    """The JSON document of a run: metadata, every row with its samples, targets, ceiling."""
    rows = [
        {
            "system": system,
            "store": store,
            "workload": workload,
            "unit": unit(workload),
            "median": statistics.median(values),
            "runs": values,
        }
        for (system, store, workload), values in measurements.samples.items()
        if values
    ]
    rows += [
        {
            "system": system,
            "store": store,
            "workload": workload,
            "unit": "tasks/s",
            "median": None,
            "runs": [],
            "note": "not offered",
        }
        for system, store, workload in sorted(measurements.not_offered)
    ]
    rows += [
        {
            "system": system,
            "store": store,
            "workload": "not succeeded",
            "unit": "tasks",
            "median": sum(counts),
            "runs": counts,
        }
        for (system, store), counts in measurements.not_succeeded.items()
    ]
    document = {
        **meta,
        "systems": measurements.info,
        "rows": rows,
        "series": measurements.series,
        "errors": measurements.errors,
    }
    document["targets"] = targets(document)
    document["ceiling"] = closeness(document)
    return document


def median_of(document: dict[str, Any], system: str, store: str, workload: str) -> float | None:
    for row in document["rows"]:
        if (row["system"], row["store"], row["workload"]) == (system, store, workload):
            return row["median"]  # type: ignore[no-any-return]  # JSON data
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    name: str
    threshold: float
    at_least: bool
    """True: the value must be at least the threshold; False: below it."""
    value: Callable[[dict[str, Any]], float | None]
    how: str


def _ratio(
    a: tuple[str, str, str], b: tuple[str, str, str]
) -> Callable[[dict[str, Any]], float | None]:
    def compute(document: dict[str, Any]) -> float | None:
        top, bottom = median_of(document, *a), median_of(document, *b)
        return None if top is None or not bottom else top / bottom

    return compute


def _history_ratio(system: str) -> Callable[[dict[str, Any]], float | None]:
    return _ratio((system, PG, "history full W=2"), (system, PG, "history empty W=2"))


def _value(key: tuple[str, str, str]) -> Callable[[dict[str, Any]], float | None]:
    return lambda document: median_of(document, *key)


def _io_share(document: dict[str, Any]) -> float | None:
    ideal = document["parameters"].get("io ideal")
    rate = median_of(document, OURS, PG, IO)
    return None if rate is None or not ideal else rate / ideal


def _io_against_celery(document: dict[str, Any]) -> float | None:
    ours = median_of(document, OURS, PG, IO)
    pools = [median_of(document, CELERY, REDIS, f"io {pool} W=2x16") for pool in IO_POOLS]
    best = max((rate for rate in pools if rate is not None), default=None)
    return None if ours is None or not best else ours / best


def _memory_growth(document: dict[str, Any]) -> float | None:
    return _ratio((OURS, PG, MEMORY_LARGE), (OURS, PG, MEMORY_SMALL))(document)


TARGETS = (
    Target(
        name="enqueue 1-by-1, ours on PostgreSQL / one-INSERT ceiling",
        threshold=0.85,
        at_least=True,
        value=_ratio((OURS, PG, "enqueue 1-by-1"), (CEILING, PG, "enqueue 1-by-1")),
        how="ratio of medians, same run",
    ),
    Target(
        name="drain W=2, ours on PostgreSQL / batched ceiling",
        threshold=0.5,
        at_least=True,
        value=_ratio((OURS, PG, "drain W=2"), (CEILING, PG, "drain batched")),
        how="ratio of medians, same run",
    ),
    Target(
        name="io 20 ms W=2x16, ours on PostgreSQL / ideal",
        threshold=0.8,
        at_least=True,
        value=_io_share,
        how="median rate over W x concurrency / 20 ms",
    ),
    Target(
        name="io 20 ms: ours on PostgreSQL / Celery's best pool on Redis",
        threshold=1,
        at_least=True,
        value=_io_against_celery,
        how="ratio of medians; must be ahead of prefork and threads",
    ),
    Target(
        name="load 80%: p99 wait, ours on PostgreSQL (ms)",
        threshold=20,
        at_least=False,
        value=_value((OURS, PG, "load 80% p99 wait")),
        how="median over runs of each run's p99",
    ),
    Target(
        name="idle: statements/s per idle worker, ours on PostgreSQL",
        threshold=1,
        at_least=False,
        value=_value((OURS, PG, IDLE_STATEMENTS)),
        how="pg_stat_database xact_commit + xact_rollback, delta over the window / workers",
    ),
    Target(
        name="memory: worker RSS at N2 / at N1 tasks, ours on PostgreSQL",
        threshold=1.1,
        at_least=False,
        value=_memory_growth,
        how="flat: growth under 10% (noise)",
    ),
    Target(
        name="drain W=2, PostgreSQL: ours / django-tasks-db",
        threshold=5,
        at_least=True,
        value=_ratio((OURS, PG, "drain W=2"), (DTDB, PG, "drain W=2")),
        how="ratio of medians",
    ),
    Target(
        name="drain W=2: ours on PostgreSQL / Celery on Redis",
        threshold=1,
        at_least=True,
        value=_ratio((OURS, PG, "drain W=2"), (CELERY, REDIS, "drain W=2")),
        how="ratio of medians; must be ahead",
    ),
    Target(
        name="enqueue 1-by-1, PostgreSQL: ours / django-tasks-db",
        threshold=1.5,
        at_least=True,
        value=_ratio((OURS, PG, "enqueue 1-by-1"), (DTDB, PG, "enqueue 1-by-1")),
        how="ratio of medians",
    ),
    Target(
        name="enqueue bulk / 1-by-1, ours on PostgreSQL",
        threshold=20,
        at_least=True,
        value=_ratio((OURS, PG, "enqueue bulk"), (OURS, PG, "enqueue 1-by-1")),
        how="ratio of medians",
    ),
    Target(
        name="latency p50, ours on PostgreSQL (ms)",
        threshold=10,
        at_least=False,
        value=_value((OURS, PG, "latency p50")),
        how="median over runs of each run's p50",
    ),
    Target(
        name="latency p95, ours on PostgreSQL (ms)",
        threshold=25,
        at_least=False,
        value=_value((OURS, PG, "latency p95")),
        how="median over runs of each run's p95",
    ),
    Target(
        name="history: drain with finished rows / empty table, ours on PostgreSQL",
        threshold=0.8,
        at_least=True,
        value=_history_ratio(OURS),
        how="ratio of medians, same workload run",
    ),
    Target(
        name="drain W=2, SQLite: ours / django-tasks-db",
        threshold=3,
        at_least=True,
        value=_ratio((OURS, SQLITE, "drain W=2"), (DTDB, SQLITE, "drain W=2")),
        how="ratio of medians",
    ),
    *(
        Target(
            name=f"{workload}, {broker}: ours on Celery / Celery",
            threshold=CELERY_OVERHEAD,
            at_least=True,
            value=_ratio((OURS_CELERY, broker, workload), (CELERY, broker, workload)),
            how="ratio of medians; our overhead at most 15%",
        )
        for broker in (REDIS, RABBITMQ)
        for workload in ("enqueue 1-by-1", "drain W=2", "io prefork W=2x16")
    ),
)


def targets(document: dict[str, Any]) -> list[dict[str, Any]]:
    verdicts = []
    for target in TARGETS:
        value = target.value(document)
        if value is None:
            verdict = "NOT MEASURED"
            if target.name.startswith("enqueue bulk") and any(
                row.get("note") == "not offered" and row["system"] == OURS
                for row in document["rows"]
            ):
                verdict = "FAIL (not offered)"
        elif target.at_least:
            verdict = "PASS" if value >= target.threshold else "FAIL"
        else:
            verdict = "PASS" if value < target.threshold else "FAIL"
        verdicts.append(
            {
                "target": target.name,
                "required": f"{'>=' if target.at_least else '<'} {target.threshold:g}",
                "measured": value,
                "verdict": verdict,
                "how": target.how,
            }
        )
    return verdicts


CEILING_PAIRS = (
    ("enqueue 1-by-1", "enqueue 1-by-1", "one INSERT per task"),
    ("enqueue bulk", "enqueue batched", "multi-row INSERT"),
    ("drain W=1", "drain 1 conn", "claim + finish, one statement each, 1 connection"),
    ("drain W=2", "drain 2 procs", "claim + finish, one statement each, 2 processes"),
    ("drain W=2", "drain batched", "claim + finish, batched, 1 connection"),
)


def closeness(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Ours on PostgreSQL as a share of the raw-SQL figure for the same work."""
    lines = []
    for ours_name, ceiling_name, what in CEILING_PAIRS:
        ours, limit = (
            median_of(document, OURS, PG, ours_name),
            median_of(document, CEILING, PG, ceiling_name),
        )
        lines.append(
            {
                "figure": ours_name,
                "ceiling": f"{ceiling_name} ({what})",
                "ours": ours,
                "limit": limit,
                "share": None if ours is None or not limit else ours / limit,
            }
        )
    for quantile in ("p50", "p95"):
        ours = median_of(document, OURS, PG, f"latency {quantile}")
        limit = median_of(document, CEILING, PG, f"latency {quantile}")
        lines.append(
            {
                "figure": f"latency {quantile} (ms)",
                "ceiling": f"latency {quantile} (LISTEN/NOTIFY wake-up + claim)",
                "ours": ours,
                "limit": limit,
                "share": None if ours is None or not ours else (limit or 0) / ours,
            }
        )
    ours_history = _history_ratio(OURS)(document)
    empty = median_of(document, CEILING, PG, "drain 2 procs")
    full = median_of(document, CEILING, PG, "history drain 2 procs")
    lines.append(
        {
            "figure": "history ratio",
            "ceiling": "history drain 2 procs / drain 2 procs",
            "ours": ours_history,
            "limit": None if full is None or not empty else full / empty,
            "share": None,
        }
    )
    return lines


def _number(value: float | None, unit_name: str) -> str:
    if value is None:
        return "-"
    if unit_name == "tasks/s":
        return f"{value:,.0f}"
    if unit_name == "tasks":
        return f"{value:.0f}"
    if unit_name == "s":
        return f"{value:.2f}"
    return f"{value:.1f}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]

    def line(cells: list[str]) -> str:
        return (
            "| "
            + " | ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))
            + " |"
        )

    return [line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)]


SYSTEM_ORDER = {OURS: 0, DTDB: 1, OURS_CELERY: 2, CELERY: 3, CEILING: 4}
STORE_ORDER = {PG: 0, SQLITE: 1, "mysql": 2, REDIS: 3, RABBITMQ: 4}
WORKLOAD_ORDER = (
    "enqueue",
    "drain",
    "io",
    "latency",
    "load",
    "idle",
    "memory",
    "history",
    "retry",
    "not succeeded",
)


def _row_order(row: dict[str, Any]) -> tuple[int, int, int, str]:
    workload: str = row["workload"]
    kind = next((i for i, w in enumerate(WORKLOAD_ORDER) if workload.startswith(w)), 9)
    return SYSTEM_ORDER.get(row["system"], 9), STORE_ORDER.get(row["store"], 9), kind, workload


SUMMARY_COLUMNS = (
    ("enqueue 1-by-1", "enqueue 1-by-1"),
    ("enqueue bulk", "enqueue bulk"),
    ("drain W=1", "drain W=1"),
    ("drain W=2", "drain W=2"),
    ("boot W=2 (s)", "drain W=2 boot"),
    ("20 ms I/O W=2x16 (Celery: prefork / threads)", "io"),
    ("load 80% p99 wait (ms)", "load 80% p99 wait"),
    ("idle stmts/s per worker", IDLE_STATEMENTS),
    ("retry drain W=2", "retry drain W=2"),
    ("latency p50 / p95 (ms)", "latency"),
    ("history full / empty", "history"),
    ("not succeeded", "not succeeded"),
)


def _summary(document: dict[str, Any]) -> list[str]:
    """One line per system and store, the headline figures side by side."""
    names = document["parameters"].get("names", {})
    pairs = sorted(
        {(row["system"], row["store"]) for row in document["rows"] if row["system"] != CEILING},
        key=lambda pair: (SYSTEM_ORDER.get(pair[0], 9), STORE_ORDER.get(pair[1], 9)),
    )
    lines = []
    for system, store in pairs:
        cells = [names.get(system, system), store]
        for _, workload in SUMMARY_COLUMNS:
            if workload == "latency":
                p50, p95 = (
                    median_of(document, system, store, f"latency {q}") for q in ("p50", "p95")
                )
                cells.append("-" if p50 is None or p95 is None else f"{p50:.1f} / {p95:.1f}")
            elif workload == "io":
                rates = [
                    median_of(document, system, store, name)
                    for name in (IO, *(f"io {pool} W=2x16" for pool in IO_POOLS))
                ]
                cells.append(
                    " / ".join(_number(r, "tasks/s") for r in rates if r is not None) or "-"
                )
            elif workload == "history":
                ratio = _history_ratio(system)(document) if store == PG else None
                cells.append("-" if ratio is None else f"{ratio:.2f}")
            elif workload == "enqueue bulk" and (system, store, workload) in {
                (r["system"], r["store"], r["workload"]) for r in document["rows"] if r.get("note")
            }:
                cells.append("not offered")
            else:
                value = median_of(document, system, store, workload)
                cells.append(
                    _number(value, unit(workload) if workload != "not succeeded" else "tasks")
                )
        lines.append(cells)
    return _table(["system", "store", *(title for title, _ in SUMMARY_COLUMNS)], lines)


def _label(workload: str, document: dict[str, Any]) -> str:
    parameters = document["parameters"]
    rows = parameters["history rows"]
    label = workload.replace("history full", f"history {rows:,} finished rows").replace(
        "history empty", "history empty table"
    )
    if "memory tasks" in parameters:
        small, large = parameters["memory tasks"]
        label = label.replace("N1", f"{small:,}").replace("N2", f"{large:,}")
    return label


def render(document: dict[str, Any]) -> str:
    """The run as Markdown: setup, the table, the targets, the distance to the ceiling."""
    out = [f"# Benchmark {document['started']} ({document['mode']})", ""]
    out += [f"- {key}: {value}" for key, value in document["machine"].items()]
    out += [f"- parameters: {document['parameters']}", ""]
    out += ["## Systems", ""]
    for key, info in sorted(document["systems"].items()):
        versions = ", ".join(f"{name} {version}" for name, version in info["versions"].items())
        out.append(f"- **{key}** ({info['server']}): {versions}")
        for name, value in info["settings"].items():
            out.append(f"  - {name}: `{value}`")
    out += ["", "## Summary (medians; tasks/s unless noted)", ""]
    out += _summary(document)
    out += ["", "## Results (median of all runs; every run listed)", ""]
    rows = sorted(document["rows"], key=_row_order)
    names = document["parameters"].get("names", {})
    table = [
        [
            names.get(row["system"], row["system"]),
            row["store"],
            _label(row["workload"], document) + f" ({row['unit']})",
            row.get("note") or _number(row["median"], row["unit"]),
            ", ".join(_number(v, row["unit"]) for v in row["runs"]),
        ]
        for row in rows
    ]
    out += _table(["system", "store", "workload", "median", "all runs"], table)
    out += ["", "## Targets", ""]
    out += _targets_table(document)
    out += ["", "## Ours on PostgreSQL against the raw-SQL ceiling", ""]
    out += _ceiling_table(document)
    if document.get("plots"):
        out += ["", "## Plots", ""] + [f"- {plot}" for plot in document["plots"]]
    if document["errors"]:
        out += ["", "## Errors", ""] + [f"- {error}" for error in document["errors"]]
    return "\n".join(out) + "\n"


def _targets_table(document: dict[str, Any]) -> list[str]:
    return _table(
        ["target", "required", "measured", "verdict"],
        [
            [
                _label(t["target"], document),
                t["required"],
                "-" if t["measured"] is None else f"{t['measured']:.2f}",
                t["verdict"],
            ]
            for t in document["targets"]
        ],
    )


def _ceiling_table(document: dict[str, Any]) -> list[str]:
    return _table(
        ["figure", "ours", "ceiling", "limit", "closeness (100% = the limit)"],
        [
            [
                c["figure"],
                "-" if c["ours"] is None else f"{c['ours']:,.2f}",
                c["ceiling"],
                "-" if c["limit"] is None else f"{c['limit']:,.2f}",
                "-" if c["share"] is None else f"{c['share']:.0%}",
            ]
            for c in document["ceiling"]
        ],
    )


README_START = "<!-- bench-results: written by ./dev bench --readme FILE.json; do not edit -->"
README_END = "<!-- /bench-results -->"


def readme_section(document: dict[str, Any], source: str) -> str:
    """The README's latest-results section, every figure from the one run in ``document``
    (``source``: the results file, as the README names it)."""
    machine = document["machine"]
    out = [
        f"A {document['mode']} run of {document['duration_s']:,.0f} s, {document['started']}, "
        f"on {machine.get('cpu', '?')} ({machine.get('memory', '?')}, "
        f"{machine.get('system', '?')}, Python {machine.get('python', '?')}; load average "
        f"{machine.get('load average at start', '?')} at the start). Raw data: `{source}`; "
        f"`./dev bench --report {source}` prints every run and every setting.",
    ]
    sizes = _sizes(document["parameters"])
    if sizes:
        out.append(sizes)
    out.append("")
    out += _summary(document)
    out += ["", "Targets (ratios in the same run):", ""]
    out += _targets_table(document)
    out += ["", "Ours on PostgreSQL against the raw-SQL ceiling:", ""]
    out += _ceiling_table(document)
    plots = document.get("plots", [])
    if plots:
        out += ["", "Backlog under load: " + ", ".join(f"`{plot}`" for plot in plots) + "."]
    if document["errors"]:
        out += ["", "Errors in this run:", ""] + [
            f"- {error.splitlines()[0]}" for error in document["errors"]
        ]
    return "\n".join(out) + "\n"


def _sizes(parameters: dict[str, Any]) -> str:
    """One line of what the run measured with (those of ``parameters`` it records), and which
    checkout of ours."""
    parts = []
    if "N" in parameters and "reps" in parameters:
        parts.append(f"N={parameters['N']:,} per run, {parameters['reps']} repetitions")
    for key in ("load", "idle"):
        if key in parameters:
            parts.append(f"{key}: {parameters[key]}")
    if "history rows" in parameters:
        parts.append(f"{parameters['history rows']:,} history rows")
    ours = parameters.get("ours") or {}
    if ours.get("commit"):
        changes = " with uncommitted changes" if ours.get("uncommitted changes") else ""
        parts.append(f"ours at commit {ours['commit']}{changes}")
    return "Sizes: " + "; ".join(parts) + "." if parts else ""


def rewrite_readme(text: str, section: str) -> str:
    """``text`` (the README) with what lies between the results markers replaced."""
    return _rewrite_between(text, README_START, README_END, section)


SCALING_START = "<!-- scaling-table: written by ./dev bench --readme FILE.json; do not edit -->"
SCALING_END = "<!-- /scaling-table -->"

SCALING_COLUMNS = (
    ((OURS, PG), "`DatabaseBackend` on PostgreSQL"),
    ((OURS_CELERY, REDIS), "`CeleryBackend` on Redis"),
    ((OURS_CELERY, RABBITMQ), "`CeleryBackend` on RabbitMQ"),
    ((CELERY, REDIS), "plain Celery on Redis"),
    ((CELERY, RABBITMQ), "plain Celery on RabbitMQ"),
)
"""The README's "Scaling out" comparison: the production backends beside Celery itself."""


def _best_io(document: dict[str, Any], system: str, store: str) -> str:
    """The 20 ms I/O rate of a system, from its best pool (named when it has several)."""
    rates = {
        pool: median_of(document, system, store, f"io {pool + ' ' if pool else ''}W=2x16")
        for pool in ("", *IO_POOLS)
    }
    measured = {pool: rate for pool, rate in rates.items() if rate is not None}
    if not measured:
        return "-"
    pool, rate = max(measured.items(), key=lambda item: item[1])
    return _number(rate, "tasks/s") + (f" ({pool})" if pool else "")


def scaling_table(document: dict[str, Any], source: str) -> str:
    """The README's "Scaling out" table, every figure from the one run in ``document``."""
    rows: list[list[str]] = []
    for title, workload in (
        ("enqueue one by one", "enqueue 1-by-1"),
        ("drain, 2 workers, no-op tasks", "drain W=2"),
        ("drain, 2 workers x 16 slots, 20 ms I/O tasks", "io"),
        ("latency p50 (ms)", "latency p50"),
    ):
        cells = [title]
        for (system, store), _ in SCALING_COLUMNS:
            if workload == "io":
                cells.append(_best_io(document, system, store))
            else:
                cells.append(_number(median_of(document, system, store, workload), unit(workload)))
        rows.append(cells)
    header = ["figure (tasks/s unless noted)", *(name for _, name in SCALING_COLUMNS)]
    note = (
        f"From the {document['mode']} run of {document['started']} (`{source}`; "
        "see [Performance](#performance)); `-`: not measured in that run."
    )
    return "\n".join([*_table(header, rows), "", note]) + "\n"


def rewrite_scaling_table(text: str, table: str) -> str:
    """``text`` (the README) with the "Scaling out" table between its markers replaced."""
    return _rewrite_between(text, SCALING_START, SCALING_END, table)


def _rewrite_between(text: str, start_marker: str, end_marker: str, section: str) -> str:
    start, end = text.find(start_marker), text.find(end_marker)
    if start < 0 or end < start:
        raise ValueError(
            f"The README has no section to rewrite there: it needs the line {start_marker!r} "
            f"and, after it, {end_marker!r}."
        )
    head = text[: start + len(start_marker)]
    return f"{head}\n{section}{text[end:]}"
