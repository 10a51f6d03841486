"""The columns of a written block: which fields stand beside each number, and the bytes
of a row in each output format.

Within one block every field but the number and its index is the same on each row (the
series, the reservation's label and request id, a constant), so a row is a few
constant byte strings around at most two varying fields. ``Block.write`` renders those
two with the engine and lays the constants over whole chunks with NumPy: no Python
object per number, whatever the columns.

>>> [(c.name, c.value) for c in parse_columns('number,index,"client=Acme, Inc."')]
[('number', None), ('index', None), ('client', 'Acme, Inc.')]
>>> row = row_format("csv", parse_columns("number,status_label"), {"status_label": "PRINTED"})
>>> row.header, row.parts
(b'number,status_label\\n', ('number', b',PRINTED\\n'))
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from .errors import InvalidArgument

#: Output formats: one number a line; CSV with a header; one JSON object a line.
FORMATS: Final = ("txt", "csv", "jsonl")
#: The fields a column can hold besides a constant (``NAME=VALUE``).
FIELDS: Final = (
    "number",
    "grouped",
    "pin",
    "box",
    "position",
    "series_code",
    "index",
    "status_label",
    "request_id",
    "actor",
)
#: The fields that differ from row to row: ``RowFormat.parts`` names them. ``grouped``
#: is the number as the series displays it (``CardSeries.display``).
NUMBER: Final = "number"
GROUPED: Final = "grouped"
INDEX: Final = "index"
#: the card's PIN (``CardSeries.pin``): a series with PINs and its PIN key only
PIN: Final = "pin"
#: a card's box, counted from 1 over the reservation, and its place in the box (from 1),
#: for ``box_size`` cards a box; both zero-padded to one width for the whole block
BOX: Final = "box"
POSITION: Final = "position"
#: the fields that vary by row, and those of them written as JSON strings
VARYING: Final = (NUMBER, GROUPED, INDEX, PIN, BOX, POSITION)
_TEXTS: Final = (NUMBER, GROUPED, PIN, BOX, POSITION)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,49}")
_CSV_SPECIAL = re.compile(r'[",\r\n]')
_SPEC_FIELD = "columns"


@dataclass(frozen=True)
class Column:
    """A column: a field of ``FIELDS`` (``value`` None), or the constant ``value``."""

    name: str
    value: str | None = None


def parse_columns(spec: str | Sequence[str]) -> tuple[Column, ...]:
    """Columns from ``"number,index,batch=B7"`` (a CSV line: quote an item that holds a
    comma) or a sequence of such items. An item is a field name or ``NAME=VALUE``;
    ``number`` must be one of them, and no name twice (701)."""
    if isinstance(spec, str):
        items = next(csv.reader([spec]), []) if spec.strip() else []
    else:
        items = list(spec)
    columns: list[Column] = []
    for item in items:
        if not isinstance(item, str):
            raise InvalidArgument.bad(_SPEC_FIELD, item, "holds an item that is not a string")
        name, has_value, value = item.strip().partition("=")
        name = name.strip()
        if has_value:
            if not _NAME.fullmatch(name) or name in FIELDS:
                raise InvalidArgument.bad(
                    _SPEC_FIELD,
                    item,
                    "needs NAME=VALUE with NAME 1..50 letters, digits or '_' (not a digit"
                    f" first) and not a field name ({', '.join(FIELDS)})",
                )
            columns.append(Column(name, value))
        elif name in FIELDS:
            columns.append(Column(name))
        else:
            raise InvalidArgument.bad(
                _SPEC_FIELD,
                item,
                f"is not a column: give {', '.join(FIELDS)}, or NAME=VALUE for a constant",
            )
    names = [c.name for c in columns]
    if NUMBER not in names:
        raise InvalidArgument.bad(_SPEC_FIELD, spec, "must include the column 'number'")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise InvalidArgument.bad(_SPEC_FIELD, spec, f"names {', '.join(repeated)} twice")
    return tuple(columns)


#: The one column of a plain print run.
NUMBER_ONLY: Final = (Column(NUMBER),)


@dataclass(frozen=True)
class RowFormat:
    """How one format writes rows: ``header`` once, then per number the ``parts`` in
    order, each a constant ``bytes`` or the name of a varying field (``NUMBER``,
    ``INDEX``). No two constants are adjacent."""

    header: bytes
    parts: tuple[bytes | str, ...]

    @property
    def has_index(self) -> bool:
        return INDEX in self.parts


def row_format(fmt: str, columns: Sequence[Column], values: Mapping[str, str | None]) -> RowFormat:
    """The rows of ``columns`` in format ``fmt``, with each constant field's text taken
    from ``values`` (``series_code``, ``status_label``, ``request_id``, ``actor``)."""
    if fmt not in FORMATS:
        raise InvalidArgument.bad("format", fmt, f"must be one of {', '.join(FORMATS)}")
    if fmt == "txt" and tuple(columns) != NUMBER_ONLY:
        raise InvalidArgument.bad(
            _SPEC_FIELD,
            ",".join(c.name for c in columns),
            "needs format csv or jsonl: txt writes the number alone",
        )
    texts: list[str | None] = []
    for column in columns:
        if column.value is not None or column.name in VARYING:
            texts.append(column.value)
            continue
        text = values.get(column.name)
        if text is None:
            raise InvalidArgument.bad(
                _SPEC_FIELD,
                column.name,
                "has no value for this block: give the reservation's"
                f" {column.name} (CardService.reservation has it)",
            )
        texts.append(text)
    pieces: list[bytes | str] = []
    if fmt == "jsonl":
        for k, (column, text) in enumerate(zip(columns, texts, strict=True)):
            key = ("{" if k == 0 else ", ") + json.dumps(column.name) + ": "
            if column.value is None and column.name in _TEXTS:
                pieces += [f'{key}"'.encode(), column.name, b'"']
            elif column.value is None and column.name == INDEX:
                pieces += [key.encode(), INDEX]
            else:
                pieces.append((key + json.dumps(text)).encode())
        pieces.append(b"}\n")
        header = b""
    else:
        for k, (column, text) in enumerate(zip(columns, texts, strict=True)):
            if k:
                pieces.append(b",")
            if column.value is None and column.name in VARYING:
                pieces.append(column.name)
            else:
                assert text is not None
                pieces.append(_csv_cell(text).encode("utf-8"))
        pieces.append(b"\n")
        header = b"" if fmt == "txt" else b",".join(_csv_cell(c.name).encode() for c in columns)
        header += b"\n" if header else b""
    return RowFormat(header, _merged(pieces))


def _csv_cell(text: str) -> str:
    """``text`` as a CSV cell: quoted (quotes doubled) when it holds a quote, a comma or
    a line break."""
    return '"' + text.replace('"', '""') + '"' if _CSV_SPECIAL.search(text) else text


def _merged(pieces: list[bytes | str]) -> tuple[bytes | str, ...]:
    """``pieces`` with adjacent constants joined (and empty ones dropped)."""
    merged: list[bytes | str] = []
    for piece in pieces:
        if isinstance(piece, bytes) and merged and isinstance(merged[-1], bytes):
            merged[-1] += piece
        elif piece != b"":
            merged.append(piece)
    return tuple(merged)


__all__ = [
    "BOX",
    "FIELDS",
    "FORMATS",
    "GROUPED",
    "INDEX",
    "NUMBER",
    "PIN",
    "POSITION",
    "VARYING",
    "Column",
    "RowFormat",
    "parse_columns",
]
