"""The ``cardseq`` command: a thin shell over ``CardService`` and the block writer.

Every command opens the store named by ``--db`` (default ``$CARDSEQ_DB``, else
``sqlite:///cardseq.db`` in the working directory), without DDL but where ``_open``
says, calls a service method, and prints the result. A ``CardSeqError`` becomes
``error <code>: <message>`` on stderr and exit status 1; click's usage errors keep
their exit status 2.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import itertools
import math
import os
import shlex
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence, Set
from typing import IO, Any, TypeVar

import click

from . import __version__, manifest, odds, printrun, proof
from .block import MAX_BOX, ORDERS, Block
from .columns import BOX, FIELDS, FORMATS, PIN, POSITION, Column, parse_columns, row_format
from .errors import (
    CardSeqError,
    CountTooLarge,
    InvalidArgument,
    InvalidCount,
    InvalidLength,
    InvalidOffset,
    InvalidSeries,
    SchemaMismatch,
    StoreNotFound,
)
from .extras import needed, require
from .files import refuse_overwrite
from .keys import KEYS_FILE_ENV, check_key_id, new_key, write_keys_file
from .odds import DEFAULT_RATE
from .outfile import OutputFile, write_failed
from .params import OneOf, StrictFloat, StrictInt, When
from .records import GenerationEntry, Lookup, StatusChange
from .records_json import fields as json_fields
from .records_json import json_line
from .series import MAX_LENGTH, SEPARATORS, CardSeries, Cipher, Method
from .server.limits import (
    DEFAULT_MAX_BODY,
    DEFAULT_MAX_COUNT,
    MAX_BODY,
    MAX_BURST,
    MAX_CONNECTIONS,
    MAX_COUNT,
    MAX_RATE,
    MAX_TIMEOUT,
    MAX_WORKERS,
    MIN_RATE,
    MIN_TIMEOUT,
)
from .server.logs import FORMATS as LOG_FORMATS
from .server.logs import LEVELS as LOG_LEVELS
from .service import CardService
from .store import Store, default_url, open_store
from .store.base import (
    DEFAULT_LABEL,
    DEFAULT_LIMIT,
    MAX_ID,
    MAX_LIMIT,
    SCHEMA_VERSION,
    Page,
    SeriesInfo,
)


class CardSeqGroup(click.Group):
    """The root group: turns library errors and a closed pipe into a clean exit, once
    for every command, so that no user mistake ends in a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CardSeqError as error:
            click.echo(f"error {error.code}: {error.message}", err=True)
            ctx.exit(1)
        except BrokenPipeError:
            # The reader went away (`cardseq generate ... | head`): stop without a word.
            # Point stdout at /dev/null so the interpreter's final flush cannot complain.
            _silence_stdout()
            ctx.exit(1)

    #: the command groups under it are of this class too (their help as below)
    group_class = type

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Each command's whole summary, wrapped under its name, never cut to fit one line
        with '...' (click's way, which a long command name makes worse)."""
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit=1000)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _silence_stdout() -> None:
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


T = TypeVar("T")

#: the environment variable that names the store when --db does not
STORE_ENV = "CARDSEQ_DB"


def db_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--db URL`` on a command: each command can name its store, wherever it sits."""
    return click.option(
        "--db",
        "db",
        metavar="URL",
        default=None,
        help="Store URL: sqlite:///PATH, memory:// or postgresql://USER@HOST/DATABASE "
        f"[default: ${STORE_ENV}, else sqlite:///cardseq.db in the working directory]",
    )(command)


def keys_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--keys-file FILE`` on a command that formats or parses keyed numbers."""
    return click.option(
        "--keys-file",
        "keys_file",
        metavar="FILE",
        default=None,
        help="Keys of the RANDOM series: lines of ID = VALUE, in a file only its owner "
        "may read (mode 0600; see Keys and security in the documentation). "
        f"[default: ${KEYS_FILE_ENV}; each key also from $CARDSEQ_KEY_<ID>]",
    )(command)


