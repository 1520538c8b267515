"""The system checks of TASKS and of the declared tasks (``manage.py check``).

Each check ID is written here with the bad setting that triggers it; the test asserts the exact
message, hint, location and ID, and that the task API raises the same words.
"""

import contextlib
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import connections, transaction
from django.test import override_settings

from django_tasks import tasks
from django_tasks.backends.dummy import DummyBackend
from django_tasks.checks import SETTING_PROBLEM_IDS, check_task_databases, check_tasks
from django_tasks.exceptions import InvalidTaskBackendError, InvalidTaskError
from django_tasks.problems import ProblemKind
from django_tasks.registry import task_registry
from django_tasks.task import Task, task

IMMEDIATE = "django_tasks.backends.immediate.ImmediateBackend"
DUMMY = "django_tasks.backends.dummy.DummyBackend"
KEYS = "a backend configuration takes 'BACKEND', 'QUEUES', 'ENQUEUE_ON_COMMIT' and 'OPTIONS'"
E007_HINT = f"Write the full import path of the backend class, such as {IMMEDIATE!r}."
E012_HINT = "Write the queue name as a string, or remove it."
E015_HINT = "See the documentation of backend 'tests.backends.OptionsBackend' for its options."
ROOT = Path(__file__).resolve().parent.parent


def send_report() -> None:
    """A module-level function that the tests declare as tasks."""


def send_report_async() -> None:
    """Another one."""


