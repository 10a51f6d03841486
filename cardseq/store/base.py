"""What every store does, in SQL that SQLite and PostgreSQL both run.

A store keeps the series registry (``registry``), the ledger (``ledger``) and the
reservations that write it (``reservations``), status labels and the state of cards
(``cards``), in the tables of ``schema``. Each of its database methods is an operation
(``ops``), which the store runs on the calling thread and ``cardseq.aio`` from an
event loop. Its one promise: a block of
indexes is committed as reserved, atomically and durably, before any number of it
reaches the caller. The backends differ in how they connect, in column types, and in
the single step that advances a series (``_take``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from ..errors import CardSeqError, StoreError
from .cards import Cards
from .database import DuplicateRequest
from .ops import Op, Transaction, operation
from .records import (
    DEFAULT_LABEL,
    DEFAULT_LIMIT,
    MAX_ID,
    MAX_LIMIT,
    STATUSES,
    CardState,
    LedgerEntry,
    Page,
    SeriesInfo,
    SeriesRef,
    check_label,
    check_request_id,
    now,
    page_bounds,
)
from .reservations import Reservations
from .schema import SCHEMA_VERSION, check_schema, migrate, read_version, schema, schema_version


class Store(Reservations, Cards):
    """A series registry and block ledger over a SQL database."""

    #: the database's schema version when the store opened (None: a new database)
    schema_found: int | None = None

    @operation
    def _schema_version(self) -> Op[int | None]:
        """The database's schema version now: one cheap read, which health checks use
        to see that the database answers."""
        return (yield Transaction(read_version(self)))  # type: ignore[no-any-return]

    # ---- public methods, generated from the operations by tools/facades.py ----
    def schema_version(self) -> int | None:
        """The database's schema version now: one cheap read, which health checks use
        to see that the database answers."""
        return self._drive(self._schema_version())

    # ---- end of generated methods ----

    @property
    def private(self) -> bool:
        """Whether the database is this store object's alone (SQLite in memory): another
        process opening the same URL gets a database of its own, empty, and would hand
        out the same numbers again."""
        return False

    @property
    def files(self) -> tuple[str, ...]:
        """The files on this host that the database lives in, as its engine names them
        (none for a database server's, or one in memory): what no output may overwrite."""
        return ()


def _never(error: BaseException) -> bool:
    return False


def _none(error: BaseException) -> CardSeqError | None:
    return None


@contextlib.contextmanager
def translate(
    *errors: type[BaseException],
    duplicate_request: Callable[[BaseException], bool] = _never,
    refused: Callable[[BaseException], CardSeqError | None] = _none,
) -> Iterator[None]:
    """Turn a driver's ``errors`` into ``StoreError`` (code 500), those that
    ``duplicate_request`` recognises (the ledger's unique request ids) into
    ``DuplicateRequest``, which ``reserve`` answers, and those that ``refused`` names
    (a server the store will not write to) into its error."""
    try:
        yield
    except errors as error:
        refusal = refused(error)
        if refusal is not None:
            raise refusal from error
        kind = DuplicateRequest if duplicate_request(error) else StoreError
        raise kind(f"store error: {type(error).__name__}: {error}".strip()) from error


__all__ = [
    "DEFAULT_LABEL",
    "DEFAULT_LIMIT",
    "MAX_ID",
    "MAX_LIMIT",
    "SCHEMA_VERSION",
    "STATUSES",
    "CardState",
    "DuplicateRequest",
    "LedgerEntry",
    "Page",
    "SeriesInfo",
    "SeriesRef",
    "Store",
    "check_label",
    "check_request_id",
    "check_schema",
    "migrate",
    "now",
    "page_bounds",
    "schema",
    "schema_version",
    "translate",
]
