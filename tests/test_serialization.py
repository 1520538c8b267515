"""What a task's arguments and return value may be: JSON that survives the round trip unchanged."""

import datetime
import decimal
import enum
import json
import re
import uuid
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connections
from django.db.models import IntegerChoices, TextChoices
from django.utils.translation import gettext_lazy
from pydantic import BaseModel

from django_tasks.exceptions import InvalidTaskArgumentsError
from django_tasks.serialization import (
    MAX_DEPTH,
    MAX_INT_DIGITS,
    JSONValue,
    NotJSONSafeError,
    dumps,
    normalize_arguments,
    normalize_json,
)

JOINED = datetime.datetime(2024, 5, 1, 9, 30, tzinfo=datetime.UTC)


class Colour(enum.Enum):
    RED = "red"


class Size(TextChoices):
    SMALL = "s", "Small"


class Level(IntegerChoices):
    HIGH = 3, "High"


class HugeLevel(enum.IntEnum):
    HUGE = 10**5000


class Email(str):
    pass


@dataclass
class Point:
    x: int


class Profile(BaseModel):
    name: str


def nested(depth: int) -> list[Any]:
    """A list nested ``depth`` levels deep: nested(2) == [[]]."""
    outer: list[Any] = []
    inner = outer
    for _ in range(depth - 1):
        inner.append([])
        inner = inner[0]
    return outer


def cyclic_list() -> list[Any]:
    value: list[Any] = [1]
    value.append(value)
    return value


def cyclic_dict() -> dict[str, Any]:
    value: dict[str, Any] = {}
    value["self"] = {"again": value}
    return value


class BrokenRepr:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")


