"""The schema of the TASKS setting, as pydantic models.

``TASKS`` maps backend aliases to backend configurations. Each configuration names its
``BACKEND`` by dotted path and may restrict ``QUEUES``, set ``ENQUEUE_ON_COMMIT`` and pass
``OPTIONS``, whose schema the backend class declares (``options_schema``). What is wrong with a
setting that breaks this schema, in words, is the implementation's to say (``manage.py check``
and the exceptions of the task API report it).
"""

from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
)
from pydantic_core import ErrorDetails, InitErrorDetails, PydanticCustomError

DEFAULT_ALIAS = "default"
"""The alias TASKS must define: tasks use it unless they name another backend."""

DEFAULT_QUEUES = ("default",)
"""The queue names a backend allows when its configuration has no QUEUES."""

EXAMPLE_BACKEND = "django_tasks.backends.immediate.ImmediateBackend"

QUEUE_NAME_REPEATED = "queue_name_repeated"
"""The type of the validation error for a queue name that QUEUES lists twice (its ``ctx``
holds ``first``, the index of the first one)."""

DOTTED_PATH = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$"
"""What BACKEND must match: the dotted path of a class."""

DottedPath = Annotated[str, StringConstraints(pattern=DOTTED_PATH)]
NonEmptyStr = Annotated[str, StringConstraints(min_length=1)]

QUEUE_NAME_PATTERN = r"[A-Za-z0-9_.:@/-]+"
"""What a queue name is made of, whole: ASCII letters and digits, and ``_ - . : / @``. A worker
must be able to select a queue by its name: ``db_worker --queue-name`` splits its value at
commas, strips spaces and reads ``*`` as every queue; and the name is stored, logged and sent
(NOTIFY) as text, where a NUL or a lone surrogate cannot go."""

QUEUE_NAME_CHARACTERS = "ASCII letters and digits and _ - . : / @"
"""QUEUE_NAME_PATTERN, in words, for messages."""

QueueName = Annotated[str, StringConstraints(min_length=1, pattern=f"^{QUEUE_NAME_PATTERN}$")]


def _repeated_queue_names(queues: Any) -> list[InitErrorDetails]:
    """A ``queue_name_repeated`` error for each name that a list repeats, at its index."""
    if not isinstance(queues, list):
        return []
    first_index: dict[str, int] = {}
    errors: list[InitErrorDetails] = []
    for index, name in enumerate(queues):
        if not isinstance(name, str) or not name:
            continue
        if name in first_index:
            error = PydanticCustomError(
                QUEUE_NAME_REPEATED,
                "Queue name {name} repeats QUEUES[{first}].",
                {"name": name, "first": first_index[name]},
            )
            errors.append({"type": error, "loc": (index,), "input": name})
        else:
            first_index[name] = index
    return errors


class BackendConfig(BaseModel):
    """One entry of TASKS: the configuration of one backend."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    BACKEND: DottedPath
    """The dotted path of the backend class."""

    QUEUES: list[QueueName] = Field(default_factory=lambda: list(DEFAULT_QUEUES))
    """The queue names tasks may use, each once; an empty list allows any name (made of
    QUEUE_NAME_PATTERN)."""

    ENQUEUE_ON_COMMIT: bool = True
    """Whether enqueueing waits for the current transaction to commit."""

    OPTIONS: dict[str, Any] = Field(default_factory=dict)
    """Backend-specific options, validated by the backend class's ``options_schema``."""

    @field_validator("QUEUES", mode="wrap")
    @classmethod
    def _unique_queue_names(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> list[str]:
        # A wrap validator, so that a repeated name is reported with the other problems of
        # the list rather than only once they are fixed.
        repeated = _repeated_queue_names(value)
        try:
            queues: list[str] = handler(value)
        except ValidationError as e:
            raise ValidationError.from_exception_data(
                e.title, [*map(_init_details, e.errors()), *repeated]
            ) from None
        if repeated:
            raise ValidationError.from_exception_data(cls.__name__, repeated)
        return queues


CONFIG_KEYS = list(BackendConfig.model_fields)
"""The keys a backend configuration takes."""


class NoOptions(BaseModel):
    """The OPTIONS schema of a backend that takes none."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def _init_details(detail: ErrorDetails) -> InitErrorDetails:
    """Turn a reported error back into one that can be raised again (same type and place)."""
    init: InitErrorDetails = {
        "type": detail["type"],
        "loc": detail["loc"],
        "input": detail["input"],
    }
    if "ctx" in detail:
        init["ctx"] = detail["ctx"]
    return init