def json_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--json`` on a command that prints records."""
    return click.option(
        "--json",
        "as_json",
        is_flag=True,
        help="Print JSON: each record an object, one a line, with the field names of the "
        "Python API's records.",
    )(command)


def _url(db: str | None) -> str:
    """The store's URL: ``--db``, else ``$CARDSEQ_DB``, else cardseq.db here. An empty
    ``--db`` is refused rather than read as not given (a hint's ``"$CARDSEQ_DB"`` run
    where the variable is unset must not open another store)."""
    if db == "":
        raise InvalidArgument.bad(
            "--db", db, f"names no store: give a URL, or leave --db out to use ${STORE_ENV}"
        )
    return db or default_url()


def _command_line(*words: str, keys: bool = True) -> str:
    """A command for the user to run next, as one line a shell runs as printed:
    ``words`` quoted, then the store and, when ``keys``, the keys file, the way this
    command got them. A value from the environment is written as its variable
    (``--db "$CARDSEQ_DB"``), which names where it came from and prints no password a
    URL there may hold; so is an option given the variable's value (a printed command
    run again prints the same), and another option is repeated. Without either, the
    default applies again (cardseq.db in the working directory)."""
    given = click.get_current_context().params
    sources = [("--db", "db", STORE_ENV)]
    if keys:
        sources.append(("--keys-file", "keys_file", KEYS_FILE_ENV))
    line = [shlex.quote(word) for word in words]
    for option, param, variable in sources:
        value, from_environment = given.get(param), os.environ.get(variable)
        if from_environment and value in (None, from_environment):
            line += [option, f'"${variable}"']
        elif value:
            line += [option, shlex.quote(value)]
    return " ".join(line)


#: set (1, true, yes, on), no command creates or migrates tables: not `db migrate`, not
#: the first `series create` on a new store, not `serve` (its --no-migrate)
NO_MIGRATE_ENV = "CARDSEQ_NO_MIGRATE"


def _no_migrate() -> bool:
    """Whether ``$CARDSEQ_NO_MIGRATE`` forbids DDL (read as click reads a flag's
    variable; any other value is 701, so that a typo never lets a migration through)."""
    value = os.environ.get(NO_MIGRATE_ENV, "")
    try:
        return bool(value) and bool(click.BOOL.convert(value, None, None))
    except click.BadParameter:
        raise InvalidArgument.bad(
            "$" + NO_MIGRATE_ENV, value, "must be one of 1, true, yes, on, 0, false, no, off"
        ) from None


def _open(db: str | None, keys_file: str | None = None, *, creates: bool = False) -> Store:
    """The store at ``db`` (or the default), opened without DDL, so that a database role
    that may only read and write rows runs every command but `db migrate`.

    A command that ``creates`` (`series create`, `labels add`: the first commands on a
    new store) makes a new store, or the tables of one that has none, unless
    ``$CARDSEQ_NO_MIGRATE`` says not to. Any other command leaves a missing SQLite file
    missing, and a store at another schema version waits for `cardseq db migrate`: the
    error says the command that makes or migrates it.
    """
    url, forbidden = _url(db), _no_migrate()
    try:
        return open_store(url, migrate=False, keys=keys_file)
    except SchemaMismatch as error:
        if error.found is not None and error.found > error.expected:
            raise  # a newer store: upgrade cardseq, no command here helps
        if not creates or error.found is not None or forbidden:
            raise _make_or_migrate(error) from None
    return open_store(url, keys=keys_file)


def _make_or_migrate(error: SchemaMismatch) -> SchemaMismatch:
    """``error`` (a store missing, without tables, or older) saying what makes or
    migrates the store: the `db migrate` command, complete."""
    migrate = _command_line("cardseq", "db", "migrate", keys=False)
    if isinstance(error, StoreNotFound):
        return StoreNotFound(
            f"no store at {error.path}: the file does not exist (check --db, ${STORE_ENV} and"
            " the working directory); cardseq series create makes a store with its first"
            f" series, and this an empty one: {migrate}",
            path=error.path,
            expected=error.expected,
            value=error.value,
        )
    has = "no cardseq tables" if error.found is None else f"schema version {error.found}"
    also = "; cardseq series create also makes them" if error.found is None else ""
    return SchemaMismatch(
        f"the database at {error.value} has {has}; this cardseq needs version"
        f" {error.expected}{also}. Migrate it, as a role that may create and alter tables,"
        f" with: {migrate}",
        found=error.found,
        expected=error.expected,
        value=error.value,
    )


@contextlib.contextmanager
def _opened(
    db: str | None, keys_file: str | None = None, *, creates: bool = False
) -> Iterator[CardService]:
    """The service over the store ``_open`` opens, with the keys of ``keys_file`` and the
    environment, closed when the command is done."""
    with _open(db, keys_file, creates=creates) as store:
        yield CardService(store)


@click.group(cls=CardSeqGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(
    __version__, "-V", "--version", prog_name="cardseq", message="%(prog)s %(version)s"
)
def main() -> None:
    """Card series and collision-free card numbers in bulk.

    Register series, reserve and write numbers, look them up, serve the HTTP API. The
    store is --db URL, else $CARDSEQ_DB, else cardseq.db in the working directory; the
    CLI page of the cardseq documentation describes every command.
    """


# ---- series ------------------------------------------------------------------------


@main.group()
def series() -> None:
    """Register, inspect, enable and disable card series."""


_METHODS = ", ".join(m.value for m in Method)


@series.command("create")
@click.argument("code")
@click.option(
    "--prefix",
    default="",
    show_default=True,
    help="Literal start of every number (0..50 ASCII letters or digits).",
)
@click.option(
    "--suffix",
    default="",
    show_default=True,
    help="Literal end of every number (0..50 ASCII letters or digits).",
)
@click.option(
    "--length",
    required=True,
    type=StrictInt(InvalidLength),
    metavar="N",
    help="Total length of a number, prefix and suffix included (5..150).",
)
@click.option(
    "--offset",
    type=StrictInt(InvalidOffset),
    default=0,
    show_default=True,
    metavar="K",
    help="First counter value; any size (kept as an exact integer).",
)
@click.option(
    "--method",
    default=Method.DEFAULT.value,
    show_default=True,
    help=f"Numbering method, case-insensitive: {_METHODS} (aliases LUHNALGO, MOD7_ALGO).",
)
@click.option(
    "--key-id",
    default=None,
    metavar="ID",
    help="For the RANDOM methods: the id of the key the series uses, which a key source "
    "must supply now and at every use (cardseq keys new makes one; the store keeps only "
    "its id and fingerprint).",
)
@click.option(
    "--cipher",
    default=Cipher.SIPHASH.value,
    show_default=True,
    help="For the RANDOM methods: the permutation of the indexes, siphash (cardseq's own, "
    "the fastest) or ff1 (NIST SP 800-38G AES-FF1: a 16, 24 or 32-byte key, at least "
    "1,000,000 numbers, the ff1 extra).",
)
@click.option(
    "--alphabet",
    default="digits",
    show_default=True,
    metavar="NAME|SYMBOLS",
    help="The counter's symbols: digits, crockford (base 32 without I, L, O, U), "
    "unambiguous (no 0, 1, I, L, O), or 2 to 256 distinct letters and digits.",
)
@click.option(
    "--blocked",
    default="",
    metavar="WORDS|default",
    help="For a code series: words no code may spell, comma-separated, matched "
    "anywhere and in any case (default: cardseq's list of 63 English words); codes "
    "that would spell one are skipped, so capacity counts only the others.",
)
@click.option(
    "--group",
    type=StrictInt(InvalidSeries, minimum=0, maximum=MAX_LENGTH),
    default=0,
    show_default=True,
    metavar="N",
    help="Show numbers in groups of N characters (display only; 0: no groups).",
)
@click.option(
    "--separator",
    type=OneOf(SEPARATORS),
    default="-",
    show_default=True,
    help="What goes between groups: -, a space or a dot.",
)
@click.option(
    "--pin-length",
    type=StrictInt(InvalidSeries, minimum=0, maximum=12),
    default=0,
    show_default=True,
    metavar="N",
    help="Give each card a PIN of N digits (4 to 12; 0: none), derived from its index "
    "under the PIN key: stored nowhere, written into print files with --columns pin.",
)
@click.option(
    "--pin-key-id",
    default=None,
    metavar="ID",
    help="With --pin-length: the id of the PIN key (never the number key), which a key "
    "source must supply to write or check PINs (cardseq keys new makes one).",
)
@click.option(
    "--pin-attempts",
    type=StrictInt(InvalidSeries, minimum=1, maximum=100),
    default=5,
    show_default=True,
    metavar="N",
    help="With --pin-length: failed PIN checks in a row that lock a card.",
)
@click.option(
    "--disabled",
    is_flag=True,
    help="Register the series with generation stopped (enable it later).",
)
@click.option(
    "--exists-ok",
    is_flag=True,
    help="If a series with this code and the same definition exists, print it "
    "and succeed, so a setup script can run twice.",
)
@json_option
@db_option
@keys_option
def series_create(
    code: str,
    prefix: str,
    suffix: str,
    length: int,
    offset: int,
    method: str,
    cipher: str,
    alphabet: str,
    blocked: str,
    group: int,
    separator: str,
    pin_length: int,
    pin_key_id: str | None,
    pin_attempts: int,
    disabled: bool,
    exists_ok: bool,
    key_id: str | None,
    as_json: bool,
    db: str | None,
    keys_file: str | None,
) -> None:
    """Register series CODE and print it.

    The line printed gives its id, code, capacity and first number; with --json, the
    series as series show --json prints it (a script reads its id there).
    """
    definition = CardSeries(
        code,
        prefix=prefix,
        suffix=suffix,
        length=length,
        offset=offset,
        method=method,
        key_id=key_id,
        cipher=cipher,
        alphabet=alphabet,
        blocked=blocked,
        group=group,
        separator=separator,
        pin_length=pin_length,
        pin_key_id=pin_key_id,
        pin_attempts=pin_attempts,
    )
    with _opened(db, keys_file, creates=True) as service:
        series_id = service.create_series(definition, enabled=not disabled, exists_ok=exists_ok)
        info = service.series(series_id)
    if as_json:
        click.echo(json_line(info))
        return
    click.echo(
        f"series {info.series.code} (id {info.id}): capacity {info.series.capacity},"
        f" first number {_first_number(info.series)}"
    )


_LIST_COLUMNS = (
    "id",
    "code",
    "method",
    "length",
    "prefix",
    "suffix",
    "offset",
    "used",
    "capacity",
    "enabled",
)
_RIGHT = {"id", "length", "offset", "used", "capacity"}


@series.command("list")
@json_option
@db_option
def series_list(as_json: bool, db: str | None) -> None:
    """Print every series: definition, numbers used, capacity, state."""
    with _opened(db) as service:
        infos = service.list_series()
    if as_json:
        _json_lines(infos)
        return
    rows = [
        [
            str(info.id),
            info.series.code,
            info.series.method.value,
            str(info.series.length),
            info.series.prefix or "-",
            info.series.suffix or "-",
            str(info.series.offset),
            str(info.next_index),
            str(info.series.capacity),
            "yes" if info.enabled else "no",
        ]
        for info in infos
    ]
    _table(_LIST_COLUMNS, rows, _RIGHT)
    if not infos:
        click.echo("no series yet (cardseq series create registers one)", err=True)


def _json_lines(records: Iterable[object]) -> None:
    """Print ``records`` as JSON, one a line."""
    for record in records:
        click.echo(json_line(record))


def _first_number(series: CardSeries) -> str:
    """The series' first number, or why it cannot be formatted here."""
    return series.format(0) if series.bound else "(its key is not loaded)"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], right: Set[str]) -> None:
    """Print ``rows`` under ``header`` in aligned columns (those named in ``right``
    aligned right, numbers mostly)."""
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    for row in [header, *rows]:
        cells = [
            cell.rjust(w) if name in right else cell.ljust(w)
            for name, cell, w in zip(header, row, widths, strict=True)
        ]
        click.echo("  ".join(cells).rstrip())


_LOG_COLUMNS = (
    "id",
    "start",
    "count",
    "label",
    "request id",
    "actor",
    "generated",
    "first",
    "last",
)


def _page_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--limit`` and ``--after``: a listing a page at a time."""
    command = click.option(
        "--after",
        type=StrictInt(minimum=0, maximum=MAX_ID),
        default=0,
        show_default=True,
        metavar="ID",
        help="Print the rows after this id: the id the previous page said to continue from.",
    )(command)
    return click.option(
        "--limit",
        type=StrictInt(minimum=1, maximum=MAX_LIMIT),
        default=DEFAULT_LIMIT,
        show_default=True,
        metavar="N",
        help=f"Most rows to print (1..{MAX_LIMIT}).",
    )(command)


def _listing(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options of a listing of records: a page at a time, as text or JSON, from a
    store whose keyed series need their keys."""
    for option in (keys_option, db_option, json_option, _page_options):
        command = option(command)
    return command


