"""JSON-safety of the values that cross a task boundary: arguments and return values.

A task's arguments are stored and sent as JSON, so a value is accepted only if it survives a
JSON round trip with the same meaning, on every supported database. Tuples become lists and
subclasses of ``str``, ``int`` and ``float`` (such as ``TextChoices`` members) become the plain
value; everything else that is not JSON (a ``datetime``, a ``set``, a non-string dict key,
``NaN``, an int too long for Python to write as text, a string PostgreSQL cannot store...) is
refused with the path to the offending value, before anything is stored.

``dumps`` writes normalised values as the JSON text a backend stores, which every database
reads back as the same types: a float stays a float on PostgreSQL too (see ``dumps``).
``JSONLimit`` bounds how many bytes of it a backend takes (its ``MAX_JSON_BYTES``).
"""

import dataclasses
import datetime
import decimal
import enum
import json
import math
import reprlib
import sys
import uuid
from collections.abc import Callable, Iterable, Mapping
from pathlib import PurePath
from typing import Any, TypeAlias

from django.db.models import Model
from django.utils.functional import Promise
from pydantic import BaseModel

from django_tasks.exceptions import InvalidTaskArgumentsError

JSONValue: TypeAlias = dict[str, "JSONValue"] | list["JSONValue"] | str | int | float | bool | None

MAX_DEPTH = 25
"""How deeply lists and dicts may nest inside one value. MariaDB's JSON_VALID (the check
constraint of its JSON columns) refuses documents nested 32 levels or more; 25 leaves room for
the object and list a backend wraps the arguments in."""


@dataclasses.dataclass(frozen=True, slots=True)
class JSONForm:
    """How to turn a value JSON cannot carry into one it can."""

    annotation: str
    """What to annotate instead, as a Python type: ``"str"``."""

    value: str
    """What to pass instead: ``"an ISO 8601 string (value.isoformat())"``."""


_ISO_8601 = JSONForm("str", "an ISO 8601 string (value.isoformat())")
_STRING = JSONForm("str", "a string (str(value))")
_JSON_FORMS: tuple[tuple[type | tuple[type, ...], JSONForm], ...] = (
    ((datetime.datetime, datetime.date, datetime.time), _ISO_8601),
    (datetime.timedelta, JSONForm("float", "a number of seconds (value.total_seconds())")),
    ((decimal.Decimal, uuid.UUID, PurePath), _STRING),
    ((set, frozenset), JSONForm("list[...]", "a list (list(value))")),
    (
        (bytes, bytearray, memoryview),
        JSONForm("str", "a str (decode text; base64-encode binary data)"),
    ),
    (Model, JSONForm("the primary key's type", "its primary key (value.pk)")),
    (BaseModel, JSONForm("dict[str, Any] or a TypedDict", "value.model_dump(mode='json')")),
    (enum.Enum, JSONForm("Literal[...] of its values", "its value (value.value)")),
    (Promise, JSONForm("str", "a plain str (str(value))")),
)
_DATACLASS = JSONForm("dict[str, Any] or a TypedDict", "dataclasses.asdict(value)")
_ANYTHING_ELSE = JSONForm(
    "str, int, float, bool, None, or list, dict[str, ...] or a TypedDict of them",
    "str, int, float, bool, None, or lists and dicts of them",
)

MAX_INT_DIGITS = sys.int_info.default_max_str_digits
"""The most digits of an int in JSON data: 4,300, the most Python converts between int and
text by default (sys.get_int_max_str_digits()), so that any worker reads back what it wrote."""

_INT_BOUND = 10**MAX_INT_DIGITS
"""The smallest int with more than MAX_INT_DIGITS digits. Comparing an int with it looks at
their sizes first, so the check costs next to nothing for the ints tasks take."""

_short = reprlib.Repr()
_short.maxstring = 60
_short.maxother = 100


class NotJSONSafeError(ValueError):
    """A value cannot be stored as JSON; the message names its path."""


def json_form(cls: type) -> JSONForm:
    """Say how to replace values of ``cls``, a type JSON cannot carry, by ones it can."""
    for kinds, form in _JSON_FORMS:
        if issubclass(cls, kinds):
            return form
    if dataclasses.is_dataclass(cls):
        return _DATACLASS
    return _ANYTHING_ELSE


def short_repr(value: Any) -> str:
    """``repr(value)``, shortened to fit in an error message (and safe if __repr__ raises)."""
    return _short.repr(value)


