"""The query options of a store URL that cardseq reads itself (``?busy_timeout=``,
``?max_connections=``...): taken out of the URL before it reaches the driver, which
would refuse names it does not know, and read strictly (ASCII digits only)."""

from __future__ import annotations

import urllib.parse
from collections.abc import Collection

from ..errors import InvalidArgument
from ..integers import parse_int


def take_options(url: str, names: Collection[str]) -> tuple[str, dict[str, str]]:
    """``url`` without the query options in ``names``, and their values. The rest of
    the query is kept byte for byte."""
    base, _, query = url.partition("?")
    taken: dict[str, str] = {}
    kept = []
    for item in query.split("&") if query else []:
        name, _, value = item.partition("=")
        if name in names:
            taken[name] = urllib.parse.unquote(value)
        else:
            kept.append(item)
    return base + ("?" + "&".join(kept) if kept else ""), taken


def option_int(shown: str, name: str, value: str, *, minimum: int, unit: str) -> int:
    """The integer option ``name`` of the URL ``shown`` (a password masked), at least
    ``minimum``; else error 701 naming the option and its value."""
    number = parse_int(value)
    if number is None or number < minimum:
        raise InvalidArgument.bad(
            "db", shown, f"has {name}={value}: must be a whole number of {unit}, >= {minimum}"
        )
    return number


__all__ = ["option_int", "take_options"]