@pytest.fixture(autouse=True)
def no_declared_tasks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Start each test with an empty task registry: tasks declared elsewhere are not checked."""
    monkeypatch.setattr(task_registry, "_tasks", {})


def run_checks(*, deploy: bool = False) -> list[checks.CheckMessage]:
    return checks.run_checks(tags=["tasks"], include_deployment_checks=deploy)


def as_raised(messages: Sequence[checks.CheckMessage]) -> str:
    """What the task API raises for these setting problems: ``location: message hint``."""
    return "\n".join(f"{message.obj}: {message.msg} {message.hint}" for message in messages)


def exactly(text: str) -> str:
    return f"^{re.escape(text)}$"


SETTING_PROBLEMS = [
    pytest.param(
        ["default"],
        [
            checks.Error(
                "TASKS must be a dict of backend aliases to configurations; found list "
                "['default'].",
                hint=f"Write TASKS = {{'default': {{'BACKEND': {IMMEDIATE!r}}}}}.",
                obj="TASKS",
                id="django_tasks.E001",
            )
        ],
        id="E001-tasks-not-a-dict",
    ),
    pytest.param(
        {"emails": {"BACKEND": IMMEDIATE}},
        [
            checks.Error(
                "Task backend 'default' is not defined; TASKS defines ['emails'].",
                hint="Add a 'default' alias: tasks use it unless they name another backend.",
                obj="TASKS",
                id="django_tasks.E002",
            )
        ],
        id="E002-no-default-alias",
    ),
    pytest.param(
        {},
        [
            checks.Error(
                "Task backend 'default' is not defined; TASKS defines [].",
                hint="Add a 'default' alias: tasks use it unless they name another backend.",
                obj="TASKS",
                id="django_tasks.E002",
            )
        ],
        id="E002-empty",
    ),
    pytest.param(
        {"default": "django_tasks.backends.immediate.ImmediateBackend"},
        [
            checks.Error(
                f"A backend configuration must be a dict; found str {IMMEDIATE!r}.",
                hint=f"Write it as {{'BACKEND': {IMMEDIATE!r}}}, with the path of your backend.",
                obj="TASKS['default']",
                id="django_tasks.E004",
            )
        ],
        id="E004-config-not-a-dict",
    ),
    pytest.param(
        {
            "default": {
                "BACKEND": IMMEDIATE,
                "QUEUE": ["default"],
                "OPTION": {},
                "backend": IMMEDIATE,
                "PRIORITY": 10,
                1: True,
            }
        },
        [
            checks.Error(
                f"Unknown key 'QUEUE'; {KEYS}.",
                hint="Did you mean 'QUEUES'?",
                obj="TASKS['default']['QUEUE']",
                id="django_tasks.E005",
            ),
            checks.Error(
                f"Unknown key 'OPTION'; {KEYS}.",
                hint="Did you mean 'OPTIONS'?",
                obj="TASKS['default']['OPTION']",
                id="django_tasks.E005",
            ),
            checks.Error(
                f"Unknown key 'backend'; {KEYS}.",
                hint="Did you mean 'BACKEND'?",
                obj="TASKS['default']['backend']",
                id="django_tasks.E005",
            ),
            checks.Error(
                f"Unknown key 'PRIORITY'; {KEYS}.",
                hint="Remove it.",
                obj="TASKS['default']['PRIORITY']",
                id="django_tasks.E005",
            ),
            checks.Error(
                f"Unknown key 1; {KEYS}.",
                hint="Remove it.",
                obj="TASKS['default'][1]",
                id="django_tasks.E005",
            ),
        ],
        id="E005-unknown-keys",
    ),
    pytest.param(
        {"default": {"QUEUES": ["default"]}},
        [
            checks.Error(
                "The configuration has no 'BACKEND'; it must name a task backend class.",
                hint=f"Add 'BACKEND': {IMMEDIATE!r}, or the dotted path of another backend class.",
                obj="TASKS['default']",
                id="django_tasks.E006",
            )
        ],
        id="E006-backend-missing",
    ),
    pytest.param(
        {"default": {"BACKEND": "ImmediateBackend"}},
        [
            checks.Error(
                "BACKEND must be the dotted path of a class; found 'ImmediateBackend'.",
                hint=E007_HINT,
                obj="TASKS['default']['BACKEND']",
                id="django_tasks.E007",
            )
        ],
        id="E007-backend-not-dotted",
    ),
    pytest.param(
        {"default": {"BACKEND": None}},
        [
            checks.Error(
                "BACKEND must be the dotted path of a class; found None.",
                hint=E007_HINT,
                obj="TASKS['default']['BACKEND']",
                id="django_tasks.E007",
            )
        ],
        id="E007-backend-not-a-string",
    ),
    pytest.param(
        {"default": {"BACKEND": "myproject.tasks_backends.RedisBackend"}},
        [
            checks.Error(
                "The module 'myproject.tasks_backends' of BACKEND "
                "'myproject.tasks_backends.RedisBackend' cannot be imported: "
                "ModuleNotFoundError: No module named 'myproject'.",
                hint="Check the spelling of the path, and that the package providing it is "
                "installed.",
                obj="TASKS['default']['BACKEND']",
                id="django_tasks.E008",
            )
        ],
        id="E008-module-missing",
    ),
    pytest.param(
        {"default": {"BACKEND": "tests.unimportable_backend.Backend"}},
        [
            checks.Error(
                "The module 'tests.unimportable_backend' of BACKEND "
                "'tests.unimportable_backend.Backend' cannot be imported: "
                "ModuleNotFoundError: No module named 'django_tasks_missing_dependency'.",
                hint="Install 'django_tasks_missing_dependency', which the module imports.",
                obj="TASKS['default']['BACKEND']",
                id="django_tasks.E008",
            )
        ],
        id="E008-dependency-missing",
    ),
    pytest.param(
        {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackand"}},
        [
            checks.Error(
                "The module 'django_tasks.backends.immediate' has no attribute 'ImmediateBackand'.",
                hint="Did you mean 'ImmediateBackend'?",
                obj="TASKS['default']['BACKEND']",
                id="django_tasks.E009",
            )
        ],
        id="E009-attribute-missing",
    ),
    pytest.param(
        {"default": {"BACKEND": "django_tasks.backends.immediate.Celery"}},
        [
            checks.Error(
                "The module 'django_tasks.backends.immediate' has no attribute 'Celery'.",
                hint="Check the class name in 'django_tasks.backends.immediate.Celery'.",
                obj="TASKS['default']['BACKEND']",
                id="django_tasks.E009",
            )
        ],
        id="E009-attribute-missing-no-near-name",
    ),
    pytest.param(
        {"default": {"BACKEND": "django_tasks.task.Task"}},
        [
            checks.Error(
                "BACKEND 'django_tasks.task.Task' must name a subclass of "
                "django_tasks.backends.base.BaseTaskBackend; it is a class that does not "
                "inherit from it.",
                hint=f"Point BACKEND at a task backend class, such as {IMMEDIATE!r}.",
                obj="TASKS['default']['BACKEND']",
                id="django_tasks.E010",
            )
        ],
        id="E010-other-class",
    ),
    pytest.param(
        {"default": {"BACKEND": "django_tasks.backends.immediate"}},
        [
            checks.Error(
                "BACKEND 'django_tasks.backends.immediate' must name a subclass of "
                "django_tasks.backends.base.BaseTaskBackend; it is a 'module' object.",
                hint=f"Point BACKEND at a task backend class, such as {IMMEDIATE!r}.",
                obj="TASKS['default']['BACKEND']",
                id="django_tasks.E010",
            )
        ],
        id="E010-module",
    ),
    pytest.param(
        {"default": {"BACKEND": IMMEDIATE, "QUEUES": "default"}},
        [
            checks.Error(
                "QUEUES must be a list of queue names; found str 'default'.",
                hint="Write QUEUES = ['default', ...], or [] to allow any queue name.",
                obj="TASKS['default']['QUEUES']",
                id="django_tasks.E011",
            )
        ],
        id="E011-queues-not-a-list",
    ),
    pytest.param(
        {"default": {"BACKEND": IMMEDIATE, "QUEUES": ["default", "", None]}},
        [
            checks.Error(
                "Queue name '' is invalid; it must be a non-empty string.",
                hint=E012_HINT,
                obj="TASKS['default']['QUEUES'][1]",
                id="django_tasks.E012",
            ),
            checks.Error(
                "Queue name None is invalid; it must be a non-empty string.",
                hint=E012_HINT,
                obj="TASKS['default']['QUEUES'][2]",
                id="django_tasks.E012",
            ),
        ],
        id="E012-queue-name-invalid",
    ),
    pytest.param(
        {"default": {"BACKEND": IMMEDIATE, "QUEUES": ["default", "emails", "", "default"]}},
        [
            checks.Error(
                "Queue name '' is invalid; it must be a non-empty string.",
                hint=E012_HINT,
                obj="TASKS['default']['QUEUES'][2]",
                id="django_tasks.E012",
            ),
            checks.Error(
                "Queue name 'default' is listed twice; it first appears at QUEUES[0].",
                hint="Remove the repeated name.",
                obj="TASKS['default']['QUEUES'][3]",
                id="django_tasks.E013",
            ),
        ],
        id="E013-queue-name-repeated",
    ),
    pytest.param(
        {"default": {"BACKEND": IMMEDIATE, "QUEUES": ["default", "a,b", " padded ", "a\x00b"]}},
        [
            checks.Error(
                f"Queue name {name!r} has characters a queue name cannot have; it may use ASCII "
                f"letters and digits and _ - . : / @ only.",
                hint="Rename the queue: db_worker --queue-name splits names at commas, strips "
                "spaces and reads '*' as every queue, so no worker could select it.",
                obj=f"TASKS['default']['QUEUES'][{index}]",
                id="django_tasks.E040",
            )
            for index, name in ((1, "a,b"), (2, " padded "), (3, "a\x00b"))
        ],
        id="E040-queue-name-characters",
    ),
    pytest.param(
        {"default": {"BACKEND": IMMEDIATE, "ENQUEUE_ON_COMMIT": "False"}},
        [
            checks.Error(
                "ENQUEUE_ON_COMMIT must be True or False; found str 'False'.",
                hint="Set True to enqueue when the transaction commits, False to enqueue at once.",
                obj="TASKS['default']['ENQUEUE_ON_COMMIT']",
                id="django_tasks.E014",
            )
        ],
        id="E014-enqueue-on-commit-not-a-bool",
    ),
    pytest.param(
        {"default": {"BACKEND": IMMEDIATE, "OPTIONS": {"timeout": 5}}},
        [
            checks.Error(
                f"Unknown option 'timeout'; backend {IMMEDIATE!r} takes no options.",
                hint="Remove it.",
                obj="TASKS['default']['OPTIONS']['timeout']",
                id="django_tasks.E015",
            )
        ],
        id="E015-backend-takes-no-options",
    ),
    pytest.param(
        {"default": {"BACKEND": IMMEDIATE, "OPTIONS": [("timeout", 5)]}},
        [
            checks.Error(
                "OPTIONS must be a dict of backend options; found list [('timeout', 5)].",
                hint="Write OPTIONS = {...}, with the options the backend class documents.",
                obj="TASKS['default']['OPTIONS']",
                id="django_tasks.E015",
            )
        ],
        id="E015-options-not-a-dict",
    ),
    pytest.param(
        {"default": {"BACKEND": IMMEDIATE, "OPTIONS": {5: "timeout"}}},
        [
            checks.Error(
                "Option name 5 is invalid; option names are strings.",
                hint="Write the option name as a string.",
                obj="TASKS['default']['OPTIONS']",
                id="django_tasks.E015",
            )
        ],
        id="E015-option-name-not-a-string",
    ),
    pytest.param(
        {
            "default": {
                "BACKEND": "tests.backends.OptionsBackend",
                "OPTIONS": {"databse": "queue", "poll_interval": -1.0},
            }
        },
        [
            checks.Error(
                "The required option 'database' of backend 'tests.backends.OptionsBackend' "
                "is missing.",
                hint="Add 'database' to OPTIONS.",
                obj="TASKS['default']['OPTIONS']",
                id="django_tasks.E015",
            ),
            checks.Error(
                "The poll interval must be greater than zero; found -1.0.",
                hint=E015_HINT,
                obj="TASKS['default']['OPTIONS']['poll_interval']",
                id="django_tasks.E015",
            ),
            checks.Error(
                "Unknown option 'databse'; backend 'tests.backends.OptionsBackend' takes "
                "'database' and 'poll_interval'.",
                hint="Did you mean 'database'?",
                obj="TASKS['default']['OPTIONS']['databse']",
                id="django_tasks.E015",
            ),
        ],
        id="E015-options-schema-of-the-backend",
    ),
    pytest.param(
        {"default": {"BACKEND": "tests.backends.OptionsBackend", "OPTIONS": {"database": 5}}},
        [
            checks.Error(
                "Input should be a valid string; found 5.",
                hint=E015_HINT,
                obj="TASKS['default']['OPTIONS']['database']",
                id="django_tasks.E015",
            )
        ],
        id="E015-option-of-the-wrong-type",
    ),
    pytest.param(
        {
            "default": {
                "BACKEND": "myproject.Backend",
                "QUEUES": "default",
                "ENQUEUE_ON_COMMIT": 1,
                "OPTION": {},
            }
        },
        [
            checks.Error(
                "QUEUES must be a list of queue names; found str 'default'.",
                hint="Write QUEUES = ['default', ...], or [] to allow any queue name.",
                obj="TASKS['default']['QUEUES']",
                id="django_tasks.E011",
            ),
            checks.Error(
                "ENQUEUE_ON_COMMIT must be True or False; found int 1.",
                hint="Set True to enqueue when the transaction commits, False to enqueue at once.",
                obj="TASKS['default']['ENQUEUE_ON_COMMIT']",
                id="django_tasks.E014",
            ),
            checks.Error(
                f"Unknown key 'OPTION'; {KEYS}.",
                hint="Did you mean 'OPTIONS'?",
                obj="TASKS['default']['OPTION']",
                id="django_tasks.E005",
            ),
            checks.Error(
                "The module 'myproject' of BACKEND 'myproject.Backend' cannot be imported: "
                "ModuleNotFoundError: No module named 'myproject'.",
                hint="Check the spelling of the path, and that the package providing it is "
                "installed.",
                obj="TASKS['default']['BACKEND']",
                id="django_tasks.E008",
            ),
        ],
        id="every-problem-at-once",
    ),
]


@pytest.mark.parametrize(("setting", "expected"), SETTING_PROBLEMS)
def test_a_bad_setting_is_reported_and_raised_in_the_same_words(
    setting: Any, expected: list[checks.CheckMessage]
) -> None:
    with override_settings(TASKS=setting):
        assert run_checks() == expected
        with pytest.raises(InvalidTaskBackendError, match=exactly(as_raised(expected))):
            tasks["default"]


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


@pytest.fixture
def manual_commit(monkeypatch: pytest.MonkeyPatch) -> None:
    """DATABASES['default'] with AUTOCOMMIT False (a copy: open connections keep theirs)."""
    default = {**connections.settings["default"], "AUTOCOMMIT": False}
    monkeypatch.setitem(connections.settings, "default", default)


@pytest.fixture
def no_database(monkeypatch: pytest.MonkeyPatch) -> None:
    """A project with no DATABASES: Django's placeholder for the default alias."""
    monkeypatch.setitem(connections.settings, "default", {"ENGINE": "django.db.backends.dummy"})


