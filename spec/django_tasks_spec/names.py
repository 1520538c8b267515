"""Suggesting the nearest valid name, for messages that say "did you mean"."""

import difflib
from collections.abc import Sequence


def did_you_mean(name: object, choices: Sequence[str]) -> str | None:
    """Suggest the nearest valid name, ignoring case."""
    if not isinstance(name, str):
        return None
    by_folded = {choice.casefold(): choice for choice in choices}
    matches = difflib.get_close_matches(name.casefold(), list(by_folded), n=1, cutoff=0.6)
    return f"Did you mean {by_folded[matches[0]]!r}?" if matches else None
