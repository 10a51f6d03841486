"""The reference domain's operations over any store: generation in the reference API's
shape, status labels, and a card's life from generation to expiry.

A generated card has no row of its own: its status comes from the label of the ledger
block that generated it. Only cards whose status changed are stored, so storage grows
with the cards in use, not with the cards generated.
"""

from __future__ import annotations

from typing import Any

from .block import Block, check_fits
from .errors import (
    CardNotFound,
    CardSeqError,
    CountTooLarge,
    InvalidStatusLabel,
    StatusUnchanged,
    TransitionNotAllowed,
    show,
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

# Where each status may go (documented rules: a generated card can only be issued;
# an expired card cannot be deleted; a deleted card cannot change at all).
TRANSITIONS = {
    "NOT_ISSUED": {"ACTIVE"},
    "ACTIVE": {"SUSPENDED", "EXPIRED", "DELETED"},
    "SUSPENDED": {"ACTIVE", "EXPIRED", "DELETED"},
    "EXPIRED": set(),
    "DELETED": set(),
}


def reserve_numbers(
    store: Store,
    series: SeriesRef,
    count: Any,
    *,
    status_label: Any = DEFAULT_LABEL,
    request_id: str | None = None,
    order: str = "asc",
) -> tuple[Block, list[str]]:
    """Reserve ``count`` numbers and format them as a list, for callers that hold them.

    A list too big for memory is refused (3026) before anything is reserved. If the
    formatting fails anyway, the block is released (retired, never handed out) unless
    a request id lets a retry get it again.
    """
    check_fits(store.get_series(series), positive_count(count))
    block = store.reserve(series, count, status_label=status_label, request_id=request_id)
    try:
        return block, block.to_list(order)
    except (MemoryError, CountTooLarge) as error:
        if request_id is None:
            store.release(series, block.start, block.count, status_label)
        fate = "released unused" if request_id is None else "kept for a retry with its request id"
        raise CountTooLarge.bad(
            "count", count, f"ran out of memory while formatting: the block was {fate}"
        ) from error


class CardService:
    """Cards and series as the reference API sees them, over ``store``.

    ``max_count`` caps one generation request (a server setting, error 3026); the
    library sets none.
    """

    def __init__(self, store: Store, *, max_count: int | None = None) -> None:
        self.store = store
        self.max_count = max_count

    # ---- series ----------------------------------------------------------------------

    def create_series(
        self, series: CardSeries, *, enabled: bool = True, details: dict[str, Any] | None = None
    ) -> int:
        return self.store.create_series(series, enabled=enabled, details=details)

    def series_details(self, series_id: int | str) -> dict[str, Any]:
        """The series as the reference API shows it, with the details it was created with."""
        info = self.store.info(series_id)
        s = info.series
        return {
            "id": info.id,
            "code": s.code,
            "cardGenerationConfiguration": {
                "prefix": s.prefix,
                "suffix": s.suffix,
                "offset": s.offset,
                "length": s.length,
                "method": s.method.value,
            },
            "cardGenerationEnabled": info.enabled,
            **self.store.series_details(info.id),
        }

    # ---- generation ------------------------------------------------------------------

    def generate(
        self,
        series_id: Any,
        count: Any,
        status_label: Any = DEFAULT_LABEL,
        *,
        request_id: str | None = None,
    ) -> dict[str, Any]:
        """Reserve and format ``count`` numbers: ``{"data", "warnings", "errors"}``.

        The numbers come newest first, as in the reference. Errors do not raise: they
        come back in ``errors`` with ``data`` empty. A domain error reserves nothing; for
        a store failure (500) see ``StoreError``.
        """
        try:
            count = positive_count(count)
            if self.max_count is not None and count > self.max_count:
                raise CountTooLarge.bad(
                    "count", count, f"is above the maximum of {self.max_count} per request"
                )
            _, numbers = reserve_numbers(
                self.store,
                series_id,
                count,
                status_label=status_label,
                request_id=request_id,
                order="desc",
            )
        except CardSeqError as error:
            return {"data": [], "warnings": [], "errors": [error.to_dict()]}
        return {"data": numbers, "warnings": [], "errors": []}

    def generation_log(
        self, series_id: int | str, *, limit: int = DEFAULT_LIMIT, after: int = 0
    ) -> Page[dict[str, Any]]:
        """The series' generation requests, oldest first, a page at a time: up to
        ``limit`` (1..1000, else 701) after the cursor ``after`` (a previous ``next``)."""
        info = self.store.info(series_id)
        page = self.store.ledger_page(info.id, kind="reserved", limit=limit, after=after)
        return page.map(
            lambda e: {
                "seriesId": info.id,
                "start": e.start,
                "count": e.count,
                "statusLabel": e.status_label,
                "requestId": e.request_id,
                "generatedOn": e.created_at.isoformat(),
                "firstNumber": info.series.format(e.start),
                "lastNumber": info.series.format(e.stop - 1),
            }
        )

    # ---- labels ----------------------------------------------------------------------

    def labels(self) -> list[dict[str, Any]]:
        return [
            {"label": name, "status": status, "default": default}
            for name, status, default in self.store.labels()
        ]

    def add_label(self, label: str, status: str, *, default: bool = False) -> None:
        self.store.add_label(label, status, default=default)

    def set_default_label(self, status: str, label: str) -> None:
        self.store.set_default_label(status, label)

    def _label_status(self, label: Any) -> str:
        for name, status, _ in self.store.labels():
            if name == label:
                return status
        raise InvalidStatusLabel.bad("statusLabel", label, "is not a known status label")

    def _default_label(self, status: str) -> str:
        return next(name for name, s, default in self.store.labels() if s == status and default)

    # ---- cards -----------------------------------------------------------------------

    def _locate(self, number: Any) -> tuple[SeriesInfo, int, LedgerEntry]:
        found = self.store.lookup(number) if isinstance(number, str) else None
        if found is None:
            raise CardNotFound.bad("cardNumber", number, "is not a number of any series")
        info, index, entry = found
        if entry is None:
            raise CardNotFound.bad("cardNumber", number, "has not been generated")
        return info, index, entry

    def card(self, number: Any) -> dict[str, Any]:
        """A card's details: series, index, status, label, generation time, customer."""
        info, index, entry = self._locate(number)
        state = self.store.card_state(info.id, index)
        if state is None:
            status, label, customer, updated = (
                self._label_status(entry.status_label),
                entry.status_label,
                None,
                None,
            )
        else:
            status, label, customer, updated = state
        return {
            "cardNumber": number,
            "seriesId": info.id,
            "seriesCode": info.series.code,
            "index": index,
            "status": status,
            "statusLabel": label,
            "generatedOn": entry.created_at.isoformat(),
            "customerId": customer,
            "updatedOn": updated.isoformat() if updated else None,
        }

    def change_status(
        self, number: Any, status_label: Any, *, customer_id: str | None = None
    ) -> dict[str, Any]:
        """Move a card to the status of ``status_label``, following the rules.

        Same status: 3012; a move the rules forbid: 3038; unknown label: 3017.
        """
        target = self._label_status(status_label)
        for _ in range(5):  # another caller may change the card between read and write
            card = self.card(number)
            current = card["status"]
            if target == current:
                raise StatusUnchanged.bad(
                    "statusLabel", status_label, f"has the card's current status {current}"
                )
            if target not in TRANSITIONS[current]:
                raise TransitionNotAllowed(
                    f"card {show(number)} cannot change from {current} to {target}",
                    field="statusLabel",
                    value=status_label,
                )
            if self.store.set_card_status(
                card["seriesId"], card["index"], current, target, status_label, customer_id
            ):
                return self.card(number)
        raise TransitionNotAllowed(
            f"card {show(number)} kept changing; try again", field="cardNumber", value=number
        )

    def issue(self, number: str, customer_id: str) -> dict[str, Any]:
        """Give a generated card to a customer: it becomes ACTIVE."""
        return self.change_status(number, self._default_label("ACTIVE"), customer_id=customer_id)

    def suspend(self, number: str) -> dict[str, Any]:
        return self.change_status(number, self._default_label("SUSPENDED"))

    def reactivate(self, number: str) -> dict[str, Any]:
        return self.change_status(number, self._default_label("ACTIVE"))

    def expire(self, number: str) -> dict[str, Any]:
        return self.change_status(number, self._default_label("EXPIRED"))

    def delete(self, number: str) -> dict[str, Any]:
        return self.change_status(number, self._default_label("DELETED"))

    def status_log(
        self, number: Any, *, limit: int = DEFAULT_LIMIT, after: int = 0
    ) -> Page[dict[str, Any]]:
        """A card's status changes, oldest first, a page at a time (as ``generation_log``)."""
        info, index, _ = self._locate(number)
        page = self.store.status_log(info.id, index, limit=limit, after=after)
        return page.map(
            lambda change: {
                "cardNumber": number,
                "fromStatus": change[0],
                "toStatus": change[1],
                "statusLabel": change[2],
                "customerId": change[3],
                "changedOn": change[4].isoformat(),
            }
        )


__all__ = ["STATUSES", "TRANSITIONS", "CardService", "Page"]