MANUAL_COMMIT_MESSAGE = (
    "{subject}, but DATABASES['default'] has AUTOCOMMIT False, so on-commit hooks never run "
    "and tasks enqueued in a transaction would never be enqueued."
)


@pytest.mark.usefixtures("manual_commit")
def test_enqueue_on_commit_without_autocommit() -> None:
    waits = Task(func=send_report, enqueue_on_commit=True)
    task_registry.register(waits)
    task_registry.register(Task(func=send_report_async, enqueue_on_commit=False))
    backend_error = checks.Error(
        MANUAL_COMMIT_MESSAGE.format(subject="ENQUEUE_ON_COMMIT of backend 'default' is True"),
        hint="Set TASKS['default']['ENQUEUE_ON_COMMIT'] = False, or let the database autocommit.",
        obj="TASKS['default']['ENQUEUE_ON_COMMIT']",
        id="django_tasks.E016",
    )
    task_error = checks.Error(
        MANUAL_COMMIT_MESSAGE.format(
            subject="Task 'tests.test_checks.send_report' has enqueue_on_commit=True"
        ),
        hint="Declare the task with enqueue_on_commit=False, or let the database autocommit.",
        obj="tests.test_checks.send_report",
        id="django_tasks.E016",
    )
    with override_settings(TASKS={"default": {"BACKEND": DUMMY}}):
        assert run_checks() == [backend_error, task_error]
    with override_settings(TASKS={"default": {"BACKEND": DUMMY, "ENQUEUE_ON_COMMIT": False}}):
        assert run_checks() == [task_error]


