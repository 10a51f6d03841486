"""The reference domain's operations over any store: series, generation, status
labels, and a card's life from generation to expiry.

The one domain API: the CLI and the HTTP server are shells over it. Each method returns
typed records (``cardseq.records``) and raises a ``CardSeqError`` on failure.

A generated card has no row of its own: its status comes from the label of the ledger
block that generated it. Only cards whose status changed are stored, so storage grows
with the cards in use, not with the cards generated.
"""

from __future__ import annotations

import datetime as dt
import hmac
import math
from collections.abc import Iterable
from typing import Any, TypeVar, overload

from . import checkdigit
from .block import Block, check_fits
from .deprecation import deprecated, formerly, renamed
from .errors import (
    CardNotFound,
    CountTooLarge,
    InvalidArgument,
    InvalidSeries,
    InvalidStatusLabel,
    PinLocked,
    ReservationNotFound,
    StatusUnchanged,
    TransitionNotAllowed,
    clip,
)
from .keys import KeySource, keyring
from .odds import DEFAULT_RATE, GuessOdds
from .records import (
    Card,
    Generated,
    GenerationEntry,
    Label,
    Lookup,
    SeriesDetails,
    StatusChange,
)
from .series import CardSeries, positive_count
from .store.base import (
    DEFAULT_LABEL,
    DEFAULT_LIMIT,
    STATUSES,
    LedgerEntry,
    Page,
    SeriesInfo,
    SeriesRef,
    Store,
)
from .store.ops import Op, Transaction, Work, operation
from .store.records import check_actor

T = TypeVar("T")

#: blocks up to this many numbers are formatted on the event loop by the async API
#: (well under a millisecond); larger ones on a thread
INLINE_COUNT = 1000

# Where each status may go (documented rules: a generated card can only be issued;
# an expired card cannot be deleted; a deleted card cannot change at all).
TRANSITIONS = {
    "NOT_ISSUED": {"ACTIVE"},
    "ACTIVE": {"SUSPENDED", "EXPIRED", "DELETED"},
    "SUSPENDED": {"ACTIVE", "EXPIRED", "DELETED"},
    "EXPIRED": set(),
    "DELETED": set(),
}


def reserving_numbers(
    store: Store,
    series: SeriesRef,
    count: Any,
    *,
    status_label: Any = DEFAULT_LABEL,
    request_id: str | None = None,
    order: str = "asc",
    actor: str | None = None,
) -> Op[tuple[Block, list[str]]]:
    """Reserve ``count`` numbers and format them as a list, for callers that hold them.

    A list too big for memory is refused (3026) before anything is reserved. If the
    formatting fails anyway, the block is released (never handed out) unless
    a request id lets a retry get it again. ``actor`` is recorded as ``Store.reserve``
    says.
    """
    check_fits((yield from store._series_definition(series)), positive_count(count))
    block = yield from store._reserve(
        series, count, status_label=status_label, request_id=request_id, actor=actor
    )
    try:
        numbers = yield Work(lambda: block.to_list(order), heavy=block.count > INLINE_COUNT)
    except (MemoryError, CountTooLarge) as error:
        if request_id is None:
            yield from store._release(series, block.start, block.count, status_label, actor=actor)
        fate = "released unused" if request_id is None else "kept for a retry with its request id"
        raise CountTooLarge.bad(
            "count", count, f"ran out of memory while formatting: the block was {fate}"
        ) from error
    return block, numbers


