"""Reading the TASKS setting, and turning one of its entries into a backend.

``resolve_backend`` resolves an entry: it imports the class BACKEND names and has that class
validate the entry (``BaseTaskBackend.validate_params``, the one validator of an entry),
finding everything wrong at once. On Django 6, BACKEND may also name any other ``django.tasks``
backend (Django's own, a third party's): its entry is held to the same schema, its OPTIONS are
its own business, and ENQUEUE_ON_COMMIT, which it cannot honour, must not be True.
``load_backend`` raises those problems or creates the backend. The handler (``tasks[alias]``)
resolves each entry once per value of TASKS, and the system checks read the same resolution, so
the exception and the check say the same thing.
"""

import importlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from django.conf import global_settings, settings
from pydantic import BaseModel

from django_tasks.backends.base import BaseTaskBackend, CheckedParams, ValidatedParams
from django_tasks.dialects import foreign_backend_classes
from django_tasks.exceptions import InvalidTaskBackendError, InvalidTaskSettingError
from django_tasks.problems import (
    ProblemKind,
    SettingProblem,
    alias_problem,
    enqueue_on_commit_unsupported_problem,
    location,
    valid_alias,
    validate_backend_config,
)
from django_tasks.utils import class_path
from django_tasks_spec.names import did_you_mean
from django_tasks_spec.settings import DOTTED_PATH, EXAMPLE_BACKEND, BackendConfig

DEFAULT_TASKS: dict[str, Any] = getattr(
    global_settings, "TASKS", {"default": {"BACKEND": EXAMPLE_BACKEND}}
)
"""The TASKS setting of a project that defines none: Django's (Django 6, whose global settings
name its own ImmediateBackend), or ours (Django 5.2)."""

BASE_CLASS_PATH = "django_tasks.backends.base.BaseTaskBackend"


def tasks_setting() -> Any:
    """The TASKS setting, or its default. Not validated: see resolve_backend()."""
    return getattr(settings, "TASKS", DEFAULT_TASKS)


@dataclass(frozen=True, slots=True, kw_only=True)
class ResolvedBackend:
    """What one entry of TASKS amounts to, as far as it could be validated."""

    config: BackendConfig | None = None
    """The validated configuration, if its schema holds."""

    backend_class: type[BaseTaskBackend] | None = None
    """The class BACKEND names, if it could be imported (on Django 6, possibly another
    ``django.tasks`` backend's: see ``is_ours``)."""

    options: BaseModel | None = None
    """The validated OPTIONS, if they hold."""

    problems: list[SettingProblem] = field(default_factory=list)
    """Everything wrong with the entry; the backend can be created only if this is empty."""


def resolve_backend(alias: object, params: Any) -> ResolvedBackend:
    """Resolve one entry of TASKS: its alias, the class BACKEND names, and what that class's
    validator finds (schema and OPTIONS), reporting all."""
    if not isinstance(alias, str) or not valid_alias(alias):
        return ResolvedBackend(problems=[alias_problem(alias)])
    backend_class, unusable = _backend_class(alias, params)
    if backend_class is None:  # Nothing validates the OPTIONS: report the rest of the schema.
        validated = validate_backend_config(alias, params)
        config, problems = (None, validated) if isinstance(validated, list) else (validated, [])
        return ResolvedBackend(config=config, problems=[*problems, *unusable])
    if not is_ours(backend_class):
        return _resolve_foreign(alias, params, backend_class)
    checked = backend_class.validate_params(alias, params)
    return ResolvedBackend(
        config=checked.config,
        backend_class=backend_class,
        options=checked.options,
        problems=checked.problems,
    )


def is_ours(backend_class: type) -> bool:
    """Whether a backend class is one of django_tasks's (not another ``django.tasks`` one)."""
    return issubclass(backend_class, BaseTaskBackend)


def _resolve_foreign(alias: str, params: Any, backend_class: type) -> ResolvedBackend:
    """The resolution of an entry for another ``django.tasks`` backend: our schema, with
    ENQUEUE_ON_COMMIT refused if True (the backend cannot wait for a commit)."""
    validated = validate_backend_config(alias, params)
    if isinstance(validated, list):
        return ResolvedBackend(backend_class=backend_class, problems=validated)
    problems = []
    if validated.ENQUEUE_ON_COMMIT and "ENQUEUE_ON_COMMIT" in validated.model_fields_set:
        problems.append(enqueue_on_commit_unsupported_problem(alias, class_path(backend_class)))
    return ResolvedBackend(config=validated, backend_class=backend_class, problems=problems)