@pytest.mark.django_db
@pytest.mark.usefixtures("manual_commit")
@override_settings(TASKS={"default": {"BACKEND": DUMMY}})
def test_enqueueing_in_a_transaction_without_autocommit_raises_the_same_words() -> None:
    waits = Task(func=send_report, enqueue_on_commit=True)
    task_registry.register(waits)
    backend_error, task_error = run_checks()
    with transaction.atomic():
        with pytest.raises(InvalidTaskBackendError, match=exactly(backend_error.msg)):
            Task(func=send_report_async).enqueue()
        with pytest.raises(InvalidTaskBackendError, match=exactly(task_error.msg)):
            waits.enqueue()
    backend = tasks["default"]
    assert isinstance(backend, DummyBackend)
    assert backend.results == []


@pytest.mark.usefixtures("no_database")
def test_enqueue_on_commit_without_a_database() -> None:
    setting = {
        "default": {"BACKEND": IMMEDIATE, "ENQUEUE_ON_COMMIT": True},
        "implicit": {"BACKEND": IMMEDIATE},  # The default, True, is no mistake.
    }
    with override_settings(TASKS=setting):
        assert run_checks() == [
            checks.Warning(
                "ENQUEUE_ON_COMMIT of backend 'default' is True, but DATABASES defines no "
                "'default' database, so tasks are enqueued at once.",
                hint="Remove ENQUEUE_ON_COMMIT: without a database, there is no transaction to "
                "wait for.",
                obj="TASKS['default']['ENQUEUE_ON_COMMIT']",
                id="django_tasks.W001",
            )
        ]