def _print_page(
    page: Page[T],
    table: tuple[Sequence[str], Callable[[T], list[str]], Set[str]],
    again: Sequence[str],
    as_json: bool,
) -> None:
    """Print a page of records as JSON lines, or as a ``table`` (header, a record's
    cells, the columns aligned right); when more follow, the command that prints the
    next page (``again`` with ``--after``) goes to stderr."""
    if as_json:
        _json_lines(page.items)
        again = [*again, "--json"]
    else:
        header, cells, right = table
        _table(header, [cells(item) for item in page.items], right)
    if page.next is not None:
        click.echo(f"more: {_command_line(*again, '--after', str(page.next))}", err=True)


def _log_row(e: GenerationEntry) -> list[str]:
    return [
        str(e.id),
        str(e.start),
        str(e.count),
        e.label,
        e.request_id or "-",
        e.actor or "-",
        e.generated_on.isoformat(),
        e.first_number,
        e.last_number,
    ]


_LOG_TABLE = (_LOG_COLUMNS, _log_row, frozenset({"id", "start", "count"}))


@series.command("log")
@click.argument("series_ref", metavar="SERIES")
@_listing
def series_log(
    series_ref: str,
    limit: int,
    after: int,
    as_json: bool,
    db: str | None,
    keys_file: str | None,
) -> None:
    """Print the reservations of SERIES (id or code), a page at a time.

    Oldest first; cardseq ledger lists them too, with filters. When there are more
    rows, stderr says how to print the next page.
    """
    with _opened(db, keys_file) as service:
        page = service.generation_log(series_ref, limit=limit, after=after)
    again = ["cardseq", "series", "log", series_ref, "--limit", str(limit)]
    _print_page(page, _LOG_TABLE, again, as_json)


@main.command()
@click.argument("series_ref", metavar="SERIES")
@click.option(
    "--since",
    type=When(),
    default=None,
    help="Only reservations made at or after this time (ISO 8601; UTC unless it has an offset).",
)
@click.option("--until", type=When(), default=None, help="Only reservations made before this time.")
@click.option(
    "--label",
    "label",
    default=None,
    metavar="LABEL",
    help="Only reservations with this status label.",
)
@click.option(
    "--request-id", default=None, metavar="ID", help="Only the reservation of this request id."
)
@_listing
def ledger(
    series_ref: str,
    limit: int,
    after: int,
    since: dt.datetime | None,
    until: dt.datetime | None,
    label: str | None,
    request_id: str | None,
    as_json: bool,
    db: str | None,
    keys_file: str | None,
) -> None:
    """List the reservations of SERIES (id or code), a page at a time.

    Oldest first: ledger id, first index, count, label, request id, time, first and
    last number; cardseq export writes any of them again. When there are more rows,
    stderr says how to print the next page.
    """
    with _opened(db, keys_file) as service:
        page = service.generation_log(
            series_ref,
            limit=limit,
            after=after,
            label=label,
            request_id=request_id,
            since=since,
            until=until,
        )
    again = ["cardseq", "ledger", series_ref, "--limit", str(limit)]
    for option, value in (
        ("--since", None if since is None else since.isoformat()),
        ("--until", None if until is None else until.isoformat()),
        ("--label", label),
        ("--request-id", request_id),
    ):
        if value is not None:
            again += [option, value]
    _print_page(page, _LOG_TABLE, again, as_json)
    if not page.items and after == 0:
        click.echo("no reservation matches", err=True)


@series.command("show")
@click.argument("series_ref", metavar="SERIES")
@json_option
@db_option
@keys_option
def series_show(series_ref: str, as_json: bool, db: str | None, keys_file: str | None) -> None:
    """Print one series (by id or code), a line a detail.

    A RANDOM series shows its key id and fingerprint, never its key.
    """
    with _opened(db, keys_file) as service:
        info = service.series(series_ref)
        reservations = 0 if as_json else service.count_reservations(info.id)
        pin_keys = [] if as_json else service.pin_keys(info.id)
    if as_json:
        click.echo(json_line(info))
        return
    definition = info.series
    lines = {
        "id": info.id,
        "code": definition.code,
        "method": definition.method.value,
        "prefix": definition.prefix,
        "suffix": definition.suffix,
        "length": definition.length,
        "counter width": definition.counter_width,
        "offset": definition.offset,
        "capacity": definition.capacity,
        "reserved": info.next_index,
        "remaining": info.remaining,
        "enabled": "yes" if info.enabled else "no",
        "created": info.created_at.isoformat(),
        "reservations": reservations,
        "first number": _first_number(definition),
    }
    lines["well-formed numbers"] = definition.well_formed
    lines["chance a random well-formed guess is reserved"] = f"{info.guess_chance:.3g}"
    if not definition.alphabet.digits:
        lines["alphabet"] = definition.alphabet.spec
    if definition.blocked:
        lines["blocked words"] = ",".join(definition.blocked)
        lines["codes skipped for them"] = definition.skipped
    if definition.group and definition.bound:
        lines["first number shown"] = definition.display(definition.format(0))
    if definition.method.keyed:
        lines["cipher"] = definition.cipher.value
    if definition.key_id is not None:
        lines["key id"] = definition.key_id
        lines["key fingerprint"] = info.key_fingerprint or "-"
    if definition.pin_length:
        lines["PIN digits"] = definition.pin_length
        lines["PIN attempts before a card locks"] = definition.pin_attempts
        lines["PIN key id"] = definition.pin_key_id or "-"
        lines["PIN key fingerprint"] = info.pin_key_fingerprint or "-"
        for start, key_id, key_fingerprint in pin_keys[1:]:
            lines[f"PIN key from index {start}"] = f"{key_id} ({key_fingerprint})"
    for key, value in lines.items():
        click.echo(f"{key}: {value}".rstrip())


@series.command("rotate-pin-key")
@click.argument("series_ref", metavar="SERIES")
@click.option(
    "--pin-key-id",
    required=True,
    metavar="ID",
    help="The new PIN key's id: a key source must have it (never the number key).",
)
@db_option
@keys_option
def series_rotate_pin_key(
    series_ref: str, pin_key_id: str, db: str | None, keys_file: str | None
) -> None:
    """Give the cards of SERIES reserved from now on a new PIN key.

    The cards reserved before keep their PINs, under the keys they had: keep those keys
    in the key sources as long as the cards are in use.
    """
    with _opened(db, keys_file) as service:
        start = service.rotate_pin_key(series_ref, pin_key_id)
    click.echo(
        f"series {series_ref}: PIN key {pin_key_id} from index {start} on; the cards"
        " before keep their PINs",
        err=True,
    )


@series.command("audit")
@click.argument("series_ref", metavar="SERIES")
@click.option(
    "--rate",
    type=float,
    default=None,
    metavar="R",
    help=f"Tries a second of the bot to reckon with. [default: {DEFAULT_RATE:g}, the"
    " server's default per-client rate limit]",
)
@json_option
@db_option
@keys_option
def series_audit(
    series_ref: str, rate: float | None, as_json: bool, db: str | None, keys_file: str | None
) -> None:
    """How long SERIES would last against a bot guessing its cards.

    The space of its numbers, how many are issued and active, the share of well-formed
    strings, its PINs and their lock, and the expected time to find a card (and its
    PIN) at --rate tries a second; warnings say what makes it weaker.
    """
    with _opened(db, keys_file) as service:
        found = service.guess_odds(series_ref, rate=rate)
    figures = {
        "series": found.code,
        "strings of its form": found.shapes,
        "well-formed (a right check character)": f"{found.well_formed}"
        f" ({found.well_formed_share:.3g} of them)",
        "issued (reserved so far)": found.issued,
        "active": found.active,
        "chance one random well-formed try is a card": f"{found.hit_chance:.3g}",
        "tries a second": f"{found.rate:g}",
        "expected to find a card": f"{found.tries_for_a_card:.3g} tries,"
        f" {odds.duration(found.seconds_for_a_card)}",
        "PIN": f"{found.pin_length} digits, a card locks after {found.pin_attempts} wrong"
        if found.pin_length
        else "none",
        "expected to find a card and its PIN": f"{found.tries_for_a_card_and_pin:.3g} tries,"
        f" {odds.duration(found.seconds_for_a_card_and_pin)}",
    }
    if as_json:
        click.echo(
            json_line(
                {
                    **{f: getattr(found, f) for f in json_fields(found)},
                    # (None: never, with no card issued; JSON has no infinity)
                    **{
                        name: None if math.isinf(value) else value
                        for name in (
                            "hit_chance",
                            "tries_for_a_card",
                            "seconds_for_a_card",
                            "tries_for_a_card_and_pin",
                            "seconds_for_a_card_and_pin",
                        )
                        for value in [getattr(found, name)]
                    },
                }
            )
        )
        return
    for key, value in figures.items():
        click.echo(f"{key}: {value}")
    for warning in found.warnings:
        click.echo(f"warning: {warning}")


