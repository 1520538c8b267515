"""One virtualenv per system under bench/.venvs, created once and reused while its pins hold.

Our own package is installed in editable mode from a copy of the source tree
(bench/.venvs/ours-src), refreshed before every run: the benchmark measures the working tree it
is pointed at, and never writes into that tree.
"""

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.systems import System

BENCH_DIR = Path(__file__).resolve().parent
VENVS_DIR = BENCH_DIR / ".venvs"
OURS_SOURCE_COPY = VENVS_DIR / "ours-src"
SNAPSHOT_ROOTS = ("django_tasks/", "spec/", "conformance/")
SNAPSHOT_FILES = ("pyproject.toml", "README.md")


class SetupError(Exception):
    """A virtualenv or the source snapshot could not be prepared; the message says why."""


def snapshot_ours(source: Path) -> dict[str, Any]:
    """Copy the package's files from ``source`` (tracked and untracked, not ignored)."""
    if not (source / "django_tasks").is_dir() or not (source / "pyproject.toml").is_file():
        raise SetupError(
            f"--ours {str(source)!r} is not a django_tasks checkout; pass the root of one "
            f"(the directory with pyproject.toml and django_tasks/)."
        )
    listed = _git(source, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    shutil.rmtree(OURS_SOURCE_COPY, ignore_errors=True)
    for name in listed.split("\0"):
        if not (name.startswith(SNAPSHOT_ROOTS) or name in SNAPSHOT_FILES):
            continue
        origin = source / name
        if origin.is_file():  # A tracked file may have been deleted in the working tree.
            target = OURS_SOURCE_COPY / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, target)
    return {
        "source": str(source),
        "commit": _git(source, "rev-parse", "--short", "HEAD").strip(),
        # Of what was measured: a result file left by an earlier run is no change to ours.
        "uncommitted changes": bool(
            _git(source, "status", "--porcelain", "--", *SNAPSHOT_ROOTS, *SNAPSHOT_FILES).strip()
        ),
    }


def ensure(system: System, log_dir: Path) -> Path:
    """Return the system's virtualenv, creating it if it is missing or its pins changed."""
    venv = VENVS_DIR / system.key
    requirements = list(system.requirements)
    stamp_parts = [sys.version, *requirements]
    if system.ours:
        pyproject = (OURS_SOURCE_COPY / "pyproject.toml").read_bytes()
        stamp_parts.append(hashlib.sha1(pyproject).hexdigest())
        requirements += ["-e", str(OURS_SOURCE_COPY)]
    stamp = "\n".join(stamp_parts)
    stamp_file = venv / ".bench-stamp"
    python = venv / "bin" / "python"
    if python.exists() and stamp_file.exists() and stamp_file.read_text() == stamp:
        return venv
    shutil.rmtree(venv, ignore_errors=True)
    log = log_dir / f"pip-{system.key}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        for command in (
            [sys.executable, "-m", "venv", str(venv)],
            [str(python), "-m", "pip", "install", "--disable-pip-version-check", *requirements],
        ):
            if subprocess.run(command, stdout=out, stderr=subprocess.STDOUT).returncode:
                tail = log.read_text(errors="replace")[-3000:]
                raise SetupError(f"Setting up {venv} failed ({' '.join(command[:4])}...):\n{tail}")
    stamp_file.write_text(stamp)
    return venv


def _git(directory: Path, *args: str) -> str:
    completed = subprocess.run(
        ["git", "-C", str(directory), *args], capture_output=True, text=True, check=False
    )
    if completed.returncode:
        raise SetupError(f"git {' '.join(args)} failed in {directory}: {completed.stderr.strip()}")
    return completed.stdout