def test_a_broken_databases_setting_does_not_break_the_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(handler: object) -> None:
        raise ImproperlyConfigured("You must define a 'default' database.")

    monkeypatch.setattr(type(connections), "settings", property(broken))
    task_registry.register(Task(func=send_report, enqueue_on_commit=True))
    with override_settings(TASKS={"default": {"BACKEND": DUMMY, "ENQUEUE_ON_COMMIT": True}}):
        # Called directly: Django 6's run_checks() itself reads DATABASES, and reports it.
        assert check_tasks() == []


def test_every_kind_of_setting_problem_has_its_own_id() -> None:
    assert set(SETTING_PROBLEM_IDS) == set(ProblemKind)
    assert len(set(SETTING_PROBLEM_IDS.values())) == len(ProblemKind)


@override_settings(TASKS={"default": {"BACKEND": DUMMY, "QUEUES": ["emails"]}})
def test_a_task_on_a_queue_its_backend_does_not_allow() -> None:
    on_default_queue = Task(func=send_report)
    task_registry.register(on_default_queue)
    task_registry.register(Task(func=send_report_async, queue_name="emails"))
    message = "Queue 'default' is not valid for backend 'default'; allowed: ['emails']."
    assert run_checks() == [
        checks.Error(
            message,
            hint="Change the task's declaration, or TASKS['default'], so that they agree.",
            obj="tests.test_checks.send_report",
            id="django_tasks.E017",
        )
    ]
    with pytest.raises(InvalidTaskError, match=exactly(message)):
        on_default_queue.enqueue()