def normalize_json(value: Any, root: str, *, of: str = "") -> JSONValue:
    """Return ``value`` as plain JSON data, or raise NotJSONSafeError.

    The message names the value as ``root``, followed by the path inside it and `` of {of}``:
    ``normalize_json(v, "Return value", of="task app.tasks.f")`` raises
    "Return value['when'] of task app.tasks.f is datetime.datetime(...) (type datetime),
    which is not JSON-serializable; use an ISO 8601 string (value.isoformat())."
    """
    return _Normalizer(root, f" of {of}" if of else "").normalize(value, "", 0)


def normalize_arguments(
    args: Iterable[Any], kwargs: Mapping[str, Any]
) -> tuple[list[JSONValue], dict[str, JSONValue]]:
    """Normalize a task's arguments, or raise InvalidTaskArgumentsError naming the argument."""
    keys = _Normalizer("Argument kwargs", "")
    try:
        normal_args = [normalize_json(arg, f"Argument args[{i}]") for i, arg in enumerate(args)]
        normal_kwargs = {
            keys.key(key, ""): normalize_json(arg, f"Argument kwargs[{key!r}]")
            for key, arg in kwargs.items()
        }
    except NotJSONSafeError as e:
        raise InvalidTaskArgumentsError(str(e)) from None
    return normal_args, normal_kwargs


class _Normalizer:
    """One value's walk: its name for messages and the containers being visited."""

    def __init__(self, root: str, suffix: str) -> None:
        self.root = root
        self.suffix = suffix
        self.visiting: set[int] = set()

    def where(self, path: str) -> str:
        return f"{self.root}{path}{self.suffix}"

    def normalize(self, value: Any, path: str, depth: int) -> JSONValue:
        kind = type(value)
        if kind is str:
            return self.text(value, path)
        if kind is int:
            return self.integer(value, path)
        if kind is bool or value is None:
            return value  # type: ignore[no-any-return]  # narrowed by the type checks above
        if kind is float:
            return self.number(value, path)
        if isinstance(value, (dict, list, tuple)):
            return self.container(value, path, depth)
        if isinstance(value, str) and not isinstance(value, Promise):
            return self.text(str.__str__(value), path)  # str.__str__ drops the subclass
        if isinstance(value, int) and not isinstance(value, bool):
            return self.integer(int(value), path)
        if isinstance(value, float):
            return self.number(float(value), path)
        raise NotJSONSafeError(
            f"{self.where(path)} is {short_repr(value)} (type {kind.__name__}), which is "
            f"not JSON-serializable; use {json_form(kind).value}."
        )

    def container(
        self, value: dict[Any, Any] | list[Any] | tuple[Any, ...], path: str, depth: int
    ) -> JSONValue:
        if depth >= MAX_DEPTH:
            raise NotJSONSafeError(
                f"{self.where('')} nests lists and dicts more than {MAX_DEPTH} levels deep, "
                f"the most every supported database stores as JSON; flatten it."
            )
        if id(value) in self.visiting:
            raise NotJSONSafeError(
                f"{self.where(path)} is a {type(value).__name__} that contains itself, "
                f"which JSON cannot represent; break the cycle."
            )
        self.visiting.add(id(value))
        try:
            if isinstance(value, dict):
                return {
                    self.key(key, path): self.normalize(item, f"{path}[{key!r}]", depth + 1)
                    for key, item in value.items()
                }
            return [self.normalize(item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value)]
        finally:
            self.visiting.discard(id(value))

    def key(self, key: Any, path: str) -> str:
        if type(key) is not str:
            raise NotJSONSafeError(
                f"{self.where(path)} has the key {short_repr(key)} (type "
                f"{type(key).__name__}), but JSON object keys are strings; convert the "
                f"keys with str()."
            )
        return self.text(key, path, is_key=True)

    def text(self, value: str, path: str, *, is_key: bool = False) -> str:
        problem = _text_problem(value)
        if problem is None:
            return value
        what = "has the key" if is_key else "is"
        raise NotJSONSafeError(f"{self.where(path)} {what} {short_repr(value)}, {problem}.")

    def integer(self, value: int, path: str) -> int:
        if -_INT_BOUND < value < _INT_BOUND:
            return value
        # Not short_repr(value): Python refuses to write such an int as text.
        raise NotJSONSafeError(
            f"{self.where(path)} is an int of more than {MAX_INT_DIGITS:,} digits, the most "
            f"Python converts to and from JSON text; pass it as a string (str(value), after "
            f"sys.set_int_max_str_digits())."
        )

    def number(self, value: float, path: str) -> float:
        if not math.isfinite(value):
            raise NotJSONSafeError(
                f"{self.where(path)} is {value!r}, which is not a JSON number; use None or a "
                f"string."
            )
        return value


