"""Backend classes that the tests configure in TASKS: one with options, and broken ones."""

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from django.core import checks
from pydantic import BaseModel, ConfigDict, field_validator

from django_tasks.backends.base import BaseTaskBackend
from django_tasks.backends.dummy import DummyBackend
from django_tasks.exceptions import InvalidTaskBackendError
from django_tasks.task import TaskResult
from django_tasks_spec.protocols import TaskProtocol


class QueueOptions(BaseModel):
    """The OPTIONS of OptionsBackend."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    database: str
    """A required option."""

    poll_interval: float = 1.0
    """An option with a validator of its own."""

    @field_validator("poll_interval")
    @classmethod
    def _positive(cls, value: float) -> float:
        if value <= 0:
            raise ValueError(f"The poll interval must be greater than zero; found {value!r}.")
        return value


class OptionsBackend(DummyBackend):
    """A DummyBackend that declares OPTIONS."""

    options_schema: ClassVar[type[BaseModel]] = QueueOptions


class MinimalBackend(BaseTaskBackend):
    """Supports nothing optional: no defer, no async, no priority, no get_result."""

    def _enqueue(self, result: TaskResult[Any]) -> None:
        pass


class BrokenInitBackend(DummyBackend):
    """Raises from its constructor, as a backend with a bug would."""

    def __init__(self, alias: str, params: Mapping[str, Any]) -> None:
        raise RuntimeError("The connection pool is not configured.")


class PickyBackend(DummyBackend):
    """Refuses a configuration the schema accepts, with a message of its own."""

    def __init__(self, alias: str, params: Mapping[str, Any]) -> None:
        super().__init__(alias, params)
        if self.enqueue_on_commit:
            raise InvalidTaskBackendError(
                f"Backend {alias!r} cannot wait for commits; set ENQUEUE_ON_COMMIT to False."
            )


class BrokenCheckBackend(DummyBackend):
    """Raises from check()."""

    def check(self, **kwargs: Any) -> Iterable[checks.CheckMessage]:
        raise KeyError("HOST")


class BrokenValidateBackend(DummyBackend):
    """Raises from validate_task(), reading an attribute tasks do not have."""

    def validate_task(self, task: TaskProtocol[Any, Any]) -> None:
        if getattr(task, "time_limit") > 10:  # noqa: B009  # Raises AttributeError on purpose.
            super().validate_task(task)


class NoSchemaBackend(DummyBackend):
    """Declares an options_schema that is no pydantic model."""

    options_schema = dict  # type: ignore[assignment]  # The bug under test.


class CheckingBackend(DummyBackend):
    """Reports a problem of its own from check()."""

    def check(self, **kwargs: Any) -> Iterable[checks.CheckMessage]:
        yield checks.Warning("The queue table is empty.", obj=self.alias, id="tests.W001")


class ConnectingCheckBackend(DummyBackend):
    """check() looks into the databases it is given, as a backend that connects would; it
    raises for one called 'unreachable'."""

    def check(self, **kwargs: Any) -> Iterable[checks.CheckMessage]:
        yield checks.Warning("The queue table is empty.", obj=self.alias, id="tests.W001")
        for alias in kwargs.get("databases") or ():
            if alias == "unreachable":
                raise ConnectionError("Connection refused.")
            yield checks.Warning(f"Database {alias!r} is read-only.", obj=alias, id="tests.W002")
