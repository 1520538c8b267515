"""The requirement catalogue: the rules of the task contract, each with a stable ID.

The rules live in ``requirements.toml`` beside this module; this module loads and validates them
(unknown keys, malformed IDs, duplicate IDs and unknown sources are errors) and renders the
human-readable page, ``spec/REQUIREMENTS.md``::

    from django_tasks_spec.requirements import catalogue

    rule = catalogue().get("TASK-ENQ-003")
    print(rule.level, rule.text)

Regenerate the page with ``./dev docs`` (``python -m django_tasks_spec.requirements``).
"""

import hashlib
import re
import sys
import tomllib
from collections.abc import Iterator
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from django_tasks_spec.dialects import Dialect
from django_tasks_spec.names import did_you_mean

REQUIREMENT_ID = r"TASK-[A-Z]+-\d{3}"
"""The shape of a requirement ID: ``TASK-<AREA>-<NNN>``."""

CAPABILITIES = (
    "supports_defer",
    "supports_async_task",
    "supports_get_result",
    "supports_priority",
    "supports_unique",
    "supports_schedules",
    "supports_retries",
    "supports_cancel",
    "supports_timeout",
)
"""The capability flags a backend declares."""


class Level(StrEnum):
    """How binding a requirement is (RFC 2119)."""

    MUST = "MUST"
    SHOULD = "SHOULD"


class Source(BaseModel):
    """A document the rules come from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str
    url: str


class Gate(BaseModel):
    """The capability flag a requirement depends on, and on which side of it."""

    model_config = ConfigDict(frozen=True)

    flag: str
    """One of CAPABILITIES."""

    expected: bool
    """True: the requirement holds for backends that set the flag; False: for those that don't."""

    @classmethod
    def parse(cls, text: str) -> Self:
        flag = text.removeprefix("not ").strip()
        if flag not in CAPABILITIES:
            raise ValueError(
                f"capability {text!r} is not one of {list(CAPABILITIES)}, negated with 'not '"
            )
        return cls(flag=flag, expected=not text.startswith("not "))

    def applies_to(self, capabilities: dict[str, bool]) -> bool:
        return capabilities[self.flag] is self.expected

    def __str__(self) -> str:
        return self.flag if self.expected else f"not {self.flag}"


class Requirement(BaseModel):
    """One rule of the contract."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, StringConstraints(pattern=f"^{REQUIREMENT_ID}$")]
    """The stable ID, ``TASK-<AREA>-<NNN>``."""

    level: Level
    text: Annotated[str, StringConstraints(min_length=10)]
    """The rule, as one sentence."""

    sources: Annotated[list[str], Field(min_length=1)]
    """Where it comes from: ``"<document>: <section>"``."""

    capability: str | None = None
    """The flag that gates it: ``supports_x``, or ``not supports_x`` for the negative side."""

    deviation: str | None = None
    """Where DEP 0014, the reference implementation and this project disagree."""

    untestable: str | None = None
    """Why the conformance suite cannot check it."""

    dialects: Annotated[tuple[Dialect, ...], Field(min_length=1)] = tuple(Dialect)
    """The dialects of the API it belongs to (both unless it says otherwise)."""

    def belongs_to(self, dialect: Dialect) -> bool:
        """Whether a backend speaking ``dialect`` is held to this requirement."""
        return dialect in self.dialects

    @property
    def area(self) -> str:
        return self.id.split("-")[1]

    @property
    def gate(self) -> Gate | None:
        return Gate.parse(self.capability) if self.capability else None

    def quote(self) -> str:
        """The requirement as a failure message cites it."""
        return f"{self.id} ({self.level}): {self.text}"


class Catalogue(BaseModel):
    """Every requirement, in the order of the file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    revision: str
    """The spec revision, bumped when a rule changes."""

    digest: str
    """The first 12 hex digits of the SHA-256 of requirements.toml: exactly which text was used."""

    title: str
    sources: dict[str, Source]
    areas: dict[str, str]
    requirements: tuple[Requirement, ...]

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        seen: set[str] = set()
        for rule in self.requirements:
            if rule.id in seen:
                raise ValueError(f"requirement {rule.id} is defined twice")
            seen.add(rule.id)
            if rule.area not in self.areas:
                raise ValueError(f"requirement {rule.id} has area {rule.area!r}, not in [areas]")
            for source in rule.sources:
                document, _, section = source.partition(": ")
                if document not in self.sources or not section:
                    raise ValueError(
                        f"requirement {rule.id} cites {source!r}; write '<document>: <section>' "
                        f"with a document from {sorted(self.sources)}"
                    )
            if rule.capability:
                rule.gate  # noqa: B018  # Parsing validates the flag name.
        return self

    def __iter__(self) -> Iterator[Requirement]:  # type: ignore[override]  # Iterate rules, not fields.
        return iter(self.requirements)

    def __contains__(self, requirement_id: object) -> bool:
        return any(rule.id == requirement_id for rule in self.requirements)

    def get(self, requirement_id: str) -> Requirement:
        """Return the requirement with this ID, or raise KeyError with a "did you mean"."""
        for rule in self.requirements:
            if rule.id == requirement_id:
                return rule
        hint = did_you_mean(requirement_id, [rule.id for rule in self.requirements])
        raise KeyError(
            f"Requirement {requirement_id!r} is not in the catalogue."
            + (f" {hint}" if hint else "")
        )


