"""The async API: the store and the service, awaited from an event loop that never
waits on the database.

``await store.reserve(...)`` runs the very operation ``Store.reserve(...)`` runs (the
rules and the SQL exist once, as generators: ``cardseq.store.ops``), with the same
arguments, result and errors, but each step is awaited:

- PostgreSQL: on psycopg's ``AsyncConnection``\\ s, a pool of them as large as the sync
  store's (``max_connections``, ``timeout``), every write committed synchronously;
  reservations that tasks await together share one transaction, each with its own
  outcome;
- SQLite: writes on one writer thread that commits whatever has queued (reservations
  in one transaction: group commit), reads on ``threads`` reader threads that never
  wait for it.

Opening (which may migrate) and closing run off the loop too. ``AsyncSegmentAllocator``
hands out single numbers, refilling in the background before a segment runs out.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any, Self

from .allocator import DEFAULT_STEP, check_prefetch, fetch_segment, low_water_mark, unused_part
from .block import Block, check_fits
from .errors import InvalidArgument
from .keys import KeyRing, KeySource, keyring
from .series import positive_count
from .service import CardService
from .store import Store, open_store
from .store.async_driver import AsyncDriver
from .store.records import DEFAULT_LABEL, SeriesRef

# isort: split
# ---- imports of the generated methods, written by tools/facades.py ----
import datetime as dt
from collections.abc import Iterable
from typing import overload

from .deprecation import deprecated, renamed
from .odds import GuessOdds
from .records import Card, Generated, GenerationEntry, Label, Lookup, SeriesDetails, StatusChange
from .series import CardSeries
from .store.records import DEFAULT_LIMIT, CardState, LedgerEntry, LoggedChange, Page, SeriesInfo

# ---- end of generated imports ----

#: reader threads of a SQLite store (reads that may run at once)
THREADS = 16


def _driver(store: Store, threads: int) -> AsyncDriver:
    from .store.sqlite import SQLiteStore

    if isinstance(store, SQLiteStore):
        from .store.sqlite_writer import SQLiteWriter

        return SQLiteWriter(store, readers=threads)
    from .store.postgres import PostgresStore

    if isinstance(store, PostgresStore):
        from .store.postgres_async import PostgresDriver

        return PostgresDriver(store)
    raise TypeError(f"no async driver for {type(store).__name__}")


class AsyncStore:
    """A ``Store`` whose database methods are coroutines: each awaits the very
    operation the sync method runs. ``sync`` is the store itself, for the rare sync
    call (it shares the database, not the async connections).

    Open it with ``await AsyncStore.open(url)`` and close it with
    ``await store.aclose()`` or ``async with``. ``threads``: SQLite's reader threads.
    """

    __slots__ = ("_driver", "sync")

    def __init__(self, store: Store, *, threads: int = THREADS) -> None:
        self.sync: Store = store
        self._driver = _driver(store, threads)

    @classmethod
    async def open(
        cls, url: str | None = None, *, threads: int = THREADS, **options: Any
    ) -> AsyncStore:
        """``open_store(url, **options)``, off the event loop."""
        store = await asyncio.to_thread(functools.partial(open_store, url, **options))
        try:
            return cls(store, threads=threads)
        except BaseException:
            store.close()
            raise

    @property
    def url(self) -> str:
        """Where the store is, for messages (never with a password)."""
        return self.sync.url

    @property
    def keys(self) -> KeyRing:
        """Where keyed series' keys come from (the sync store's)."""
        return self.sync.keys

    @keys.setter
    def keys(self, keys: KeySource) -> None:
        self.sync.keys = keyring(keys)

    @property
    def schema_found(self) -> int | None:
        """The database's schema version when the store opened (None: a new one)."""
        return self.sync.schema_found

    async def aclose(self) -> None:
        """Finish what is queued, then close the connections and threads."""
        try:
            await self._driver.aclose()
        finally:
            await asyncio.to_thread(self.sync.close)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # ---- public methods, generated from the operations by tools/facades.py ----
    async def create_series(
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
        return await self._driver.drive(
            self.sync._create_series(series, enabled=enabled, details=details, exists_ok=exists_ok)
        )

    async def details(self, series: SeriesRef) -> dict[str, Any]:
        """The ``details`` given at creation ({} if none)."""
        return await self._driver.drive(self.sync._details(series))

    @deprecated("AsyncStore.series_details is now AsyncStore.details")
    async def series_details(self, ref: SeriesRef) -> dict[str, Any]:
        """Deprecated: ``details`` under its old name (it warns)."""
        return await self._driver.drive(self.sync._details(ref))

    async def pin_keys(self, series: SeriesRef) -> list[tuple[int, str, str]]:
        """(first index, key id, fingerprint) of each PIN key a series has had, from
        index 0: a card's PIN is under the last one whose first index is at most its
        own. Empty for a series without PINs."""
        return await self._driver.drive(self.sync._pin_keys(series))

    @overload
    async def series_id(self, series: SeriesRef) -> int: ...
    @overload
    @deprecated("AsyncStore.series_id: ref= is series= now")
    async def series_id(self, *, ref: SeriesRef) -> int: ...
    @renamed("AsyncStore.series_id", ref="series")
    async def series_id(self, series: SeriesRef) -> int:
        """The id of a series given by id, code or ``CardSeries``; 3000 if unknown."""
        return await self._driver.drive(self.sync._series_id(series))

    async def series_definition(self, series: SeriesRef) -> CardSeries:
        """The definition of a series, bound to its key (for formatting and parsing).

        A keyed series' key is checked against its fingerprint on first use: missing,
        706; another key, 707; still in the store, 708. A ``CardSeries`` given as
        ``series`` must be the registered definition (else 3000), and its key the
        registered key (else 707): a store never formats with a key it was not given."""
        return await self._driver.drive(self.sync._series_definition(series))

    @deprecated("AsyncStore.get_series is now AsyncStore.series_definition")
    async def get_series(self, ref: SeriesRef) -> CardSeries:
        """Deprecated: ``series_definition`` under its old name (it warns)."""
        return await self._driver.drive(self.sync._series_definition(ref))

    async def series(self, series: SeriesRef) -> SeriesInfo:
        """A series with its state: enabled, reserved so far."""
        return await self._driver.drive(self.sync._series(series))

    @deprecated("AsyncStore.info is now AsyncStore.series")
    async def info(self, ref: SeriesRef) -> SeriesInfo:
        """Deprecated: ``series`` under its old name (it warns)."""
        return await self._driver.drive(self.sync._series(ref))

    async def list_series(self) -> list[SeriesInfo]:
        """Every series with its state, oldest first."""
        return await self._driver.drive(self.sync._list_series())

    async def export_keys(self, path: str) -> int:
        """Move the keys a store from before version 3 keeps in clear to the new keys
        file ``path`` (0600), then wipe them from the store; return how many.

        The file is written and flushed first, the keys wiped after in one transaction:
        interrupted between the two, a second run finds the file holding every key and
        only wipes. An existing file that lacks one of them is refused (701)."""
        return await self._driver.drive(self.sync._export_keys(path))

    @overload
    async def set_enabled(self, series: SeriesRef, enabled: bool) -> None: ...
    @overload
    @deprecated("AsyncStore.set_enabled: ref= is series= now")
    async def set_enabled(self, *, ref: SeriesRef, enabled: bool) -> None: ...
    @renamed("AsyncStore.set_enabled", ref="series")
    async def set_enabled(self, series: SeriesRef, enabled: bool) -> None:
        """Allow or stop generation for a series (stopped: reserve raises 703)."""
        return await self._driver.drive(self.sync._set_enabled(series, enabled))

    async def ledger(self, series: SeriesRef | None = None) -> list[LedgerEntry]:
        """Every ledger row, oldest first; of one series when given. It reads the whole
        ledger: a listing for users pages through ``ledger_page``."""
        return await self._driver.drive(self.sync._ledger(series))

    async def count_reservations(self, series: SeriesRef) -> int:
        """How many blocks a series has handed out (releases not counted): one
        ``COUNT(*)``, whatever the length of the ledger."""
        return await self._driver.drive(self.sync._count_reservations(series))

    async def ledger_page(
        self,
        series: SeriesRef | None = None,
        *,
        kind: str | None = None,
        limit: int = DEFAULT_LIMIT,
        after: int = 0,
        label: str | None = None,
        request_id: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
    ) -> Page[LedgerEntry]:
        """Up to ``limit`` (1..1000) ledger rows with ids above ``after``, oldest first;
        of one series and one ``kind`` (``"reserved"``, ``"released"``) when given, and
        only those with the status ``label``, the ``request_id``, or a time in
        ``[since, until)`` when given (naive times are UTC)."""
        return await self._driver.drive(
            self.sync._ledger_page(
                series,
                kind=kind,
                limit=limit,
                after=after,
                label=label,
                request_id=request_id,
                since=since,
                until=until,
            )
        )

    async def ledger_entry(self, ledger_id: Any) -> LedgerEntry | None:
        """The ledger row ``ledger_id``, or None when there is none."""
        return await self._driver.drive(self.sync._ledger_entry(ledger_id))

    async def released_within(self, series: SeriesRef, start: int, stop: int) -> list[LedgerEntry]:
        """The releases of a series that start in ``[start, stop)``, by start: the parts
        of a reservation there that were given back unused."""
        return await self._driver.drive(self.sync._released_within(series, start, stop))

    async def lookup(self, number: str) -> Lookup | None:
        """Which series ``number`` belongs to, its index, and whether that index was
        handed out (with the reservation that did), released unused, or not reserved
        yet. None if no series has it."""
        return await self._driver.drive(self.sync._lookup(number))

    async def lookup_many(
        self, numbers: Iterable[Any], *, lenient: bool = False
    ) -> list[Lookup | None]:
        """``lookup`` of many numbers: one answer per number, in order (None where no
        series has it).

        One listing of the series; then for each series of a number's length, one bulk
        parse (``CardSeries.parse_many``) and one read of its ledger, whatever the count:
        not a query per number. ``lenient`` reads numbers as typed at a till
        (``CardSeries.normalize``); a found one's ``Lookup.number`` is the series' form,
        and one that two series read so is 3006 (``SeriesOverlap``): only a store from
        before such pairs were refused can hold them."""
        return await self._driver.drive(self.sync._lookup_many(numbers, lenient=lenient))

    async def rotate_pin_key(self, series: SeriesRef, pin_key_id: str) -> int:
        """Move a series with PINs to the PIN key ``pin_key_id`` for the cards reserved
        from now on; return the first index under it. The cards before keep their PINs
        (their key stays needed). The key must be in the key sources, and be neither the
        number key nor the series' current PIN key (3000)."""
        return await self._driver.drive(self.sync._rotate_pin_key(series, pin_key_id))

    async def reserve(
        self,
        series: SeriesRef,
        count: Any,
        status_label: str = DEFAULT_LABEL,
        *,
        request_id: str | None = None,
        actor: str | None = None,
    ) -> Block:
        """Reserve the next ``count`` indexes of a series and return them as a Block.

        Committed before it returns, with a ledger row that names ``actor`` (default:
        this process's user and host). Not enough left: 702, and nothing is reserved.
        The same ``request_id`` again returns the same block; with other parameters it
        is an error (701)."""
        return await self._driver.drive(
            self.sync._reserve(series, count, status_label, request_id=request_id, actor=actor)
        )

    async def release(
        self,
        series: SeriesRef,
        start: int,
        count: int,
        status_label: str = DEFAULT_LABEL,
        *,
        actor: str | None = None,
    ) -> None:
        """Release indexes that were reserved but will never be handed out, with a
        ledger row that names ``actor`` (default: this process's user and host).

        Only an unused part of one reserved block can be released: a range outside the
        ledger's blocks, across two of them, or overlapping an earlier release is error
        705 (``InvalidRelease``), so that no handed-out number ever reads as unused."""
        return await self._driver.drive(
            self.sync._release(series, start, count, status_label, actor=actor)
        )

    async def labels(self) -> list[Label]:
        """Every label, by status then name."""
        return await self._driver.drive(self.sync._labels())

    @overload
    async def add_label(
        self, label: str, status: str, *, default: bool = False, exists_ok: bool = False
    ) -> None: ...
    @overload
    @deprecated("AsyncStore.add_label: name= is label= now")
    async def add_label(
        self, *, name: str, status: str, default: bool = False, exists_ok: bool = False
    ) -> None: ...
    @renamed("AsyncStore.add_label", name="label")
    async def add_label(
        self, label: str, status: str, *, default: bool = False, exists_ok: bool = False
    ) -> None:
        """Map a new label to a status (labels keep their status once created).

        A label that exists is 3019 (``LabelExists``), unless ``exists_ok`` and it is
        mapped to the same status."""
        return await self._driver.drive(
            self.sync._add_label(label, status, default=default, exists_ok=exists_ok)
        )

    @overload
    async def set_default_label(self, status: str, label: str) -> None: ...
    @overload
    @deprecated("AsyncStore.set_default_label: name= is label= now")
    async def set_default_label(self, status: str, *, name: str) -> None: ...
    @renamed("AsyncStore.set_default_label", name="label")
    async def set_default_label(self, status: str, label: str) -> None:
        """Make ``label`` the label a status change to ``status`` records by default."""
        return await self._driver.drive(self.sync._set_default_label(status, label))

    async def card_state(self, series_id: int, index: int) -> CardState | None:
        """(status, label, customer, updated) of a card whose status changed, else None."""
        return await self._driver.drive(self.sync._card_state(series_id, index))

    async def set_card_status(
        self,
        series_id: int,
        index: int,
        expected: str,
        status: str,
        label: str,
        customer_id: str | None,
        *,
        actor: str | None = None,
    ) -> bool:
        """Move a card from ``expected`` to ``status`` and log it, atomically, as done by
        ``actor`` (default: this process's user and host); False (and nothing written)
        when the card is no longer in ``expected``. A card with no row is in
        ``expected`` by the caller's reading of its ledger block."""
        return await self._driver.drive(
            self.sync._set_card_status(
                series_id, index, expected, status, label, customer_id, actor=actor
            )
        )

    async def count_cards(self, series_id: int, status: str) -> int:
        """How many cards of a series have ``status`` now (of those whose status changed:
        a card still NOT_ISSUED has no row)."""
        return await self._driver.drive(self.sync._count_cards(series_id, status))

    async def pin_check(self, series_id: int, index: int, right: bool, attempts: int) -> str:
        """Count one PIN check of a card, atomically: ``locked`` (nothing written) when
        it already failed ``attempts`` times in a row; else ``right`` (its failures
        forgotten) or ``wrong`` (one more failure kept). Only cards that failed a check
        have a row."""
        return await self._driver.drive(self.sync._pin_check(series_id, index, right, attempts))

    async def pin_failures(self, series_id: int, index: int) -> int:
        """A card's failed PIN checks in a row (0: none since its last right one)."""
        return await self._driver.drive(self.sync._pin_failures(series_id, index))

    async def reset_pin_failures(self, series_id: int, index: int) -> int:
        """Forget a card's failed PIN checks (unlocking it); return how many there were."""
        return await self._driver.drive(self.sync._reset_pin_failures(series_id, index))

    async def logged_changes(
        self, series_id: int, index: int, *, limit: int = DEFAULT_LIMIT, after: int = 0
    ) -> Page[LoggedChange]:
        """(from, to, label, customer, when, actor) of a card's changes, oldest first:
        up to ``limit`` (1..1000) of those with log ids above ``after``. The actor is
        None on changes made before cardseq recorded it."""
        return await self._driver.drive(
            self.sync._logged_changes(series_id, index, limit=limit, after=after)
        )

    @deprecated("AsyncStore.status_log is now AsyncStore.logged_changes")
    async def status_log(
        self, series_id: int, index: int, *, limit: int = DEFAULT_LIMIT, after: int = 0
    ) -> Page[LoggedChange]:
        """Deprecated: ``logged_changes`` under its old name (it warns)."""
        return await self._driver.drive(
            self.sync._logged_changes(series_id, index, limit=limit, after=after)
        )

    async def schema_version(self) -> int | None:
        """The database's schema version now: one cheap read, which health checks use
        to see that the database answers."""
        return await self._driver.drive(self.sync._schema_version())

    # ---- end of generated methods ----


class AsyncCardService:
    """A ``CardService`` over an ``AsyncStore``: its methods are coroutines that await
    the very operations of the sync service, through that store's driver. ``sync`` is
    the sync service (over ``store.sync``)."""

    __slots__ = ("_driver", "store", "sync")

    def __init__(
        self, store: AsyncStore, *, max_count: int | None = None, keys: KeySource = None
    ) -> None:
        self.store = store
        self.sync = CardService(store.sync, max_count=max_count, keys=keys)
        self._driver = store._driver

    @property
    def max_count(self) -> int | None:
        """The cap on one generation request (3026); None: no cap."""
        return self.sync.max_count

    # ---- public methods, generated from the operations by tools/facades.py ----
    async def create_series(
        self,
        series: CardSeries,
        *,
        enabled: bool = True,
        details: dict[str, Any] | None = None,
        exists_ok: bool = False,
    ) -> int:
        """Register ``series``; its new id. With ``exists_ok``, a series of the same code
        and definition is not an error (3002) but the answer: its id, so a setup can run
        twice."""
        return await self._driver.drive(
            self.sync._create_series(series, enabled=enabled, details=details, exists_ok=exists_ok)
        )

    @overload
    async def series(self, series: SeriesRef) -> SeriesInfo: ...
    @overload
    @deprecated("AsyncCardService.series: ref= is series= now")
    async def series(self, *, ref: SeriesRef) -> SeriesInfo: ...
    @renamed("AsyncCardService.series", ref="series")
    async def series(self, series: SeriesRef) -> SeriesInfo:
        """A series (by id or code) and its state."""
        return await self._driver.drive(self.sync._series(series))

    async def list_series(self) -> list[SeriesInfo]:
        """Every series with its state, oldest first."""
        return await self._driver.drive(self.sync._list_series())

    @overload
    async def series_details(self, series: SeriesRef) -> SeriesDetails: ...
    @overload
    @deprecated("AsyncCardService.series_details: ref= is series= now")
    async def series_details(self, *, ref: SeriesRef) -> SeriesDetails: ...
    @renamed("AsyncCardService.series_details", ref="series")
    async def series_details(self, series: SeriesRef) -> SeriesDetails:
        """The series with the details it was created with."""
        return await self._driver.drive(self.sync._series_details(series))

    async def count_reservations(self, series: SeriesRef) -> int:
        """How many reservations (generation requests) the series has had."""
        return await self._driver.drive(self.sync._count_reservations(series))

    @deprecated("AsyncCardService.reservations is now AsyncCardService.count_reservations")
    async def reservations(self, ref: SeriesRef) -> int:
        """Deprecated: ``count_reservations`` under its old name (it warns)."""
        return await self._driver.drive(self.sync._count_reservations(ref))

    @overload
    async def set_enabled(self, series: SeriesRef, enabled: bool) -> None: ...
    @overload
    @deprecated("AsyncCardService.set_enabled: ref= is series= now")
    async def set_enabled(self, *, ref: SeriesRef, enabled: bool) -> None: ...
    @renamed("AsyncCardService.set_enabled", ref="series")
    async def set_enabled(self, series: SeriesRef, enabled: bool) -> None:
        """Allow or stop generation (stopped: 703)."""
        return await self._driver.drive(self.sync._set_enabled(series, enabled))

    @overload
    async def reserve(
        self,
        series: SeriesRef,
        count: Any,
        status_label: Any = DEFAULT_LABEL,
        *,
        request_id: str | None = None,
        actor: str | None = None,
    ) -> Block: ...
    @overload
    @deprecated("AsyncCardService.reserve: series_id= is series= now")
    async def reserve(
        self,
        *,
        series_id: SeriesRef,
        count: Any,
        status_label: Any = DEFAULT_LABEL,
        request_id: str | None = None,
        actor: str | None = None,
    ) -> Block: ...
    @renamed("AsyncCardService.reserve", series_id="series")
    async def reserve(
        self,
        series: SeriesRef,
        count: Any,
        status_label: Any = DEFAULT_LABEL,
        *,
        request_id: str | None = None,
        actor: str | None = None,
    ) -> Block:
        """Reserve ``count`` numbers as a ``Block``, for callers that stream them out
        (``Block.write``) instead of holding them. The ledger names ``actor`` (default:
        this process's user and host).

        A block is a range of indexes: it lists and writes them ascending unless told
        otherwise (``Block.to_list(order)``); ``generate`` answers the same numbers newest
        first, as the reference API does."""
        return await self._driver.drive(
            self.sync._reserve(series, count, status_label, request_id=request_id, actor=actor)
        )

    @overload
    async def generate(
        self,
        series: SeriesRef,
        count: Any,
        status_label: Any = DEFAULT_LABEL,
        *,
        request_id: str | None = None,
        actor: str | None = None,
    ) -> Generated: ...
    @overload
    @deprecated("AsyncCardService.generate: series_id= is series= now")
    async def generate(
        self,
        *,
        series_id: SeriesRef,
        count: Any,
        status_label: Any = DEFAULT_LABEL,
        request_id: str | None = None,
        actor: str | None = None,
    ) -> Generated: ...
    @renamed("AsyncCardService.generate", series_id="series")
    async def generate(
        self,
        series: SeriesRef,
        count: Any,
        status_label: Any = DEFAULT_LABEL,
        *,
        request_id: str | None = None,
        actor: str | None = None,
    ) -> Generated:
        """Reserve and format ``count`` numbers, newest first: the order of the reference
        API, which the HTTP answer keeps (``reserve``'s block ascends); the ledger names
        ``actor`` (default: this process's user and host).

        A domain error raises and reserves nothing; for a store failure (500) see
        ``StoreError``."""
        return await self._driver.drive(
            self.sync._generate(series, count, status_label, request_id=request_id, actor=actor)
        )

    @overload
    async def generation_log(
        self,
        series: SeriesRef,
        *,
        limit: int = DEFAULT_LIMIT,
        after: int = 0,
        label: str | None = None,
        request_id: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
    ) -> Page[GenerationEntry]: ...
    @overload
    @deprecated("AsyncCardService.generation_log: series_id= is series= now")
    async def generation_log(
        self,
        *,
        series_id: SeriesRef,
        limit: int = DEFAULT_LIMIT,
        after: int = 0,
        label: str | None = None,
        request_id: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
    ) -> Page[GenerationEntry]: ...
    @renamed("AsyncCardService.generation_log", series_id="series")
    async def generation_log(
        self,
        series: SeriesRef,
        *,
        limit: int = DEFAULT_LIMIT,
        after: int = 0,
        label: str | None = None,
        request_id: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
    ) -> Page[GenerationEntry]:
        """The series' generation requests (its reservations), oldest first, a page at a
        time: up to ``limit`` (1..1000, else 701) after the cursor ``after`` (a previous
        ``next``); only those of status ``label``, of ``request_id``, or made in
        ``[since, until)`` (naive times are UTC) when given."""
        return await self._driver.drive(
            self.sync._generation_log(
                series,
                limit=limit,
                after=after,
                label=label,
                request_id=request_id,
                since=since,
                until=until,
            )
        )

    @overload
    async def reservation(
        self, series: SeriesRef, *, request_id: str | None = None, ledger_id: int | None = None
    ) -> GenerationEntry: ...
    @overload
    @deprecated("AsyncCardService.reservation: series_id= is series= now")
    async def reservation(
        self, *, series_id: SeriesRef, request_id: str | None = None, ledger_id: int | None = None
    ) -> GenerationEntry: ...
    @renamed("AsyncCardService.reservation", series_id="series")
    async def reservation(
        self, series: SeriesRef, *, request_id: str | None = None, ledger_id: int | None = None
    ) -> GenerationEntry:
        """One past reservation of the series, by its request id or its ledger id
        (exactly one of them); none: 710."""
        return await self._driver.drive(
            self.sync._reservation(series, request_id=request_id, ledger_id=ledger_id)
        )

    @overload
    async def export(
        self, series: SeriesRef, *, request_id: str | None = None, ledger_id: int | None = None
    ) -> Block: ...
    @overload
    @deprecated("AsyncCardService.export: series_id= is series= now")
    async def export(
        self, *, series_id: SeriesRef, request_id: str | None = None, ledger_id: int | None = None
    ) -> Block: ...
    @renamed("AsyncCardService.export", series_id="series")
    async def export(
        self, series: SeriesRef, *, request_id: str | None = None, ledger_id: int | None = None
    ) -> Block:
        """The block of a past reservation (``reservation``), to write its numbers again;
        it reserves nothing.

        A part of it released unused (never handed out) is left out, so that no number
        reads as unused once written: the block is what its caller still holds, as a
        replay of its request id answers (``Store.reserve``). Released whole, or in its
        middle (two ranges left): 705."""
        return await self._driver.drive(
            self.sync._export(series, request_id=request_id, ledger_id=ledger_id)
        )

    async def labels(self) -> list[Label]:
        """Every label, by status then name."""
        return await self._driver.drive(self.sync._labels())

    async def add_label(
        self, label: str, status: str, *, default: bool = False, exists_ok: bool = False
    ) -> None:
        """Add a status label for ``status``; an existing one is 3019, or fine with
        ``exists_ok`` when it stands for the same status."""
        return await self._driver.drive(
            self.sync._add_label(label, status, default=default, exists_ok=exists_ok)
        )

    async def set_default_label(self, status: str, label: str) -> None:
        """Make ``label`` the one a change to ``status`` records when none is named."""
        return await self._driver.drive(self.sync._set_default_label(status, label))

    async def lookup(self, number: Any) -> Lookup:
        """Where ``number`` stands: its series, index, and whether it was handed out,
        released unused, or not reserved yet. No series has it: 3010."""
        return await self._driver.drive(self.sync._lookup(number))

    async def lookup_many(
        self, numbers: Iterable[Any], *, lenient: bool = False
    ) -> list[Lookup | None]:
        """``lookup`` of many numbers at once: one answer per number, in order, None where
        no series has it (a batch is answered whole, not stopped at its first unknown
        number). ``lenient`` reads them as typed at a till (``CardSeries.normalize``)."""
        return await self._driver.drive(self.sync._lookup_many(numbers, lenient=lenient))

    async def suggest(self, number: str) -> list[Lookup]:
        """The issued numbers one typing slip away from ``number`` (one character
        replaced, or two neighbours swapped, read leniently), in any series of its
        length: for support staff facing a number that fails its check."""
        return await self._driver.drive(self.sync._suggest(number))

    async def card(self, number: Any) -> Card:
        """A card's details: series, index, status, label, generation time, customer."""
        return await self._driver.drive(self.sync._card(number))

    async def change_status(
        self,
        number: Any,
        status_label: Any,
        *,
        customer_id: str | None = None,
        actor: str | None = None,
    ) -> Card:
        """Move a card to the status of ``status_label``, following the rules; the
        status log names ``actor`` (default: this process's user and host).

        Same status: 3012; a move the rules forbid: 3038; unknown label: 3017."""
        return await self._driver.drive(
            self.sync._change_status(number, status_label, customer_id=customer_id, actor=actor)
        )

    async def issue(self, number: str, customer_id: str, *, actor: str | None = None) -> Card:
        """Give a generated card to a customer: it becomes ACTIVE (``actor`` as in
        ``change_status``)."""
        return await self._driver.drive(self.sync._issue(number, customer_id, actor=actor))

    async def suspend(self, number: str, *, actor: str | None = None) -> Card:
        """Suspend an active card (SUSPENDED): it can be reactivated."""
        return await self._driver.drive(self.sync._suspend(number, actor=actor))

    async def reactivate(self, number: str, *, actor: str | None = None) -> Card:
        """Make a suspended card ACTIVE again."""
        return await self._driver.drive(self.sync._reactivate(number, actor=actor))

    async def expire(self, number: str, *, actor: str | None = None) -> Card:
        """Expire an active or suspended card (EXPIRED, for good)."""
        return await self._driver.drive(self.sync._expire(number, actor=actor))

    async def delete(self, number: str, *, actor: str | None = None) -> Card:
        """Delete an active or suspended card (DELETED: it can change no more)."""
        return await self._driver.drive(self.sync._delete(number, actor=actor))

    async def status_log(
        self, number: Any, *, limit: int = DEFAULT_LIMIT, after: int = 0
    ) -> Page[StatusChange]:
        """A card's status changes, oldest first, a page at a time (as ``generation_log``)."""
        return await self._driver.drive(self.sync._status_log(number, limit=limit, after=after))

    async def verify_pin(self, number: Any, pin: Any) -> bool:
        """Whether ``pin`` is the PIN of the generated card ``number`` (compared in
        constant time). A wrong PIN counts against the card: after its series'
        ``pin_attempts`` failures in a row, checks are refused (713, ``PinLocked``),
        the right PIN too, until an operator's ``reset_pin``. A right PIN forgets the
        failures. The PIN is never in an error, a log or the ledger."""
        return await self._driver.drive(self.sync._verify_pin(number, pin))

    async def guess_odds(self, series: SeriesRef, *, rate: float | None = None) -> GuessOdds:
        """How long ``series`` lasts against a bot that tries well-formed numbers (and
        PINs) at ``rate`` a second (default: the server's default per-client rate
        limit), with warnings for what makes it weaker (``cardseq.odds``)."""
        return await self._driver.drive(self.sync._guess_odds(series, rate=rate))

    async def series_with_pins(self, series: SeriesRef) -> CardSeries:
        """The series bound to its PIN key, for writing PINs: 3000 for a series without
        PINs, 706 when no key source has the PIN key, 707 for another key. A print run
        asks before it reserves, so that a missing key loses no numbers."""
        return await self._driver.drive(self.sync._series_with_pins(series))

    async def with_pins(self, block: Block) -> Block:
        """``block`` bound to the PIN keys of its cards, as the store holds them now: ask
        after the block is reserved, so that a move to a new PIN key made before it (by
        any process) is seen. 3000 without PINs, 706 or 707 for a key."""
        return await self._driver.drive(self.sync._with_pins(block))

    async def rotate_pin_key(self, series: SeriesRef, pin_key_id: str) -> int:
        """Give the cards reserved from now on the PIN key ``pin_key_id`` (a key source
        must have it); return the first index under it. Cards before keep their PINs."""
        return await self._driver.drive(self.sync._rotate_pin_key(series, pin_key_id))

    async def pin_keys(self, series: SeriesRef) -> list[tuple[int, str, str]]:
        """(first index, key id, fingerprint) of each PIN key the series has had."""
        return await self._driver.drive(self.sync._pin_keys(series))

    async def pin_failures(self, number: Any) -> int:
        """How many PIN checks of card ``number`` failed in a row (its series'
        ``pin_attempts`` of them lock it)."""
        return await self._driver.drive(self.sync._pin_failures(number))

    async def reset_pin(self, number: Any) -> int:
        """Unlock card ``number``: forget its failed PIN checks; return how many."""
        return await self._driver.drive(self.sync._reset_pin(number))

    # ---- end of generated methods ----


class AsyncSegmentAllocator:
    """Single numbers from an ``AsyncStore``'s series, ``step`` reserved at a time: the
    async twin of ``cardseq.allocator.SegmentAllocator`` (the same reservation and
    release operations).

    ``await next()`` hands out the next number of the current segment without waiting
    on anything; the call that passes the low-water mark (``prefetch_at`` of the
    segment) starts reserving and formatting the next segment in the background, so a
    caller waits for a refill only when it drains a segment faster than one is
    reserved. ``aclose()`` (or ``async with``) releases what was reserved and never
    handed out.
    """

    def __init__(
        self,
        store: AsyncStore,
        series: SeriesRef,
        *,
        step: int = DEFAULT_STEP,
        status_label: str = DEFAULT_LABEL,
        prefetch_at: float = 0.5,
    ) -> None:
        self._store = store
        self._series = series
        self._step = positive_count(step)
        self._label = status_label
        self._prefetch_at = check_prefetch(prefetch_at)
        self._lock = asyncio.Lock()  # one refill at a time
        self._block: Block | None = None
        self._numbers: list[str] = []
        self._size = self._pos = self._threshold = 0
        self._pending: asyncio.Task[tuple[Block, list[str]]] | None = None
        self._checked = False
        self._closed = False

    async def _fetch(self) -> tuple[Block, list[str]]:
        if not self._checked:  # the current segment and the next in memory together
            series = await self._store.series_definition(self._series)
            check_fits(series, self._step, field="step", copies=2)
            self._checked = True
        sync = self._store.sync
        op = fetch_segment(sync, self._series, self._step, self._label)
        return await self._store._driver.drive(op)

    async def next(self) -> str:
        """The next number; ``SeriesExhausted`` (702) once the series has none left."""
        while True:
            pos = self._pos
            if pos < self._size:
                self._pos = pos + 1
                if pos == self._threshold and self._pending is None:
                    self._pending = asyncio.create_task(self._fetch())
                return self._numbers[pos]
            async with self._lock:
                if self._pos >= self._size:  # nobody refilled while this one waited
                    await self._refill()

    def __aiter__(self) -> AsyncSegmentAllocator:
        return self

    async def __anext__(self) -> str:
        return await self.next()

    async def _refill(self) -> None:
        if self._closed:
            raise InvalidArgument("the allocator is closed", field="allocator")
        pending, self._pending = self._pending, None
        if pending is None:
            pending = asyncio.create_task(self._fetch())
        self._block, self._numbers = await pending  # a failure surfaces here, and the
        self._size, self._pos = len(self._numbers), 0  # next call tries again
        self._threshold = low_water_mark(self._size, self._prefetch_at)
        if self._threshold >= self._size:
            self._pending = asyncio.create_task(self._fetch())

    async def aclose(self) -> None:
        """Record the unused remainder (and any prefetched segment) in the ledger."""
        if self._closed:
            return
        self._closed = True
        unused = unused_part(self._block, self._pos, self._size)
        self._size = 0
        if self._pending is not None:
            try:
                block, _ = await self._pending
            except Exception:  # a failed prefetch reserved nothing
                pass
            else:
                unused.append((block.start, block.count))
        for start, count in unused:
            await self._store.release(self._series, start, count, self._label)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


__all__ = ["THREADS", "AsyncCardService", "AsyncSegmentAllocator", "AsyncStore"]
