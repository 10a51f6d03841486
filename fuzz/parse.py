"""``CardSeries.parse``, strict and lenient, against its bulk twin ``parse_many`` on both
engines: the same index, or the same reason, for every number. A number found formats
back to itself, and a small block of the series renders alike on both engines."""

from __future__ import annotations

import functools
from typing import Any

from cardseq.bulk import Parsed, Reason
from cardseq.errors import InvalidNumber
from cardseq.series import CardSeries, Method

from .harness import Data, Finding, on_both, outcome

PREFIXES = ("", "4000", "GOLD", "9", "ab", "12345678901234567890")
SUFFIXES = ("", "2021", "X", "zz")
KEY = bytes(range(32))
SEPARATORS = (" ", "-", ".", "\u00a0", "\u2013", "/", "\t")


@functools.cache
def series(prefix: str, suffix: str, width: int, offset: int, method: Method) -> CardSeries:
    length = len(prefix) + len(suffix) + width + (method.check != 0)
    return CardSeries(
        "S",
        prefix=prefix,
        suffix=suffix,
        length=max(length, 5),
        offset=offset,
        method=method,
        key=KEY if method.keyed else None,
    )


def parsed_view(parsed: Parsed) -> tuple[list[Any], list[int], str]:
    return parsed.indexes.tolist(), parsed.reasons.tolist(), str(parsed.indexes.dtype)


def number_of(data: Data, s: CardSeries) -> str | bytes:
    """A number of the series, as a person might type it, or any text or bytes."""
    how = data.int(0, 3)
    if how == 0:
        return data.text(s.length + 4)
    if how == 1:
        return data.bytes(s.length + 4)
    text = s.format(data.int(0, s.capacity - 1))
    for _ in range(data.int(0, 4) if how == 3 else 0):  # a person's spelling of it
        at = data.int(0, len(text))
        edit = data.int(0, 3)
        if edit == 0:
            text = text[:at] + data.pick(SEPARATORS) + text[at:]
        elif edit == 1:
            text = text[:at] + text[at:].lower()
        elif edit == 2:
            text = ";" + text + "=" + data.text(8) + "?"
        else:
            text = text[:at] + data.text(2) + text[at + 1 :]
    return text


def one_input(raw: bytes) -> None:
    data = Data(raw)
    prefix, suffix = data.pick(PREFIXES), data.pick(SUFFIXES)
    method = data.pick(list(Method))
    width = data.int(1, 24)  # past 18 digits: Python-int indexes
    offset = data.int(0, 10 ** min(width, 30) - 1) if data.bool() else 0
    made = outcome(series, prefix, suffix, width, offset, method)
    if made[0] != "ok":
        return
    s: CardSeries = made[1]
    number = number_of(data, s)
    lenient = data.bool()
    try:
        one: tuple[int | None, str] = (s.parse(number, lenient=lenient), "")
    except InvalidNumber as error:
        one = (None, error.reason)
    many = on_both(s.parse_many, [number], lenient=lenient, view=parsed_view)
    if many[0] != "ok":
        raise Finding("parse_many refused a number", repr(many))
    indexes, reasons, _ = parsed_view(many[1])
    if (indexes[0] if reasons[0] == Reason.OK else None, Reason(reasons[0]).label) != one:
        raise Finding("parse and parse_many differ", f"{number!r}: {one!r}, {many[1]!r}")
    if one[0] is not None:
        shown = s.normalize(number) if lenient else number
        if isinstance(shown, bytes):
            shown = shown.decode("ascii")
        if s.format(one[0]) != shown:
            raise Finding("a parsed number formats to another", f"{number!r} -> {one[0]}")
    start = data.int(0, s.capacity - 1)
    count = data.int(1, 8)  # (keyed series' pure twin: a Python Feistel per number)
    if data.bool():
        on_both(lambda: s.block(start, count).to_list(), view=repr)
    else:
        on_both(lambda: s.block(start, count).to_numpy("desc"), view=lambda a: a.tolist())