def _set_enabled(series_ref: str, db: str | None, enabled: bool) -> None:
    with _opened(db) as service:
        service.set_enabled(series_ref, enabled)
    click.echo(f"series {series_ref} {'enabled' if enabled else 'disabled'}", err=True)


@series.command("enable")
@click.argument("series_ref", metavar="SERIES")
@db_option
def series_enable(series_ref: str, db: str | None) -> None:
    """Allow generation for SERIES (id or code) again."""
    _set_enabled(series_ref, db, True)


@series.command("disable")
@click.argument("series_ref", metavar="SERIES")
@db_option
def series_disable(series_ref: str, db: str | None) -> None:
    """Stop generation for SERIES (id or code).

    Generate then fails with error 703, until series enable.
    """
    _set_enabled(series_ref, db, False)


# ---- labels ------------------------------------------------------------------------


@main.group()
def labels() -> None:
    """List and add status labels, the names of card statuses.

    A label stands for one of NOT_ISSUED, ACTIVE, SUSPENDED, EXPIRED and DELETED;
    generation records a label of NOT_ISSUED.
    """


@labels.command("list")
@json_option
@db_option
def labels_list(as_json: bool, db: str | None) -> None:
    """Print every label, its status, and whether it is the status' default."""
    with _opened(db) as service:
        found = service.labels()
    if as_json:
        _json_lines(found)
        return
    rows = [(x.name, x.status, "yes" if x.default else "no") for x in found]
    _table(("label", "status", "default"), rows, set())


@labels.command("add")
@click.argument("name")
@click.option("--status", required=True, help="The status NAME stands for (any case).")
@click.option(
    "--default",
    "make_default",
    is_flag=True,
    help="Make NAME the label that changes to this status record by default.",
)
@click.option(
    "--exists-ok",
    is_flag=True,
    help="A label NAME that already stands for this status is fine (else error 3019).",
)
@db_option
def labels_add(name: str, status: str, make_default: bool, exists_ok: bool, db: str | None) -> None:
    """Add the status label NAME (a label keeps its status once created)."""
    with _opened(db, creates=True) as service:
        service.add_label(name, status.upper(), default=make_default, exists_ok=exists_ok)
    click.echo(f"label {name} added for {status.upper()}", err=True)


# ---- cards -------------------------------------------------------------------------


@main.group()
def card() -> None:
    """Show a generated card's status and the changes of its status."""


@card.command("show")
@click.argument("number")
@json_option
@db_option
@keys_option
def card_show(number: str, as_json: bool, db: str | None, keys_file: str | None) -> None:
    """Print the card NUMBER: its series, status, customer, times."""
    with _opened(db, keys_file) as service:
        found = service.card(number)
    if as_json:
        click.echo(json_line(found))
        return
    for name in json_fields(found):
        value = getattr(found, name)
        shown = value.isoformat() if isinstance(value, dt.datetime) else value
        click.echo(f"{name.replace('_', ' ')}: {'-' if shown is None else shown}")


@card.command("suggest")
@click.argument("number")
@json_option
@db_option
@keys_option
def card_suggest(number: str, as_json: bool, db: str | None, keys_file: str | None) -> None:
    """Print issued numbers one typing slip from NUMBER.

    A slip is one character replaced, or two neighbours swapped: what a customer who
    read out NUMBER probably meant. Exit status 1 when there is none.
    """
    with _opened(db, keys_file) as service:
        found = service.suggest(number)
    if as_json:
        _json_lines(found)
    for lookup in [] if as_json else found:
        info = lookup.info
        click.echo(
            f"{lookup.number}: series {info.series.code} (id {info.id}), index {lookup.index}"
        )
    if not found:
        click.echo(f"no issued number is one slip away from {number}", err=True)
        click.get_current_context().exit(1)


@card.command("verify-pin")
@click.argument("number")
@click.option(
    "--pin-stdin",
    is_flag=True,
    help="Read the PIN from the first line of stdin (else it is asked for, unechoed).",
)
@db_option
@keys_option
def card_verify_pin(number: str, pin_stdin: bool, db: str | None, keys_file: str | None) -> None:
    """Check a PIN of the card NUMBER: exit 0 if right, 1 if wrong.

    The PIN is never an argument (a command line is seen by other users and kept in
    shell history). A wrong PIN counts: after the series' allowed failures in a row the
    card is locked (error 713) until card reset-pin.
    """
    if pin_stdin:
        pin = sys.stdin.readline().rstrip("\r\n")
    else:
        pin = click.prompt("PIN", hide_input=True, err=True)
    with _opened(db, keys_file) as service:
        right = service.verify_pin(number, pin)
    click.echo("PIN right" if right else "PIN wrong", err=True)
    if not right:
        click.get_current_context().exit(1)


@card.command("reset-pin")
@click.argument("number")
@db_option
@keys_option
def card_reset_pin(number: str, db: str | None, keys_file: str | None) -> None:
    """Unlock the card NUMBER: forget its failed PIN checks."""
    with _opened(db, keys_file) as service:
        forgotten = service.reset_pin(number)
    click.echo(f"card {number}: {forgotten} failed PIN check(s) forgotten", err=True)


def _status_row(c: StatusChange) -> list[str]:
    changed = c.changed_on.isoformat()
    return [c.from_status, c.to_status, c.label, c.customer_id or "-", c.actor or "-", changed]


_STATUS_TABLE = (
    ("from", "to", "label", "customer", "actor", "changed"),
    _status_row,
    frozenset[str](),
)


@card.command("log")
@click.argument("number")
@_listing
def card_log(
    number: str, limit: int, after: int, as_json: bool, db: str | None, keys_file: str | None
) -> None:
    """Print the status changes of the card NUMBER, a page at a time.

    Oldest first. When there are more rows, stderr says how to print the next page.
    """
    with _opened(db, keys_file) as service:
        page = service.status_log(number, limit=limit, after=after)
    again = ["cardseq", "card", "log", number, "--limit", str(limit)]
    _print_page(page, _STATUS_TABLE, again, as_json)


# ---- generate and export -----------------------------------------------------------

#: counts above this make generate ask first (or want --yes)
CONFIRM_ABOVE = 10_000_000
CONFIRM_ENV = "CARDSEQ_CONFIRM_ABOVE"


def _output_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--out``, ``--format``, ``--columns`` and ``--order``: where and how numbers go."""
    for option in reversed(
        (
            click.option(
                "--order",
                type=click.Choice(ORDERS),
                default="asc",
                show_default=True,
                help="Write the block's numbers in ascending or descending index order.",
            ),
            click.option(
                "--out",
                "-o",
                default="-",
                show_default=True,
                metavar="FILE",
                help="File to write the numbers to (replaced, once complete, if it exists;"
                " a device or pipe is written in place); - is stdout.",
            ),
            click.option(
                "--format",
                "fmt",
                type=click.Choice(FORMATS),
                default="txt",
                show_default=True,
                help="txt: one number a line; csv: a header, then a row a number; "
                'jsonl: {"number": "...", ...} a line.',
            ),
            click.option(
                "--columns",
                default="number",
                show_default=True,
                metavar="LIST",
                help=f"csv and jsonl: the columns, comma-separated, of {', '.join(FIELDS)}, "
                "and NAME=VALUE for a constant (quote an item holding a comma: "
                "'number,\"client=Acme, Inc.\"').",
            ),
            click.option(
                "--box-size",
                type=StrictInt(minimum=1, maximum=MAX_BOX),
                default=None,
                metavar="N",
                help="csv and jsonl: N cards a box; adds the columns box and position "
                "(counted from 1 over the reservation, so an export gives the same boxes).",
            ),
        )
    ):
        command = option(command)
    return command


def _reservation_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--request-id`` and ``--ledger-id``: which past reservation (one of them)."""
    command = click.option(
        "--ledger-id",
        type=StrictInt(minimum=1, maximum=MAX_ID),
        default=None,
        metavar="N",
        help="The reservation's ledger id, instead of its request id.",
    )(command)
    return click.option(
        "--request-id",
        default=None,
        metavar="ID",
        help="The reservation's request id (as cardseq ledger lists it).",
    )(command)