def _text_problem(value: str) -> str | None:
    if "\x00" in value:
        return "which contains a NUL character (\\x00) that PostgreSQL cannot store; remove it"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as e:
        return (
            f"which contains the lone surrogate {e.object[e.start : e.end]!r} and so is not "
            f"valid Unicode; fix how the text was decoded"
        )
    return None


_ENCODERS = {
    ascii_only: json.JSONEncoder(
        separators=(",", ":"), ensure_ascii=ascii_only, check_circular=False, allow_nan=False
    )
    for ascii_only in (False, True)
}


def dumps(value: JSONValue, *, ascii_only: bool = False) -> str:
    """Normalised JSON data (see normalize_json) as compact JSON text, which every database
    reads back as the same data, floats as floats.

    PostgreSQL's jsonb keeps numbers as decimals, written without an exponent: ``1e+20``
    comes back as ``100000000000000000000``, which JSON reads as an int. Python writes a
    float with an exponent from 1e16 up, where every float is a whole number, so such floats
    are written out in full, with a ``.0`` that jsonb keeps. Only a text with ``e+`` in it
    (such a float, or a string that happens to contain ``e+``) takes that slower way.
    ``ascii_only`` escapes every character beyond ASCII, for databases whose connection or
    column may not take them.
    """
    text = _ENCODERS[ascii_only].encode(value)
    if "e+" not in text:
        return text
    return _dumps_with_floats_in_full(value, _ENCODERS[ascii_only].encode)


def _dumps_with_floats_in_full(value: JSONValue, encode: Callable[[Any], str]) -> str:
    if type(value) is float:
        text = repr(value)
        # The same shortest digits, without the exponent: 2.5e+22 is 25000000000000000000000.0.
        return f"{decimal.Decimal(text):f}.0" if "e+" in text else text
    if isinstance(value, dict):
        items = (
            f"{encode(key)}:{_dumps_with_floats_in_full(item, encode)}"
            for key, item in value.items()
        )
        return "{" + ",".join(items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_dumps_with_floats_in_full(item, encode) for item in value) + "]"
    return encode(value)


class JSONTooLarge(ValueError):  # noqa: N818  # Says what is wrong, like DoesNotExist.
    """JSON data takes more bytes than the backend's MAX_JSON_BYTES; the message says
    "<size> bytes as JSON, more than backend ... stores (...)", to end a sentence with."""


@dataclasses.dataclass(frozen=True, slots=True)
class JSONLimit:
    """How much JSON data (a task's arguments, its return value) one backend keeps, and how
    it writes it: the backend's OPTIONS["MAX_JSON_BYTES"]."""

    backend: str
    """The backend's alias, for messages."""

    max_bytes: int
    """OPTIONS["MAX_JSON_BYTES"]: the most bytes JSON data may take, counted as compact UTF-8."""

    ascii_only: bool = False
    """Whether characters beyond ASCII are escaped in the text (MySQL and MariaDB, whose
    connection or table may not take them all); elsewhere it is kept as it is, which is
    smaller. The size is counted the same either way."""

    def dumps(self, value: JSONValue) -> str:
        """``value`` (normalised JSON data) as the text to store (see dumps); JSONTooLarge if
        it takes more than ``max_bytes``."""
        text = dumps(value, ascii_only=self.ascii_only)
        # Cheap bounds first: escaped, the text is at least as long as its UTF-8 is; one
        # character is at most 4 bytes of UTF-8.
        if len(text) * (1 if self.ascii_only else 4) <= self.max_bytes:
            return text
        size = len((dumps(value) if self.ascii_only else text).encode("utf-8"))
        if size > self.max_bytes:
            raise JSONTooLarge(
                f"{size:,} bytes as JSON, more than backend {self.backend!r} stores "
                f"(OPTIONS['MAX_JSON_BYTES'] is {self.max_bytes:,})"
            )
        return text

    def arguments(self, task_path: str, args: list[JSONValue], kwargs: dict[str, JSONValue]) -> str:
        """A task's normalised arguments as the text to store, ``{"args":[...],"kwargs":{...}}``;
        InvalidTaskArgumentsError, naming the limit, if they take more than ``max_bytes``."""
        try:
            return self.dumps({"args": args, "kwargs": kwargs})
        except JSONTooLarge as e:
            raise InvalidTaskArgumentsError(
                f"The arguments of task {task_path} take {e}; pass a reference to the data "
                f"(a primary key, a file name) instead."
            ) from None


def too_large_return_value(error: JSONTooLarge) -> str:
    """Why a return value that ``error`` says is too large cannot be stored, to end
    StorageError's message (see StorageError.of_outcome)."""
    return f"its return value takes {error}; return a reference to the data instead"
