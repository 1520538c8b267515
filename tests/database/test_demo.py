"""The demo that `./dev demo` runs works, from a fresh SQLite database each time."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def test_the_demo_runs_every_kind_of_task_with_a_real_worker() -> None:
    completed = subprocess.run(
        [sys.executable, "demo/run.py"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    output = completed.stdout
    assert "add          SUCCEEDED returned 5" in output
    assert "divide       FAILED    raised ZeroDivisionError" in output
    assert "greet        SUCCEEDED returned 'Hello, deferred world!'" in output
    assert "fetch_title  SUCCEEDED returned 'The page at https://example.com'" in output
    assert "The worker exited with status 0." in output