@override_settings(TASKS={"default": {"BACKEND": "tests.backends.MinimalBackend"}})
def test_a_task_with_options_its_backend_does_not_support() -> None:
    task_registry.register(Task(func=send_report, priority=10))
    assert run_checks() == [
        checks.Error(
            "Task tests.test_checks.send_report has priority 10, but backend 'default' ignores "
            "priority (supports_priority is False); leave it at 0.",
            hint="Change the task's declaration, or TASKS['default'], so that they agree.",
            obj="tests.test_checks.send_report",
            id="django_tasks.E017",
        )
    ]


def test_a_task_declared_while_its_backend_is_broken() -> None:
    setting = {"default": {"BACKEND": "myproject.Backend", "QUEUES": ["emails"]}}
    with override_settings(TASKS=setting):
        declared = task(queue_name="reports")(send_report)  # Does not raise: the check reports.
        assert [(message.id, message.obj) for message in run_checks()] == [
            ("django_tasks.E008", "TASKS['default']['BACKEND']"),
            ("django_tasks.E017", "tests.test_checks.send_report"),
        ]
        assert run_checks()[1].msg == (
            "Queue 'reports' is not valid for backend 'default'; allowed: ['emails']."
        )
        with pytest.raises(InvalidTaskBackendError, match=re.escape("No module named")):
            declared.enqueue()


@override_settings(TASKS={"default": {"BACKEND": DUMMY, "QUEUES": ["emails"]}})
def test_a_loadable_backend_refuses_a_task_when_it_is_declared() -> None:
    with pytest.raises(
        InvalidTaskError,
        match=exactly("Queue 'reports' is not valid for backend 'default'; allowed: ['emails']."),
    ):
        task(queue_name="reports")(send_report)


@override_settings(TASKS={"default": {"BACKEND": DUMMY}, "emails": {"BACKEND": DUMMY}})
def test_a_task_bound_to_an_undefined_backend() -> None:
    declared = task(backend="email")(send_report)
    message = "Task backend 'email' is not defined; TASKS defines ['default', 'emails']."
    assert run_checks() == [
        checks.Error(
            message,
            hint="Add 'email' to TASKS, or declare the task with a defined alias.",
            obj="tests.test_checks.send_report",
            id="django_tasks.E018",
        )
    ]
    with pytest.raises(InvalidTaskBackendError, match=exactly(message)):
        declared.enqueue()


