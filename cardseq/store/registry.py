"""The series registry: what series exist, their definitions bound to their keys, and
their state (enabled, how far reserved).

Every method that reads or writes the database is an operation (``ops``): written once
as a generator of transactions, run by the sync store or by ``cardseq.aio``.
"""

from __future__ import annotations

import hmac
import json
import os
import threading
from typing import Any, overload

from ..deprecation import deprecated, formerly, renamed
from ..errors import (
    InvalidArgument,
    InvalidSeries,
    KeyMismatch,
    KeysInStore,
    SeriesExists,
    SeriesOverlap,
)
from ..keys import KeySource, fingerprint, keyring, read_keys_file, write_keys_file
from ..series import (
    CardSeries,
    Cipher,
    number_pattern,
    patterns_overlap,
    readings_overlap,
    whole_number,
)
from .database import Database
from .ops import Body, Op, Transaction, Work, operation, single
from .records import MAX_ID, SeriesInfo, SeriesRef, now, to_time

SERIES_COLUMNS = (
    "SELECT id, code, prefix, suffix, length, start_offset, method, key, enabled,"
    " next_index, created_at, key_id, key_fingerprint, cipher, alphabet, display,"
    " blocked, pin_length, pin_attempts, pin_key_id, pin_key_fingerprint FROM cardseq_series"
)


