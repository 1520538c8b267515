"""The schema of the TASKS setting, as pydantic models.

``TASKS`` maps backend aliases to backend configurations. Each configuration names its
``BACKEND`` by dotted path and may restrict ``QUEUES``, set ``ENQUEUE_ON_COMMIT`` and pass
``OPTIONS``, whose schema the backend class declares (``options_schema``).
"""

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

DEFAULT_QUEUES = ("default",)

DottedPath = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$"),
]
NonEmptyStr = Annotated[str, StringConstraints(min_length=1)]


class BackendConfig(BaseModel):
    """One entry of TASKS."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    BACKEND: DottedPath
    """The dotted path of the backend class."""

    QUEUES: list[NonEmptyStr] = Field(default_factory=lambda: list(DEFAULT_QUEUES))
    """The queue names tasks may use; an empty list allows any name."""

    ENQUEUE_ON_COMMIT: bool = True
    """Whether enqueueing waits for the current transaction to commit."""

    OPTIONS: dict[str, Any] = Field(default_factory=dict)
    """Backend-specific options, validated by the backend's options_schema."""

    @field_validator("QUEUES")
    @classmethod
    def _unique_queues(cls, queues: list[str]) -> list[str]:
        duplicates = sorted({name for name in queues if queues.count(name) > 1})
        if duplicates:
            raise ValueError(f"queue names must be unique; repeated: {duplicates}")
        return queues


class NoOptions(BaseModel):
    """The OPTIONS schema of a backend that takes none."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


@dataclass(frozen=True, slots=True)
class SettingProblem:
    """One thing wrong with the TASKS setting."""

    location: str
    """Where, as a Python subscript of the setting: ``TASKS['default']['QUEUES'][1]``."""

    message: str
    """What is wrong, as a sentence."""

    kind: str
    """A stable category: pydantic's error type (``missing``, ``extra_forbidden``...)."""

    hint: str | None = None
    """How to fix it, when there is more to say than the message."""

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


def location(path: Sequence[str | int], root: str = "TASKS") -> str:
    """Render a path into the setting as Python subscripts."""
    return root + "".join(f"[{part!r}]" for part in path)


def validation_problems(
    error: ValidationError, prefix: Sequence[str | int], fields: Sequence[str] = ()
) -> list[SettingProblem]:
    """Turn a pydantic ValidationError into problems located under ``prefix``.

    ``fields`` are the valid names at the level of the error, for "did you mean" hints on
    unknown keys.
    """
    problems = []
    for detail in error.errors(include_url=False):
        path = [*prefix, *detail["loc"]]
        kind = detail["type"]
        message = _sentence(detail["msg"])
        hint = None
        if kind == "extra_forbidden":
            name = str(detail["loc"][-1])
            message = f"Unknown key {name!r}."
            hint = did_you_mean(name, fields)
        elif kind == "missing":
            message = f"The required key {detail['loc'][-1]!r} is missing."
        elif kind != "value_error":
            message = f"{message} Found {detail['input']!r}."
        problems.append(SettingProblem(location(path), message, kind, hint))
    return problems


def did_you_mean(name: str, choices: Sequence[str]) -> str | None:
    """Suggest the nearest valid name, case-insensitively."""
    by_folded = {choice.casefold(): choice for choice in choices}
    matches = difflib.get_close_matches(name.casefold(), list(by_folded), n=1, cutoff=0.6)
    return f"Did you mean {by_folded[matches[0]]!r}?" if matches else None


def validate_backend_config(alias: str, raw: Any) -> BackendConfig | list[SettingProblem]:
    """Validate one entry of TASKS, returning the config or what is wrong with it."""
    if not isinstance(raw, Mapping):
        return [
            SettingProblem(
                location([alias]),
                f"A backend configuration must be a dict; found {type(raw).__name__} {raw!r}.",
                "dict_type",
                "Write it as {'BACKEND': 'dotted.path.to.Backend'}.",
            )
        ]
    try:
        return BackendConfig.model_validate(dict(raw))
    except ValidationError as e:
        return validation_problems(e, [alias], list(BackendConfig.model_fields))


def validate_options(
    alias: str, schema: type[BaseModel], options: Mapping[str, Any]
) -> BaseModel | list[SettingProblem]:
    """Validate a backend's OPTIONS against the schema its class declares."""
    try:
        return schema.model_validate(dict(options))
    except ValidationError as e:
        return validation_problems(e, [alias, "OPTIONS"], list(schema.model_fields))


def _sentence(text: str) -> str:
    text = text.strip()
    if text.startswith("Value error, "):
        text = text.removeprefix("Value error, ")
    text = text[:1].upper() + text[1:]
    return text if text.endswith(".") else text + "."