class CardService:
    """Cards and series of the reference domain, over ``store``.

    ``max_count`` caps one generation request (a server setting, error 3026); the
    library sets none. ``keys``, when given, becomes the store's key source
    (``cardseq.keys``). Each method is an operation (``cardseq.store.ops``): run here
    on the calling thread, or awaited through ``cardseq.aio.AsyncCardService``.
    """

    def __init__(
        self, store: Store, *, max_count: int | None = None, keys: KeySource = None
    ) -> None:
        if keys is not None:
            store.keys = keyring(keys)
        self.store = store
        self.max_count = max_count

    def _drive(self, op: Op[T]) -> T:
        return self.store._drive(op)

    # ---- series ----------------------------------------------------------------------

    @operation
    def _create_series(
        self,
        series: CardSeries,
        *,
        enabled: bool = True,
        details: dict[str, Any] | None = None,
        exists_ok: bool = False,
    ) -> Op[int]:
        """Register ``series``; its new id. With ``exists_ok``, a series of the same code
        and definition is not an error (3002) but the answer: its id, so a setup can run
        twice."""
        return (
            yield from self.store._create_series(
                series, enabled=enabled, details=details, exists_ok=exists_ok
            )
        )

    @operation
    @formerly(ref="series")
    def _series(self, series: SeriesRef) -> Op[SeriesInfo]:
        """A series (by id or code) and its state."""
        return (yield from self.store._series(series))

    @operation
    def _list_series(self) -> Op[list[SeriesInfo]]:
        """Every series with its state, oldest first."""
        return (yield from self.store._list_series())

    @operation
    @formerly(ref="series")
    def _series_details(self, series: SeriesRef) -> Op[SeriesDetails]:
        """The series with the details it was created with."""
        info = yield from self.store._series(series)
        return SeriesDetails(info, (yield from self.store._details(info.id)))

    @operation
    @formerly("reservations", ref="series")
    def _count_reservations(self, series: SeriesRef) -> Op[int]:
        """How many reservations (generation requests) the series has had."""
        return (yield from self.store._count_reservations(series))

    @operation
    @formerly(ref="series")
    def _set_enabled(self, series: SeriesRef, enabled: bool) -> Op[None]:
        """Allow or stop generation (stopped: 703)."""
        yield from self.store._set_enabled(series, enabled)

    # ---- generation ------------------------------------------------------------------

    def _count(self, count: Any) -> int:
        """``count`` as a positive int within ``max_count`` (3025, 3026)."""
        value = positive_count(count)
        if self.max_count is not None and value > self.max_count:
            raise CountTooLarge.bad(
                "count", value, f"is above the maximum of {self.max_count} per request"
            )
        return value

    @operation
    @formerly(series_id="series")
    def _reserve(
        self,
        series: SeriesRef,
        count: Any,
        status_label: Any = DEFAULT_LABEL,
        *,
        request_id: str | None = None,
        actor: str | None = None,
    ) -> Op[Block]:
        """Reserve ``count`` numbers as a ``Block``, for callers that stream them out
        (``Block.write``) instead of holding them. The ledger names ``actor`` (default:
        this process's user and host).

        A block is a range of indexes: it lists and writes them ascending unless told
        otherwise (``Block.to_list(order)``); ``generate`` answers the same numbers newest
        first, as the reference API does."""
        return (
            yield from self.store._reserve(
                series,
                self._count(count),
                status_label=status_label,
                request_id=request_id,
                actor=actor,
            )
        )

    @operation
    @formerly(series_id="series")
    def _generate(
        self,
        series: SeriesRef,
        count: Any,
        status_label: Any = DEFAULT_LABEL,
        *,
        request_id: str | None = None,
        actor: str | None = None,
    ) -> Op[Generated]:
        """Reserve and format ``count`` numbers, newest first: the order of the reference
        API, which the HTTP answer keeps (``reserve``'s block ascends); the ledger names
        ``actor`` (default: this process's user and host).

        A domain error raises and reserves nothing; for a store failure (500) see
        ``StoreError``.
        """
        _, numbers = yield from reserving_numbers(
            self.store,
            series,
            self._count(count),
            status_label=status_label,
            request_id=request_id,
            order="desc",
            actor=actor,
        )
        return Generated(numbers)

    @operation
    @formerly(series_id="series")
    def _generation_log(
        self,
        series: SeriesRef,
        *,
        limit: int = DEFAULT_LIMIT,
        after: int = 0,
        label: str | None = None,
        request_id: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
    ) -> Op[Page[GenerationEntry]]:
        """The series' generation requests (its reservations), oldest first, a page at a
        time: up to ``limit`` (1..1000, else 701) after the cursor ``after`` (a previous
        ``next``); only those of status ``label``, of ``request_id``, or made in
        ``[since, until)`` (naive times are UTC) when given."""
        info = yield from self.store._series(series)
        page = yield from self.store._ledger_page(
            info.id,
            kind="reserved",
            limit=limit,
            after=after,
            label=label,
            request_id=request_id,
            since=since,
            until=until,
        )
        return page.map(lambda e: _generation_entry(info, e))

    @operation
    @formerly(series_id="series")
    def _reservation(
        self,
        series: SeriesRef,
        *,
        request_id: str | None = None,
        ledger_id: int | None = None,
    ) -> Op[GenerationEntry]:
        """One past reservation of the series, by its request id or its ledger id
        (exactly one of them); none: 710."""
        info, entry = yield from self._reserved_entry(series, request_id, ledger_id)
        return _generation_entry(info, entry)

    def _reserved_entry(
        self, series: SeriesRef, request_id: str | None, ledger_id: int | None
    ) -> Op[tuple[SeriesInfo, LedgerEntry]]:
        """``reservation``'s series and ledger row."""
        info = yield from self.store._series(series)
        if (request_id is None) == (ledger_id is None):
            raise InvalidArgument(
                "give a reservation's request_id or its ledger_id (one of them)",
                field="request_id",
                value=request_id,
            )
        value: object
        if request_id is not None:
            found = (
                yield from self.store._ledger_page(
                    info.id, kind="reserved", request_id=request_id, limit=1
                )
            ).items
            entry = found[0] if found else None
            field, value = "request_id", request_id
        else:
            entry = yield from self.store._ledger_entry(ledger_id)
            field, value = "ledger_id", ledger_id
        if entry is None or entry.series_id != info.id or entry.kind != "reserved":
            raise ReservationNotFound.bad(
                field, value, f"is not a reservation of series {info.series.code!r}"
            )
        return info, entry

    @operation
    @formerly(series_id="series")
    def _export(
        self,
        series: SeriesRef,
        *,
        request_id: str | None = None,
        ledger_id: int | None = None,
    ) -> Op[Block]:
        """The block of a past reservation (``reservation``), to write its numbers again;
        it reserves nothing.

        A part of it released unused (never handed out) is left out, so that no number
        reads as unused once written: the block is what its caller still holds, as a
        replay of its request id answers (``Store.reserve``). Released whole, or in its
        middle (two ranges left): 705.
        """
        info, entry = yield from self._reserved_entry(series, request_id, ledger_id)
        held = yield Transaction(self.store._held(entry))
        series = yield from self.store._series_definition(info.id)
        return Block(series, held.start, len(held))

    # ---- labels ----------------------------------------------------------------------

    @operation
    def _labels(self) -> Op[list[Label]]:
        """Every label, by status then name."""
        return (yield from self.store._labels())

    @operation
    def _add_label(
        self, label: str, status: str, *, default: bool = False, exists_ok: bool = False
    ) -> Op[None]:
        """Add a status label for ``status``; an existing one is 3019, or fine with
        ``exists_ok`` when it stands for the same status."""
        yield from self.store._add_label(label, status, default=default, exists_ok=exists_ok)

    @operation
    def _set_default_label(self, status: str, label: str) -> Op[None]:
        """Make ``label`` the one a change to ``status`` records when none is named."""
        yield from self.store._set_default_label(status, label)

    def _label_status(self, label: Any) -> Op[str]:
        for known in (yield from self.store._labels()):
            if known.name == label:
                return known.status
        raise InvalidStatusLabel.bad("statusLabel", label, "is not a known status label")

    def _default_label(self, status: str) -> Op[str]:
        labels = yield from self.store._labels()
        return next(x.name for x in labels if x.status == status and x.default)

    # ---- cards -----------------------------------------------------------------------

    @operation
    def _lookup(self, number: Any) -> Op[Lookup]:
        """Where ``number`` stands: its series, index, and whether it was handed out,
        released unused, or not reserved yet. No series has it: 3010."""
        found = (yield from self.store._lookup(number)) if isinstance(number, str) else None
        if found is None:
            raise CardNotFound.bad("cardNumber", number, "is not a number of any series")
        return found

    @operation
    def _lookup_many(
        self, numbers: Iterable[Any], *, lenient: bool = False
    ) -> Op[list[Lookup | None]]:
        """``lookup`` of many numbers at once: one answer per number, in order, None where
        no series has it (a batch is answered whole, not stopped at its first unknown
        number). ``lenient`` reads them as typed at a till (``CardSeries.normalize``)."""
        return (yield from self.store._lookup_many(numbers, lenient=lenient))

    @operation
    def _suggest(self, number: str) -> Op[list[Lookup]]:
        """The issued numbers one typing slip away from ``number`` (one character
        replaced, or two neighbours swapped, read leniently), in any series of its
        length: for support staff facing a number that fails its check."""
        candidates = [
            near
            for info in (yield from self.store._list_series())
            if info.series.bound
            for near in info.series.near(number)
        ]
        found = yield from self.store._lookup_many(candidates)
        return [f for f in found if f is not None and f.state == "reserved"]

    def _locate(self, number: Any) -> Op[tuple[SeriesInfo, int, LedgerEntry]]:
        """A generated card's series, index and reservation; 3010 for any other number."""
        found = yield from self._lookup(number)
        if found.entry is None:
            why = (
                "was released unused: it was never handed out"
                if found.state == "released"
                else "has not been generated yet"
            )
            raise CardNotFound.bad("cardNumber", number, why)
        return found.info, found.index, found.entry

    @operation
    def _card(self, number: Any) -> Op[Card]:
        """A card's details: series, index, status, label, generation time, customer."""
        info, index, entry = yield from self._locate(number)
        state = yield from self.store._card_state(info.id, index)
        if state is None:
            status, label, customer, updated = (
                (yield from self._label_status(entry.status_label)),
                entry.status_label,
                None,
                None,
            )
        else:
            status, label, customer, updated = state
        return Card(
            number,
            info.id,
            info.series.code,
            index,
            status,
            label,
            entry.created_at,
            customer,
            updated,
        )

    @operation
    def _change_status(
        self,
        number: Any,
        status_label: Any,
        *,
        customer_id: str | None = None,
        actor: str | None = None,
    ) -> Op[Card]:
        """Move a card to the status of ``status_label``, following the rules; the
        status log names ``actor`` (default: this process's user and host).

        Same status: 3012; a move the rules forbid: 3038; unknown label: 3017.
        """
        who = check_actor(actor)
        target = yield from self._label_status(status_label)
        for _ in range(5):  # another caller may change the card between read and write
            card = yield from self._card(number)
            current = card.status
            if target == current:
                raise StatusUnchanged.bad(
                    "statusLabel", status_label, f"has the card's current status {current}"
                )
            if target not in TRANSITIONS[current]:
                raise TransitionNotAllowed(
                    f"card {clip(number)} cannot change from {current} to {target}",
                    field="statusLabel",
                    value=status_label,
                )
            if (
                yield from self.store._set_card_status(
                    card.series_id,
                    card.index,
                    current,
                    target,
                    status_label,
                    customer_id,
                    actor=who,
                )
            ):
                return (yield from self._card(number))
        raise TransitionNotAllowed(
            f"card {clip(number)} kept changing; try again", field="cardNumber", value=number
        )

    def _to_default(
        self, number: str, status: str, customer_id: str | None = None, actor: str | None = None
    ) -> Op[Card]:
        """A change to ``status``'s default label."""
        label = yield from self._default_label(status)
        return (yield from self._change_status(number, label, customer_id=customer_id, actor=actor))

    @operation
    def _issue(self, number: str, customer_id: str, *, actor: str | None = None) -> Op[Card]:
        """Give a generated card to a customer: it becomes ACTIVE (``actor`` as in
        ``change_status``)."""
        return (yield from self._to_default(number, "ACTIVE", customer_id, actor))

    @operation
    def _suspend(self, number: str, *, actor: str | None = None) -> Op[Card]:
        """Suspend an active card (SUSPENDED): it can be reactivated."""
        return (yield from self._to_default(number, "SUSPENDED", actor=actor))

    @operation
    def _reactivate(self, number: str, *, actor: str | None = None) -> Op[Card]:
        """Make a suspended card ACTIVE again."""
        return (yield from self._to_default(number, "ACTIVE", actor=actor))

    @operation
    def _expire(self, number: str, *, actor: str | None = None) -> Op[Card]:
        """Expire an active or suspended card (EXPIRED, for good)."""
        return (yield from self._to_default(number, "EXPIRED", actor=actor))

    @operation
    def _delete(self, number: str, *, actor: str | None = None) -> Op[Card]:
        """Delete an active or suspended card (DELETED: it can change no more)."""
        return (yield from self._to_default(number, "DELETED", actor=actor))

    @operation
    def _status_log(
        self, number: Any, *, limit: int = DEFAULT_LIMIT, after: int = 0
    ) -> Op[Page[StatusChange]]:
        """A card's status changes, oldest first, a page at a time (as ``generation_log``)."""
        info, index, _ = yield from self._locate(number)
        page = yield from self.store._logged_changes(info.id, index, limit=limit, after=after)
        return page.map(lambda change: StatusChange(number, *change))

    # ---- PINs ------------------------------------------------------------------------

    @operation
    def _verify_pin(self, number: Any, pin: Any) -> Op[bool]:
        """Whether ``pin`` is the PIN of the generated card ``number`` (compared in
        constant time). A wrong PIN counts against the card: after its series'
        ``pin_attempts`` failures in a row, checks are refused (713, ``PinLocked``),
        the right PIN too, until an operator's ``reset_pin``. A right PIN forgets the
        failures. The PIN is never in an error, a log or the ledger."""
        if not isinstance(pin, str):
            raise InvalidArgument(f"pin must be a string of digits, not {type(pin).__name__}",
                                  field="pin")  # fmt: skip
        info, index, _ = yield from self._locate(number)
        series = yield from self.store._pin_bound(info.id)
        right = hmac.compare_digest(series.pin(index).encode(), pin.encode("utf-8", "replace"))
        outcome = yield from self.store._pin_check(info.id, index, right, series.pin_attempts)
        if outcome == "locked":
            raise PinLocked(
                f"card {number!r} is locked: its PIN failed {series.pin_attempts} checks in"
                " a row; an operator unlocks it (cardseq card reset-pin)",
                field="cardNumber",
                value=number,
            )
        return bool(outcome == "right")

    @operation
    def _guess_odds(self, series: SeriesRef, *, rate: float | None = None) -> Op[GuessOdds]:
        """How long ``series`` lasts against a bot that tries well-formed numbers (and
        PINs) at ``rate`` a second (default: the server's default per-client rate
        limit), with warnings for what makes it weaker (``cardseq.odds``)."""
        guesses = DEFAULT_RATE if rate is None else rate
        if (
            isinstance(guesses, bool)
            or not isinstance(guesses, int | float)
            or not (0 < guesses < math.inf)
        ):
            raise InvalidArgument.bad("rate", rate, "must be a positive number of tries a second")
        view = yield from self._series_details(series)
        info, definition = view.info, view.info.series
        active = yield from self.store._count_cards(info.id, "ACTIVE")
        kind = view.details.get("type")
        warnings = []
        if not definition.method.keyed:
            warnings.append(
                f"method {definition.method} is sequential: a neighbour of one known card"
                " is a card, so a bot that knows one does far better than these odds"
            )
        if not definition.pin_length and kind != "DIGITAL":
            taken = "" if kind == "PHYSICAL" else " (its type is not recorded: taken as physical)"
            warnings.append(f"no PIN: the number alone redeems a card{taken}")
        has_check = definition.method.check != checkdigit.NONE
        return GuessOdds(
            definition.code,
            shapes=definition.alphabet.base ** (definition.counter_width + has_check),
            well_formed=definition.well_formed,
            issued=info.next_index,
            active=active,
            rate=float(guesses),
            pin_length=definition.pin_length,
            pin_attempts=definition.pin_attempts if definition.pin_length else 0,
            warnings=tuple(warnings),
        )

    @operation
    def _series_with_pins(self, series: SeriesRef) -> Op[CardSeries]:
        """The series bound to its PIN key, for writing PINs: 3000 for a series without
        PINs, 706 when no key source has the PIN key, 707 for another key. A print run
        asks before it reserves, so that a missing key loses no numbers."""
        info = yield from self.store._series(series)
        if not info.series.pin_length:
            raise InvalidSeries.bad("pin", info.series.code, "is a series without PINs")
        return (yield from self.store._pin_bound(info.id))

    @operation
    def _with_pins(self, block: Block) -> Op[Block]:
        """``block`` bound to the PIN keys of its cards, as the store holds them now: ask
        after the block is reserved, so that a move to a new PIN key made before it (by
        any process) is seen. 3000 without PINs, 706 or 707 for a key."""
        bound = yield from self._series_with_pins(block.series.code)
        return Block(bound, block.start, block.count)

    @operation
    def _rotate_pin_key(self, series: SeriesRef, pin_key_id: str) -> Op[int]:
        """Give the cards reserved from now on the PIN key ``pin_key_id`` (a key source
        must have it); return the first index under it. Cards before keep their PINs."""
        return (yield from self.store._rotate_pin_key(series, pin_key_id))

    @operation
    def _pin_keys(self, series: SeriesRef) -> Op[list[tuple[int, str, str]]]:
        """(first index, key id, fingerprint) of each PIN key the series has had."""
        return (yield from self.store._pin_keys(series))

    @operation
    def _pin_failures(self, number: Any) -> Op[int]:
        """How many PIN checks of card ``number`` failed in a row (its series'
        ``pin_attempts`` of them lock it)."""
        info, index, _ = yield from self._locate(number)
        return (yield from self.store._pin_failures(info.id, index))

    @operation
    def _reset_pin(self, number: Any) -> Op[int]:
        """Unlock card ``number``: forget its failed PIN checks; return how many."""
        info, index, _ = yield from self._locate(number)
        return (yield from self.store._reset_pin_failures(info.id, index))

    # ---- public methods, generated from the operations by tools/facades.py ----
    def create_series(
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
        return self._drive(
            self._create_series(series, enabled=enabled, details=details, exists_ok=exists_ok)
        )

    @overload
    def series(self, series: SeriesRef) -> SeriesInfo: ...
    @overload
    @deprecated("CardService.series: ref= is series= now")
    def series(self, *, ref: SeriesRef) -> SeriesInfo: ...
    @renamed("CardService.series", ref="series")
    def series(self, series: SeriesRef) -> SeriesInfo:
        """A series (by id or code) and its state."""
        return self._drive(self._series(series))

    def list_series(self) -> list[SeriesInfo]:
        """Every series with its state, oldest first."""
        return self._drive(self._list_series())

    @overload
    def series_details(self, series: SeriesRef) -> SeriesDetails: ...
    @overload
    @deprecated("CardService.series_details: ref= is series= now")
    def series_details(self, *, ref: SeriesRef) -> SeriesDetails: ...
    @renamed("CardService.series_details", ref="series")
    def series_details(self, series: SeriesRef) -> SeriesDetails:
        """The series with the details it was created with."""
        return self._drive(self._series_details(series))

    def count_reservations(self, series: SeriesRef) -> int:
        """How many reservations (generation requests) the series has had."""
        return self._drive(self._count_reservations(series))

    @deprecated("CardService.reservations is now CardService.count_reservations")
    def reservations(self, ref: SeriesRef) -> int:
        """Deprecated: ``count_reservations`` under its old name (it warns)."""
        return self._drive(self._count_reservations(ref))

    @overload
    def set_enabled(self, series: SeriesRef, enabled: bool) -> None: ...
    @overload
    @deprecated("CardService.set_enabled: ref= is series= now")
    def set_enabled(self, *, ref: SeriesRef, enabled: bool) -> None: ...
    @renamed("CardService.set_enabled", ref="series")
    def set_enabled(self, series: SeriesRef, enabled: bool) -> None:
        """Allow or stop generation (stopped: 703)."""
        return self._drive(self._set_enabled(series, enabled))

    @overload
    def reserve(
        self,
        series: SeriesRef,
        count: Any,
        status_label: Any = DEFAULT_LABEL,
        *,
        request_id: str | None = None,
        actor: str | None = None,
    ) -> Block: ...
    @overload
    @deprecated("CardService.reserve: series_id= is series= now")
    def reserve(
        self,
        *,
        series_id: SeriesRef,
        count: Any,
        status_label: Any = DEFAULT_LABEL,
        request_id: str | None = None,
        actor: str | None = None,
    ) -> Block: ...
    @renamed("CardService.reserve", series_id="series")
    def reserve(
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
        return self._drive(
            self._reserve(series, count, status_label, request_id=request_id, actor=actor)
        )

    @overload
    def generate(
        self,
        series: SeriesRef,
        count: Any,
        status_label: Any = DEFAULT_LABEL,
        *,
        request_id: str | None = None,
        actor: str | None = None,
    ) -> Generated: ...
    @overload
    @deprecated("CardService.generate: series_id= is series= now")
    def generate(
        self,
        *,
        series_id: SeriesRef,
        count: Any,
        status_label: Any = DEFAULT_LABEL,
        request_id: str | None = None,
        actor: str | None = None,
    ) -> Generated: ...
    @renamed("CardService.generate", series_id="series")
    def generate(
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
        return self._drive(
            self._generate(series, count, status_label, request_id=request_id, actor=actor)
        )

    @overload
    def generation_log(
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
    @deprecated("CardService.generation_log: series_id= is series= now")
    def generation_log(
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
    @renamed("CardService.generation_log", series_id="series")
    def generation_log(
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
        return self._drive(
            self._generation_log(
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
    def reservation(
        self, series: SeriesRef, *, request_id: str | None = None, ledger_id: int | None = None
    ) -> GenerationEntry: ...
    @overload
    @deprecated("CardService.reservation: series_id= is series= now")
    def reservation(
        self, *, series_id: SeriesRef, request_id: str | None = None, ledger_id: int | None = None
    ) -> GenerationEntry: ...
    @renamed("CardService.reservation", series_id="series")
    def reservation(
        self, series: SeriesRef, *, request_id: str | None = None, ledger_id: int | None = None
    ) -> GenerationEntry:
        """One past reservation of the series, by its request id or its ledger id
        (exactly one of them); none: 710."""
        return self._drive(self._reservation(series, request_id=request_id, ledger_id=ledger_id))

    @overload
    def export(
        self, series: SeriesRef, *, request_id: str | None = None, ledger_id: int | None = None
    ) -> Block: ...
    @overload
    @deprecated("CardService.export: series_id= is series= now")
    def export(
        self, *, series_id: SeriesRef, request_id: str | None = None, ledger_id: int | None = None
    ) -> Block: ...
    @renamed("CardService.export", series_id="series")
    def export(
        self, series: SeriesRef, *, request_id: str | None = None, ledger_id: int | None = None
    ) -> Block:
        """The block of a past reservation (``reservation``), to write its numbers again;
        it reserves nothing.

        A part of it released unused (never handed out) is left out, so that no number
        reads as unused once written: the block is what its caller still holds, as a
        replay of its request id answers (``Store.reserve``). Released whole, or in its
        middle (two ranges left): 705."""
        return self._drive(self._export(series, request_id=request_id, ledger_id=ledger_id))

    def labels(self) -> list[Label]:
        """Every label, by status then name."""
        return self._drive(self._labels())

    def add_label(
        self, label: str, status: str, *, default: bool = False, exists_ok: bool = False
    ) -> None:
        """Add a status label for ``status``; an existing one is 3019, or fine with
        ``exists_ok`` when it stands for the same status."""
        return self._drive(self._add_label(label, status, default=default, exists_ok=exists_ok))

    def set_default_label(self, status: str, label: str) -> None:
        """Make ``label`` the one a change to ``status`` records when none is named."""
        return self._drive(self._set_default_label(status, label))

    def lookup(self, number: Any) -> Lookup:
        """Where ``number`` stands: its series, index, and whether it was handed out,
        released unused, or not reserved yet. No series has it: 3010."""
        return self._drive(self._lookup(number))

    def lookup_many(self, numbers: Iterable[Any], *, lenient: bool = False) -> list[Lookup | None]:
        """``lookup`` of many numbers at once: one answer per number, in order, None where
        no series has it (a batch is answered whole, not stopped at its first unknown
        number). ``lenient`` reads them as typed at a till (``CardSeries.normalize``)."""
        return self._drive(self._lookup_many(numbers, lenient=lenient))

    def suggest(self, number: str) -> list[Lookup]:
        """The issued numbers one typing slip away from ``number`` (one character
        replaced, or two neighbours swapped, read leniently), in any series of its
        length: for support staff facing a number that fails its check."""
        return self._drive(self._suggest(number))

    def card(self, number: Any) -> Card:
        """A card's details: series, index, status, label, generation time, customer."""
        return self._drive(self._card(number))

    def change_status(
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
        return self._drive(
            self._change_status(number, status_label, customer_id=customer_id, actor=actor)
        )

    def issue(self, number: str, customer_id: str, *, actor: str | None = None) -> Card:
        """Give a generated card to a customer: it becomes ACTIVE (``actor`` as in
        ``change_status``)."""
        return self._drive(self._issue(number, customer_id, actor=actor))

    def suspend(self, number: str, *, actor: str | None = None) -> Card:
        """Suspend an active card (SUSPENDED): it can be reactivated."""
        return self._drive(self._suspend(number, actor=actor))

    def reactivate(self, number: str, *, actor: str | None = None) -> Card:
        """Make a suspended card ACTIVE again."""
        return self._drive(self._reactivate(number, actor=actor))

    def expire(self, number: str, *, actor: str | None = None) -> Card:
        """Expire an active or suspended card (EXPIRED, for good)."""
        return self._drive(self._expire(number, actor=actor))

    def delete(self, number: str, *, actor: str | None = None) -> Card:
        """Delete an active or suspended card (DELETED: it can change no more)."""
        return self._drive(self._delete(number, actor=actor))

    def status_log(
        self, number: Any, *, limit: int = DEFAULT_LIMIT, after: int = 0
    ) -> Page[StatusChange]:
        """A card's status changes, oldest first, a page at a time (as ``generation_log``)."""
        return self._drive(self._status_log(number, limit=limit, after=after))

    def verify_pin(self, number: Any, pin: Any) -> bool:
        """Whether ``pin`` is the PIN of the generated card ``number`` (compared in
        constant time). A wrong PIN counts against the card: after its series'
        ``pin_attempts`` failures in a row, checks are refused (713, ``PinLocked``),
        the right PIN too, until an operator's ``reset_pin``. A right PIN forgets the
        failures. The PIN is never in an error, a log or the ledger."""
        return self._drive(self._verify_pin(number, pin))

    def guess_odds(self, series: SeriesRef, *, rate: float | None = None) -> GuessOdds:
        """How long ``series`` lasts against a bot that tries well-formed numbers (and
        PINs) at ``rate`` a second (default: the server's default per-client rate
        limit), with warnings for what makes it weaker (``cardseq.odds``)."""
        return self._drive(self._guess_odds(series, rate=rate))

    def series_with_pins(self, series: SeriesRef) -> CardSeries:
        """The series bound to its PIN key, for writing PINs: 3000 for a series without
        PINs, 706 when no key source has the PIN key, 707 for another key. A print run
        asks before it reserves, so that a missing key loses no numbers."""
        return self._drive(self._series_with_pins(series))

    def with_pins(self, block: Block) -> Block:
        """``block`` bound to the PIN keys of its cards, as the store holds them now: ask
        after the block is reserved, so that a move to a new PIN key made before it (by
        any process) is seen. 3000 without PINs, 706 or 707 for a key."""
        return self._drive(self._with_pins(block))

    def rotate_pin_key(self, series: SeriesRef, pin_key_id: str) -> int:
        """Give the cards reserved from now on the PIN key ``pin_key_id`` (a key source
        must have it); return the first index under it. Cards before keep their PINs."""
        return self._drive(self._rotate_pin_key(series, pin_key_id))

    def pin_keys(self, series: SeriesRef) -> list[tuple[int, str, str]]:
        """(first index, key id, fingerprint) of each PIN key the series has had."""
        return self._drive(self._pin_keys(series))

    def pin_failures(self, number: Any) -> int:
        """How many PIN checks of card ``number`` failed in a row (its series'
        ``pin_attempts`` of them lock it)."""
        return self._drive(self._pin_failures(number))

    def reset_pin(self, number: Any) -> int:
        """Unlock card ``number``: forget its failed PIN checks; return how many."""
        return self._drive(self._reset_pin(number))

    # ---- end of generated methods ----


def _generation_entry(info: SeriesInfo, e: LedgerEntry) -> GenerationEntry:
    return GenerationEntry(
        e.id,
        info.id,
        e.start,
        e.count,
        e.status_label,
        e.request_id,
        e.created_at,
        info.series.format(e.start),
        info.series.format(e.stop - 1),
        e.actor,
    )


__all__ = ["STATUSES", "TRANSITIONS", "CardService", "Page"]
