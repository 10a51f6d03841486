"""Store operations written once, run by a sync driver or an async one (sans-IO).

An operation is a generator: it yields the steps it needs and receives their results,
and never touches a connection itself. A step is a ``Transaction`` (a body of
``Statement``s run in one database transaction, reading or writing), a ``Grouped``
reservation (committed with whatever else is queued: group commit), or ``Work`` (plain
Python that may take a while, such as formatting a million numbers). ``Store`` runs
operations on its calling thread (``Database._drive``); ``cardseq.aio`` runs the same
generators from an event loop. So the rules and the SQL exist once, in the operations.

``@operation`` marks such a generator method (``_reserve``); the public method a caller
uses (``reserve``) is generated from it: on a store it runs the operation to completion
and returns the result, on its ``cardseq.aio`` twin it awaits it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Generator
from typing import Any, Generic, Literal, TypeVar

from ..errors import InvalidArgument

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

Fetch = Literal["one", "all", "rowcount", "columns", "none"]


@dataclasses.dataclass(frozen=True, slots=True)
class Statement:
    """One SQL statement (in the driver's placeholder style) and what to send back:
    a row, all rows, the row count, the column names, or nothing."""

    sql: str
    args: Any = ()
    fetch: Fetch = "none"


#: a transaction's body: statements in, their results back, its result at the end
Body = Generator[Statement, Any, T]


@dataclasses.dataclass(frozen=True, slots=True)
class Transaction(Generic[T]):
    """Run ``body`` in one transaction (a write transaction when ``write``)."""

    body: Body[T]
    write: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class Grouped:
    """A checked reservation, to commit together with others queued (group commit)."""

    request: Any


@dataclasses.dataclass(frozen=True, slots=True)
class Work(Generic[T]):
    """Python that may take a while (``heavy``: the async API runs it on a thread, so
    that the event loop keeps running)."""

    call: Callable[[], T]
    heavy: bool = True


Step = Transaction[Any] | Grouped | Work[Any]
#: an operation: steps out, their results (or errors, thrown in) back
Op = Generator[Step, Any, T]


def single(statement: Statement) -> Body[Any]:
    """A body of one statement: its result."""
    return (yield statement)


def play(cur: Any, body: Body[T]) -> T:
    """Run ``body`` on a DB-API cursor inside a transaction: the sync body driver."""
    try:
        statement = next(body)
        while True:
            statement = body.send(execute(cur, statement))
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]


def execute(cur: Any, statement: Statement) -> Any:
    check_text(statement)
    cur.execute(statement.sql, statement.args)
    return fetched(cur, statement.fetch)


def check_text(statement: Statement) -> None:
    """Refuse a statement's text argument no database can store (``check_storable``),
    before the driver fails on it with an encoding error."""
    args = statement.args.values() if isinstance(statement.args, dict) else statement.args
    for value in args:
        check_storable(value, "value")


def check_storable(value: object, field: str) -> None:
    """Refuse (701, naming ``field``) text no database can store: a lone surrogate,
    what Python makes of bytes that are not UTF-8, from a command line or a file."""
    if isinstance(value, str) and not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidArgument.bad(
                field, value, "is not text: it holds a lone surrogate"
            ) from None


def fetched(cur: Any, fetch: Fetch) -> Any:
    """What ``fetch`` asks of a cursor that has just executed (the fetches of psycopg's
    async cursor are coroutines: ``cardseq.aio`` has its own)."""
    if fetch == "one":
        return cur.fetchone()
    if fetch == "all":
        return cur.fetchall()
    if fetch == "rowcount":
        return cur.rowcount
    if fetch == "columns":
        return [d[0] for d in cur.description]
    return None


def operation(op: F) -> F:
    """Mark a generator method as an operation. ``tools/facades.py`` writes, from its
    signature and docstring, the public method that runs it (``name`` for ``_name``) on
    the sync class, and the ``async def`` that awaits it on the ``cardseq.aio`` twin: so
    every public method is a real, typed ``def`` that mypy, ``help()`` and the API
    reference read, and the rules still exist once."""
    op.__cardseq_operation__ = True  # type: ignore[attr-defined]
    return op


def drive(perform: Callable[[Step], Any], op: Op[T]) -> T:
    """Run ``op`` to its result, each step by ``perform`` (an error a step raises is
    thrown into the operation, which may handle it)."""
    try:
        step = next(op)
        while True:
            try:
                result = perform(step)
            except BaseException as error:
                step = op.throw(error)
            else:
                step = op.send(result)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]


__all__ = [
    "Body",
    "Grouped",
    "Op",
    "Statement",
    "Step",
    "Transaction",
    "Work",
    "check_storable",
    "check_text",
    "drive",
    "execute",
    "fetched",
    "operation",
    "play",
    "single",
]