# (args, kwargs, the message of the InvalidTaskArgumentsError they raise)
REFUSED: list[tuple[tuple[Any, ...], dict[str, Any], str]] = [
    (
        (),
        {"user": {"joined": JOINED}},
        "Argument kwargs['user']['joined'] is datetime.datetime(2024, 5, 1, 9, 30, "
        "tzinfo=datetime.timezone.utc) (type datetime), which is not JSON-serializable; use an "
        "ISO 8601 string (value.isoformat()).",
    ),
    (
        (datetime.date(2024, 5, 1),),
        {},
        "Argument args[0] is datetime.date(2024, 5, 1) (type date), which is not "
        "JSON-serializable; use an ISO 8601 string (value.isoformat()).",
    ),
    (
        ([datetime.time(9, 30)],),
        {},
        "Argument args[0][0] is datetime.time(9, 30) (type time), which is not "
        "JSON-serializable; use an ISO 8601 string (value.isoformat()).",
    ),
    (
        (),
        {"delay": datetime.timedelta(minutes=5)},
        "Argument kwargs['delay'] is datetime.timedelta(seconds=300) (type timedelta), which is "
        "not JSON-serializable; use a number of seconds (value.total_seconds()).",
    ),
    (
        (1, decimal.Decimal("9.99")),
        {},
        "Argument args[1] is Decimal('9.99') (type Decimal), which is not JSON-serializable; use "
        "a string (str(value)).",
    ),
    (
        (uuid.UUID(int=1),),
        {},
        "Argument args[0] is UUID('00000000-0000-0000-0000-000000000001') (type UUID), which is "
        "not JSON-serializable; use a string (str(value)).",
    ),
    (
        (PurePosixPath("/tmp/report.csv"),),
        {},
        "Argument args[0] is PurePosixPath('/tmp/report.csv') (type PurePosixPath), which is not "
        "JSON-serializable; use a string (str(value)).",
    ),
    (
        ({3, 1},),
        {},
        "Argument args[0] is {1, 3} (type set), which is not JSON-serializable; use a list "
        "(list(value)).",
    ),
    (
        (),
        {"tags": {"a": frozenset({"x"})}},
        "Argument kwargs['tags']['a'] is frozenset({'x'}) (type frozenset), which is not "
        "JSON-serializable; use a list (list(value)).",
    ),
    (
        (b"\xff\xfe",),
        {},
        "Argument args[0] is b'\\xff\\xfe' (type bytes), which is not JSON-serializable; use a "
        "str (decode text; base64-encode binary data).",
    ),
    (
        (bytearray(b"ab"),),
        {},
        "Argument args[0] is bytearray(b'ab') (type bytearray), which is not JSON-serializable; "
        "use a str (decode text; base64-encode binary data).",
    ),
    (
        (User(username="alice"),),
        {},
        "Argument args[0] is <User: alice> (type User), which is not JSON-serializable; use its "
        "primary key (value.pk).",
    ),
    (
        (),
        {"profile": Profile(name="Ann")},
        "Argument kwargs['profile'] is Profile(name='Ann') (type Profile), which is not "
        "JSON-serializable; use value.model_dump(mode='json').",
    ),
    (
        (Point(x=1),),
        {},
        "Argument args[0] is Point(x=1) (type Point), which is not JSON-serializable; use "
        "dataclasses.asdict(value).",
    ),
    (
        (Colour.RED,),
        {},
        "Argument args[0] is <Colour.RED: 'red'> (type Colour), which is not JSON-serializable; "
        "use its value (value.value).",
    ),
    (
        (gettext_lazy("Hello"),),
        {},
        "Argument args[0] is 'Hello' (type __proxy__), which is not JSON-serializable; use a "
        "plain str (str(value)).",
    ),
    (
        (BrokenRepr(),),
        {},
        "Argument args[0] is <BrokenRepr instance at 0x",  # reprlib's fallback; the rest varies
    ),
    (
        (object(),),
        {},
        "Argument args[0] is <object object at 0x",
    ),
    (
        ({1: "one"},),
        {},
        "Argument args[0] has the key 1 (type int), but JSON object keys are strings; convert "
        "the keys with str().",
    ),
    (
        (),
        {"scores": {"ann": {True: 1}}},
        "Argument kwargs['scores']['ann'] has the key True (type bool), but JSON object keys "
        "are strings; convert the keys with str().",
    ),
    (
        ({("a", 1): "pair"},),
        {},
        "Argument args[0] has the key ('a', 1) (type tuple), but JSON object keys are strings; "
        "convert the keys with str().",
    ),
    (
        (float("nan"),),
        {},
        "Argument args[0] is nan, which is not a JSON number; use None or a string.",
    ),
    (
        (),
        {"limit": [1.0, float("inf")]},
        "Argument kwargs['limit'][1] is inf, which is not a JSON number; use None or a string.",
    ),
    (
        (float("-inf"),),
        {},
        "Argument args[0] is -inf, which is not a JSON number; use None or a string.",
    ),
    (
        (cyclic_list(),),
        {},
        "Argument args[0][1] is a list that contains itself, which JSON cannot represent; "
        "break the cycle.",
    ),
    (
        (),
        {"tree": cyclic_dict()},
        "Argument kwargs['tree']['self']['again'] is a dict that contains itself, which JSON "
        "cannot represent; break the cycle.",
    ),
    (
        ("a\x00b",),
        {},
        "Argument args[0] is 'a\\x00b', which contains a NUL character (\\x00) that PostgreSQL "
        "cannot store; remove it.",
    ),
    (
        ({"na\x00me": 1},),
        {},
        "Argument args[0] has the key 'na\\x00me', which contains a NUL character (\\x00) that "
        "PostgreSQL cannot store; remove it.",
    ),
    (
        (),
        {"bad\x00name": 1},
        "Argument kwargs has the key 'bad\\x00name', which contains a NUL character (\\x00) "
        "that PostgreSQL cannot store; remove it.",
    ),
    (
        ("caf\udce9",),
        {},
        "Argument args[0] is 'caf\\udce9', which contains the lone surrogate '\\udce9' and so is "
        "not valid Unicode; fix how the text was decoded.",
    ),
    (
        ("x" * 10_000 + "\x00",),
        {},
        f"Argument args[0] is '{'x' * 27}...{'x' * 24}\\x00', "
        "which contains a NUL character (\\x00) that PostgreSQL cannot store; remove it.",
    ),
    (
        (10**MAX_INT_DIGITS,),
        {},
        "Argument args[0] is an int of more than 4,300 digits, the most Python converts to and "
        "from JSON text; pass it as a string (str(value), after sys.set_int_max_str_digits()).",
    ),
    (
        ({"n": [-(10**5000)]},),
        {},
        "Argument args[0]['n'][0] is an int of more than 4,300 digits",
    ),
    (
        (Level.HIGH,),
        {"big": HugeLevel.HUGE},
        "Argument kwargs['big'] is an int of more than 4,300 digits",
    ),
    (
        (nested(10_000),),
        {},
        f"Argument args[0] nests lists and dicts more than {MAX_DEPTH} levels deep, the most "
        f"every supported database stores as JSON; flatten it.",
    ),
    (
        (),
        {"payload": {"a": nested(MAX_DEPTH)}},
        f"Argument kwargs['payload'] nests lists and dicts more than {MAX_DEPTH} levels deep, "
        f"the most every supported database stores as JSON; flatten it.",
    ),
]


