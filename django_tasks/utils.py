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
    """Format an exception with its traceback, as Python prints it. Never raises: for an
    exception whose own attributes raise while Python formats it (``__notes__``...), its frames,
    its class and message, and a line saying what failed."""
    try:
        return "".join(traceback.format_exception(exc))
    except Exception as error:
        try:
            frames = "".join(traceback.format_tb(exc.__traceback__))
        except Exception:
            frames = ""
        header = "Traceback (most recent call last):\n" if frames else ""
        return (
            f"{header}{frames}{class_path(type(exc))}: {safe_str(exc)}\n"
            f"(Its traceback could not be formatted in full: {type(error).__name__}: "
            f"{safe_str(error)})\n"
        )


def safe_str(value: object) -> str:
    """``str(value)``, or Python's own stand-in when the object's ``__str__`` raises."""
    try:
        return str.__str__(str(value))
    except Exception:
        return "<exception str() failed>"


def class_path(cls: type) -> str:
    """The dotted path of a class: ``builtins.ValueError``, ``myapp.errors.Oops``. Never
    raises: a ``__module__`` that is not text is ``<unknown>``, as in Python's tracebacks."""
    module = getattr(cls, "__module__", None)
    module = str.__str__(module) if isinstance(module, str) else "<unknown>"
    return f"{module}.{str.__str__(cls.__qualname__)}"