class Registry(Database):
    """Series: their registration, definitions, keys and state."""

    def __init__(self, keys: KeySource = None) -> None:
        #: where keyed series' keys come from (the store keeps only ids and fingerprints)
        self.keys = keyring(keys)
        self._cache: dict[int, CardSeries] = {}  # bound definitions never change
        self._codes: dict[str, int] = {}
        self._cache_lock = threading.Lock()

    @operation
    def _create_series(
        self,
        series: CardSeries,
        *,
        enabled: bool = True,
        details: dict[str, Any] | None = None,
        exists_ok: bool = False,
    ) -> Op[int]:
        """Register ``series``; return its new integer id.

        ``details``: other fields to keep with it (JSON-able), see ``series_details``.

        A code in use is 3002, unless ``exists_ok`` and it holds the same definition
        (code, prefix, suffix, length, offset, method): then its id, so that a setup
        can run twice. A number space that can meet an existing series' is 3006 (any
        overlap, not only the same prefix, suffix and length).
        """
        if not isinstance(series, CardSeries):
            raise InvalidSeries.bad("series", series, "is not a CardSeries")
        key_fingerprint = self._key_fingerprint(series)
        pin_fingerprint = self._pin_fingerprint(series)
        body = self._create_body(
            series, enabled, details, exists_ok, key_fingerprint, pin_fingerprint
        )
        return (yield Transaction(body, write=True))  # type: ignore[no-any-return]

    def _create_body(
        self,
        series: CardSeries,
        enabled: bool,
        details: dict[str, Any] | None,
        exists_ok: bool,
        key_fingerprint: str | None,
        pin_fingerprint: str | None,
    ) -> Body[int]:
        yield from self._lock_registry()
        row = yield self._fetch_one(f"{SERIES_COLUMNS} WHERE code = ?", (series.code,))
        if row is not None:
            existing = self._series_info(row)
            if not exists_ok:
                raise SeriesExists.bad("code", series.code, "is already a series code")
            if (
                existing.series.to_dict(),
                existing.key_fingerprint,
                existing.pin_key_fingerprint,
            ) != (series.to_dict(), key_fingerprint, pin_fingerprint):
                raise SeriesExists.bad(
                    "code", series.code, "is already the code of another definition"
                )
            return existing.id
        rows = yield self._fetch_all(
            "SELECT id, code, prefix, suffix, alphabet FROM cardseq_series WHERE length = ?",
            (series.length,),
        )
        for series_id, code, prefix, suffix, alphabet in rows:
            other = number_pattern(prefix, suffix, series.length, coded=alphabet is not None)
            if patterns_overlap(series.pattern, other):
                raise SeriesOverlap(
                    f"series {series.code!r} ({series.pattern}) can produce the same "
                    f"numbers as series {code!r} ({other}), id {series_id}",
                    field="prefix",
                    value=series.prefix,
                )
            if readings_overlap(series.pattern, other):
                clashes = _case_clashes(series, other)
                raise SeriesOverlap(
                    f"series {series.code!r} ({series.pattern}) and series {code!r}"
                    f" ({other}), id {series_id}, would read as each other: "
                    + " and ".join(
                        f"{name} {mine!r} reads as {theirs!r}" for name, mine, theirs in clashes
                    )
                    + " when letter case is folded, as lenient reading folds it",
                    field=clashes[0][0],
                    value=clashes[0][1],
                )
        row = yield self._fetch_one(
            "INSERT INTO cardseq_series (code, prefix, suffix, length, start_offset, method,"
            " key_id, key_fingerprint, enabled, next_index, capacity, created_at, cipher,"
            " alphabet, display, blocked, pin_length, pin_attempts, pin_key_id,"
            " pin_key_fingerprint)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " RETURNING id",
            (
                series.code,
                series.prefix,
                series.suffix,
                series.length,
                self._to_db(series.offset),
                series.method.value,
                series.key_id,
                key_fingerprint,
                enabled,
                self._to_db(0),
                self._to_db(series.capacity),
                now(),
                None if series.cipher is Cipher.SIPHASH else series.cipher.value,
                None if series.alphabet.digits else series.alphabet.symbols,
                f"{series.group}{series.separator}" if series.group else None,
                ",".join(series.blocked) or None,
                series.pin_length or None,
                series.pin_attempts if series.pin_length else None,
                series.pin_key_id,
                pin_fingerprint,
            ),
        )
        series_id = int(row[0])
        if details:
            yield self._do(
                "INSERT INTO cardseq_series_details (series_id, body) VALUES (?, ?)",
                (series_id, json.dumps(details)),
            )
        return series_id

    @operation
    @formerly("series_details", ref="series")
    def _details(self, series: SeriesRef) -> Op[dict[str, Any]]:
        """The ``details`` given at creation ({} if none)."""
        series_id = (yield from self._series(series)).id
        row = yield self._read_one(
            "SELECT body FROM cardseq_series_details WHERE series_id = ?", (series_id,)
        )
        return json.loads(row[0]) if row else {}

    def _key_fingerprint(self, series: CardSeries) -> str | None:
        """The fingerprint to register for a keyed series: its key must come from the
        key sources by its ``key_id`` (and equal the series' own key, if it has one)."""
        if not series.method.keyed:
            return None
        if series.key_id is None:
            raise InvalidSeries(
                f"series {series.code!r} uses method {series.method}: a store needs its"
                " key_id, the id of a key the operator supplies (a store never keeps keys;"
                " see docs/security.md)",
                field="key_id",
            )
        key = self._source_key(series.code, series.key_id, series.key, "key_id")
        series.with_key(key)  # the key fits the series' cipher (ff1: an AES key's size)
        return fingerprint(key)

    def _source_key(self, code: str, key_id: str, given: bytes | None, field: str) -> bytes:
        """Key ``key_id`` from the key sources (the ring's error, with its advice, when
        none has it), which must equal the series' own key ``given``, if it has one."""
        key = self.keys.find(key_id)
        if key is None:
            self.keys.check(code, key_id, "", field=field)
        assert key is not None
        if given is not None and not hmac.compare_digest(given, key):
            raise KeyMismatch(
                f"the {field} {key_id!r} of series {code!r} names a key of the key sources"
                " other than the series' own",
                field=field,
                value=key_id,
            )
        return key

    def _pin_fingerprint(self, series: CardSeries) -> str | None:
        """The fingerprint to register for a series' PIN key: from the key sources by its
        ``pin_key_id`` (equal to the series' own PIN key, if given), never the number key."""
        if not series.pin_length:
            return None
        if series.pin_key_id is None:
            raise InvalidSeries(
                f"series {series.code!r} has PINs: a store needs its pin_key_id, the id of"
                " a PIN key the operator supplies (never the number key; docs/security.md)",
                field="pin_key_id",
            )
        key = self._source_key(series.code, series.pin_key_id, series.pin_key, "pin_key_id")
        self._not_the_number_key(series, series.pin_key_id, key)
        return fingerprint(key)

    def _not_the_number_key(self, series: CardSeries, pin_key_id: str, key: bytes) -> None:
        """3000 when PIN key ``pin_key_id`` (``key``) is the series' number key."""
        if series.key_id == pin_key_id or (
            series.key_id is not None
            and (number_key := self.keys.find(series.key_id)) is not None
            and hmac.compare_digest(number_key, key)
        ):
            raise InvalidSeries.bad(
                "pin_key_id",
                pin_key_id,
                "names the number key: a series' PINs need a key of their own",
            )

    def _pin_bound(self, series_id: int) -> Op[CardSeries]:
        """The series with its PIN keys loaded, each from the index it starts at, read
        now (a key the series moved to in another process is seen), or the error that
        says why it cannot be: 706 without a key, 707 for another key under its id."""
        series = yield from self._bound(series_id)
        if not series.pin_length:
            return series
        keys = yield Transaction(self._pin_key_rows(series_id))
        schedule = [
            (start, self.keys.check(series.code, key_id, fp, field="pin_key_id"))
            for start, key_id, fp in keys
        ]
        return self._cached(series_id, series.with_pin_schedule(schedule))

    def _pin_key_rows(self, series_id: int) -> Body[list[tuple[int, str, str]]]:
        """(first index, key id, fingerprint) of each of a series' PIN keys, from 0."""
        first = yield self._fetch_one(
            "SELECT pin_key_id, pin_key_fingerprint FROM cardseq_series WHERE id = ?",
            (series_id,),
        )
        rows = yield self._fetch_all(
            "SELECT from_index, key_id, key_fingerprint FROM cardseq_pin_keys WHERE series_id = ?",
            (series_id,),
        )
        keys = {0: (first[0], first[1])}  # the series' own, unless a move at 0 replaced it
        keys.update({int(start): (key_id, fp) for start, key_id, fp in rows})
        return [(start, *keys[start]) for start in sorted(keys)]

    @operation
    def _pin_keys(self, series: SeriesRef) -> Op[list[tuple[int, str, str]]]:
        """(first index, key id, fingerprint) of each PIN key a series has had, from
        index 0: a card's PIN is under the last one whose first index is at most its
        own. Empty for a series without PINs."""
        info = yield from self._series(series)
        if not info.series.pin_length:
            return []
        return (yield Transaction(self._pin_key_rows(info.id)))  # type: ignore[no-any-return]

    def _lock_registry(self) -> Body[None]:  # a hook: SQLite needs no lock
        """Serialise series creation (the overlap check reads all series)."""
        yield from ()

    @operation
    @formerly(ref="series")
    def _series_id(self, series: SeriesRef) -> Op[int]:
        """The id of a series given by id, code or ``CardSeries``; 3000 if unknown."""
        if isinstance(series, CardSeries):
            series = series.code
        if isinstance(series, str) and series.isascii() and series.isdigit():
            series = int(series)  # codes are never all digits: this is an id
        if isinstance(series, str):
            if series in self._codes:
                return self._codes[series]
            row = yield self._read_one("SELECT id FROM cardseq_series WHERE code = ?", (series,))
            if row is None:
                raise InvalidSeries.bad("series", series, "is not a known series code")
            self._codes[series] = int(row[0])
            return int(row[0])
        number = whole_number(series)
        if number is None or not 1 <= number <= MAX_ID:
            raise InvalidSeries.bad("seriesId", series, f"must be a series id (1..{MAX_ID})")
        return number

    @operation
    @formerly("get_series", ref="series")
    def _series_definition(self, series: SeriesRef) -> Op[CardSeries]:
        """The definition of a series, bound to its key (for formatting and parsing).

        A keyed series' key is checked against its fingerprint on first use: missing,
        706; another key, 707; still in the store, 708. A ``CardSeries`` given as
        ``series`` must be the registered definition (else 3000), and its key the
        registered key (else 707): a store never formats with a key it was not given.
        """
        series_id = yield from self._series_id(series)
        definition = self._cache.get(series_id) or (yield from self._bound(series_id))
        if isinstance(series, CardSeries):
            if series.to_dict() != definition.to_dict():
                raise InvalidSeries.bad(
                    "series", series, f"differs from the registered series {series.code!r}"
                )
            if series.key is not None and not hmac.compare_digest(
                series.key, definition.key or b""
            ):
                raise KeyMismatch(
                    f"the key given with series {series.code!r} is not its registered key"
                    f" {definition.key_id!r}",
                    field="key_id",
                    value=definition.key_id,
                )
        return definition

    def _bound(self, series_id: int) -> Op[CardSeries]:
        """The series bound to its key, or the error that says why it cannot be."""
        row = yield self._read_one(f"{SERIES_COLUMNS} WHERE id = ?", (series_id,))
        if row is None:
            raise InvalidSeries.bad("seriesId", series_id, "is not a known series")
        info = self._series_info(row)
        series = info.series
        if series.bound:
            return series
        if row[7] is not None:
            raise KeysInStore(
                f"series {series.code!r} still has its key in the store at {self.url}:"
                " run `cardseq keys export --keys-file FILE` (docs/security.md), then"
                " supply FILE as a key source",
                field="key_id",
                value=series.key_id,
            )
        assert series.key_id is not None and info.key_fingerprint is not None
        key = self.keys.check(series.code, series.key_id, info.key_fingerprint)
        return self._cached(series_id, series.with_key(key))

    def _cached(self, series_id: int, series: CardSeries) -> CardSeries:
        with self._cache_lock:
            self._cache[series_id] = series
            self._codes[series.code] = series_id
        return series

    @operation
    @formerly("info", ref="series")
    def _series(self, series: SeriesRef) -> Op[SeriesInfo]:
        """A series with its state: enabled, reserved so far."""
        series_id = yield from self._series_id(series)
        row = yield self._read_one(f"{SERIES_COLUMNS} WHERE id = ?", (series_id,))
        if row is None:
            raise InvalidSeries.bad("seriesId", series, "is not a known series")
        return self._series_info(row)

    @operation
    def _list_series(self) -> Op[list[SeriesInfo]]:
        """Every series with its state, oldest first."""
        rows = yield self._read_all(f"{SERIES_COLUMNS} ORDER BY id")
        return [self._series_info(row) for row in rows]

    def _series_info(self, row: Any) -> SeriesInfo:
        (
            series_id,
            code,
            prefix,
            suffix,
            length,
            offset,
            method,
            key,
            enabled,
            next_index,
            created,
            key_id,
            key_fingerprint,
            cipher,
            alphabet,
            display,
            blocked,
            pin_length,
            pin_attempts,
            pin_key_id,
            pin_fingerprint,
        ) = row
        series = self._cache.get(series_id)
        if series is None:
            series = CardSeries(
                code,
                prefix=prefix,
                suffix=suffix,
                length=length,
                offset=int(offset),
                method=method,
                key_id=key_id,
                cipher=cipher or Cipher.SIPHASH,
                alphabet=alphabet or "digits",
                blocked=blocked.split(",") if blocked else (),
                **_display(display),
                pin_length=pin_length or 0,
                pin_attempts=pin_attempts or 5,
                pin_key_id=pin_key_id,
            )
            found = self.keys.find(key_id) if key_id is not None and key is None else None
            if series.bound or (found is not None and fingerprint(found) == key_fingerprint):
                # (PIN keys are bound by _pin_bound alone, which reads them all)
                series = self._cached(series_id, series.with_key(found) if found else series)
        return SeriesInfo(
            series_id,
            series,
            bool(enabled),
            int(next_index),
            to_time(created),
            key_fingerprint,
            pin_fingerprint,
        )

    @operation
    def _export_keys(self, path: str) -> Op[int]:
        """Move the keys a store from before version 3 keeps in clear to the new keys
        file ``path`` (0600), then wipe them from the store; return how many.

        The file is written and flushed first, the keys wiped after in one transaction:
        interrupted between the two, a second run finds the file holding every key and
        only wipes. An existing file that lacks one of them is refused (701).
        """
        rows = yield self._read_all("SELECT key_id, key FROM cardseq_series WHERE key IS NOT NULL")
        keys = {key_id: bytes(key) for key_id, key in rows}
        if not keys:
            return 0
        yield Work(lambda: _write_keys(path, keys))
        for key_id, key in keys.items():
            self.keys.add(key_id, key)
        wipe = single(self._do("UPDATE cardseq_series SET key = NULL WHERE key IS NOT NULL"))
        yield Transaction(wipe, write=True)
        yield Work(self._forget_wiped)
        return len(keys)

    def _forget_wiped(self) -> None:  # a hook
        """Drop what the database may still hold of wiped values (SQLite: its log)."""

    @operation
    @formerly(ref="series")
    def _set_enabled(self, series: SeriesRef, enabled: bool) -> Op[None]:
        """Allow or stop generation for a series (stopped: reserve raises 703)."""
        series_id = yield from self._series_id(series)
        changed = yield Transaction(
            single(
                self._rowcount(
                    "UPDATE cardseq_series SET enabled = ? WHERE id = ?",
                    (bool(enabled), series_id),
                )
            ),
            write=True,
        )
        if changed != 1:
            raise InvalidSeries.bad("seriesId", series, "is not a known series")

    # ---- public methods, generated from the operations by tools/facades.py ----
    def create_series(
        self,
        series: CardSeries,
        *,
        enabled: bool = True,
        details: dict[str, Any] | None = None,
        exists_ok: bool = False,
    ) -> int:
        """Register ``series``; return its new integer id.

        ``details``: other fields to keep with it (JSON-able), see ``series_details``.

        A code in use is 3002, unless ``exists_ok`` and it holds the same definition
        (code, prefix, suffix, length, offset, method): then its id, so that a setup
        can run twice. A number space that can meet an existing series' is 3006 (any
        overlap, not only the same prefix, suffix and length)."""
        return self._drive(
            self._create_series(series, enabled=enabled, details=details, exists_ok=exists_ok)
        )

    def details(self, series: SeriesRef) -> dict[str, Any]:
        """The ``details`` given at creation ({} if none)."""
        return self._drive(self._details(series))

    @deprecated("Store.series_details is now Store.details")
    def series_details(self, ref: SeriesRef) -> dict[str, Any]:
        """Deprecated: ``details`` under its old name (it warns)."""
        return self._drive(self._details(ref))

    def pin_keys(self, series: SeriesRef) -> list[tuple[int, str, str]]:
        """(first index, key id, fingerprint) of each PIN key a series has had, from
        index 0: a card's PIN is under the last one whose first index is at most its
        own. Empty for a series without PINs."""
        return self._drive(self._pin_keys(series))

    @overload
    def series_id(self, series: SeriesRef) -> int: ...
    @overload
    @deprecated("Store.series_id: ref= is series= now")
    def series_id(self, *, ref: SeriesRef) -> int: ...
    @renamed("Store.series_id", ref="series")
    def series_id(self, series: SeriesRef) -> int:
        """The id of a series given by id, code or ``CardSeries``; 3000 if unknown."""
        return self._drive(self._series_id(series))

    def series_definition(self, series: SeriesRef) -> CardSeries:
        """The definition of a series, bound to its key (for formatting and parsing).

        A keyed series' key is checked against its fingerprint on first use: missing,
        706; another key, 707; still in the store, 708. A ``CardSeries`` given as
        ``series`` must be the registered definition (else 3000), and its key the
        registered key (else 707): a store never formats with a key it was not given."""
        return self._drive(self._series_definition(series))

    @deprecated("Store.get_series is now Store.series_definition")
    def get_series(self, ref: SeriesRef) -> CardSeries:
        """Deprecated: ``series_definition`` under its old name (it warns)."""
        return self._drive(self._series_definition(ref))

    def series(self, series: SeriesRef) -> SeriesInfo:
        """A series with its state: enabled, reserved so far."""
        return self._drive(self._series(series))

    @deprecated("Store.info is now Store.series")
    def info(self, ref: SeriesRef) -> SeriesInfo:
        """Deprecated: ``series`` under its old name (it warns)."""
        return self._drive(self._series(ref))

    def list_series(self) -> list[SeriesInfo]:
        """Every series with its state, oldest first."""
        return self._drive(self._list_series())

    def export_keys(self, path: str) -> int:
        """Move the keys a store from before version 3 keeps in clear to the new keys
        file ``path`` (0600), then wipe them from the store; return how many.

        The file is written and flushed first, the keys wiped after in one transaction:
        interrupted between the two, a second run finds the file holding every key and
        only wipes. An existing file that lacks one of them is refused (701)."""
        return self._drive(self._export_keys(path))

    @overload
    def set_enabled(self, series: SeriesRef, enabled: bool) -> None: ...
    @overload
    @deprecated("Store.set_enabled: ref= is series= now")
    def set_enabled(self, *, ref: SeriesRef, enabled: bool) -> None: ...
    @renamed("Store.set_enabled", ref="series")
    def set_enabled(self, series: SeriesRef, enabled: bool) -> None:
        """Allow or stop generation for a series (stopped: reserve raises 703)."""
        return self._drive(self._set_enabled(series, enabled))

    # ---- end of generated methods ----


