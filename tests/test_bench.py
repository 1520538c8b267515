"""The benchmark's verdicts: targets, table and options come from the run's own measurements.

Only the arithmetic and the reporting are tested here; the measurements themselves (real
workers, real servers, timings) are the benchmark's job (./dev bench), never the test suite's.
"""

import re
from typing import Any
from xml.etree import ElementTree

import pytest

from bench import plot, report
from bench.cli import _parser
from bench.runner import CEILING, Measurements

META: dict[str, Any] = {
    "started": "2026-11-25T00:00:00Z",
    "mode": "quick",
    "machine": {"cpu": "test"},
    "parameters": {"history rows": 1_000_000, "names": {"ours": "django_tasks (ours)"}},
}


def measured(samples: dict[tuple[str, str, str], list[float]]) -> Measurements:
    measurements = Measurements()
    for key, values in samples.items():
        measurements.samples[key] += values
    return measurements


ALL_TARGETS = {
    ("ours", "postgresql", "drain W=2"): [5000.0, 6000.0, 5500.0],
    ("dtdb", "postgresql", "drain W=2"): [1000.0, 1100.0],
    ("celery", "redis", "drain W=2"): [1200.0],
    ("ours", "postgresql", "enqueue 1-by-1"): [3000.0],
    ("dtdb", "postgresql", "enqueue 1-by-1"): [2500.0],
    ("ours", "postgresql", "enqueue bulk"): [90000.0],
    ("ours", "postgresql", "latency p50"): [4.0, 12.0, 5.0],
    ("ours", "postgresql", "latency p95"): [30.0],
    ("ours", "postgresql", "history full W=2"): [4000.0],
    ("ours", "postgresql", "history empty W=2"): [4800.0],
    ("ours", "sqlite", "drain W=2"): [900.0],
    ("dtdb", "sqlite", "drain W=2"): [300.0],
    ("ours-celery", "redis", "enqueue 1-by-1"): [900.0],
    ("celery", "redis", "enqueue 1-by-1"): [1000.0],
    ("ours-celery", "redis", "drain W=2"): [1000.0, 1100.0],
    ("ours-celery", "redis", "io prefork W=2x16"): [190.0],
    ("celery", "redis", "io prefork W=2x16"): [200.0],
    ("ours-celery", "rabbitmq", "enqueue 1-by-1"): [800.0],
    ("celery", "rabbitmq", "enqueue 1-by-1"): [1000.0],
}


def test_each_target_is_judged_on_the_ratio_of_medians() -> None:
    document = report.build(measured(ALL_TARGETS), META)

    measured_targets = [t for t in document["targets"] if t["measured"] is not None]
    verdicts = [(t["required"], round(t["measured"], 3), t["verdict"]) for t in measured_targets]

    assert verdicts == [
        (">= 5", 5.238, "PASS"),  # 5500 / 1050
        (">= 1", 4.583, "PASS"),  # 5500 / 1200
        (">= 1.5", 1.2, "FAIL"),  # 3000 / 2500
        (">= 20", 30.0, "PASS"),  # 90000 / 3000
        ("< 10", 5.0, "PASS"),
        ("< 25", 30.0, "FAIL"),
        (">= 0.8", 0.833, "PASS"),  # 4000 / 4800
        (">= 3", 3.0, "PASS"),  # 900 / 300: a floor, reached exactly
        (">= 0.85", 0.9, "PASS"),  # Ours on Celery / Celery, Redis: enqueue 900 / 1000
        (">= 0.85", 0.875, "PASS"),  # drain 1050 / 1200
        (">= 0.85", 0.95, "PASS"),  # 10 ms I/O 190 / 200
        (">= 0.85", 0.8, "FAIL"),  # RabbitMQ: enqueue 800 / 1000
    ]
    assert [t["target"] for t in document["targets"] if t["measured"] is None] == [
        "enqueue 1-by-1, ours on PostgreSQL / one-INSERT ceiling",
        "drain W=2, ours on PostgreSQL / batched ceiling",
        "io 20 ms W=2x16, ours on PostgreSQL / ideal",
        "io 20 ms: ours on PostgreSQL / Celery's best pool on Redis",
        "load 80%: p99 wait, ours on PostgreSQL (ms)",
        "idle: statements/s per idle worker, ours on PostgreSQL",
        "memory: worker RSS at N2 / at N1 tasks, ours on PostgreSQL",
        "drain W=2, rabbitmq: ours on Celery / Celery",
        "io prefork W=2x16, rabbitmq: ours on Celery / Celery",
    ]


