"""The benchmark's verdicts: targets, table and options come from the run's own measurements.

Only the arithmetic and the reporting are tested here; the measurements themselves (real
workers, real servers, timings) are the benchmark's job (./dev bench), never the test suite's.
"""

import re
from typing import Any

import pytest

from bench import report
from bench.cli import _parser
from bench.runner import Measurements

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
    ("ours-celery", "redis", "io drain W=2"): [190.0],
    ("celery", "redis", "io drain W=2"): [200.0],
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
        "drain W=2, rabbitmq: ours on Celery / Celery",
        "io drain W=2, rabbitmq: ours on Celery / Celery",
    ]


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
    ],
)
def test_bad_options_are_refused_with_the_offending_value(
    arguments: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        _parser().parse_args(arguments)

    assert message in capsys.readouterr().err
