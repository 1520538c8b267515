"""What the django_tasks app does when Django starts."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_tasks_modules_of_installed_apps_are_imported_at_start_up() -> None:
    # A fresh process: in this one, the test modules import tests.tasks themselves.
    script = """
import sys
import django
from django.conf import settings

settings.configure(
    INSTALLED_APPS=["django_tasks", "tests"],
    USE_TZ=True,
    TASKS={"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}},
)
assert "tests.tasks" not in sys.modules
django.setup()
from django_tasks.registry import task_registry

print("tests.tasks" in sys.modules, task_registry.get("tests.tasks.never_waits") is not None)
"""
    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, cwd=ROOT
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == "True True\n"
