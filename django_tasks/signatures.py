"""Task signatures JSON can carry: annotation checks when @task runs and in ``manage.py check``.

A task's arguments and return value cross a JSON boundary, so the function receives, and the
result holds, what JSON gives back: str, int, float, bool, None, and lists and dicts (with string
keys) of them. An annotation that promises anything else (a ``datetime``, a ``set``, a model, a
``tuple``...) is a promise the type checker believes and the worker breaks, so it is refused:

- ``@task`` raises InvalidTaskError for the first such annotation it can resolve, at import
  time, as it does for a queue the backend does not allow;
- an annotation that cannot be resolved yet (a forward reference to a name defined further
  down, a circular import) is skipped there, and checked by the system check once every module
  is imported: django_tasks.E030 for a parameter, E031 for the return annotation;
- an annotation that cannot be resolved at all (a name imported only under TYPE_CHECKING) is
  reported as django_tasks.W030: its JSON-safety is not checked.

Unannotated parameters, ``Any`` and ``object`` accept anything and pass; the values themselves
are checked when the task is enqueued (see serialization.py).

The walk uses typing's public introspection (get_type_hints, get_origin, get_args) rather than
pydantic: a TypeAdapter builds schemas for datetime, set, tuple and dict[int, str] alike (it can
serialize them, though they do not come back unchanged), wraps Sequence and Iterable in
validator functions whose shape varies between versions, and refuses typing.TypedDict before
Python 3.12.
"""

import dataclasses
import enum
import inspect
import sys
import types
import typing
from collections import abc
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import typing_extensions
from django.apps import AppConfig
from django.core import checks

from django_tasks.exceptions import InvalidTaskError
from django_tasks.registry import task_registry
from django_tasks.serialization import json_form

if TYPE_CHECKING:
    from django_tasks.task import Task

_TOP_TYPES = (Any, object, typing.Never, typing.NoReturn)
_JSON_SCALARS = (str, int, float, bool, None, type(None), typing.LiteralString)
_LITERAL_TYPES = (str, int, bool, type(None))
_ARRAYS = (list, abc.Sequence, abc.MutableSequence, abc.Collection, abc.Iterable, abc.Reversible)
_OBJECTS = (dict, abc.Mapping, abc.MutableMapping)
_UNIONS = (typing.Union, types.UnionType)
_WRAPPERS = (
    typing_extensions.Annotated,
    typing_extensions.Required,
    typing_extensions.NotRequired,
    typing_extensions.ReadOnly,
)
_ALIASES: tuple[Any, ...] = tuple(  # typing_extensions' own class until Python 3.12, or later
    {
        alias
        for alias in (typing_extensions.TypeAliasType, getattr(typing, "TypeAliasType", None))
        if alias
    }
)


def _is(tp: object, group: tuple[object, ...]) -> bool:
    """Whether ``tp`` is one of ``group`` (by identity: annotations need not be hashable)."""
    return any(tp is member for member in group)


@dataclasses.dataclass(frozen=True, slots=True)
class SignatureProblem:
    """An annotation of a task that JSON cannot carry, or that cannot be resolved."""

    check_id: str
    """The system check ID: django_tasks.E030, E031 or W030."""

    message: str
    """One sentence, without its final period."""

    hint: str
    """How to fix it, starting in lower case, without a final period."""

    def __str__(self) -> str:
        return f"{self.message}; {self.hint}."

    def as_check_message(self, obj: str) -> checks.CheckMessage:
        kind = checks.Warning if self.check_id.startswith("django_tasks.W") else checks.Error
        hint = f"{self.hint[:1].upper()}{self.hint[1:]}."
        return kind(f"{self.message}.", hint=hint, obj=obj, id=self.check_id)


def validate_signature(task: "Task[Any, Any]") -> None:
    """Raise InvalidTaskError if a resolvable annotation of the task's function is not JSON."""
    for problem in signature_problems(task):
        if problem.check_id.startswith("django_tasks.E"):
            raise InvalidTaskError(str(problem))


def signature_problems(task: "Task[Any, Any]") -> Iterator[SignatureProblem]:
    """Yield the problems with the annotations of the task's function, parameters first. The
    ``context`` parameter of a task that takes its context receives a TaskContext, not JSON."""
    for name, annotation in _resolve(task.func).items():
        if name == "context" and getattr(task, "takes_context", False):
            continue
        if name == "return":
            yield from _problems(
                f"Task {task.module_path} is annotated to return", annotation, "django_tasks.E031"
            )
        else:
            yield from _problems(
                f"Parameter {name!r} of task {task.module_path} is annotated",
                annotation,
                "django_tasks.E030",
            )