def _row_check(fmt: str, columns: str, box_size: int | None) -> tuple[Column, ...]:
    """The columns (with box and position for ``--box-size``), checked with the format
    before anything is reserved (701)."""
    chosen = parse_columns(columns)
    if box_size is not None:
        chosen += tuple(Column(name) for name in (BOX, POSITION) if Column(name) not in chosen)
    row_format(fmt, chosen, dict.fromkeys(FIELDS, ""))
    return chosen


def _has_pins(chosen: tuple[Column, ...]) -> bool:
    return Column(PIN) in chosen


def _check_pins(service: CardService, series_id: int, chosen: tuple[Column, ...]) -> None:
    """With a ``pin`` column: the series has PINs and its PIN key is here (3000, 706,
    707 otherwise), asked before anything is reserved or written."""
    if _has_pins(chosen):
        service.series_with_pins(series_id)


def _pinned(service: CardService, block: Block, chosen: tuple[Column, ...]) -> Block:
    """With a ``pin`` column: ``block`` bound to its cards' PIN keys, read once it is
    reserved (a move to a new PIN key made before it is then seen)."""
    if _has_pins(chosen):
        return service.with_pins(block)
    return block


def _interactive() -> bool:
    """Whether a person can answer a question on stdin."""
    return sys.stdin.isatty()


def _share(count: int, capacity: int) -> str:
    return f"{100 * count / capacity:.3g}%"


def _confirm(info: SeriesInfo, count: int, threshold: int, yes: bool) -> None:
    """Above ``threshold`` numbers, ask (or want ``--yes``) before reserving: the count
    and the share of the series it takes, said before a single number is gone."""
    if yes or count <= threshold:
        return
    series = info.series
    what = (
        f"{count:,} numbers of series {series.code}, {_share(count, series.capacity)} of its"
        f" capacity of {series.capacity:,} ({info.remaining:,} left)"
    )
    if not _interactive():
        raise CountTooLarge.bad(
            "--count",
            count,
            f"is above --confirm-above {threshold} (${CONFIRM_ENV}) and stdin is not a"
            f" terminal to ask: pass --yes to reserve {what}; nothing was reserved",
        )
    try:
        confirmed = click.confirm(f"Reserve {what}?", err=True)
    except click.Abort:  # the end of stdin
        confirmed = False
    if not confirmed:
        click.echo("not confirmed: nothing was reserved", err=True)
        click.get_current_context().exit(1)


@contextlib.contextmanager
def _progress(total: int, to_stdout: bool) -> Iterator[Callable[[int], object] | None]:
    """A progress bar on stderr (numbers written of the count, rate, time left), on a
    terminal only, and never over numbers going to that same terminal."""
    if not sys.stderr.isatty() or (to_stdout and sys.stdout.isatty()):
        yield None
        return
    began = time.monotonic()
    done = 0
    with click.progressbar(
        length=total,
        label="writing",
        file=sys.stderr,
        show_pos=True,
        show_percent=True,
        show_eta=False,  # (the rate and time left come with each update)
        item_show_func=lambda said: said,
    ) as bar:

        def update(n: int) -> None:
            nonlocal done
            done += n
            rate = done / max(time.monotonic() - began, 1e-9)
            left = dt.timedelta(seconds=round((total - done) / rate))
            bar.update(n, f"{_rate(rate)}/s, {left} left")

        yield update


def _rate(value: float) -> str:
    """``value`` with an SI suffix: 950, 12.3k, 4.56M."""
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if value >= size:
            return f"{value / size:.3g}{unit}"
    return f"{value:.0f}"


def _write_block(
    block: Block,
    out: str,
    target: OutputFile | None,
    *,
    order: str,
    fmt: str,
    columns: tuple[Column, ...],
    box_size: int | None,
    entry: GenerationEntry,
    after_failure: Sequence[str],
) -> None:
    """``printrun.write``, with a progress bar; a failure is said with what was left and
    ``after_failure`` (what was reserved, how to write it again): exit 1, or 128 plus
    the signal's number."""
    with _progress(block.count, target is None) as progress:
        failed = printrun.write(
            block,
            out,
            target,
            order=order,
            fmt=fmt,
            columns=columns,
            entry=entry,
            box_size=box_size,
            with_manifest=True,
            progress=progress,
        )
    if failed is None:
        return
    if failed.broken_pipe:
        _silence_stdout()
    lines = [failed.message, *after_failure[:1], failed.left, *after_failure[1:]]
    click.echo("\n".join(lines), err=True)
    click.get_current_context().exit(failed.status)


def _reserved_line(entry: GenerationEntry, code: str) -> str:
    return (
        f"{entry.count} numbers of series {code} (id {entry.series_id}), indexes"
        f" {entry.start}..{entry.start + entry.count - 1}, first {entry.first_number},"
        f" last {entry.last_number}, ledger id {entry.id}, request id {entry.request_id}"
    )


def _export_command(
    series_ref: str,
    request_id: str,
    out: str,
    order: str,
    fmt: str,
    columns: str,
    box_size: int | None = None,
) -> str:
    """The ``cardseq export`` command that writes a reservation again like this run."""
    words = ["cardseq", "export", series_ref, "--request-id", request_id]
    if out != "-":
        words += ["--out", out]
    if fmt != "txt":
        words += ["--format", fmt]
    if columns != "number":
        words += ["--columns", columns]
    if order != "asc":
        words += ["--order", order]
    if box_size is not None:
        words += ["--box-size", str(box_size)]
    return _command_line(*words)


@main.command()
@click.argument("series_ref", metavar="SERIES")
@click.option(
    "--count",
    "-n",
    required=True,
    type=StrictInt(InvalidCount, minimum=1),
    metavar="N",
    help="How many numbers to reserve and write (a positive integer).",
)
@click.option(
    "--status-label",
    default=DEFAULT_LABEL,
    show_default=True,
    help="Status label recorded with the reservation in the ledger.",
)
@_output_options
@click.option(
    "--request-id",
    default=None,
    metavar="ID",
    help="Idempotency key: a retry with the same ID writes the same numbers "
    "instead of reserving new ones. [default: a new one, printed on stderr]",
)
@click.option(
    "--yes",
    "-y",
    is_flag=True,
    help="Reserve a count above --confirm-above without asking.",
)
@click.option(
    "--confirm-above",
    type=StrictInt(minimum=0),
    default=CONFIRM_ABOVE,
    show_default=True,
    envvar=CONFIRM_ENV,
    metavar="N",
    help=f"Ask before reserving more than N numbers (or want --yes). [env: ${CONFIRM_ENV}]",
)
@db_option
@keys_option
def generate(
    series_ref: str,
    count: int,
    status_label: str,
    order: str,
    out: str,
    fmt: str,
    columns: str,
    box_size: int | None,
    request_id: str | None,
    yes: bool,
    confirm_above: int,
    db: str | None,
    keys_file: str | None,
) -> None:
    """Reserve COUNT new numbers of SERIES (id or code) and write them.

    The block is committed to the store before the first number is written, so the
    numbers are never handed out twice, even if this command is interrupted. A file
    appears at --out only once it is complete: a failed or interrupted run leaves none,
    and says how to write the reservation again (with cardseq export).
    """
    chosen = _row_check(fmt, columns, box_size)
    rid = request_id if request_id is not None else str(uuid.uuid4())
    target = None
    reserving = False
    try:
        with printrun.stoppable(), _opened(db, keys_file) as service:
            info = service.series(series_ref)
            _check_pins(service, info.id, chosen)
            if out != "-":
                printrun.check_output(out, service.store, keys_file)
            _confirm(info, count, confirm_above, yes)
            if out != "-":
                target = OutputFile(out)  # fails before reserving: no number lost to a typo
            reserving = True
            block = service.reserve(info.id, count, status_label, request_id=rid)
            entry = service.reservation(info.id, request_id=rid)
            block = _pinned(service, block, chosen)
    except printrun.Interrupted as stop:
        if target is not None:
            target.discard()
        if not reserving:
            said = f"interrupted by {stop.name} before reserving: nothing was reserved"
        else:
            listed = _command_line("cardseq", "ledger", series_ref, "--request-id", rid)
            written = _export_command(series_ref, rid, out, order, fmt, columns, box_size)
            said = (
                f"interrupted by {stop.name} while reserving; if the reservation was"
                f" committed,\nit is listed by: {listed}\nand written by: {written}"
            )
        click.echo(said, err=True)
        click.get_current_context().exit(128 + stop.signum)
    except BaseException:
        if target is not None:
            target.discard()
        raise
    code = block.series.code
    generated = "" if request_id is not None else " (generated)"
    click.echo(f"reserved {_reserved_line(entry, code)}{generated}", err=True)
    if block.count != entry.count:  # a replay of a block partly released since
        click.echo(
            f"released unused since, but for indexes {block.start}..{block.stop - 1}:"
            f" writing those {block.count} numbers",
            err=True,
        )
    _write_block(
        block,
        out,
        target,
        order=order,
        fmt=fmt,
        columns=chosen,
        box_size=box_size,
        entry=entry,
        after_failure=[
            "the numbers stay reserved and are never handed out again: "
            + _reserved_line(entry, code),
            "write them again with: "
            + _export_command(series_ref, rid, out, order, fmt, columns, box_size),
        ],
    )
    if target is not None:
        click.echo(f"wrote {block.count} numbers of series {code} to {out}", err=True)


