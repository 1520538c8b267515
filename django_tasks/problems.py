"""What is wrong with a TASKS setting, in words: the problems that the system checks report
and the task API raises, word for word.

Validation never stops at the first problem: each one is a ``SettingProblem`` with its kind,
its exact location in the setting, a sentence saying what was found and a hint. The schema is
the contract's (``django_tasks_spec.settings``); this module turns what breaks it into those
sentences. The system checks give each kind its own ID.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from django_tasks_spec.names import did_you_mean
from django_tasks_spec.settings import (
    CONFIG_KEYS,
    DEFAULT_ALIAS,
    EXAMPLE_BACKEND,
    QUEUE_NAME_CHARACTERS,
    QUEUE_NAME_REPEATED,
    BackendConfig,
)


class ProblemKind(StrEnum):
    """What can be wrong with TASKS. The system checks give each kind its own ID."""

    TASKS_NOT_A_DICT = "tasks_not_a_dict"
    NO_DEFAULT_ALIAS = "no_default_alias"
    ALIAS_INVALID = "alias_invalid"
    CONFIG_NOT_A_DICT = "config_not_a_dict"
    UNKNOWN_KEY = "unknown_key"
    BACKEND_MISSING = "backend_missing"
    BACKEND_NOT_A_PATH = "backend_not_a_path"
    BACKEND_MODULE_NOT_IMPORTABLE = "backend_module_not_importable"
    BACKEND_ATTRIBUTE_MISSING = "backend_attribute_missing"
    BACKEND_NOT_A_BACKEND = "backend_not_a_backend"
    QUEUES_NOT_A_LIST = "queues_not_a_list"
    QUEUE_NAME_INVALID = "queue_name_invalid"
    QUEUE_NAME_REPEATED = QUEUE_NAME_REPEATED
    QUEUE_NAME_CHARACTERS = "queue_name_characters"
    ENQUEUE_ON_COMMIT_NOT_A_BOOL = "enqueue_on_commit_not_a_bool"
    ENQUEUE_ON_COMMIT_UNSUPPORTED = "enqueue_on_commit_unsupported"
    OPTIONS_INVALID = "options_invalid"


@dataclass(frozen=True, slots=True)
class SettingProblem:
    """One thing wrong with the TASKS setting."""

    kind: ProblemKind
    """What is wrong, as a stable category."""

    location: str
    """Where, as a Python subscript of the setting: ``TASKS['default']['QUEUES'][1]``."""

    message: str
    """What was found and what is allowed, as one sentence."""

    hint: str
    """How to fix it."""

    def __str__(self) -> str:
        return f"{self.location}: {self.message} {self.hint}"


def location(path: Sequence[Any], root: str = "TASKS") -> str:
    """Render a path into the setting as Python subscripts: ``TASKS['default']['QUEUES'][1]``."""
    return root + "".join(f"[{part!r}]" for part in path)


def undefined_alias_message(alias: object, aliases: Sequence[object]) -> str:
    """The message for a backend alias that TASKS does not define."""
    # The reference's (and Django's) words first, so assertions written for them hold.
    return (
        f"The connection {alias!r} doesn't exist. Task backend {alias!r} is not defined; TASKS "
        f"defines {list(aliases)!r}."
    )


def tasks_setting_problems(raw: Any) -> list[SettingProblem]:
    """What is wrong with the shape of TASKS itself: its type, its aliases.

    The configuration of each alias is validated separately, by validate_backend_config().
    """
    if not isinstance(raw, Mapping):
        return [
            SettingProblem(
                ProblemKind.TASKS_NOT_A_DICT,
                "TASKS",
                f"TASKS must be a dict of backend aliases to configurations; found "
                f"{type(raw).__name__} {raw!r}.",
                f"Write TASKS = {{{DEFAULT_ALIAS!r}: {{'BACKEND': {EXAMPLE_BACKEND!r}}}}}.",
            )
        ]
    problems = [alias_problem(alias) for alias in raw if not valid_alias(alias)]
    if DEFAULT_ALIAS not in raw:
        problems.insert(0, no_default_alias_problem(list(raw)))
    return problems


def no_default_alias_problem(aliases: Sequence[object]) -> SettingProblem:
    """The problem with a TASKS setting that defines these aliases, and not ``default``."""
    return SettingProblem(
        ProblemKind.NO_DEFAULT_ALIAS,
        "TASKS",
        undefined_alias_message(DEFAULT_ALIAS, aliases),
        f"Add a {DEFAULT_ALIAS!r} alias: tasks use it unless they name another backend.",
    )


def valid_alias(alias: object) -> bool:
    """Whether a key of TASKS can be a backend alias: a non-empty string."""
    return isinstance(alias, str) and alias != ""


def alias_problem(alias: object) -> SettingProblem:
    """The problem with a key of TASKS that is not a non-empty string."""
    return SettingProblem(
        ProblemKind.ALIAS_INVALID,
        location([alias]),
        f"Backend alias {alias!r} is invalid; it must be a non-empty string.",
        "Rename it: tasks name their backend by this string (@task(backend=...)).",
    )


def validate_backend_config(alias: str, raw: Any) -> BackendConfig | list[SettingProblem]:
    """Validate one entry of TASKS, returning the config or everything wrong with it."""
    if not isinstance(raw, Mapping):
        return [
            SettingProblem(
                ProblemKind.CONFIG_NOT_A_DICT,
                location([alias]),
                f"A backend configuration must be a dict; found {type(raw).__name__} {raw!r}.",
                f"Write it as {{'BACKEND': {EXAMPLE_BACKEND!r}}}, with the path of your backend.",
            )
        ]
    try:
        return BackendConfig.model_validate(dict(raw))
    except ValidationError as e:
        return [_config_problem(alias, detail) for detail in e.errors(include_url=False)]


def validate_options(
    alias: str, backend_path: str, schema: type[BaseModel], options: Mapping[str, Any]
) -> BaseModel | list[SettingProblem]:
    """Validate a backend's OPTIONS against the schema its class declares."""
    try:
        return schema.model_validate(dict(options))
    except ValidationError as e:
        return [
            _options_problem(alias, backend_path, schema, detail)
            for detail in e.errors(include_url=False)
        ]