def check_task_signatures(
    app_configs: Sequence[AppConfig] | None = None,
    *,
    tasks: Iterable["Task[Any, Any]"] | None = None,
    **kwargs: Any,
) -> list[checks.CheckMessage]:
    """The system check: the signature problems of every registered task (or of ``tasks``).

    With ``app_configs`` (``manage.py check app_label``), only the tasks defined in those apps.
    """
    candidates = list(task_registry if tasks is None else tasks)
    if app_configs is not None:
        packages = tuple(app_config.name for app_config in app_configs)
        candidates = [t for t in candidates if _in_packages(t.func.__module__, packages)]
    return [
        problem.as_check_message(obj=checked.module_path)
        for checked in candidates
        for problem in signature_problems(checked)
    ]


def _in_packages(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == package or module.startswith(f"{package}.") for package in packages)


class _Unresolved:
    """An annotation that cannot be evaluated to a type."""

    def __init__(self, annotation: object, error: Exception) -> None:
        self.annotation = annotation
        self.error = error


def _resolve(func: Callable[..., Any]) -> dict[str, object]:
    """The function's annotations as types; an _Unresolved for each one that cannot be."""
    try:
        return typing.get_type_hints(func, include_extras=True)
    except Exception:
        pass  # Resolve them one by one to find the culprits.
    resolved: dict[str, object] = {}
    for name, annotation in inspect.get_annotations(func).items():
        try:
            resolved[name] = _resolve_in(annotation, func.__globals__)
        except Exception as e:  # NameError, TypeError, SyntaxError...
            resolved[name] = _Unresolved(annotation, e)
    return resolved


def _problems(where: str, annotation: object, check_id: str) -> Iterator[SignatureProblem]:
    if isinstance(annotation, _Unresolved):
        error = annotation.error
        yield SignatureProblem(
            "django_tasks.W030",
            f"{where} {_render(annotation.annotation)!r}, which cannot be resolved "
            f"({type(error).__name__}: {error}), so its JSON-safety is not checked",
            "import the names it uses at module level rather than only under TYPE_CHECKING, or "
            "silence django_tasks.W030",
        )
        return
    try:
        unsupported = _find_unsupported(annotation, set())
    except _UnresolvableError as e:
        yield from _problems(where, _Unresolved(annotation, e.error), check_id)
        return
    if unsupported is not None:
        part, reason, hint = unsupported
        whole = _render(annotation)
        if part is annotation:
            described = f"{whole}, which {reason}"
        else:
            described = f"{whole}, and {_render(part)} in it {reason}"
        yield SignatureProblem(check_id, f"{where} {described}", hint)