@main.command()
@click.argument("series_ref", metavar="SERIES")
@_reservation_options
@_output_options
@db_option
@keys_option
def export(
    series_ref: str,
    request_id: str | None,
    ledger_id: int | None,
    order: str,
    out: str,
    fmt: str,
    columns: str,
    box_size: int | None,
    db: str | None,
    keys_file: str | None,
) -> None:
    """Write the numbers of a past reservation again, in any format.

    Exactly the numbers the reservation of SERIES handed out: export reserves nothing,
    and leaves out those released unused since (never handed out). The file appears at
    --out only once complete, as with generate.
    """
    if (request_id is None) == (ledger_id is None):
        raise click.UsageError("give --request-id ID or --ledger-id N (one of them)")
    chosen = _row_check(fmt, columns, box_size)
    with _opened(db, keys_file) as service:
        entry = service.reservation(series_ref, request_id=request_id, ledger_id=ledger_id)
        _check_pins(service, entry.series_id, chosen)
        block = _pinned(service, service.export(entry.series_id, ledger_id=entry.id), chosen)
        if out != "-":
            printrun.check_output(out, service.store, keys_file)
    target = None if out == "-" else OutputFile(out)
    _write_block(
        block,
        out,
        target,
        order=order,
        fmt=fmt,
        columns=chosen,
        box_size=box_size,
        entry=entry,
        after_failure=["export reserves nothing: run it again"],
    )
    if target is not None:
        click.echo(
            f"wrote {block.count} numbers of series {block.series.code} (ledger id {entry.id})"
            f" to {out}",
            err=True,
        )


@main.command("proof")
@click.argument("series_ref", metavar="SERIES")
@_reservation_options
@click.option(
    "--count",
    "-n",
    type=StrictInt(minimum=1, maximum=proof.MAX_CARDS),
    default=8,
    show_default=True,
    help="How many of the reservation's first cards to draw.",
)
@click.option(
    "--out",
    "-o",
    required=True,
    metavar="FILE",
    help="The proof: FILE.pdf (eight cards a page) or FILE.png (one image).",
)
@db_option
@keys_option
def proof_sheet(
    series_ref: str,
    request_id: str | None,
    ledger_id: int | None,
    count: int,
    out: str,
    db: str | None,
    keys_file: str | None,
) -> None:
    """Draw the first cards of a reservation for a print buyer to sign off.

    Each card at its real size: the number as printed and grouped, a Code 128 barcode
    of it, and the PIN masked (its length only). Needs the print extra
    (pip install 'cardseq[print]'); reserves nothing.
    """
    if (request_id is None) == (ledger_id is None):
        raise click.UsageError("give --request-id ID or --ledger-id N (one of them)")
    proof.check(out, count)
    with _opened(db, keys_file) as service:
        entry = service.reservation(series_ref, request_id=request_id, ledger_id=ledger_id)
        block = service.export(entry.series_id, ledger_id=entry.id)
        printrun.check_output(out, service.store, keys_file)
    pages = proof.render(block, entry, out, count=count)
    shown = min(count, block.count)
    click.echo(f"drew {shown} cards of series {block.series.code} on {pages} page(s): {out}",
               err=True)  # fmt: skip


@main.command("verify-file")
@click.argument("path", metavar="FILE")
@click.option(
    "--manifest",
    "manifest_path",
    default=None,
    metavar="PATH",
    help="The file's manifest. [default: FILE.manifest.json]",
)
@db_option
@keys_option
def verify_file(
    path: str, manifest_path: str | None, db: str | None, keys_file: str | None
) -> None:
    """Check a print file against its manifest and the store's ledger.

    Every line must hold the number of the reservation that the manifest's order puts
    there (none changed, repeated or missing), the count must match, then the SHA-256.
    The first difference is error 714, naming the line; exit 0 when the file is whole.
    """
    with _opened(db, keys_file) as service:
        found = manifest.verify(service, path, manifest_path)
    click.echo(
        f"{path}: {found.count} numbers of series {found.series_code}, ledger id"
        f" {found.ledger_id} (request id {found.request_id}), sha256 {found.sha256}: whole",
    )


# ---- validate ----------------------------------------------------------------------


def _state(found: Lookup) -> str:
    """What ``validate`` says of a number's index."""
    if found.entry is not None:
        entry = found.entry
        return f"reserved {entry.created_at.isoformat()} (label {entry.status_label})"
    if found.state == "released":
        return "released unused (never handed out)"
    return "not reserved yet"


#: Numbers looked up per store call: bounds memory for a file of any length.
_VALIDATE_BATCH = 100_000


@main.command()
@click.argument("numbers", metavar="[NUMBER]...", nargs=-1)
@click.option(
    "--from-file",
    "from_file",
    type=click.File("r", encoding="utf-8", errors="replace"),
    help="Also read numbers from FILE, one a line ('-': stdin); blank lines are skipped.",
)
@click.option(
    "--lenient",
    is_flag=True,
    help="Read numbers as typed at a till: spaces, dashes and dots ignored, prefix and"
    " suffix letters in any case, track-2 swipes (;NUMBER=YYMM...?) unwrapped.",
)
@json_option
@db_option
@keys_option
def validate(
    numbers: tuple[str, ...],
    from_file: IO[str] | None,
    lenient: bool,
    as_json: bool,
    db: str | None,
    keys_file: str | None,
) -> None:
    """Say which series each NUMBER belongs to, its index, and its state.

    The state: when it was reserved, or that it was released unused, or that it is
    not reserved yet. With --json, a line a NUMBER: {"input": NUMBER, "lookup": the
    Lookup record, or null when no series has it}. Exit status 1 when any NUMBER
    belongs to no series.
    """
    if not numbers and from_file is None:
        raise click.UsageError("give NUMBER... or --from-file FILE")
    lines = (line.rstrip("\r\n") for line in from_file or ())
    given = itertools.chain(numbers, (line for line in lines if line.strip()))
    all_valid = True
    with _opened(db, keys_file) as service:
        while batch := list(itertools.islice(given, _VALIDATE_BATCH)):
            said = []
            for number, found in zip(
                batch, service.lookup_many(batch, lenient=lenient), strict=True
            ):
                all_valid = all_valid and found is not None
                if as_json:
                    said.append(json_line({"input": number, "lookup": found}))
                    continue
                if found is None:
                    said.append(f"{number}: not valid: no series has this number")
                    continue
                info = found.info
                shown = number if found.number == number else f"{number} (read as {found.number})"
                said.append(
                    f"{shown}: series {info.series.code} (id {info.id}), index {found.index},"
                    f" {_state(found)}"
                )
            click.echo("\n".join(said))
    if not all_valid:
        click.get_current_context().exit(1)


# ---- the database's schema ----------------------------------------------------------


@main.group()
def db() -> None:
    """Show the store's schema version, and migrate its tables.

    A deployment can run cardseq db migrate as a role that may change tables, and the
    service (cardseq serve --no-migrate) as one that may only read and write rows.
    """


