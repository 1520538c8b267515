"""The published compatibility matrix: the conformance kit run against each backend of
conformance/matrix.toml, each installed from PyPI into a virtualenv of its own (./dev matrix).

Each run is the kit as a backend's author runs it: a pytest process of its own, with the kit's
settings (django_tasks_conformance.settings), the backend's apps and worker command. The reports
become conformance/MATRIX.json and the README's table between the compatibility-matrix markers:
for each backend and pinned version, the requirements passed, failed and not applicable, and each
failure as its requirement and one line of evidence.

    python scripts/matrix.py PYTHON312 [NAME...]
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "conformance" / "matrix.toml"
OUTPUT = ROOT / "conformance" / "MATRIX.json"
README = ROOT / "README.md"
VENVS = ROOT / ".venv-matrix"
HARNESSES = ROOT / "scripts"
"""Where matrix_harnesses.py is: the harnesses of backends that no worker command drives."""
KIT = ["pytest==9.2.0", "pytest-django==4.14.0", str(ROOT / "spec"), str(ROOT / "conformance")]
"""What every virtualenv installs besides the backend: the kit and the contract, from here."""
DATABASES = {
    "sqlite": {},
    "postgresql": {"PGHOST": "127.0.0.1", "PGPORT": "5432", "PGUSER": "postgres"},
}
"""The databases a backend may run on (``database`` in matrix.toml; SQLite by default), and
how to reach each (the services of the README's set-up)."""
TABLE = re.compile(r"(<!-- compatibility-matrix -->\n)(.*?)(<!-- /compatibility-matrix -->)", re.S)


def main(python: str, names: list[str]) -> None:
    entries = tomllib.loads(CONFIG.read_text(encoding="utf-8"))["backend"]
    chosen = [entry for entry in entries if not names or entry["name"] in names]
    unknown = sorted(set(names) - {entry["name"] for entry in entries})
    if unknown:
        sys.exit(
            f"Unknown backend(s) {unknown}; conformance/matrix.toml has "
            f"{[entry['name'] for entry in entries]}."
        )
    rows = json.loads(OUTPUT.read_text(encoding="utf-8")) if OUTPUT.exists() else {}
    listed = [entry["name"] for entry in entries]
    rows = {name: rows[name] for name in listed if name in rows}
    for entry in chosen:
        sys.stdout.write(f"==> {entry['name']}\n")
        sys.stdout.flush()
        rows[entry["name"]] = run(entry, interpreter(entry, python))
        # Each row as it is made, in matrix.toml's order: a later refusal keeps it.
        write({name: rows[name] for name in listed if name in rows})


def write(rows: dict[str, Any]) -> None:
    """MATRIX.json and the README's table."""
    OUTPUT.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    text = README.read_text(encoding="utf-8")
    match = TABLE.search(text)
    if match is None:
        sys.exit("README.md has no <!-- compatibility-matrix --> section.")
    README.write_text(text[: match.start(2)] + table(rows) + text[match.end(2) :], "utf-8")


def interpreter(entry: dict[str, Any], python: str) -> str:
    """The Python of the entry's virtualenv (the project's own for project = true)."""
    if entry.get("project"):
        return str(ROOT / ".venv-py312" / "bin" / "python")
    venv = VENVS / re.sub(r"[^a-z0-9]+", "-", entry["name"].lower())
    if not (venv / "bin" / "python").exists():
        subprocess.run([python, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "-q",
            "Django==6.1.3",
            entry["requirement"],
            *entry.get("packages", []),
            *KIT,
        ],
        check=True,
    )
    return str(venv / "bin" / "python")


def run(entry: dict[str, Any], python: str) -> dict[str, Any]:
    """Run the kit against the entry's backend; its row of the matrix."""
    with tempfile.TemporaryDirectory(prefix="tasks-matrix-") as directory:
        report_path = Path(directory, "report.json")
        arguments = [
            python, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--rootdir", directory,
            "--pyargs", "django_tasks_conformance", "--ds=django_tasks_conformance.settings",
            f"--tasks-backend={entry['backend']}", f"--tasks-report={report_path}",
            f"--tasks-options={json.dumps(entry.get('options', {}))}",
        ]  # fmt: skip
        if "worker" in entry:
            arguments.append(f"--tasks-worker-command={entry['worker']}")
        if "idle" in entry:
            arguments.append(f"--tasks-worker-idle={entry['idle']}")
        if "harness" in entry:
            arguments.append(f"--tasks-harness={entry['harness']}")
        completed = subprocess.run(
            arguments,
            capture_output=True,
            text=True,
            check=False,
            cwd=directory,
            env=environment(entry, directory),
        )
        check_run(entry["name"], completed, report_path)
        report = json.loads(report_path.read_text(encoding="utf-8"))
    version = subprocess.run(
        [
            python,
            "-c",
            f"import importlib.metadata as m; print(m.version({distribution(entry)!r}))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return row(entry, version, report)


def environment(entry: dict[str, Any], directory: str) -> dict[str, str]:
    """The environment of a run: the kit's settings read the backend's apps and database in it.

    A PostgreSQL database is named after DJANGO_TASKS_TEST_DB_SUFFIX, so that runs on one
    server do not share it.
    """
    database = entry.get("database", "sqlite")
    if database not in DATABASES:
        sys.exit(
            f"Backend {entry['name']!r} of conformance/matrix.toml has database {database!r}; "
            f"allowed: {', '.join(DATABASES)}."
        )
    suffix = os.environ.get("DJANGO_TASKS_TEST_DB_SUFFIX", "")
    path = os.environ.get("PYTHONPATH")
    return {
        **os.environ,
        # The matrix's own harnesses (scripts/matrix_harnesses.py), for a `harness` entry.
        "PYTHONPATH": os.pathsep.join([str(HARNESSES), *([path] if path else [])]),
        **DATABASES[database],
        "DJANGO_TASKS_CONFORMANCE_APPS": ",".join(entry.get("apps", [])),
        "DJANGO_TASKS_CONFORMANCE_DIR": directory,
        "DJANGO_TASKS_CONFORMANCE_DATABASE": database,
        "DJANGO_TASKS_CONFORMANCE_DATABASE_NAME": f"tasks_matrix{suffix}",
    }


def check_run(name: str, completed: "subprocess.CompletedProcess[str]", report: Path) -> None:
    """Refuse a run that did not go through the suite: only pytest's exit statuses 0 (every
    test passed) and 1 (some failed) mean every test ran and the report counts them all; a
    collection error, a usage error or a crash leaves a report that would be a wrong row."""
    if completed.returncode not in (0, 1) or not report.exists():
        sys.exit(
            f"The kit's run against {name} ended with pytest exit status "
            f"{completed.returncode}{'' if report.exists() else ' and no report'}; its row is "
            f"left as it was. Its output:\n{completed.stdout[-5000:]}{completed.stderr[-5000:]}"
        )


def distribution(entry: dict[str, Any]) -> str:
    if entry.get("project"):
        return "django-tasks-spec"
    return str(entry["requirement"]).partition("==")[0]


def row(entry: dict[str, Any], version: str, report: dict[str, Any]) -> dict[str, Any]:
    outcomes = list(report["requirements"].values())
    failures = []
    for test_id, outcome in sorted(report["tests"].items()):
        if outcome["outcome"] in ("failed", "xpassed"):
            lines = [line for line in outcome["message"].splitlines() if line.strip()]
            evidence = lines[1] if len(lines) > 1 else lines[0] if lines else ""
            failures.append(
                {"test": test_id, "requirements": outcome["violated"], "evidence": evidence[:200]}
            )
    return {
        "backend": entry["backend"],
        "distribution": distribution(entry),
        "version": version,
        "dialect": report["dialect"],
        "spec_revision": report["spec_revision"],
        "passed": outcomes.count("passed"),
        "failed": outcomes.count("failed"),
        "not_applicable": outcomes.count("not_applicable"),
        "failures": failures,
    }


def table(rows: dict[str, Any]) -> str:
    lines = [
        "| Backend | Version | Dialect | Passed | Failed | Not applicable | Failures |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, data in rows.items():
        failures = (
            "; ".join(
                f"{', '.join(f['requirements'])}: {f['evidence']}".replace("|", "\\|")
                for f in data["failures"]
            )
            or "none"
        )
        lines.append(
            f"| {name} (`{data['backend']}`) | {data['distribution']} {data['version']} | "
            f"`{data['dialect']}` | {data['passed']} | {data['failed']} | "
            f"{data['not_applicable']} | {failures} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