ISSUE_20 = {
    ("ours", "postgresql", "enqueue 1-by-1"): [1700.0],
    (CEILING, "postgresql", "enqueue 1-by-1"): [2000.0],
    ("ours", "postgresql", "drain W=2"): [5000.0],
    (CEILING, "postgresql", "drain batched"): [20000.0],
    ("ours", "postgresql", "io W=2x16"): [1300.0, 1400.0],
    ("celery", "redis", "io prefork W=2x16"): [900.0],
    ("celery", "redis", "io threads W=2x16"): [1450.0],
    ("ours", "postgresql", "load 80% p99 wait"): [12.0, 25.0, 14.0],
    ("ours", "postgresql", "idle statements/s per worker"): [1.2],
    ("ours", "postgresql", "memory RSS at N1"): [60.0],
    ("ours", "postgresql", "memory RSS at N2"): [63.0],
}


def test_the_targets_of_issue_20_are_ratios_of_figures_of_the_same_run() -> None:
    meta = {**META, "parameters": {**META["parameters"], "io ideal": 1600.0}}

    document = report.build(measured(ISSUE_20), meta)

    verdicts = {
        t["target"]: (round(t["measured"], 3), t["verdict"])
        for t in document["targets"]
        if t["measured"] is not None
    }
    assert verdicts == {
        "enqueue 1-by-1, ours on PostgreSQL / one-INSERT ceiling": (0.85, "PASS"),  # a floor
        "drain W=2, ours on PostgreSQL / batched ceiling": (0.25, "FAIL"),
        "io 20 ms W=2x16, ours on PostgreSQL / ideal": (0.844, "PASS"),  # 1350 / 1600
        # Behind Celery's better pool (threads), though ahead of prefork.
        "io 20 ms: ours on PostgreSQL / Celery's best pool on Redis": (0.931, "FAIL"),
        "load 80%: p99 wait, ours on PostgreSQL (ms)": (14.0, "PASS"),
        "idle: statements/s per idle worker, ours on PostgreSQL": (1.2, "FAIL"),
        "memory: worker RSS at N2 / at N1 tasks, ours on PostgreSQL": (1.05, "PASS"),
    }


def test_the_readme_section_is_rewritten_from_one_results_file() -> None:
    meta = {
        **META,
        "duration_s": 100.0,
        "parameters": {**META["parameters"], "io ideal": 1600.0},
        "plots": ["bench/results/run-load.svg"],
    }
    document = report.build(measured(ISSUE_20), meta)
    readme = (
        "# Title\n\n### Latest results\n\n"
        f"{report.README_START}\nold figures\n{report.README_END}\n\n## Next\n"
    )

    rewritten = report.rewrite_readme(
        readme, report.readme_section(document, "bench/results/run.json")
    )

    assert "old figures" not in rewritten
    assert rewritten.startswith(f"# Title\n\n### Latest results\n\n{report.README_START}\n")
    assert rewritten.endswith(f"{report.README_END}\n\n## Next\n")
    assert "Raw data: `bench/results/run.json`" in rewritten
    assert "Sizes: 1,000,000 history rows." in rewritten
    assert re.search(
        r"\| io 20 ms W=2x16, ours on PostgreSQL / ideal +\| >= 0.8 +\| 0.84 ", rewritten
    )
    assert "`bench/results/run-load.svg`" in rewritten
    # Rewriting again from the same file changes nothing.
    assert (
        report.rewrite_readme(rewritten, report.readme_section(document, "bench/results/run.json"))
        == rewritten
    )


def test_a_readme_without_the_markers_is_refused_saying_which() -> None:
    with pytest.raises(ValueError, match="bench-results"):
        report.rewrite_readme("# Title\n", "figures\n")