@db.command("migrate")
@db_option
def db_migrate(db: str | None) -> None:
    """Create the store and its tables, or migrate them.

    Brings the tables to this cardseq's schema version; refused while
    $CARDSEQ_NO_MIGRATE is set.
    """
    if _no_migrate():
        raise InvalidArgument.bad(
            "$" + NO_MIGRATE_ENV,
            os.environ[NO_MIGRATE_ENV],
            "forbids migrating: unset it to run cardseq db migrate",
        )
    with open_store(_url(db)) as store:
        found, url = store.schema_found, store.url
    if found == SCHEMA_VERSION:
        click.echo(f"{url}: schema version {SCHEMA_VERSION}, up to date")
    else:
        was = "no tables" if found is None else f"version {found}"
        click.echo(f"{url}: migrated from {was} to version {SCHEMA_VERSION}")


@db.command("status")
@db_option
def db_status(db: str | None) -> None:
    """Print the store's schema version and this cardseq's. Changes nothing.

    It says whether a migration is needed: exit status 1 if it is, or if the database
    is newer than this cardseq.
    """
    try:
        with open_store(_url(db), migrate=False) as store:
            found, url = store.schema_found, store.url
    except SchemaMismatch as error:
        found, url = error.found, str(error.value)
    click.echo(f"database: {url}")
    click.echo(f"database schema version: {'none (no tables)' if found is None else found}")
    click.echo(f"cardseq schema version: {SCHEMA_VERSION}")
    if found == SCHEMA_VERSION:
        click.echo("migration needed: no")
        return
    if found is not None and found > SCHEMA_VERSION:
        click.echo("migration needed: no, but the database is newer: upgrade cardseq")
    else:
        migrate = _command_line("cardseq", "db", "migrate", keys=False)
        click.echo(f"migration needed: yes, with: {migrate}")
    click.get_current_context().exit(1)


__all__ = ["CardSeqGroup", "db_option", "main"]


# ---- the HTTP server ---------------------------------------------------------------


def _proxies(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> tuple[str, ...]:
    """Each ``--forwarded-allow-ips`` value must be an IP address or network."""
    for value in values:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise click.BadParameter(
                f"{value!r} is not an IP address or network", param_hint="--forwarded-allow-ips"
            ) from None
    return values


#: every `serve` option can come from the environment: CARDSEQ_ and its name in capitals
#: (--max-count: CARDSEQ_MAX_COUNT); an option on the command line wins
SERVE_ENV_PREFIX = "CARDSEQ"


@main.command(context_settings={"auto_envvar_prefix": SERVE_ENV_PREFIX})
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on (0.0.0.0: every interface).",
)
@click.option(
    "--port",
    default=8000,
    show_default=True,
    type=StrictInt(minimum=1, maximum=65535),
    help="TCP port to listen on.",
)
@db_option
@keys_option
@click.option(
    "--users-file",
    type=click.Path(),
    default=None,
    help="Users for Basic authentication (made with cardseq users add).",
)
@click.option(
    "--no-auth",
    is_flag=True,
    help="Serve without authentication: anyone who can connect may generate.",
)
@click.option(
    "--rate",
    type=StrictFloat(minimum=MIN_RATE, maximum=MAX_RATE),
    default=None,
    metavar="R",
    help=f"Requests a second per user (token bucket refill), {MIN_RATE:g} to {MAX_RATE:g}."
    " [default: 1000]",
)
@click.option(
    "--burst",
    type=StrictInt(minimum=1, maximum=MAX_BURST),
    default=None,
    metavar="B",
    help="Requests a user may make at once (bucket size). [default: 2000]",
)
@click.option(
    "--max-count",
    type=StrictInt(minimum=1, maximum=MAX_COUNT),
    default=DEFAULT_MAX_COUNT,
    show_default=True,
    metavar="N",
    help=f"Most numbers one generate request may ask for (error 3026), 1 to {MAX_COUNT:,}.",
)
@click.option(
    "--max-body",
    type=StrictInt(minimum=1, maximum=MAX_BODY),
    default=DEFAULT_MAX_BODY,
    show_default=True,
    metavar="BYTES",
    help=f"Largest request body accepted (413 above it), 1 to {MAX_BODY:,} bytes.",
)
@click.option(
    "--header-timeout",
    type=StrictFloat(minimum=MIN_TIMEOUT, maximum=MAX_TIMEOUT),
    default=None,
    metavar="SECONDS",
    help="Time a client has to send a request's headers; also how long an idle "
    "keep-alive connection stays open. [default: 10]",
)
@click.option(
    "--body-timeout",
    type=StrictFloat(minimum=MIN_TIMEOUT, maximum=MAX_TIMEOUT),
    default=None,
    metavar="SECONDS",
    help="Time a client has to send a request body once its headers came (408 after). "
    "[default: 30]",
)
@click.option(
    "--max-connections",
    type=StrictInt(minimum=1, maximum=MAX_CONNECTIONS),
    default=None,
    metavar="N",
    help="Connections served at once; more wait until one closes. [default: 1000]",
)
@click.option(
    "--max-connections-per-ip",
    type=StrictInt(minimum=1, maximum=MAX_CONNECTIONS),
    default=None,
    metavar="N",
    help="Requests one client address may have in progress at once, in each process "
    "(429 beyond). [default: a tenth of --max-connections]",
)
@click.option(
    "--forwarded-allow-ips",
    multiple=True,
    metavar="ADDRESS",
    callback=_proxies,
    help="A proxy (address or network) whose X-Forwarded-For is trusted; repeat for "
    "more (in CARDSEQ_FORWARDED_ALLOW_IPS: separated by spaces). [default: none, the "
    "peer's address is the client's]",
)
@click.option(
    "--no-migrate",
    is_flag=True,
    help="Open the store without creating or migrating tables (for a database role that "
    "may only read and write rows; run cardseq db migrate first).",
)
@click.option(
    "--metrics-public",
    is_flag=True,
    help="Let anyone read /metrics (by default it takes the API's credentials).",
)
@click.option(
    "--workers",
    type=StrictInt(minimum=1, maximum=MAX_WORKERS),
    default=1,
    show_default=True,
    metavar="N",
    help="Processes serving the port, each with its own connections to the store "
    "(not with a store in memory, private to each); the rate limits are shared out "
    "between them.",
)
@click.option(
    "--no-access-log",
    is_flag=True,
    help="Log no line per request (the access log costs about a sixth of a small "
    "request's time; errors and reservations are still logged).",
)
@click.option(
    "--log-level",
    type=OneOf(LOG_LEVELS),
    default="info",
    show_default=True,
    help="The least severe records logged, by cardseq and by Granian (the access log's "
    "lines are info).",
)
@click.option(
    "--log-format",
    type=OneOf(LOG_FORMATS),
    default="text",
    show_default=True,
    help="text: lines as Granian writes them; json: one JSON object a line (time, level, "
    "logger, message and the record's fields), for log shippers.",
)
def serve(
    host: str,
    port: int,
    db: str | None,
    keys_file: str | None,
    users_file: str | None,
    no_auth: bool,
    rate: float | None,
    burst: int | None,
    max_count: int,
    max_body: int,
    header_timeout: float | None,
    body_timeout: float | None,
    max_connections: int | None,
    max_connections_per_ip: int | None,
    forwarded_allow_ips: tuple[str, ...],
    no_migrate: bool,
    metrics_public: bool,
    workers: int,
    no_access_log: bool,
    log_level: str,
    log_format: str,
) -> None:
    """Serve the HTTP API until interrupted, in one process or more.

    The HTTP API page of the cardseq documentation describes the routes; --workers
    starts more processes.

    Every option can also be set in the environment: CARDSEQ_ and the option's name in
    capitals, dashes as underscores (CARDSEQ_PORT, CARDSEQ_NO_AUTH=1); the command line
    wins.
    """
    if users_file is not None and no_auth:
        raise click.UsageError("--users-file and --no-auth exclude each other")
    if users_file is None and not no_auth:
        raise click.UsageError(
            "no --users-file given: create one with cardseq users add NAME --users-file FILE, "
            "or pass --no-auth to serve without authentication"
        )
    require("server", "cardseq serve")  # before the store is opened, or made
    with needed("server", "cardseq serve"):
        from .server.run import serve_store
        from .server.settings import AppSettings, ListenSettings

    def given(**values: Any) -> dict[str, Any]:  # options left unset keep the defaults
        return {name: value for name, value in values.items() if value is not None}

    listen = ListenSettings(
        host=host,
        port=port,
        access_log=not no_access_log,
        forwarded_allow_ips=forwarded_allow_ips,
        log_level=log_level,
        log_format=log_format,
        **given(header_timeout=header_timeout, max_connections=max_connections),
    )
    app = AppSettings(
        users_file=users_file,
        keys=keys_file,
        max_count=max_count,
        max_body=max_body,
        migrate=not no_migrate,
        metrics_public=metrics_public,
        workers=workers,
        max_connections_per_ip=(
            listen.max_connections_per_ip
            if max_connections_per_ip is None
            else max_connections_per_ip
        ),
        **given(rate=rate, burst=burst, body_timeout=body_timeout),
    )
    serve_store(
        _url(db),
        app,
        listen,
        warn=lambda message: click.echo(f"warning: {message}", err=True),
        spelling=lambda name: "--" + name.replace("_", "-"),
    )


