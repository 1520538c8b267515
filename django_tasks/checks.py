"""System checks of the TASKS setting and of the declared tasks.

Every message has a stable ID, documented in the README ("System checks"), and an ``obj``
that says where the problem is: a place in the setting (``TASKS['default']['QUEUES'][1]``)
or a task's module path. The checks never raise: a setting so broken that the task API
cannot load a backend, or a backend class that raises, is a message like any other.
"""

from collections.abc import Mapping, Sequence
from enum import Enum
from importlib import import_module
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS
from django.urls import get_resolver

from django_tasks.backends.base import (
    BaseTaskBackend,
    autocommits,
    database_configured,
    manual_commit_message,
    queue_not_allowed_message,
)
from django_tasks.backends.dummy import DummyBackend
from django_tasks.backends.immediate import ImmediateBackend
from django_tasks.configuration import backend_failed_message, describe, is_ours, tasks_setting
from django_tasks.dialects import enqueue_on_commit
from django_tasks.exceptions import (
    InvalidTaskBackendError,
    InvalidTaskError,
    InvalidTaskSettingError,
)
from django_tasks.handler import tasks
from django_tasks.problems import (
    ProblemKind,
    SettingProblem,
    location,
    tasks_setting_problems,
    undefined_alias_message,
    valid_alias,
)
from django_tasks.registry import TASK_MODULES_SETTING, task_modules, task_registry
from django_tasks.schedules import check_schedule, schedule_registry
from django_tasks.signatures import check_task_signatures
from django_tasks.task import Task, validate_for_backend
from django_tasks.utils import class_path
from django_tasks_spec.settings import BackendConfig

SETTING_PROBLEM_IDS: dict[ProblemKind, str] = {
    ProblemKind.TASKS_NOT_A_DICT: "django_tasks.E001",
    ProblemKind.NO_DEFAULT_ALIAS: "django_tasks.E002",
    ProblemKind.ALIAS_INVALID: "django_tasks.E003",
    ProblemKind.CONFIG_NOT_A_DICT: "django_tasks.E004",
    ProblemKind.UNKNOWN_KEY: "django_tasks.E005",
    ProblemKind.BACKEND_MISSING: "django_tasks.E006",
    ProblemKind.BACKEND_NOT_A_PATH: "django_tasks.E007",
    ProblemKind.BACKEND_MODULE_NOT_IMPORTABLE: "django_tasks.E008",
    ProblemKind.BACKEND_ATTRIBUTE_MISSING: "django_tasks.E009",
    ProblemKind.BACKEND_NOT_A_BACKEND: "django_tasks.E010",
    ProblemKind.QUEUES_NOT_A_LIST: "django_tasks.E011",
    ProblemKind.QUEUE_NAME_INVALID: "django_tasks.E012",
    ProblemKind.QUEUE_NAME_REPEATED: "django_tasks.E013",
    ProblemKind.ENQUEUE_ON_COMMIT_NOT_A_BOOL: "django_tasks.E014",
    ProblemKind.OPTIONS_INVALID: "django_tasks.E015",
    ProblemKind.QUEUE_NAME_CHARACTERS: "django_tasks.E040",
    ProblemKind.ENQUEUE_ON_COMMIT_UNSUPPORTED: "django_tasks.E041",
}
"""The check ID of each kind of problem the settings schema finds."""

MANUAL_COMMIT = "django_tasks.E016"
TASK_REFUSED = "django_tasks.E017"
TASK_BACKEND_UNDEFINED = "django_tasks.E018"
BACKEND_RAISED = "django_tasks.E019"
DUMMY_BACKEND_DEPLOYED = "django_tasks.W002"
IMMEDIATE_BACKEND_DEPLOYED = "django_tasks.W003"
TASK_MODULE_INVALID = "django_tasks.E061"

_WORKER_HINT = (
    "In production, use a backend that runs tasks in worker processes, such as "
    "'django_tasks.backends.database.DatabaseBackend'."
)
_DEVELOPMENT_BACKENDS: tuple[tuple[type[BaseTaskBackend], str, str], ...] = (
    (DummyBackend, DUMMY_BACKEND_DEPLOYED, "keeps tasks in memory and never runs them"),
    (
        ImmediateBackend,
        IMMEDIATE_BACKEND_DEPLOYED,
        "runs each task inside the request or command that enqueues it, which waits for it",
    ),
)