@pytest.mark.parametrize(("args", "kwargs", "message"), REFUSED)
def test_a_value_json_cannot_carry_is_refused_naming_its_path(
    args: tuple[Any, ...], kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidTaskArgumentsError, match=f"^{re.escape(message)}"):
        normalize_arguments(args, kwargs)


def test_the_first_bad_argument_is_reported() -> None:
    with pytest.raises(InvalidTaskArgumentsError, match=re.escape("Argument args[1] is {2}")):
        normalize_arguments([1, {2}, {3}], {"a": {4}})


ACCEPTED: list[tuple[Any, Any]] = [
    ("text", "text"),
    ("", ""),
    ("emoji 🎉 and CJK 漢字", "emoji 🎉 and CJK 漢字"),
    (0, 0),
    (-(2**70), -(2**70)),
    (10**MAX_INT_DIGITS - 1, 10**MAX_INT_DIGITS - 1),
    (1.5, 1.5),
    (-0.0, -0.0),
    (True, True),
    (None, None),
    ([], []),
    ({}, {}),
    ((1, (2, 3)), [1, [2, 3]]),
    ({"a": [1, {"b": None}]}, {"a": [1, {"b": None}]}),
    (Size.SMALL, "s"),
    (Level.HIGH, 3),
    (Email("a@example.com"), "a@example.com"),
    (nested(MAX_DEPTH), nested(MAX_DEPTH)),
]


@pytest.mark.parametrize(("value", "normal"), ACCEPTED)
def test_json_values_are_accepted_as_their_round_trip(value: Any, normal: Any) -> None:
    args, kwargs = normalize_arguments([value], {"value": value})
    assert args == [normal]
    assert kwargs == {"value": normal}
    assert type(args[0]) is type(normal)
    assert json.loads(json.dumps(args, allow_nan=False)) == args


def test_a_value_shared_by_two_arguments_is_not_a_cycle() -> None:
    shared = {"a": 1}
    assert normalize_arguments([shared, [shared, shared]], {}) == (
        [{"a": 1}, [{"a": 1}, {"a": 1}]],
        {},
    )


def test_normalize_json_names_the_value_by_root_path_and_owner() -> None:
    message = (
        "Return value['when'] of task app.tasks.remind is datetime.date(2024, 5, 1) (type date), "
        "which is not JSON-serializable; use an ISO 8601 string (value.isoformat())."
    )
    with pytest.raises(NotJSONSafeError, match=f"^{re.escape(message)}$"):
        normalize_json(
            {"when": datetime.date(2024, 5, 1)}, "Return value", of="task app.tasks.remind"
        )


def test_the_refused_argument_is_a_value_error() -> None:
    """Code that catches ValueError (as for a bad argument anywhere) catches it too."""
    with pytest.raises(ValueError, match=re.escape("Argument args[0] is {1}")):
        normalize_arguments([{1}], {})