@main.group()
def users() -> None:
    """Add, list, remove users of the HTTP server, or change a password."""


def _users_file(exists: bool) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--users-file``: one that ``exists`` already, or one created if missing."""
    return click.option(
        "--users-file",
        required=True,
        type=click.Path(dir_okay=False, exists=exists),
        help="The users file" + ("." if exists else " (created with mode 0600 if missing)."),
    )


_password_stdin = click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of stdin instead of prompting.",
)


def _password(from_stdin: bool) -> str:
    """The new password: the first line of stdin, or asked twice at the terminal."""
    if from_stdin:
        return sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


def _no_such_user(name: str, users_file: str) -> InvalidArgument:
    return InvalidArgument(
        f"user {name!r} is not in the users file {users_file!r}", field="name", value=name
    )


@users.command("add")
@click.argument("name")
@_users_file(exists=False)
@_password_stdin
def users_add(name: str, users_file: str, password_stdin: bool) -> None:
    """Add user NAME to the users file, or replace its password.

    The password is stored as a salted scrypt hash; the file is rewritten atomically.
    An existing file the server would refuse is left as it is (error 701, naming the
    line), unless only the lines of NAME are wrong: they are replaced.
    """
    from .server.auth import add_user, check_name

    check_name(name)
    replaced = add_user(users_file, name, _password(password_stdin))
    click.echo(f"user {name} {'replaced' if replaced else 'added'} in {users_file}", err=True)


@users.command("list")
@_users_file(exists=True)
def users_list(users_file: str) -> None:
    """Print the users' names, one a line (never their password hashes)."""
    from .server.auth import read_users

    for name in read_users(users_file):
        click.echo(name)


@users.command("remove")
@click.argument("name")
@_users_file(exists=True)
def users_remove(name: str, users_file: str) -> None:
    """Remove user NAME from the users file.

    A running server refuses the user from then on.
    """
    from .server.auth import remove_user

    if not remove_user(users_file, name):
        raise _no_such_user(name, users_file)
    click.echo(f"user {name} removed from {users_file}", err=True)


@users.command("passwd")
@click.argument("name")
@_users_file(exists=True)
@_password_stdin
def users_passwd(name: str, users_file: str, password_stdin: bool) -> None:
    """Change the password of user NAME, already in the users file."""
    from .server.auth import add_user, check_name, read_users

    if check_name(name) not in read_users(users_file):
        raise _no_such_user(name, users_file)
    add_user(users_file, name, _password(password_stdin))
    click.echo(f"password of user {name} changed in {users_file}", err=True)


# ---- keys --------------------------------------------------------------------------


@main.group()
def keys() -> None:
    """Make keys for the RANDOM series; move keys out of old stores.

    The operator keeps the keys, a store never does: see Keys and security in the
    cardseq documentation.
    """


@keys.command("new")
@click.option(
    "--encoding",
    type=click.Choice(("hex", "base64")),
    default="hex",
    show_default=True,
    help="How to print the key (on stdout; a keys file holds hex).",
)
@click.option(
    "--out",
    "out",
    default=None,
    metavar="FILE",
    help="Write a new keys file FILE, mode 0600, holding the key as ID = VALUE, "
    "instead of printing the key (needs --key-id).",
)
@click.option("--key-id", default=None, metavar="ID", help="The key's id in the keys file.")
@click.option(
    "--force", is_flag=True, help="Replace FILE if it exists (the keys it holds are lost)."
)
def keys_new(encoding: str, out: str | None, key_id: str | None, force: bool) -> None:
    """Make a fresh 32-byte key: print it, or write it to a new keys file.

    The printed key can go into a keys file or $CARDSEQ_KEY_<ID>; with --out it goes
    into a file only its owner may read, ready for --keys-file.
    """
    import base64

    if (out is None) != (key_id is None):
        raise click.UsageError("--out FILE and --key-id ID go together")
    key = new_key()
    if out is None or key_id is None:
        click.echo(key.hex() if encoding == "hex" else base64.b64encode(key).decode("ascii"))
        return
    _write_keys(out, {check_key_id(key_id): key}, force)
    click.echo(
        f"key {key_id} written to {out} (mode 0600): give it as --keys-file or"
        f" ${KEYS_FILE_ENV}, and --key-id {key_id} to cardseq series create",
        err=True,
    )


def _write_keys(out: str, keys: dict[str, bytes], force: bool) -> None:
    """Write a new keys file ``out``, or replace one when ``force`` (a whole new file
    renamed over it: the old one stays until the new one is complete)."""
    if os.path.lexists(out) and not force:
        raise InvalidArgument.bad(
            "--out", out, "exists: pass --force to replace it (the keys it holds are lost)"
        )
    folder, name = os.path.split(os.path.abspath(out))
    temporary = os.path.join(folder, f".{name}.cardseq-new-{uuid.uuid4().hex[:8]}")
    try:
        write_keys_file(temporary, keys)
        os.replace(temporary, out)
    except OSError as error:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise write_failed(out, error) from None


@keys.command("export")
@click.option(
    "--keys-file",
    required=True,
    type=click.Path(dir_okay=False),
    help="The keys file to write (created 0600; an existing one must already hold the keys).",
)
@db_option
def keys_export(keys_file: str, db: str | None) -> None:
    """Move the keys an older store keeps in clear to a keys file.

    They are written to KEYS_FILE, then wiped from the store. Safe to run again:
    nothing is lost if it is interrupted.
    """
    with _open(db) as store:
        # SQLite deletes a -journal it finds beside the database when it next opens it
        # (tried: a keys file there is gone), and the keys would be wiped from the store.
        refuse_overwrite("--keys-file", keys_file, printrun.store_files(store))
        moved = store.export_keys(keys_file)
    click.echo(
        f"{moved} key(s) moved to {keys_file}; give it as --keys-file or ${KEYS_FILE_ENV}"
        if moved
        else "no key in the store: nothing to export",
        err=True,
    )


@main.command()
@click.option("--quick", is_flag=True, help="A short run (under two minutes on two cores).")
@click.option(
    "--out",
    default="bench-results",
    show_default=True,
    metavar="DIR",
    help="Where compare.md, compare.json and the PNG plots go (created if missing).",
)
@click.option(
    "--postgres-url",
    metavar="URL",
    default=None,
    help="A PostgreSQL server for the reservation cases. [default: a throwaway server, "
    "in a source checkout with PostgreSQL installed]",
)
@click.option(
    "--no-postgres", is_flag=True, help="Skip the reservation cases unless --postgres-url."
)
def bench(quick: bool, out: str, postgres_url: str | None, no_postgres: bool) -> None:
    """Compare cardseq with the tools a Python user would otherwise use.

    A table on stdout, and Markdown, JSON and PNG plots in DIR (the Benchmarks page of
    the cardseq documentation explains them). The competitors come with the extra
    bench: pip install 'cardseq[bench]'.
    """
    from . import bench as comparison
    from .bench import report

    began = time.perf_counter()
    report.folder(out)
    results = comparison.run(
        comparison.QUICK if quick else comparison.FULL,
        postgres_url=postgres_url,
        start_postgres=not no_postgres,
        progress=lambda line: click.echo(line, err=True),
    )
    click.echo(report.table(results))
    written = report.write(results, out)
    click.echo(f"wrote {', '.join(str(p) for p in written)}", err=True)
    click.echo(f"took {time.perf_counter() - began:.0f} s", err=True)
