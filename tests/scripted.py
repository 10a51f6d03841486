"""A scripted performer: it plays the database for one operation, in memory.

Operations never touch a connection (``cardseq/store/ops.py``): they yield steps and
receive results. So their control flow (replays, retries, where ``Work`` runs, errors
thrown in, group-commit outcomes) can be tested without a database, by answering each
step from a script, in the order the operation asks. h11's ``ConnectionPair`` is the
model: both sides in memory, every exchange checked.

A script is a list of answers, each consumed by one statement (``sql``: a fragment
its SQL must contain, and the rows or the error to send back), one group-commit step
(``grouped``) or one ``Work`` step (``work``). The store is a real ``SQLiteStore``
class, for its SQL, built without opening a database.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
from typing import Any

from cardseq import CardSeries
from cardseq.store.ops import Grouped, Op, Statement, Transaction, Work, drive
from cardseq.store.reservations import Reservations
from cardseq.store.sqlite import SQLiteStore

WHEN = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
LABELS = [
    ("NOT_ISSUED", "NOT_ISSUED", 1),
    ("ACTIVE", "ACTIVE", 1),
    ("SUSPENDED", "SUSPENDED", 1),
    ("EXPIRED", "EXPIRED", 1),
    ("DELETED", "DELETED", 1),
]


@dataclasses.dataclass
class Answer:
    step: str  # "sql", "grouped" or "work"
    match: str = ""
    result: Any = None
    error: BaseException | None = None


def sql(match: str, rows: Any = (), *, error: BaseException | None = None) -> Answer:
    """Answer the next statement, whose SQL contains ``match``, with ``rows`` (as the
    statement fetches them: the first or None, all, or ``rows`` itself as a count)."""
    return Answer("sql", match, rows, error)


def grouped(result: Any = None, *, error: BaseException | None = None) -> Answer:
    """Answer the next group-commit step with ``result`` (a block) or ``error``."""
    return Answer("grouped", "", result, error)


def work(*, error: BaseException | None = None) -> Answer:
    """Run the next ``Work`` step's call, or raise ``error`` in its place."""
    return Answer("work", "", None, error)


class Script:
    """The performer: ``drive(script, op)`` runs ``op`` against the answers."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = collections.deque(answers)
        self.steps: list[str] = []  # what the operation asked, in order
        self.heavy: list[bool] = []  # each Work step's ``heavy``
        self.writes: list[bool] = []  # each transaction's ``write``

    def _next(self, step: str, what: str) -> Answer:
        assert self.answers, f"the operation asked for more than the script has: {what}"
        answer = self.answers.popleft()
        assert answer.step == step, f"expected {answer.step} {answer.match!r}, got {what}"
        return answer

    def __call__(self, step: Any) -> Any:
        if isinstance(step, Transaction):
            self.writes.append(step.write)
            return self._play(step.body)
        if isinstance(step, Grouped):
            self.steps.append("grouped")
            answer = self._next("grouped", "a group commit")
        else:
            assert isinstance(step, Work)
            self.steps.append("work")
            self.heavy.append(step.heavy)
            answer = self._next("work", "work")
            if answer.error is None:
                return step.call()
        if answer.error is not None:
            raise answer.error
        return answer.result

    def _play(self, body: Any) -> Any:
        try:
            statement: Statement = next(body)
            while True:
                self.steps.append(statement.sql)
                answer = self._next("sql", repr(statement.sql))
                assert answer.match in statement.sql, f"{answer.match!r} not in {statement.sql!r}"
                if answer.error is not None:
                    statement = body.throw(answer.error)
                else:
                    statement = body.send(_fetched(statement, answer.result))
        except StopIteration as stop:
            return stop.value

    def run(self, op: Op[Any]) -> Any:
        """``op``'s result (or error), checking that every answer was used."""
        result = drive(self, op)
        assert not self.answers, f"unused answers: {list(self.answers)}"
        return result


def _fetched(statement: Statement, rows: Any) -> Any:
    if statement.fetch == "one":
        return rows[0] if rows else None
    if statement.fetch == "all":
        return list(rows)
    if statement.fetch == "rowcount":
        return rows if isinstance(rows, int) else len(rows)
    return None


class ScriptedStore(SQLiteStore):
    """SQLite's SQL and rules, without a database: every operation must be run by a
    ``Script`` (``script.run(store._op(...))``)."""

    def __init__(self) -> None:  # no connection, no migration
        Reservations.__init__(self)
        self.path, self.url, self.busy_timeout = ":memory:", "scripted://", 0.0

    def _drive(self, op: Op[Any]) -> Any:
        raise AssertionError("a scripted store runs operations through a Script only")


def series_row(series: CardSeries, series_id: int = 1, next_index: int = 0) -> tuple[Any, ...]:
    """``series`` as a row of ``SERIES_COLUMNS``."""
    return (
        series_id,
        series.code,
        series.prefix,
        series.suffix,
        series.length,
        series.offset,
        series.method,
        None,
        1,
        next_index,
        WHEN.isoformat(),
        series.key_id,
        None,
        None if series.cipher == "siphash" else series.cipher.value,
        None if series.alphabet.digits else series.alphabet.symbols,
        None,
        ",".join(series.blocked) or None,
        series.pin_length or None,
        series.pin_attempts if series.pin_length else None,
        series.pin_key_id,
        None,
    )


def ledger_row(
    ledger_id: int,
    start: int,
    count: int,
    *,
    series_id: int = 1,
    label: str = "NOT_ISSUED",
    kind: str = "reserved",
    request_id: str | None = None,
    actor: str | None = "tester@host",
) -> tuple[Any, ...]:
    """A row of ``LEDGER_COLUMNS``."""
    return (ledger_id, series_id, start, count, label, kind, request_id, WHEN.isoformat(), actor)