# What every database does with the JSON normalize_arguments accepts, stored as a backend stores
# it: one document with the arguments in a list and the keyword arguments in an object.
READ_BACK_SQL = {
    "sqlite": "SELECT json(%s)",
    "postgresql": "SELECT (%s::jsonb)::text",
    "mysql": "SELECT IF(JSON_VALID(%s), JSON_COMPACT(%s), NULL)",  # MariaDB: text, CHECKed
}
DATABASES = ["default", "postgres", "mysql"]


def read_back(alias: str, document: str) -> Any:
    connection = connections[alias]
    sql = READ_BACK_SQL[connection.vendor]
    with connection.cursor() as cursor:
        cursor.execute(sql, [document] * sql.count("%s"))
        (text,) = cursor.fetchone()
    return None if text is None else json.loads(text)


@pytest.mark.django_db(databases=DATABASES)
@pytest.mark.parametrize("alias", DATABASES)
def test_every_database_stores_what_is_accepted(alias: str) -> None:
    args, kwargs = normalize_arguments(
        [nested(MAX_DEPTH), 'emoji 🎉, CJK 漢字, \u2028 and a quote "', 2**70, 0.1, 1e-07, -1.5],
        {"deep": {"a": nested(MAX_DEPTH - 1)}, "": None, "key with 🎉": True},
    )
    document = {"args": args, "kwargs": kwargs}
    assert read_back(alias, json.dumps(document)) == document


@pytest.mark.django_db(databases=["mysql"])
def test_mariadb_refuses_json_nested_32_levels_deep() -> None:
    """Why MAX_DEPTH is 25: with a backend's two wrapping levels there are 4 to spare."""
    assert MAX_DEPTH + 2 < 32
    assert read_back("mysql", json.dumps(nested(31))) == nested(31)
    assert read_back("mysql", json.dumps(nested(32))) is None


FLOATS: list[JSONValue] = [
    1e20,
    -1e308,
    2.5e22,
    1.5e16,
    1e16,
    9999999999999998.0,
    0.1,
    1e-07,
    5e-324,
    1.0,
]


def test_dumps_writes_compact_json_that_reads_back_the_same() -> None:
    document: JSONValue = {"args": [1, "é e+ 🎉", None, [True]], "kwargs": {"x": 0.5}}
    assert dumps(document) == '{"args":[1,"é e+ 🎉",null,[true]],"kwargs":{"x":0.5}}'
    assert dumps(document, ascii_only=True) == (
        '{"args":[1,"\\u00e9 e+ \\ud83c\\udf89",null,[true]],"kwargs":{"x":0.5}}'
    )
    for ascii_only in (False, True):
        assert json.loads(dumps(document, ascii_only=ascii_only)) == document


def test_dumps_writes_floats_from_1e16_up_in_full_with_their_shortest_digits() -> None:
    assert dumps([1e20, -2.5e22, {"e+": 1.5e16}]) == (
        '[100000000000000000000.0,-25000000000000000000000.0,{"e+":15000000000000000.0}]'
    )
    assert dumps(1e308) == "1" + "0" * 308 + ".0"
    assert dumps([0.1, 1e-07, 1e15]) == "[0.1,1e-07,1000000000000000.0]"  # As json writes them.
    text = dumps(FLOATS)
    assert json.loads(text) == FLOATS
    assert all(type(value) is float for value in json.loads(text))


@pytest.mark.django_db(databases=DATABASES)
@pytest.mark.parametrize("alias", DATABASES)
def test_every_database_gives_floats_back_as_floats(alias: str) -> None:
    """PostgreSQL's jsonb keeps numbers as decimals: 1e+20 came back as an int."""
    document: JSONValue = {"args": FLOATS, "kwargs": {"nested": [{"f": 1e100}]}}
    back = read_back(alias, dumps(document))
    assert back == document
    assert all(type(value) is float for value in back["args"])
    assert type(back["kwargs"]["nested"][0]["f"]) is float