class _UnresolvableError(Exception):
    """A part of an annotation (a TypedDict field, an alias) cannot be resolved."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


_Unsupported = tuple[object, str, str]
"""The offending part of an annotation, why JSON cannot carry it, and how to fix it."""


def _find_unsupported(tp: object, seen: set[int]) -> _Unsupported | None:
    """Return the first part of annotation ``tp`` that JSON cannot carry, or None."""
    if _is(tp, _TOP_TYPES) or _is(tp, _JSON_SCALARS):
        return None
    if isinstance(tp, str | typing.ForwardRef):  # Left unresolved inside another annotation.
        raise _UnresolvableError(NameError(f"the forward reference {tp!r} is not resolved"))
    if isinstance(tp, typing.TypeVar):
        bounds = (tp.__bound__,) if tp.__bound__ is not None else tp.__constraints__
        return _first_unsupported(bounds, seen)
    if isinstance(tp, typing.NewType):
        return _find_unsupported(tp.__supertype__, seen)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if _is(origin, _WRAPPERS):
        return _find_unsupported(args[0], seen)
    if _is(origin, _UNIONS):
        return _first_unsupported(args, seen)
    if origin is typing.Literal:
        return _unsupported_literal(args)
    expandable = origin if origin is not None else tp
    if isinstance(expandable, _ALIASES) or typing_extensions.is_typeddict(expandable):
        return _expand(expandable, seen)
    return _unsupported_class(tp, expandable, args, seen)


def _first_unsupported(parts: Iterable[object], seen: set[int]) -> _Unsupported | None:
    for part in parts:
        found = _find_unsupported(part, seen)
        if found is not None:
            return found
    return None


def _expand(tp: Any, seen: set[int]) -> _Unsupported | None:
    """Check a TypedDict's fields or a type alias's value, once each (they may be recursive)."""
    if id(tp) in seen:
        return None
    seen.add(id(tp))
    try:
        if isinstance(tp, _ALIASES):
            module = sys.modules.get(tp.__module__)
            parts: Iterable[object] = [_resolve_in(tp.__value__, vars(module) if module else {})]
        else:
            parts = typing.get_type_hints(tp, include_extras=True).values()
    except Exception as e:  # A forward reference in it cannot be resolved.
        raise _UnresolvableError(e) from None
    return _first_unsupported(parts, seen)


def _resolve_in(annotation: object, namespace: dict[str, Any]) -> object:
    """Evaluate ``annotation`` (a string, or an object holding forward references) in a module's
    namespace, as typing.get_type_hints does for a whole function."""
    holder = types.SimpleNamespace(__annotations__={"value": annotation})
    return typing.get_type_hints(holder, globalns=namespace, include_extras=True)["value"]


def _unsupported_literal(values: tuple[object, ...]) -> _Unsupported | None:
    for value in values:
        if not isinstance(value, _LITERAL_TYPES) or isinstance(value, enum.Enum):
            return (
                value,
                "is not JSON-serializable",
                "use Literal values of type str, int, bool or None instead",
            )
    return None


def _unsupported_class(
    tp: object, cls: object, args: tuple[object, ...], seen: set[int]
) -> _Unsupported | None:
    if _is(cls, _ARRAYS):
        return _first_unsupported(args, seen)
    if _is(cls, _OBJECTS):
        if not args:
            return None
        if not _string_keys(args[0]):
            return (
                tp,
                f"has {_render(args[0])} keys, but JSON object keys are strings",
                "annotate dict[str, ...] instead and convert the keys with str()",
            )
        return _find_unsupported(args[1], seen)
    if cls is tuple:
        return (
            tp,
            "arrives as a list after the JSON round trip",
            "annotate list[...] or Sequence[...] instead",
        )
    if not isinstance(cls, type):
        return (
            tp,
            "is not a type JSON can carry",
            f"annotate {json_form(object).annotation} instead",
        )
    plain = next((base for base in (str, int, float) if issubclass(cls, base)), None)
    if plain is not None:  # A str subclass, a TextChoices, an IntEnum...
        instead = f"Literal[...] of its values or {plain.__name__}"
        return (
            tp,
            f"arrives as a plain {plain.__name__} after the JSON round trip",
            f"annotate {instead if issubclass(cls, enum.Enum) else plain.__name__} instead and "
            f"convert with {cls.__qualname__}(value) in the task",
        )
    form = json_form(cls)
    convert = "" if form is json_form(object) else f" and convert to {form.value}"
    return (tp, "is not JSON-serializable", f"annotate {form.annotation} instead{convert}")


def _string_keys(key: object) -> bool:
    """Whether every value of annotation ``key`` is a str (Any counts: it is not a promise)."""
    if _is(key, (str, Any, typing.LiteralString)):
        return True
    origin, args = typing.get_origin(key), typing.get_args(key)
    if _is(origin, _WRAPPERS):
        return _string_keys(args[0])
    if origin is typing.Literal:
        return all(type(value) is str for value in args)
    if _is(origin, _UNIONS):
        return all(_string_keys(arg) for arg in args)
    if isinstance(key, typing.NewType):
        return _string_keys(key.__supertype__)
    return False


def _render(tp: object) -> str:
    """An annotation as it is written in code: ``list[dict[str, datetime]]``."""
    if tp is None or tp is type(None):
        return "None"
    if tp is Ellipsis:
        return "..."
    if isinstance(tp, str):
        return tp
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if _is(origin, _WRAPPERS):
        return _render(args[0])
    if _is(origin, _UNIONS):
        return " | ".join(_render(arg) for arg in args)
    if origin is typing.Literal:
        return f"Literal[{', '.join(repr(arg) for arg in args)}]"
    if origin is not None and args:
        return f"{_render(origin)}[{', '.join(_render(arg) for arg in args)}]"
    if isinstance(tp, list):
        return f"[{', '.join(_render(arg) for arg in tp)}]"
    name = getattr(tp, "__qualname__", None) or getattr(tp, "__name__", None)
    return name if isinstance(name, str) else repr(tp)
