"""The README's "Writing a backend" example, run as an author would: files, then the command."""

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from tests.conformance.conftest import ROOT


def _section() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return readme.split("## Writing a backend\n", 1)[1].split("\n## ", 1)[0]


def test_the_worked_example_passes_the_suite(tmp_path: Path) -> None:
    section = _section()
    files = re.findall(r"```python\n# (\w+\.py)\n(.*?)```", section, re.DOTALL)
    assert [name for name, _ in files] == ["inbox.py", "conformance_settings.py"]
    for name, code in files:
        (tmp_path / name).write_text(code, encoding="utf-8")
    command = re.search(r"```shell\n(python -m pytest .*?)```", section, re.DOTALL)
    assert command is not None
    args = shlex.split(command.group(1).replace("\\\n", " "))
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    # This project's pytest-asyncio would warn that a fresh directory leaves its loop scope
    # unset; the suite runs its coroutines itself, so the plugin is left out.
    completed = subprocess.run(
        [sys.executable, *args[1:], "-p", "no:cacheprovider", "-p", "no:asyncio", "-W", "error"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    report = json.loads((tmp_path / "conformance.json").read_text(encoding="utf-8"))
    assert report["backend"] == "inbox.InboxBackend"
    assert report["summary"]["failed"] == 0
    assert report["requirements"]["TASK-PRIORITY-001"] == "passed"
    assert report["requirements"]["TASK-DEFER-001"] == "passed"
    assert report["requirements"]["TASK-ASYNC-002"] == "passed"
