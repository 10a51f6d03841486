"""``CardService.lookup_many`` (what ``cardseq validate`` and bulk checks call) on both
engines, against ``lookup`` one number at a time; and ``CardSeries.parse_many`` on a
NumPy array (dtype ``U`` and ``S``) against the same numbers in a list.

The store is made once: series of every method, short and long counters, with numbers
reserved, some released unused.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cardseq.errors import CardNotFound
from cardseq.records import Lookup
from cardseq.series import CardSeries
from cardseq.service import CardService
from cardseq.store import open_store

from .harness import Data, Finding, on_both, outcome
from .parse import KEY, number_of, parsed_view

SERIES = (
    CardSeries("VISA", prefix="400000", length=16, method="LUHN"),
    CardSeries("GOLD", prefix="GOLD", suffix="2021", length=24, offset=10),
    CardSeries("MOD", prefix="7", length=9, method="MOD7", offset=5),
    CardSeries("RAND", prefix="9", length=12, method="RANDOM_LUHN", key_id="RAND"),
    CardSeries("WIDE", prefix="W", length=31),
)
SERVICE = CardService(open_store("memory://", keys={"RAND": KEY}))
for made in SERIES:
    SERVICE.create_series(made)
    SERVICE.reserve(made.code, 50)
    SERVICE.store.release(made.code, 40, 5)
BOUND = [info.series for info in SERVICE.list_series()]


def lookups_view(found: list[Lookup | None]) -> list[Any]:
    return [None if f is None else (f.number, f.info.id, f.index, f.state, f.entry) for f in found]


def one_input(raw: bytes) -> None:
    data = Data(raw)
    numbers: list[Any] = []
    for _ in range(data.int(0, 6)):
        kind = data.int(0, 7)
        if kind == 0:
            numbers.append(data.pick((None, 7, 4.0, ["x"])))
        else:
            s = data.pick(BOUND)
            numbers.append(number_of(data, s))
    lenient = data.bool()
    many = on_both(SERVICE.lookup_many, numbers, lenient=lenient, view=lookups_view)
    if many[0] != "ok":
        return
    if not lenient:
        for number, found in zip(numbers, lookups_view(many[1]), strict=True):
            one = outcome(SERVICE.lookup, number)
            expected = lookups_view([one[1]])[0] if one[0] == "ok" else None
            if one[0] != "ok" and one[2] != CardNotFound.code:
                return  # a store error (a key missing...) answers both alike
            if found != expected:
                raise Finding("lookup and lookup_many differ", f"{number!r}: {one} {found}")
    texts = [n for n in numbers if isinstance(n, str) and not n.endswith("\0")]
    s = data.pick(BOUND)
    listed = on_both(s.parse_many, texts, view=parsed_view)
    wide = on_both(s.parse_many, np.array(texts, dtype="U"), view=parsed_view)
    if listed[0] == "ok" and parsed_view(listed[1]) != parsed_view(wide[1]):
        raise Finding("parse_many of a list and of an array differ", repr(texts))
    ascii_texts = [t.encode("ascii") for t in texts if t.isascii()]
    narrow = on_both(s.parse_many, np.array(ascii_texts, dtype="S"), view=parsed_view)
    if parsed_view(narrow[1]) != parsed_view(s.parse_many(ascii_texts)):
        raise Finding("parse_many of bytes in a list and in an array differ", repr(ascii_texts))