@checks.register("tasks")
def check_tasks(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Check TASKS, each configured backend (including its own check()) and each task."""
    raw = tasks_setting()
    messages = [setting_error(problem) for problem in tasks_setting_problems(raw)]
    if not isinstance(raw, Mapping):
        return messages
    configs: dict[str, BackendConfig] = {}
    foreign: set[str] = set()  # Other django.tasks backends: they never wait for commits.
    backends: dict[str, BaseTaskBackend] = {}
    for alias in raw:
        if not isinstance(alias, str) or not valid_alias(alias):
            continue  # Reported by tasks_setting_problems().
        try:
            resolved = tasks.resolve(alias)
        except Exception as e:  # A bug of the backend class (an options_schema that is no model).
            message = f"Backend {alias!r} could not be checked: {describe(e)}."
            messages.append(_backend_raised(alias, message, ""))
            continue
        messages.extend(map(setting_error, resolved.problems))
        if resolved.config is not None:
            configs[alias] = resolved.config
        if resolved.backend_class is not None and not is_ours(resolved.backend_class):
            foreign.add(alias)
        if not resolved.problems:
            # Without databases: the checks that connect run in check_task_databases().
            offline = {key: value for key, value in kwargs.items() if key != "databases"}
            backend, backend_messages = _check_backend(alias, **offline)
            messages.extend(backend_messages)
            if backend is not None:
                backends[alias] = backend
    commit = _commit_support()
    ours = {alias: config for alias, config in configs.items() if alias not in foreign}
    messages.extend(_on_commit_messages(ours, commit))
    messages.extend(_import_urlconf())
    for task in task_registry:
        messages.extend(_task_messages(task, list(raw), configs, backends, commit))
    return messages


def _import_urlconf() -> list[checks.CheckMessage]:
    """Import the URLconf, as Django's URL checks do, so that the tasks of the modules the views
    import are checked too: a ``mysite/tasks.py`` outside INSTALLED_APPS and TASK_MODULES, whose
    tasks workers would not import, is reported now (E017) rather than at its first enqueue."""
    urlconf = getattr(settings, "ROOT_URLCONF", None)
    if not urlconf:
        return []
    try:
        get_resolver().url_patterns  # noqa: B018  # Reading it imports the URLconf.
    except InvalidTaskError as e:  # A @task its backend refuses, declared on the way.
        hint = f"Add the task's module to {TASK_MODULES_SETTING}, or move the task into an app."
        return [checks.Error(str(e), hint=hint, obj=urlconf, id=TASK_REFUSED)]
    except Exception:  # Anything else: Django's URL checks report a broken URLconf.
        return []
    return []


@checks.register("tasks")
def check_task_modules(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """E061: each entry of TASK_MODULES is a module the workers can import."""
    value = getattr(settings, TASK_MODULES_SETTING, [])
    hint = f'List module names: {TASK_MODULES_SETTING} = ["mysite.tasks"].'
    if not isinstance(value, (list, tuple)):
        message = f"{TASK_MODULES_SETTING} {value!r} is invalid; it must be a list of module names."
        return [checks.Error(message, hint=hint, obj=TASK_MODULES_SETTING, id=TASK_MODULE_INVALID)]
    messages: list[checks.CheckMessage] = []
    valid = task_modules()
    for i, name in enumerate(value):
        where = f"{TASK_MODULES_SETTING}[{i}]"
        if name not in valid:
            message = f"{where} {name!r} is invalid; it must be a dotted module name."
        else:
            try:
                import_module(name)
                continue
            except Exception as e:  # Any error of the module's code: say it, as a worker would.
                message = (
                    f"{where} {name!r} cannot be imported ({describe(e)}), so workers would not "
                    f"find its tasks."
                )
        messages.append(checks.Error(message, hint=hint, obj=where, id=TASK_MODULE_INVALID))
    return messages


@checks.register(checks.Tags.database)
def check_task_databases(
    app_configs: Sequence[AppConfig] | None = None,
    databases: Sequence[str] | None = None,
    **kwargs: Any,
) -> list[checks.CheckMessage]:
    """What the backends' check() adds when it may connect to ``databases`` (``check
    --database``, migrate, the test runner).

    Tagged ``database``, as Django's own checks that connect are, so that no other command
    connects: Django 6.1 gives every other check all the databases, which check_tasks()
    therefore does not pass on.
    """
    raw = tasks_setting()
    if not databases or not isinstance(raw, Mapping):
        return []  # Before Django 6.1 this runs without databases, unless asked for them.
    messages: list[checks.CheckMessage] = []
    for alias in raw:
        if not isinstance(alias, str) or not valid_alias(alias):
            continue
        try:
            if tasks.resolve(alias).problems:
                continue
            backend = tasks[alias]
            offline = list(backend.check(**kwargs))
        except Exception:  # Reported by check_tasks().
            continue
        try:
            online = list(backend.check(databases=list(databases), **kwargs))
        except Exception as e:
            message = backend_failed_message(alias, type(backend), "raised in check()", e)
            call = f".check(databases={list(databases)!r})"
            messages.append(_backend_raised(alias, message, call))
            continue
        messages.extend(message for message in online if message not in offline)
    return messages


@checks.register("tasks", deploy=True)
def check_tasks_deploy(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Warn about backends made for development and tests (``check --deploy``)."""
    raw = tasks_setting()
    if not isinstance(raw, Mapping):
        return []  # Reported by check_tasks().
    messages: list[checks.CheckMessage] = []
    for alias in raw:
        if not isinstance(alias, str) or not valid_alias(alias):
            continue  # Reported by check_tasks().
        try:
            backend_class = tasks.resolve(alias).backend_class
        except Exception:  # Reported by check_tasks() as E019.
            continue
        for base, check_id, behaviour in _DEVELOPMENT_BACKENDS:
            if backend_class is not None and issubclass(backend_class, base):
                messages.append(
                    checks.Warning(
                        f"Backend {alias!r} is {class_path(backend_class)}, which {behaviour}.",
                        hint=_WORKER_HINT,
                        obj=location([alias, "BACKEND"]),
                        id=check_id,
                    )
                )
    return messages


