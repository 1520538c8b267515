"""The OPTIONS schema of the Celery backend (``django_tasks.backends.celery``).

Every key is optional::

    TASKS = {
        "default": {
            "BACKEND": "django_tasks.backends.celery.CeleryBackend",
            "OPTIONS": {"APP": "proj.celery.app", "MAX_ATTEMPTS": 5},
        }
    }

Everything else (the broker, the result backend, queue priorities) is the Celery app's own
configuration, which the backend reads and ``manage.py check`` validates.
"""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

AppPath = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$"),
]


class CeleryOptions(BaseModel):
    """OPTIONS of CeleryBackend."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    APP: AppPath | None = None
    """The dotted path of the project's Celery app (``"proj.celery.app"``). By default, the one
    Celery app the project has created (the one Celery's Django guide creates in
    ``proj/celery.py`` and imports from ``proj/__init__.py``)."""

    MAX_ATTEMPTS: Annotated[int, Field(ge=1)] = 3
    """How many times a task may be started. A task whose worker was lost (killed, its machine
    gone) on its last attempt is marked FAILED with ``WorkerLostError`` instead of running
    again, so that a task that kills its worker cannot loop forever."""

    MAX_JSON_BYTES: Annotated[int, Field(ge=1)] = 1_048_576
    """The most a task's arguments, and its return value, may take as JSON text (compact, in
    UTF-8 bytes), as with the database backend. Larger arguments are refused at enqueue with
    InvalidTaskArgumentsError; a larger return value fails its task with StorageError. The
    message carries the arguments with every character beyond ASCII escaped (Celery's JSON),
    up to 3 times as many bytes, and on Redis base64-encoded, 4 times: the default, 1 MiB,
    keeps the largest message under RabbitMQ's max_message_size (16 MiB by default since
    RabbitMQ 4.0), which drops larger messages without telling the sender."""