@override_settings(TASKS={"default": {"BACKEND": "tests.backends.BrokenInitBackend"}})
def test_a_backend_that_raises_when_created() -> None:
    message = (
        "Backend 'default' (tests.backends.BrokenInitBackend) could not be created: "
        "RuntimeError: The connection pool is not configured."
    )
    assert run_checks() == [
        checks.Error(
            message,
            hint="The backend class raised; django_tasks.tasks['default'] raises it again, "
            "with its traceback.",
            obj="TASKS['default']",
            id="django_tasks.E019",
        )
    ]
    with pytest.raises(InvalidTaskBackendError, match=exactly(message)) as raised:
        tasks["default"]
    assert isinstance(raised.value.__cause__, RuntimeError)


@override_settings(TASKS={"default": {"BACKEND": "tests.backends.PickyBackend"}})
def test_a_backend_that_refuses_its_configuration_in_its_own_words() -> None:
    message = "Backend 'default' cannot wait for commits; set ENQUEUE_ON_COMMIT to False."
    assert run_checks() == [
        checks.Error(
            message,
            hint="The backend class raised; django_tasks.tasks['default'] raises it again, "
            "with its traceback.",
            obj="TASKS['default']",
            id="django_tasks.E019",
        )
    ]
    with pytest.raises(InvalidTaskBackendError, match=exactly(message)):
        tasks["default"]


@override_settings(TASKS={"default": {"BACKEND": "tests.backends.BrokenCheckBackend"}})
def test_a_backend_whose_check_raises() -> None:
    assert run_checks() == [
        checks.Error(
            "Backend 'default' (tests.backends.BrokenCheckBackend) raised in check(): "
            "KeyError: 'HOST'.",
            hint="The backend class raised; django_tasks.tasks['default'].check() raises it "
            "again, with its traceback.",
            obj="TASKS['default']",
            id="django_tasks.E019",
        )
    ]


@override_settings(TASKS={"default": {"BACKEND": "tests.backends.BrokenValidateBackend"}})
def test_a_backend_whose_validate_task_raises() -> None:
    task_registry.register(Task(func=send_report))
    assert run_checks() == [
        checks.Error(
            "Backend 'default' raised in validate_task() for this task: "
            "AttributeError: 'Task' object has no attribute 'timeout'.",
            hint="The backend class raised; django_tasks.tasks['default']"
            ".validate_task(tests.test_checks.send_report) raises it again, with its traceback.",
            obj="tests.test_checks.send_report",
            id="django_tasks.E019",
        )
    ]


@override_settings(TASKS={"default": {"BACKEND": "tests.backends.NoSchemaBackend"}})
def test_a_backend_whose_options_schema_is_no_model() -> None:
    assert run_checks(deploy=True) == [
        checks.Error(
            "Backend 'default' could not be checked: AttributeError: type object 'dict' has no "
            "attribute 'model_validate'.",
            hint="The backend class raised; django_tasks.tasks['default'] raises it again, "
            "with its traceback.",
            obj="TASKS['default']",
            id="django_tasks.E019",
        )
    ]


@override_settings(TASKS={"default": {"BACKEND": "tests.backends.CheckingBackend"}})
def test_a_backend_reports_its_own_problems() -> None:
    assert run_checks() == [
        checks.Warning("The queue table is empty.", obj="default", id="tests.W001")
    ]


