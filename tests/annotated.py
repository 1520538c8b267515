"""Module-level functions with annotations JSON can carry, or not, for the signature tests.

They are not tasks here: each test declares the ones it needs, so that a refused one raises in
the test rather than when this module is imported.
"""

import datetime
import decimal
import enum
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import (
    Annotated,
    Any,
    Literal,
    NewType,
    NoReturn,
    NotRequired,
    Optional,
    TypedDict,
    TypeVar,
    Union,
)

from django.contrib.auth.models import User
from django.db.models import TextChoices
from pydantic import BaseModel
from typing_extensions import ReadOnly, TypeAliasType

UserId = NewType("UserId", int)
T = TypeVar("T")
DateT = TypeVar("DateT", bound=datetime.date)
JSON = TypeAliasType("JSON", "dict[str, JSON] | list[JSON] | str | int | float | bool | None")


class Point(TypedDict):
    x: int
    y: NotRequired[int]
    label: ReadOnly[str]


class Tree(TypedDict):
    name: str
    children: list["Tree"]


class Event(TypedDict):
    name: str
    when: datetime.datetime


class Colour(enum.Enum):
    RED = "red"


class Size(TextChoices):
    SMALL = "s", "Small"


class Email(str):
    pass


@dataclass
class DataPoint:
    x: int


class Profile(BaseModel):
    name: str


# Annotations JSON carries unchanged.


def scalars(a: int, b: float, c: str, d: bool, e: None) -> None:
    pass


def anything(a: Any, b: object, c, *args, **kwargs) -> Any:  # type: ignore[no-untyped-def]  # unannotated on purpose
    pass


def containers(
    a: list[int],
    b: dict[str, list[float]],
    c: Sequence[str],
    d: Mapping[str, Any],
    e: Iterable[int],
    f: list,  # type: ignore[type-arg]  # a bare list on purpose
    g: dict,  # type: ignore[type-arg]  # a bare dict on purpose
) -> dict[str, Any]:
    return {}


def typed_dicts(point: Point, tree: Tree) -> list[Point]:
    return []


def literals_and_unions(
    mode: Literal["a", "b"],
    n: Literal[1, True, None],
    c: Optional[int],  # noqa: UP045  # the old spelling on purpose
    d: Union[int, str],  # noqa: UP007  # the old spelling on purpose
    e: int | None,
) -> str | None:
    return None


def wrappers(
    a: Annotated[int, "metadata"],
    user_id: UserId,
    value: T,
    json: JSON,
    keys: dict[Literal["a", "b"], int],
) -> T:
    return value


def variadic(*args: int, **kwargs: str) -> None:
    pass


def never_returns() -> NoReturn:
    raise SystemExit


# Annotations JSON cannot carry.


def when(when: datetime.datetime) -> None:
    pass


def amount(amount: decimal.Decimal) -> None:
    pass


def tags(tags: set[int]) -> None:
    pass


def data(data: bytes) -> None:
    pass


def user(user: User) -> None:
    pass


def point(point: tuple[int, int]) -> None:
    pass


def scores(scores: dict[int, str]) -> None:
    pass


def events(events: list[dict[str, datetime.datetime]]) -> None:
    pass


def optional_when(when: datetime.datetime | None = None) -> None:
    pass


def colour(colour: Colour) -> None:
    pass


def size(size: Size) -> None:
    pass


def email(email: Email) -> None:
    pass


def event(event: Event) -> None:
    pass


def literal_member(colour: Literal[Colour.RED]) -> None:
    pass


def data_point(point: DataPoint) -> None:
    pass


def profile(profile: Profile) -> None:
    pass


def identifier(identifier: uuid.UUID) -> None:
    pass


def callback(callback: Callable[[], None]) -> None:
    pass


def bounded(value: DateT) -> None:
    pass


def dates(*dates: datetime.date) -> None:
    pass


def returns_date() -> datetime.date:
    return datetime.date(2024, 5, 1)


def returns_pair() -> tuple[int, int]:
    return 1, 2


def three_problems(when: datetime.datetime, tags: set[int]) -> datetime.date:
    return when.date()


class Broken(TypedDict):
    field: "Missing"  # type: ignore[name-defined]  # noqa: F821  # undefined on purpose


def unresolvable_field(broken: Broken) -> None:
    pass
