"""Helpers shared by the store tests."""

from __future__ import annotations

import itertools

from cardseq.store import Store

#: every backend; the shared ones are those other processes can open too
BACKENDS = ["memory", "sqlite", "postgres"]
SHARED_BACKENDS = ["sqlite", "postgres"]


def store_url(kind: str, tmp_path, request) -> str:
    """The URL of a new, empty store of backend ``kind`` for this test."""
    if kind == "memory":
        return "memory://"
    if kind == "sqlite":
        return f"sqlite:///{tmp_path}/cards.db"
    return request.getfixturevalue("postgres_url")


def check_ledger(store: Store, series) -> list[tuple[int, int]]:
    """Assert the reservations of ``series`` tile ``[0, next_index)``; return them.

    Reserved rows never overlap, leave no hole, and add up to the series' position:
    no index was handed out twice, and none is unaccounted for. Unused rows (given back
    by an allocator) lie inside reserved ones, without overlapping each other.
    """
    info = store.info(series)
    entries = store.ledger(series)
    reserved = sorted((e.start, e.count) for e in entries if e.kind == "reserved")
    position = 0
    for start, count in reserved:
        assert start == position, f"gap or overlap at {start} (expected {position})"
        position = start + count
    assert position == info.next_index
    unused = sorted((e.start, e.stop) for e in entries if e.kind == "released")
    for (_, stop), (start, _) in itertools.pairwise(unused):
        assert stop <= start, "unused ranges overlap"
    for start, stop in unused:
        assert any(s <= start and stop <= s + c for s, c in reserved), "unused outside a block"
    return reserved