def _config_problem(alias: str, detail: ErrorDetails) -> SettingProblem:
    loc = detail["loc"]
    if detail["type"] == "extra_forbidden" or detail["type"] == "invalid_key":
        return SettingProblem(
            ProblemKind.UNKNOWN_KEY,
            location([alias, *loc]),
            f"Unknown key {loc[0]!r}; a backend configuration takes {_quoted(CONFIG_KEYS)}.",
            did_you_mean(loc[0], CONFIG_KEYS) or "Remove it.",
        )
    kind, message, hint = _FIELD_PROBLEMS[str(loc[0])](detail)
    if detail["type"] == "missing":  # A missing key has no place: point at what lacks it.
        where = location([alias])
    elif loc[-1] == "[key]":  # A bad key of a dict: point at the dict.
        where = location([alias, *loc[:-2]])
    else:
        where = location([alias, *loc])
    return SettingProblem(kind, where, message, hint)


Explanation = tuple[ProblemKind, str, str]
"""A problem's kind, message and hint."""


def _quoted(names: Sequence[str]) -> str:
    quoted = [repr(name) for name in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def _backend_problem(detail: ErrorDetails) -> Explanation:
    if detail["type"] == "missing":
        return (
            ProblemKind.BACKEND_MISSING,
            "The configuration has no 'BACKEND'; it must name a task backend class.",
            f"Add 'BACKEND': {EXAMPLE_BACKEND!r}, or the dotted path of another backend class.",
        )
    return (
        ProblemKind.BACKEND_NOT_A_PATH,
        f"BACKEND must be the dotted path of a class; found {detail['input']!r}.",
        f"Write the full import path of the backend class, such as {EXAMPLE_BACKEND!r}.",
    )


def _queues_problem(detail: ErrorDetails) -> Explanation:
    found = detail["input"]
    if detail["type"] == QUEUE_NAME_REPEATED:
        ctx = detail.get("ctx", {})
        return (
            ProblemKind.QUEUE_NAME_REPEATED,
            f"Queue name {found!r} is listed twice; it first appears at QUEUES[{ctx['first']}].",
            "Remove the repeated name.",
        )
    if detail["type"] == "string_pattern_mismatch":
        return (
            ProblemKind.QUEUE_NAME_CHARACTERS,
            queue_name_characters_message(found),
            "Rename the queue: db_worker --queue-name splits names at commas, strips spaces and "
            "reads '*' as every queue, so no worker could select it.",
        )
    if len(detail["loc"]) > 1:
        return (
            ProblemKind.QUEUE_NAME_INVALID,
            f"Queue name {found!r} is invalid; it must be a non-empty string.",
            "Write the queue name as a string, or remove it.",
        )
    return (
        ProblemKind.QUEUES_NOT_A_LIST,
        f"QUEUES must be a list of queue names; found {type(found).__name__} {found!r}.",
        "Write QUEUES = ['default', ...], or [] to allow any queue name.",
    )


def queue_name_characters_message(name: str) -> str:
    """The message for a queue name that is not made of QUEUE_NAME_PATTERN."""
    return (
        f"Queue name {name!r} has characters a queue name cannot have; it may use "
        f"{QUEUE_NAME_CHARACTERS} only."
    )


def _enqueue_on_commit_problem(detail: ErrorDetails) -> Explanation:
    found = detail["input"]
    return (
        ProblemKind.ENQUEUE_ON_COMMIT_NOT_A_BOOL,
        f"ENQUEUE_ON_COMMIT must be True or False; found {type(found).__name__} {found!r}.",
        "Set True to enqueue when the transaction commits, False to enqueue at once.",
    )


def enqueue_on_commit_unsupported_problem(alias: str, backend_path: str) -> SettingProblem:
    """The problem with ENQUEUE_ON_COMMIT True for a backend that is not one of ours."""
    return SettingProblem(
        ProblemKind.ENQUEUE_ON_COMMIT_UNSUPPORTED,
        location([alias, "ENQUEUE_ON_COMMIT"]),
        f"ENQUEUE_ON_COMMIT is True, but backend {backend_path!r} is not one of django_tasks's "
        f"backends and cannot wait for a transaction to commit.",
        "Remove ENQUEUE_ON_COMMIT, and enqueue with transaction.on_commit() where a task must "
        "wait for the commit; or use one of django_tasks's backends.",
    )


def _options_type_problem(detail: ErrorDetails) -> Explanation:
    found = detail["input"]
    if detail["loc"][-1] == "[key]":
        return (
            ProblemKind.OPTIONS_INVALID,
            f"Option name {found!r} is invalid; option names are strings.",
            "Write the option name as a string.",
        )
    return (
        ProblemKind.OPTIONS_INVALID,
        f"OPTIONS must be a dict of backend options; found {type(found).__name__} {found!r}.",
        "Write OPTIONS = {...}, with the options the backend class documents.",
    )


_FIELD_PROBLEMS: dict[str, Callable[[ErrorDetails], Explanation]] = {  # One per field.
    "BACKEND": _backend_problem,
    "QUEUES": _queues_problem,
    "ENQUEUE_ON_COMMIT": _enqueue_on_commit_problem,
    "OPTIONS": _options_type_problem,
}


def _options_problem(
    alias: str, backend_path: str, schema: type[BaseModel], detail: ErrorDetails
) -> SettingProblem:
    loc = detail["loc"]
    where = location([alias, "OPTIONS", *loc])
    owner = f"backend {backend_path!r}"
    if detail["type"] == "extra_forbidden":
        names = list(schema.model_fields)
        takes = f"takes {_quoted(names)}" if names else "takes no options"
        return SettingProblem(
            ProblemKind.OPTIONS_INVALID,
            where,
            f"Unknown option {loc[-1]!r}; {owner} {takes}.",
            did_you_mean(loc[-1], names) or "Remove it.",
        )
    if detail["type"] == "missing":
        return SettingProblem(
            ProblemKind.OPTIONS_INVALID,
            location([alias, "OPTIONS"]),
            f"The required option {loc[-1]!r} of {owner} is missing.",
            f"Add {loc[-1]!r} to OPTIONS.",
        )
    message = _sentence(detail["msg"])
    if detail["type"] not in ("value_error", "assertion_error"):
        message = f"{message[:-1]}; found {detail['input']!r}."
    return SettingProblem(
        ProblemKind.OPTIONS_INVALID,
        where,
        message,
        f"See the documentation of {owner} for its options.",
    )


def _sentence(text: str) -> str:
    """A pydantic message as a sentence: capitalised, ending with a period."""
    text = text.strip().removeprefix("Value error, ").removeprefix("Assertion failed, ")
    text = text[:1].upper() + text[1:]
    return text if text.endswith(".") else text + "."