@override_settings(TASKS={"default": {"BACKEND": "tests.backends.ConnectingCheckBackend"}})
def test_a_backend_checks_the_databases_only_in_the_database_checks() -> None:
    """Django 6.1 gives every check all the databases; only the database-tagged check (run by
    `check --database`) passes them on to the backends, which may then connect."""
    empty = checks.Warning("The queue table is empty.", obj="default", id="tests.W001")
    read_only = checks.Warning("Database 'default' is read-only.", obj="default", id="tests.W002")
    assert check_tasks(databases=["default"]) == [empty]
    assert check_task_databases(databases=["default"]) == [read_only]
    assert check_task_databases(databases=None) == []
    assert check_task_databases(databases=["unreachable"]) == [
        checks.Error(
            "Backend 'default' (tests.backends.ConnectingCheckBackend) raised in check(): "
            "ConnectionError: Connection refused.",
            hint="The backend class raised; django_tasks.tasks['default']"
            ".check(databases=['unreachable']) raises it again, with its traceback.",
            obj="TASKS['default']",
            id="django_tasks.E019",
        )
    ]
    with override_settings(TASKS={"default": {"BACKEND": "tests.backends.BrokenCheckBackend"}}):
        assert check_task_databases(databases=["default"]) == []  # check_tasks() reports it.


DEPLOY_HINT = (
    "In production, use a backend that runs tasks in worker processes, such as "
    "'django_tasks.backends.database.DatabaseBackend'."
)


@override_settings(
    TASKS={
        "default": {"BACKEND": IMMEDIATE},
        "tests": {"BACKEND": DUMMY},
        "subclass": {"BACKEND": "tests.backends.OptionsBackend", "OPTIONS": {"database": "q"}},
        "other": {"BACKEND": "tests.backends.MinimalBackend"},
    }
)
def test_deploy_warns_about_development_backends() -> None:
    assert run_checks() == []
    assert run_checks(deploy=True) == [
        checks.Warning(
            f"Backend 'default' is {IMMEDIATE}, which runs each task inside the request or "
            f"command that enqueues it, which waits for it.",
            hint=DEPLOY_HINT,
            obj="TASKS['default']['BACKEND']",
            id="django_tasks.W003",
        ),
        checks.Warning(
            f"Backend 'tests' is {DUMMY}, which keeps tasks in memory and never runs them.",
            hint=DEPLOY_HINT,
            obj="TASKS['tests']['BACKEND']",
            id="django_tasks.W002",
        ),
        checks.Warning(
            "Backend 'subclass' is tests.backends.OptionsBackend, which keeps tasks in memory "
            "and never runs them.",
            hint=DEPLOY_HINT,
            obj="TASKS['subclass']['BACKEND']",
            id="django_tasks.W002",
        ),
    ]


@override_settings(TASKS={"default": {"BACKEND": "myproject.Backend", "QUEUE": []}})
def test_manage_py_check_reports_a_broken_setting_without_crashing() -> None:
    with pytest.raises(SystemCheckError) as raised:
        call_command("check", "--tag", "tasks")
    report = str(raised.value)
    assert "TASKS['default']['QUEUE']: (django_tasks.E005) Unknown key 'QUEUE'" in report
    assert "TASKS['default']['BACKEND']: (django_tasks.E008)" in report


@override_settings(
    TASKS={"default": {"BACKEND": DUMMY}}, SILENCED_SYSTEM_CHECKS=["django_tasks.W002"]
)
def test_a_warning_can_be_silenced_by_id() -> None:
    call_command("check", "--deploy", "--tag", "tasks", "--fail-level", "WARNING")


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


CHECK_ID = re.compile(r"django_tasks\.[EW]\d{3}")


def check_ids_in(*paths: Path) -> set[str]:
    return {found for path in paths for found in CHECK_ID.findall(path.read_text())}


def test_every_check_id_is_documented_in_the_readme() -> None:
    in_code = check_ids_in(*(ROOT / "django_tasks").rglob("*.py"))
    in_readme = check_ids_in(ROOT / "README.md")
    assert sorted(in_code - in_readme) == [], "Check IDs missing from README.md"
    assert sorted(in_readme - in_code) == [], "README.md documents check IDs the code lacks"


def test_every_check_id_of_this_module_has_a_test() -> None:
    own_ids = check_ids_in(ROOT / "django_tasks" / "checks.py")
    assert len(own_ids) == 23
    tested = set(re.findall(r'id="(django_tasks\.[EW]\d{3})"', Path(__file__).read_text()))
    assert sorted(own_ids - tested) == []
