"""Small helpers with no Django state."""

import os
import secrets
import socket
import traceback


def get_random_id() -> str:
    """Return a new random result id: 32 URL-safe characters, well under the 64 allowed."""
    return secrets.token_urlsafe(24)


def default_worker_id() -> str:
    """Identify this process: the host name and the process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


def format_exception(exc: BaseException) -> str:
    """Format an exception with its traceback, as Python prints it."""
    return "".join(traceback.format_exception(exc))


def class_path(cls: type) -> str:
    """The dotted path of a class: ``builtins.ValueError``, ``myapp.errors.Oops``."""
    return f"{cls.__module__}.{cls.__qualname__}"
