"""JSON-safety of the values that cross a task boundary: arguments and return values.

A task's arguments are stored and sent as JSON, so a value is accepted only if it survives a
JSON round trip with the same meaning. Tuples become lists and subclasses of ``str``, ``int``
and ``float`` (such as ``TextChoices`` members) become the plain value; everything else that is
not JSON (a ``datetime``, a ``set``, a non-string dict key, ``NaN``...) is refused with the path
to the offending value, before anything is stored.
"""

import datetime
import decimal
import enum
import math
import uuid
from collections.abc import Iterable, Mapping
from typing import Any, TypeAlias

from django.db.models import Model
from django.utils.functional import Promise

from django_tasks.exceptions import InvalidTaskArgumentsError

JSONValue: TypeAlias = dict[str, "JSONValue"] | list["JSONValue"] | str | int | float | bool | None

MAX_DEPTH = 100
"""How deeply lists and dicts may nest. Deeper values are refused rather than risking a
RecursionError in a JSON decoder on the way back."""

_HINTS: tuple[tuple[type | tuple[type, ...], str], ...] = (
    (datetime.datetime, "pass an ISO 8601 string (value.isoformat())"),
    (datetime.date, "pass an ISO 8601 string (value.isoformat())"),
    (datetime.time, "pass an ISO 8601 string (value.isoformat())"),
    (datetime.timedelta, "pass a number of seconds (value.total_seconds())"),
    (decimal.Decimal, "pass a string (str(value))"),
    (uuid.UUID, "pass a string (str(value))"),
    ((set, frozenset), "pass a list"),
    ((bytes, bytearray, memoryview), "pass a str (decode text, base64-encode binary data)"),
    (Model, "pass its primary key (value.pk) and fetch it in the task"),
    (enum.Enum, "pass value.value"),
    (Promise, "pass a plain str (str(value))"),
)


class NotJSONSafeError(ValueError):
    """A value cannot be stored as JSON; the message names its path."""


def normalize_json(value: Any, path: str) -> JSONValue:
    """Return ``value`` as plain JSON data, or raise NotJSONSafeError naming ``path``."""
    return _normalize(value, path, set(), 0)


def normalize_arguments(
    args: Iterable[Any], kwargs: Mapping[str, Any]
) -> tuple[list[JSONValue], dict[str, JSONValue]]:
    """Normalize a task's arguments, or raise InvalidTaskArgumentsError naming the argument."""
    try:
        normal_args = [normalize_json(arg, f"args[{i}]") for i, arg in enumerate(args)]
        normal_kwargs = {
            _key(key, "kwargs"): normalize_json(arg, f"kwargs[{key!r}]")
            for key, arg in kwargs.items()
        }
    except NotJSONSafeError as e:
        raise InvalidTaskArgumentsError(str(e)) from None
    return normal_args, normal_kwargs


def _normalize(value: Any, path: str, seen: set[int], depth: int) -> JSONValue:
    kind = type(value)
    if kind is str:
        return _check_text(value, path)
    if kind is int or kind is bool or value is None:
        return value  # type: ignore[no-any-return]  # narrowed by the type checks above
    if kind is float:
        return _check_float(value, path)
    if isinstance(value, (dict, list, tuple)):
        return _normalize_container(value, path, seen, depth)
    if isinstance(value, str) and not isinstance(value, Promise):
        return _check_text(str.__str__(value), path)  # str.__str__ drops the subclass
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, float):
        return _check_float(float(value), path)
    raise NotJSONSafeError(f"{path}: {_describe(value)} is not JSON-serializable; {_hint(value)}.")


def _normalize_container(
    value: dict[Any, Any] | list[Any] | tuple[Any, ...], path: str, seen: set[int], depth: int
) -> JSONValue:
    if depth >= MAX_DEPTH:
        raise NotJSONSafeError(f"{path}: nesting is deeper than {MAX_DEPTH} levels.")
    if id(value) in seen:
        raise NotJSONSafeError(f"{path}: the value contains itself, which JSON cannot represent.")
    seen.add(id(value))
    try:
        if isinstance(value, dict):
            return {
                _key(key, path): _normalize(item, f"{path}[{key!r}]", seen, depth + 1)
                for key, item in value.items()
            }
        return [_normalize(item, f"{path}[{i}]", seen, depth + 1) for i, item in enumerate(value)]
    finally:
        seen.discard(id(value))


def _key(key: Any, path: str) -> str:
    if type(key) is not str:
        raise NotJSONSafeError(
            f"{path}: dict key {key!r} is a {type(key).__name__}, but JSON object keys are "
            f"strings; convert the keys with str()."
        )
    return _check_text(key, f"{path} key")


def _check_text(value: str, path: str) -> str:
    if "\x00" in value:
        raise NotJSONSafeError(
            f"{path}: the string contains a NUL character (\\x00), which "
            f"PostgreSQL cannot store; remove it."
        )
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise NotJSONSafeError(
            f"{path}: the string {value!r} contains a lone surrogate and is not valid Unicode."
        ) from None
    return value


def _check_float(value: float, path: str) -> float:
    if not math.isfinite(value):
        raise NotJSONSafeError(
            f"{path}: {value!r} is not a valid JSON number; pass None or a string."
        )
    return value


def _describe(value: Any) -> str:
    return type(value).__name__


def _hint(value: Any) -> str:
    for kinds, hint in _HINTS:
        if isinstance(value, kinds):
            return hint
    return "pass str, int, float, bool, None, or lists and dicts of them"
