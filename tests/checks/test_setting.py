"""The TASKS setting as a whole: valid settings pass, each entry is validated once, and
`manage.py check` reports a broken setting without crashing."""

import contextlib
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core import checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from django_tasks import tasks
from django_tasks.exceptions import InvalidTaskBackendError
from tests.checks.support import (
    IMMEDIATE,
    KEYS,
    ROOT,
    as_raised,
    exactly,
    run_checks,
)


def test_an_alias_that_is_not_a_string() -> None:
    expected = [
        checks.Error(
            f"Backend alias {alias!r} is invalid; it must be a non-empty string.",
            hint="Rename it: tasks name their backend by this string (@task(backend=...)).",
            obj=f"TASKS[{alias!r}]",
            id="django_tasks.E003",
        )
        for alias in (1, "")
    ]
    with override_settings(TASKS={"default": {"BACKEND": IMMEDIATE}, 1: {}, "": {}}):
        assert run_checks() == expected
        with pytest.raises(InvalidTaskBackendError, match=exactly(as_raised(expected[:1]))):
            tasks.all()


def test_a_valid_setting_passes() -> None:
    setting = {
        "default": {"BACKEND": IMMEDIATE, "QUEUES": [], "ENQUEUE_ON_COMMIT": False},
        "queue": {"BACKEND": "tests.backends.OptionsBackend", "OPTIONS": {"database": "q"}},
    }
    with override_settings(TASKS=setting):
        assert run_checks() == []
        assert tasks["queue"].options.model_dump() == {"database": "q", "poll_interval": 1.0}


def test_the_default_setting_passes(settings: Any) -> None:
    del settings.TASKS
    assert run_checks() == []
    assert type(tasks["default"]).__name__ == "ImmediateBackend"


def test_direct_instantiation_raises_the_same_words() -> None:
    from tests.backends import OptionsBackend

    with pytest.raises(
        InvalidTaskBackendError,
        match=exactly(
            "TASKS['queue']['OPTIONS']: The required option 'database' of backend "
            "'tests.backends.OptionsBackend' is missing. Add 'database' to OPTIONS."
        ),
    ):
        OptionsBackend("queue", {"QUEUES": ["default"]})


@pytest.mark.parametrize(
    "options",
    [{"database": "q"}, {"database": "q", "poll_interval": -1}],
    ids=["valid", "invalid"],
)
def test_one_check_run_validates_each_entry_once(
    monkeypatch: pytest.MonkeyPatch, options: dict[str, Any]
) -> None:
    """The handler validates an entry once per value of TASKS; the checks (setting, databases,
    deploy) and the task API read that validation instead of validating again."""
    from tests.backends import OptionsBackend

    validated: list[str] = []
    validate = OptionsBackend.validate_params.__func__  # type: ignore[attr-defined]  # A classmethod's function.

    def counting(cls: type[OptionsBackend], alias: str, params: Any) -> Any:
        validated.append(alias)
        return validate(cls, alias, params)

    monkeypatch.setattr(OptionsBackend, "validate_params", classmethod(counting))
    setting = {"default": {"BACKEND": "tests.backends.OptionsBackend", "OPTIONS": options}}
    with override_settings(TASKS=setting):
        checks.run_checks(
            tags=["tasks", "database"], include_deployment_checks=True, databases=["default"]
        )
        with contextlib.suppress(InvalidTaskBackendError):
            tasks["default"]
    assert validated == ["default"]


@override_settings(TASKS={"default": {"BACKEND": "myproject.Backend", "QUEUE": []}})
def test_manage_py_check_reports_a_broken_setting_without_crashing() -> None:
    with pytest.raises(SystemCheckError) as raised:
        call_command("check", "--tag", "tasks")
    report = str(raised.value)
    assert "TASKS['default']['QUEUE']: (django_tasks.E005) Unknown key 'QUEUE'" in report
    assert "TASKS['default']['BACKEND']: (django_tasks.E008)" in report


def test_the_check_command_in_a_fresh_process(tmp_path: Path) -> None:
    (tmp_path / "broken_settings.py").write_text(
        "from tests.settings import *\n"
        "TASKS = {'default': {'BACKEND': 'django_tasks.backends.dummy.DummyBackend', "
        "'OPTION': {}, 'QUEUES': 'default'}}\n"
    )
    env = {"PYTHONPATH": f"{tmp_path}:{ROOT}", "PATH": ""}
    good = subprocess.run(
        [sys.executable, "-m", "django", "check", "--settings=tests.settings"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=False,
    )
    assert (good.returncode, good.stdout, good.stderr) == (
        0,
        "System check identified no issues (0 silenced).\n",
        "",
    )
    broken = subprocess.run(
        [sys.executable, "-m", "django", "check", "--settings=broken_settings"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=False,
    )
    assert broken.returncode == 1
    assert "Traceback" not in broken.stderr
    assert broken.stderr == (
        "SystemCheckError: System check identified some issues:\n\n"
        "ERRORS:\n"
        "TASKS['default']['OPTION']: (django_tasks.E005) Unknown key 'OPTION'; "
        f"{KEYS}.\n"
        "\tHINT: Did you mean 'OPTIONS'?\n"
        "TASKS['default']['QUEUES']: (django_tasks.E011) QUEUES must be a list of queue names; "
        "found str 'default'.\n"
        "\tHINT: Write QUEUES = ['default', ...], or [] to allow any queue name.\n\n"
        "System check identified 2 issues (0 silenced).\n"
    )
