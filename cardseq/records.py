"""The typed records that ``CardService`` returns.

Plain frozen values with Python names: a shell (the CLI, the HTTP server) renders them
in its own form, so the reference API's camelCase lives only in ``server/wire.py``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from .deprecation import deprecated

if TYPE_CHECKING:  # the store imports Lookup from here
    from .store.records import LedgerEntry, SeriesInfo

#: Where an index of a series stands: handed out by a reservation, reserved then
#: released unused (never handed out, never reused), or not reached yet.
State = Literal["reserved", "released", "unreserved"]


@dataclass(frozen=True)
class Lookup:
    """Which series has ``number``, its index, and its state. ``entry`` is the ledger
    row that handed it out: set exactly when ``state`` is ``"reserved"``."""

    number: str
    info: SeriesInfo
    index: int
    state: State
    entry: LedgerEntry | None = None


@dataclass(frozen=True)
class Card:
    """A generated card: where it comes from and its status now."""

    number: str
    series_id: int
    series_code: str
    index: int
    status: str
    label: str
    generated_on: dt.datetime
    customer_id: str | None
    updated_on: dt.datetime | None  # None while it has the status it was generated with


@dataclass(frozen=True)
class StatusChange:
    """One entry of a card's status log."""

    number: str
    from_status: str
    to_status: str
    label: str
    customer_id: str | None
    changed_on: dt.datetime
    actor: str | None = None  # who changed it; None on changes older than actors


@dataclass(frozen=True)
class GenerationEntry:
    """One generation request of a series' log (a reservation in the ledger)."""

    id: int  # the ledger row: a page's ``after`` cursor counts in these
    series_id: int
    start: int
    count: int
    label: str
    request_id: str | None
    generated_on: dt.datetime
    first_number: str
    last_number: str
    actor: str | None = None  # who reserved it; None on reservations older than actors


@dataclass(frozen=True)
class Notice:
    """A warning that does not stop a request."""

    code: int
    message: str


@dataclass(frozen=True)
class Generated:
    """The numbers of one generation request, newest first, and its warnings."""

    numbers: list[str]
    warnings: tuple[Notice, ...] = ()


@dataclass(frozen=True)
class SeriesDetails:
    """A series with the details it was created with (free JSON-able fields)."""

    info: SeriesInfo
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Label:
    """A status label: the status it stands for, and whether it is that status' default."""

    name: str
    status: str
    default: bool

    @deprecated("a Label is a record: read .name, .status, .default")
    def __iter__(self) -> Iterator[str | bool]:
        """Unpacking, as of the tuples ``Store.labels()`` answered before."""
        return iter((self.name, self.status, self.default))
