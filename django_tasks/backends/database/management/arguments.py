"""What the commands share: the backend they work on, named by
``--backend``, and the queue names of ``--queue-name``."""

import argparse
import math
from collections.abc import Callable

from django.core.management.base import CommandError, CommandParser

from django_tasks import tasks
from django_tasks.backends.database.backend import DatabaseBackend
from django_tasks.exceptions import InvalidTaskBackendError


def add_backend_argument(parser: CommandParser, dest: str) -> None:
    """``--backend``, stored under the reference's name for the command (``dest``), which
    ``call_command`` takes as a keyword: ``backend_name`` for db_worker, ``backend`` for
    prune_db_task_results."""
    parser.add_argument(
        "--backend",
        dest=dest,
        default="default",
        help="The alias in TASKS of the database backend. Default: 'default'.",
    )


def database_backend(alias: str, purpose: str) -> DatabaseBackend:
    """The DatabaseBackend ``alias`` names; CommandError if there is none. ``purpose`` ends
    the message: "db_worker runs only the tasks of a DatabaseBackend"."""
    try:
        backend = tasks[alias]
    except InvalidTaskBackendError as e:
        raise CommandError(str(e)) from None
    if not isinstance(backend, DatabaseBackend):
        raise CommandError(
            f"Backend {alias!r} ({type(backend).__name__}) is not a DatabaseBackend; {purpose}."
        )
    return backend


def queue_names(values: str | list[str]) -> list[str]:
    """The names given with ``--queue-name``: each option's value split at commas (a string
    when given to ``call_command`` as a keyword)."""
    if isinstance(values, str):
        values = [values]
    return [name.strip() for value in values for name in value.split(",")]


def zero_or_more(what: str) -> Callable[[str], float]:
    """An argparse type: a finite number, 0 or more; ``what`` names it in the error ("a number
    of days")."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = -1.0
        if not (value >= 0 and math.isfinite(value)):
            raise argparse.ArgumentTypeError(f"{text!r} is invalid; it must be {what}, 0 or more")
        return value

    return parse