def _case_clashes(series: CardSeries, other: str) -> list[tuple[str, str, str]]:
    """Where ``series`` differs from the pattern ``other`` (of its length) only by
    letter case: (``"prefix"`` or ``"suffix"``, the affix, how ``other`` spells it
    there, its digit slots read as the affix's digits)."""
    mine = series.pattern
    theirs = "".join(m if o == "#" else o for m, o in zip(mine, other, strict=True))
    affixes = (
        ("prefix", 0, len(series.prefix)),
        ("suffix", series.length - len(series.suffix), series.length),
    )
    return [(name, mine[a:b], theirs[a:b]) for name, a, b in affixes if mine[a:b] != theirs[a:b]]


def _write_keys(path: str, keys: dict[str, bytes]) -> None:
    """Write ``keys`` to the new file ``path``, or check that an existing one holds them."""
    if not os.path.exists(path):
        write_keys_file(path, keys)
        return
    held = read_keys_file(path)
    missing = sorted(k for k, key in keys.items() if held.get(k) != key)
    if missing:
        raise InvalidArgument(
            f"keys file {path!r} exists and lacks key(s) {', '.join(missing)}:"
            " export to a new file",
            field="keys_file",
            value=path,
        )


def _display(stored: str | None) -> dict[str, Any]:
    """A series' display settings from their column (``4-``: groups of 4, ``-``)."""
    if not stored:
        return {}
    size = stored.rstrip("- .")
    return {"group": int(size), "separator": stored[len(size) :]}