def test_the_backlog_plot_is_an_svg_with_one_line_per_series() -> None:
    svg = plot.backlog_svg(
        "ours on postgresql <load>",
        {"50%": [(0.0, 0.0), (1.0, 3.0), (2.0, 1.0)], "80%": [(0.0, 0.0), (2.0, 30.0)]},
    )

    root = ElementTree.fromstring(svg)
    lines = root.findall("{http://www.w3.org/2000/svg}polyline")
    assert len(lines) == 2
    # The highest backlog (30) is at the top of the plot area, time 0 at its left edge.
    last = lines[1].attrib["points"].split()
    assert last[0] == f"{plot.LEFT:.1f},{plot.HEIGHT - plot.BOTTOM:.1f}"
    assert last[1] == f"{plot.WIDTH - plot.RIGHT:.1f},{plot.TOP:.1f}"
    assert "&lt;load&gt;" in svg


def test_a_bulk_path_not_offered_fails_and_a_missing_figure_is_not_measured() -> None:
    measurements = measured({("ours", "postgresql", "enqueue 1-by-1"): [3000.0]})
    measurements.not_offered.add(("ours", "postgresql", "enqueue bulk"))

    verdicts = {t["target"]: t["verdict"] for t in report.build(measurements, META)["targets"]}

    assert verdicts["enqueue bulk / 1-by-1, ours on PostgreSQL"] == "FAIL (not offered)"
    assert verdicts["enqueue 1-by-1, PostgreSQL: ours / django-tasks-db"] == "NOT MEASURED"


def test_the_table_lists_the_median_and_every_run() -> None:
    measurements = measured(ALL_TARGETS)
    measurements.not_succeeded[("ours", "postgresql")] += [0, 2]

    text = report.render(report.build(measurements, META))

    assert re.search(
        r"\| django_tasks \(ours\) +\| postgresql \| drain W=2 \(tasks/s\) +\| 5,500 +"
        r"\| 5,000, 6,000, 5,500 +\|",
        text,
    )
    assert re.search(r"\| history 1,000,000 finished rows W=2 \(tasks/s\) +\| 4,000 ", text)
    assert re.search(r"\| not succeeded \(tasks\) +\| 2 +\| 0, 2 +\|", text)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--workers", "1,0"], "argument --workers: '0' is not a whole number of 1 or more."),
        (["--n", "many"], "argument --n: 'many' is not a whole number of 1 or more."),
        (
            ["--systems", "ours,rq"],
            "argument --systems: 'rq' is not one of ours, dtdb, ours-celery, celery.",
        ),
        (
            ["--memory-tasks", "200000,10000"],
            "argument --memory-tasks: '200000,10000' is not two task counts, the smaller first",
        ),
    ],
)
def test_bad_options_are_refused_with_the_offending_value(
    arguments: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        _parser().parse_args(arguments)

    assert message in capsys.readouterr().err


def test_the_rows_of_the_new_workloads_carry_their_units_and_the_task_counts() -> None:
    meta = {**META, "parameters": {**META["parameters"], "memory tasks": [10_000, 200_000]}}

    document = report.build(measured(ISSUE_20), meta)
    units = {row["workload"]: row["unit"] for row in document["rows"]}
    text = report.render(document)

    assert units["load 80% p99 wait"] == "ms"
    assert units["idle statements/s per worker"] == "statements/s"
    assert units["memory RSS at N2"] == "MiB"
    assert units["io W=2x16"] == "tasks/s"
    assert "| memory RSS at 200,000 (MiB) " in text
    assert "memory: worker RSS at 200,000 / at 10,000 tasks, ours on PostgreSQL" in text


def test_the_scaling_out_table_is_rewritten_from_the_same_results_file() -> None:
    document = report.build(measured(ALL_TARGETS), {**META, "duration_s": 100.0})
    readme = f"## Scaling out\n\n{report.SCALING_START}\nold\n{report.SCALING_END}\n\nProse.\n"

    rewritten = report.rewrite_scaling_table(
        readme, report.scaling_table(document, "bench/results/run.json")
    )

    assert "old" not in rewritten
    assert rewritten.endswith(f"{report.SCALING_END}\n\nProse.\n")
    rows = {line.split("|")[1].strip(): line for line in rewritten.splitlines() if "|" in line}
    cells = [cell.strip() for cell in rows["enqueue one by one"].split("|")[2:-1]]
    assert cells == ["3,000", "900", "800", "1,000", "1,000"]
    io = [
        cell.strip()
        for cell in rows["drain, 2 workers x 16 slots, 20 ms I/O tasks"].split("|")[2:-1]
    ]
    assert io == ["-", "190 (prefork)", "-", "200 (prefork)", "-"]
    assert "`bench/results/run.json`" in rewritten