@cache
def catalogue() -> Catalogue:
    """Load and validate requirements.toml (once)."""
    raw = resources.files(__package__).joinpath("requirements.toml").read_bytes()
    data = tomllib.loads(raw.decode("utf-8"))
    meta = data.pop("meta")
    return Catalogue.model_validate(
        {
            "revision": meta["revision"],
            "title": meta["title"],
            "digest": hashlib.sha256(raw).hexdigest()[:12],
            "sources": data.pop("sources"),
            "areas": data.pop("areas"),
            "requirements": data.pop("requirement"),
            **data,  # Anything else is an unknown key, which the model refuses.
        }
    )


def render_markdown(cat: Catalogue) -> str:
    """Render the catalogue as the Markdown page spec/REQUIREMENTS.md."""
    lines = [
        f"# {cat.title}",
        "",
        "<!-- Generated from spec/django_tasks_spec/requirements.toml by `./dev docs`; "
        "do not edit by hand. -->",
        "",
        f"Revision {cat.revision} (`{cat.digest}`). {len(cat.requirements)} requirements, "
        f"{sum(rule.level is Level.MUST for rule in cat)} of them MUST. The conformance suite "
        "(`django_tasks_conformance`) cites these IDs; a requirement gated by a capability "
        "applies only to backends that declare it (or, for `not supports_x`, to those that "
        "don't). Each requirement belongs to one or both dialects of the API: `django_tasks` "
        "(django-tasks 0.6.1 and this project) and `django.tasks` (Django 6.x); the suite holds "
        "a backend only to those of the dialect it speaks, in that dialect's words "
        "(`django_tasks_spec.dialects`: `NEW` is `READY`, `SUCCEEDED` is `SUCCESSFUL`, "
        "`InvalidTaskError` is `InvalidTask`...).",
        "",
        "Sources:",
        "",
    ]
    lines += [f"- **{key}**: [{source.title}]({source.url})" for key, source in cat.sources.items()]
    for area, title in cat.areas.items():
        rules = [rule for rule in cat if rule.area == area]
        if not rules:
            continue
        lines += ["", f"## {title}", ""]
        for rule in rules:
            gate = f" · when `{rule.capability}`" if rule.capability else ""
            spoken = " · " + (
                "both dialects"
                if len(rule.dialects) == len(Dialect)
                else " and ".join(f"`{dialect}` only" for dialect in rule.dialects)
            )
            lines += [
                f"### {rule.id}",
                "",
                f"**{rule.level}**{gate}{spoken} · {'; '.join(rule.sources)}",
                "",
                rule.text,
            ]
            if rule.deviation:
                lines += ["", f"*Deviation:* {rule.deviation}"]
            if rule.untestable:
                lines += ["", f"*Not checked by the suite:* {rule.untestable}"]
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def requirement_ids(text: str) -> list[str]:
    """Every requirement ID mentioned in a text, in order."""
    return re.findall(REQUIREMENT_ID, text)


if __name__ == "__main__":
    sys.stdout.write(render_markdown(catalogue()))
