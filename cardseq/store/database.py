"""The database under a store: its transactions and statements, in a backend's dialect.

What every piece of a store (registry, cards, schema) needs from the backend, and
nothing else: a cursor in a transaction, the driver's placeholder, and how the backend
stores and compares indexes (they may exceed 64 bits).
"""

from __future__ import annotations

import abc
import contextlib
from typing import Any, Self, TypeVar

from ..errors import StoreError
from .ops import Body, Grouped, Op, Statement, Step, Transaction, Work, drive, play, single

T = TypeVar("T")


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
    def _table_exists(self, name: str) -> Body[bool]:
        """Whether the table ``name`` exists (read from the catalog: no privilege on
        the table needed)."""

    @abc.abstractmethod
    def _grouped(self, request: Any) -> Any:
        """Commit one checked reservation with those queued with it (group commit)."""

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

    # Statements for operation bodies (``ops``): ``row = yield self._fetch_one(...)``.
    def _fetch_one(self, text: str, args: Any = ()) -> Statement:
        return Statement(self._sql(text), args, "one")

    def _fetch_all(self, text: str, args: Any = ()) -> Statement:
        return Statement(self._sql(text), args, "all")

    def _rowcount(self, text: str, args: Any = ()) -> Statement:
        """A statement whose row count comes back."""
        return Statement(self._sql(text), args, "rowcount")

    def _do(self, text: str, args: Any = ()) -> Statement:
        return Statement(self._sql(text), args, "none")

    def _read_one(self, text: str, args: Any = ()) -> Transaction[Any]:
        """A read transaction of one statement: its first row."""
        return Transaction(single(self._fetch_one(text, args)))

    def _read_all(self, text: str, args: Any = ()) -> Transaction[Any]:
        """A read transaction of one statement: all its rows."""
        return Transaction(single(self._fetch_all(text, args)))

    def _drive(self, op: Op[T]) -> T:
        """Run an operation here, on the calling thread: the sync API."""
        return drive(self._perform, op)

    def _perform(self, step: Step) -> Any:
        if isinstance(step, Transaction):
            with self._transaction() if step.write else self._reading() as cur:
                return play(cur, step.body)
        if isinstance(step, Grouped):
            return self._grouped(step.request)
        assert isinstance(step, Work)
        return step.call()

    def _play(self, cur: Any, body: Body[T]) -> T:
        """Run a body on a cursor already in a transaction (opening, tests)."""
        return play(cur, body)

    def _number(self, column: str) -> str:
        """``column`` (an index or count) as SQL compares it numerically."""
        return column