def _backend_class(
    alias: str, params: Any
) -> tuple[type[BaseTaskBackend] | None, list[SettingProblem]]:
    """The class BACKEND names, or why there is none (nothing, if the schema says it)."""
    if not isinstance(params, Mapping):
        return None, []
    path = params.get("BACKEND")
    if not isinstance(path, str) or not re.fullmatch(DOTTED_PATH, path):
        return None, []  # The schema reports a missing BACKEND, or one that is no path.
    try:
        return import_backend_class(alias, path), []
    except InvalidTaskSettingError as e:
        return None, list(e.problems)


def load_backend(alias: str, params: Any, resolved: ResolvedBackend) -> BaseTaskBackend:
    """Create the backend of one entry of TASKS from its resolution, or raise what is wrong.

    An exception from the backend class itself becomes an InvalidTaskBackendError too (the
    original is its ``__cause__``), so a broken backend never breaks code that merely declares
    tasks; using them raises.
    """
    if resolved.problems or resolved.backend_class is None:
        raise InvalidTaskSettingError(resolved.problems)
    checked = CheckedParams(config=resolved.config, options=resolved.options)
    try:
        if not is_ours(resolved.backend_class):  # Another django.tasks backend: its own params.
            return resolved.backend_class(alias, dict(params))
        return resolved.backend_class(
            alias, ValidatedParams(params, resolved.backend_class, checked)
        )
    except InvalidTaskBackendError:
        raise
    except Exception as e:
        raise InvalidTaskBackendError(
            backend_failed_message(alias, resolved.backend_class, "could not be created", e)
        ) from e


def backend_failed_message(alias: str, backend_class: type, failed: str, error: Exception) -> str:
    """The message for a backend class that raised: ``could not be created``, ``...``."""
    return f"Backend {alias!r} ({class_path(backend_class)}) {failed}: {describe(error)}."


def describe(error: BaseException) -> str:
    """An exception as ``KeyError: 'HOST'``, to end a sentence with."""
    return f"{type(error).__name__}: {str(error).strip().rstrip('.') or '(no message)'}"


def import_backend_class(alias: str, path: str) -> type[BaseTaskBackend]:
    """Import the backend class at a dotted path, explaining precisely what failed."""
    where = location([alias, "BACKEND"])
    module_path, _, name = path.rpartition(".")
    try:
        module = importlib.import_module(module_path)
    except Exception as e:  # Whatever the module raises, the check reports it.
        raise InvalidTaskSettingError(
            [
                SettingProblem(
                    ProblemKind.BACKEND_MODULE_NOT_IMPORTABLE,
                    where,
                    # The reference's words first: "Could not find backend '<path>': <error>".
                    f"Could not find backend {path!r}: {str(e).strip().rstrip('.')}; the "
                    f"module {module_path!r} of BACKEND {path!r} cannot be imported "
                    f"({type(e).__name__}).",
                    _import_hint(module_path, e),
                )
            ]
        ) from e
    try:
        backend_class = getattr(module, name)
    except AttributeError:
        public = [attribute for attribute in dir(module) if not attribute.startswith("_")]
        raise InvalidTaskSettingError(
            [
                SettingProblem(
                    ProblemKind.BACKEND_ATTRIBUTE_MISSING,
                    where,
                    f"The module {module_path!r} has no attribute {name!r}.",
                    did_you_mean(name, public) or f"Check the class name in {path!r}.",
                )
            ]
        ) from None
    bases = (BaseTaskBackend, *foreign_backend_classes())
    if not (isinstance(backend_class, type) and issubclass(backend_class, bases)):
        found = (
            "a class that does not inherit from it"
            if isinstance(backend_class, type)
            else f"a {type(backend_class).__name__!r} object"
        )
        raise InvalidTaskSettingError(
            [
                SettingProblem(
                    ProblemKind.BACKEND_NOT_A_BACKEND,
                    where,
                    f"BACKEND {path!r} must name a subclass of {backend_bases()}; it is {found}.",
                    f"Point BACKEND at a task backend class, such as {EXAMPLE_BACKEND!r}.",
                )
            ]
        )
    # Ours, or (Django 6) another django.tasks backend: typed as ours, as the handler is.
    return cast(type[BaseTaskBackend], backend_class)


def backend_bases() -> str:
    """The classes a BACKEND must subclass, in words: ours, and (Django 6) Django's."""
    return " or ".join([BASE_CLASS_PATH, *map(class_path, foreign_backend_classes())])


def _import_hint(module_path: str, error: Exception) -> str:
    if not isinstance(error, ModuleNotFoundError) or error.name is None:
        return "The module raised while being imported; fix the error in it."
    if module_path == error.name or module_path.startswith(f"{error.name}."):
        return "Check the spelling of the path, and that the package providing it is installed."
    return f"Install {error.name!r}, which the module imports."
