"""Each problem the checks find in the TASKS setting (django_tasks.E001-E015), with its exact
message, hint and place, and the task API raising the same words."""

from typing import Any

import pytest
from django.core import checks
from django.test import override_settings

from django_tasks import tasks
from django_tasks.checks import SETTING_PROBLEM_IDS
from django_tasks.configuration import backend_bases
from django_tasks.exceptions import InvalidTaskBackendError
from django_tasks.problems import ProblemKind
from tests.checks.support import (
    E007_HINT,
    E012_HINT,
    E015_HINT,
    IMMEDIATE,
    KEYS,
    as_raised,
    exactly,
    run_checks,
)

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
                "The connection 'default' doesn't exist. "
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
                "The connection 'default' doesn't exist. "
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
                "Could not find backend 'myproject.tasks_backends.RedisBackend': No module "
                "named 'myproject'; the module 'myproject.tasks_backends' of BACKEND "
                "'myproject.tasks_backends.RedisBackend' cannot be imported "
                "(ModuleNotFoundError).",
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
                "Could not find backend 'tests.unimportable_backend.Backend': No module named "
                "'django_tasks_missing_dependency'; the module 'tests.unimportable_backend' of "
                "BACKEND 'tests.unimportable_backend.Backend' cannot be imported "
                "(ModuleNotFoundError).",
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
                f"{backend_bases()}; it is a class that does not inherit from it.",
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
                f"{backend_bases()}; it is a 'module' object.",
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
                "Could not find backend 'myproject.Backend': No module named 'myproject'; the "
                "module 'myproject' of BACKEND 'myproject.Backend' cannot be imported "
                "(ModuleNotFoundError).",
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


def test_every_kind_of_setting_problem_has_its_own_id() -> None:
    assert set(SETTING_PROBLEM_IDS) == set(ProblemKind)
    assert len(set(SETTING_PROBLEM_IDS.values())) == len(ProblemKind)
