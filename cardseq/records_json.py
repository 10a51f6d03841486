"""The typed records as JSON, converted in this one place for every ``--json`` output.

A record becomes an object of its own dataclass fields, under their own names, so
that a script reads the names the Python API documents (``SeriesInfo.next_index``,
``GenerationEntry.first_number``). Nested records become nested objects, datetimes
ISO 8601 text, enums their value, integers stay exact. Fields whose name starts with
``_`` are internals, and a ``key`` is a secret: neither is ever written.

>>> import datetime as dt
>>> from cardseq.records import Label
>>> json_line(Label("NOT_ISSUED", "NOT_ISSUED", True))
'{"name": "NOT_ISSUED", "status": "NOT_ISSUED", "default": true}'
>>> plain(dt.datetime(2026, 11, 27, 9, 30, tzinfo=dt.UTC))
'2026-11-27T09:30:00+00:00'
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
from typing import Any

#: field names never written: a keyed series' key is a secret
SECRET_FIELDS = frozenset({"key"})


def fields(record: Any) -> list[str]:
    """The names under which ``record`` (a dataclass, or its class) is written."""
    return [
        f.name
        for f in dataclasses.fields(record)
        if not f.name.startswith("_") and f.name not in SECRET_FIELDS
    ]


def plain(value: Any) -> Any:
    """``value`` as JSON-ready Python: dicts, lists, strings, numbers, booleans, None."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {name: plain(getattr(value, name)) for name in fields(value)}
    if isinstance(value, enum.Enum):
        return plain(value.value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, bytes):
        raise TypeError("bytes have no JSON form here (a key is never written)")
    return value


def json_line(value: Any) -> str:
    """``value`` as one line of JSON (the records of a stream are one a line)."""
    return json.dumps(plain(value), ensure_ascii=False)