@checks.register("tasks")
def check_schedules(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Check the schedules declared in code (those of OPTIONS are their backend's check()):
    IDs E072 and E073. Their expression and zone were checked when declared."""
    if tasks_setting_is_broken():
        return []
    messages: list[checks.CheckMessage] = []
    for schedule in schedule_registry:
        try:
            backend = tasks[schedule.backend]
        except Exception:  # Reported by check_tasks(), for the task (E018, E019).
            continue
        messages.extend(check_schedule(schedule, backend, task_registry.get(schedule.task_path)))
    return messages


# Task signature checks (IDs from E030 and W030 on): the annotations of every registered
# task, which @task could not all check at import time. The logic lives in signatures.py.
checks.register(check_task_signatures, "tasks")


def tasks_setting_is_broken() -> bool:
    """Whether the TASKS setting has a problem the checks report (E001-E015, E040, E041)."""
    raw = tasks_setting()
    if tasks_setting_problems(raw):
        return True
    try:
        return any(tasks.resolve(alias).problems for alias in raw)
    except Exception:  # A backend class that raises while validating: reported as E019.
        return True


def setting_error(problem: SettingProblem) -> checks.CheckMessage:
    """The check message of a problem the settings schema found."""
    return checks.Error(
        problem.message,
        hint=problem.hint,
        obj=problem.location,
        id=SETTING_PROBLEM_IDS[problem.kind],
    )


def _check_backend(
    alias: str, **kwargs: Any
) -> tuple[BaseTaskBackend | None, list[checks.CheckMessage]]:
    """Load the backend as the task API does, and run its own check()."""
    try:
        backend = tasks[alias]
    except InvalidTaskSettingError as e:  # The backend class validates more than the schema.
        return None, [setting_error(problem) for problem in e.problems]
    except InvalidTaskBackendError as e:  # The words the task API raises.
        return None, [_backend_raised(alias, str(e), "")]
    except Exception as e:  # load_backend() turns these into the above; a safety net.
        message = f"Backend {alias!r} could not be created: {describe(e)}."
        return None, [_backend_raised(alias, message, "")]
    try:
        return backend, list(backend.check(**kwargs))
    except Exception as e:
        message = backend_failed_message(alias, type(backend), "raised in check()", e)
        return backend, [_backend_raised(alias, message, ".check()")]


def _backend_raised(
    alias: str, message: str, call: str, obj: str | None = None
) -> checks.CheckMessage:
    """E019: the backend class raised; ``call`` reproduces it on ``tasks[alias]``."""
    return checks.Error(
        message,
        hint=f"The backend class raised; django_tasks.tasks[{alias!r}]{call} raises it again, "
        f"with its traceback.",
        obj=obj or location([alias]),
        id=BACKEND_RAISED,
    )


class _Commit(Enum):
    """Whether the default database can run on-commit hooks."""

    SUPPORTED = "supported"
    NO_DATABASE = "no database"
    MANUAL = "manual"
    UNKNOWN = "unknown"


def _commit_support() -> _Commit:
    try:
        if not database_configured(DEFAULT_DB_ALIAS):
            return _Commit.NO_DATABASE
        return _Commit.SUPPORTED if autocommits(DEFAULT_DB_ALIAS) else _Commit.MANUAL
    except ImproperlyConfigured:  # DATABASES itself is broken; Django reports that on use.
        return _Commit.UNKNOWN


def _on_commit_messages(
    configs: Mapping[str, BackendConfig], commit: _Commit
) -> list[checks.CheckMessage]:
    """ENQUEUE_ON_COMMIT asks for on-commit hooks a database without autocommit never runs.
    (Without any database, each backend's check() reports it: E060.)"""
    messages: list[checks.CheckMessage] = []
    for alias, config in configs.items():
        where = location([alias, "ENQUEUE_ON_COMMIT"])
        if config.ENQUEUE_ON_COMMIT and commit is _Commit.MANUAL:
            messages.append(
                checks.Error(
                    manual_commit_message(alias),
                    hint=f"Set {where} = False, or let the database autocommit.",
                    obj=where,
                    id=MANUAL_COMMIT,
                )
            )
    return messages


def _task_messages(
    task: Task[Any, Any],
    aliases: list[object],
    configs: Mapping[str, BackendConfig],
    backends: Mapping[str, BaseTaskBackend],
    commit: _Commit,
) -> list[checks.CheckMessage]:
    """A declared task uses an undefined backend, or one that refuses it."""
    if task.backend not in aliases:
        return [
            checks.Error(
                undefined_alias_message(task.backend, aliases),
                hint=f"Add {task.backend!r} to TASKS, or declare the task with a defined alias.",
                obj=task.module_path,
                id=TASK_BACKEND_UNDEFINED,
            )
        ]
    messages: list[checks.CheckMessage] = []
    try:
        refused = _refusal(task, configs.get(task.backend), backends.get(task.backend))
    except Exception as e:  # A broken validate_task() is the backend's bug.
        call = f".validate_task({task.module_path})"
        message = (
            f"Backend {task.backend!r} raised in validate_task() for this task: {describe(e)}."
        )
        messages.append(_backend_raised(task.backend, message, call, obj=task.module_path))
    else:
        if refused is not None:
            messages.append(
                checks.Error(
                    refused,
                    hint=f"Change the task's declaration, or {location([task.backend])}, so "
                    f"that they agree.",
                    obj=task.module_path,
                    id=TASK_REFUSED,
                )
            )
    if enqueue_on_commit(task) and commit is _Commit.MANUAL:
        messages.append(
            checks.Error(
                manual_commit_message(task.backend, task),
                hint="Declare the task with enqueue_on_commit=False, or let the database "
                "autocommit.",
                obj=task.module_path,
                id=MANUAL_COMMIT,
            )
        )
    return messages


def _refusal(
    task: Task[Any, Any], config: BackendConfig | None, backend: BaseTaskBackend | None
) -> str | None:
    """Why the task's backend refuses it, as far as the backend (or its config) is known."""
    if backend is not None:
        try:
            validate_for_backend(task, backend)
        except InvalidTaskError as e:
            return str(e)
        return None
    if config is not None and config.QUEUES and task.queue_name not in config.QUEUES:
        return queue_not_allowed_message(task.queue_name, task.backend, config.QUEUES)
    return None
