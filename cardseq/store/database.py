"""The database under a store: its transactions and statements, in a backend's dialect.

What every piece of a store (registry, cards, schema) needs from the backend, and
nothing else: a cursor in a transaction, the driver's placeholder, and how the backend
stores and compares indexes (they may exceed 64 bits).
"""

from __future__ import annotations

import abc
import contextlib
from typing import Any, Self

from ..errors import StoreError


class DuplicateRequest(StoreError):
    """The ledger already holds this request id: another caller's reservation with it
    committed first. ``reserve`` answers it by replaying that caller's block; it reaches
    a caller (code 500) only if that block cannot be read."""


class Database(abc.ABC):
    """A SQL database reached through a DB-API driver."""

    #: placeholder of the backend's DB-API driver
    param = "?"
    #: where the store is, for messages (never with a password)
    url = ""
    #: indexes below this compare in SQL (see ``_number``); above, in Python
    sql_index_limit: int | None = None

    @abc.abstractmethod
    def _transaction(self) -> contextlib.AbstractContextManager[Any]:
        """A cursor inside a write transaction: committed on exit, rolled back on error.

        Database errors come out as ``StoreError``; a request id the ledger holds
        already, as ``DuplicateRequest``.
        """

    @abc.abstractmethod
    def _reading(self) -> contextlib.AbstractContextManager[Any]:
        """A cursor inside a transaction that only reads: it takes no write lock, so
        reads never queue behind a writer. Errors as in ``_transaction``."""

    @abc.abstractmethod
    def _to_db(self, value: int) -> Any:
        """An index or count as the database stores it (it may exceed 64 bits)."""

    @abc.abstractmethod
    def _table_exists(self, cur: Any, name: str) -> bool:
        """Whether the table ``name`` exists (read from the catalog: no privilege on
        the table needed)."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the connections."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _sql(self, text: str) -> str:
        return text if self.param == "?" else text.replace("?", self.param)

    def _run(self, cur: Any, text: str, args: tuple[Any, ...] = ()) -> Any:
        cur.execute(self._sql(text), args)
        return cur

    def _number(self, column: str) -> str:
        """``column`` (an index or count) as SQL compares it numerically."""
        return column
