"""A manifest beside each print file, and the check of a file against it and the ledger.

``cards.csv`` gets ``cards.csv.manifest.json`` once the file is whole: what it holds
(series, reservation, count, first and last index and number, columns, boxes), its
SHA-256 and size, cardseq's version and the time. A print shop, or ``cardseq
verify-file``, can then tell a complete, untouched file from one that lost, changed or
repeated a line. The manifest holds numbers, never PINs.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any, Final

import numpy as np

from . import __version__
from .block import Block
from .columns import BOX, NUMBER, Column
from .errors import BrokenFile, FileMismatch
from .outfile import OutputFile
from .records import GenerationEntry
from .service import CardService

SUFFIX: Final = ".manifest.json"
KIND: Final = "cardseq print file manifest"
VERSION: Final = 1
#: lines checked per batch: bounds memory for a file of any length
BATCH: Final = 100_000


class HashingWriter:
    """A binary file that passes what it is given on to ``fp`` and hashes it."""

    def __init__(self, fp: IO[bytes] | Any) -> None:
        self.fp = fp
        self.sha256 = hashlib.sha256()
        self.size = 0

    def write(self, data: Any) -> int:
        view = memoryview(data)
        self.sha256.update(view)
        self.size += view.nbytes
        self.fp.write(view)
        return view.nbytes


def path_for(out: str) -> str:
    """Where the manifest of the file ``out`` goes."""
    return out + SUFFIX


def build(
    block: Block,
    entry: GenerationEntry,
    out: str,
    *,
    fmt: str,
    columns: Sequence[Column],
    order: str,
    box_size: int | None,
    written: HashingWriter,
) -> dict[str, Any]:
    """The manifest of ``block`` (of reservation ``entry``) as written to ``out``."""
    series = block.series
    indexes = (block.start, block.stop - 1)
    first, last = indexes if order == "asc" else indexes[::-1]
    manifest: dict[str, Any] = {
        "kind": KIND,
        "version": VERSION,
        "file": os.path.basename(out),
        "sha256": written.sha256.hexdigest(),
        "bytes": written.size,
        "format": fmt,
        "columns": [c.name if c.value is None else f"{c.name}={c.value}" for c in columns],
        "order": order,
        "series": {"id": entry.series_id, **series.to_dict()},
        "reservation": {
            "ledger_id": entry.id,
            "request_id": entry.request_id,
            "actor": entry.actor,
            "label": entry.label,
            "start": entry.start,
            "count": entry.count,
            "generated_on": entry.generated_on.isoformat(),
        },
        "count": block.count,
        "first": {"index": first, "number": series.format(first)},
        "last": {"index": last, "number": series.format(last)},
        "box_size": box_size,
        "cardseq_version": __version__,
        "written_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    if box_size and any(c.name == BOX and c.value is None for c in columns):
        manifest["boxes"] = [
            {"box": k + 1, "count": stop - start, "first": series.format(start),
             "last": series.format(stop - 1)}
            for k, (start, stop) in enumerate(_boxes(block, box_size))
        ]  # fmt: skip
    return manifest


def _boxes(block: Block, size: int) -> Iterator[tuple[int, int]]:
    for start in range(block.start, block.stop, size):
        yield start, min(start + size, block.stop)


def write(manifest: dict[str, Any], path: str) -> None:
    """Write ``manifest`` to ``path``, whole or not at all (``OutputFile``)."""
    with OutputFile(path) as target:
        target.fp.write(json.dumps(manifest, indent=2).encode() + b"\n")


# ---- checking a file -------------------------------------------------------------------


@dataclass(frozen=True)
class Verified:
    """A file that matched its manifest and the ledger."""

    path: str
    count: int
    series_code: str
    ledger_id: int
    request_id: str | None
    sha256: str


def read(path: str) -> dict[str, Any]:
    """The manifest at ``path`` (701 ``BrokenFile`` when absent or not one)."""
    try:
        with open(path, "rb") as f:
            manifest = json.loads(f.read())
    except (OSError, ValueError) as error:
        raise BrokenFile.bad("manifest", path, f"cannot be read as a manifest: {error}") from None
    if not isinstance(manifest, dict) or manifest.get("kind") != KIND:
        raise BrokenFile.bad("manifest", path, f"is not a {KIND}")
    return manifest


def verify(service: CardService, path: str, manifest_path: str | None = None) -> Verified:
    """Check the print file ``path`` against its manifest and the store's ledger: the
    reservation is the ledger's, every line holds the number the manifest's order puts
    there (so none is changed, repeated or missing), the count, then the checksum.
    The first difference is 714 (``FileMismatch``), naming the line."""
    manifest = read(manifest_path or path_for(path))
    try:
        reservation = manifest["reservation"]
        code, fmt, order = manifest["series"]["code"], manifest["format"], manifest["order"]
        count, ledger_id = int(manifest["count"]), int(reservation["ledger_id"])
    except (KeyError, TypeError, ValueError):
        raise BrokenFile.bad("manifest", manifest_path or path_for(path), "lacks a field") from None
    entry = service.reservation(code, ledger_id=ledger_id)
    if (entry.start, entry.count, entry.request_id) != (
        reservation.get("start"),
        reservation.get("count"),
        reservation.get("request_id"),
    ):
        raise FileMismatch.bad(
            "manifest", ledger_id, "names a reservation the ledger holds otherwise"
        )
    block = service.export(code, ledger_id=ledger_id)
    series = block.series
    indexes = (block.start, block.stop - 1)
    if manifest["first"]["index"] != indexes[order == "desc"] or count != block.count:
        raise FileMismatch.bad("manifest", path, "does not describe the reservation's block")
    step = -1 if order == "desc" else 1
    base = indexes[0] if step == 1 else indexes[1]
    seen = 0
    for line, numbers in _numbers(path, fmt):
        parsed = series.parse_many(numbers)
        expected = _expected(base + step * seen, step, len(numbers), parsed.indexes.dtype)
        good = parsed.valid & (parsed.indexes == expected)
        if seen + len(numbers) > count or not good.all():
            k = int(np.argmin(good)) if not good.all() else count - seen
            where = line + k
            if seen + k >= count:
                raise FileMismatch.bad("line", where, f"is past the {count} numbers of the file")
            raise FileMismatch.bad(
                "line",
                where,
                f"holds {numbers[k]!r}, not {series.format(int(expected[k]))!r}"
                f" (index {int(expected[k])} of the reservation)",
            )
        seen += len(numbers)
    if seen < count:
        raise FileMismatch.bad(
            "count", seen, f"numbers in the file: the manifest says {count}; the next is missing"
        )
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    if digest.hexdigest() != manifest.get("sha256"):
        raise FileMismatch.bad(
            "sha256", digest.hexdigest(), f"differs from the manifest's {manifest.get('sha256')}"
        )
    return Verified(path, count, code, ledger_id, entry.request_id, digest.hexdigest())


def _expected(first: int, step: int, n: int, dtype: np.dtype) -> np.ndarray:
    """The indexes the next ``n`` lines must hold, in ``parse_many``'s dtype."""
    if dtype.kind == "O":
        return np.array([first + step * k for k in range(n)], dtype=object)
    return np.arange(n, dtype=np.int64) * step + first


def _numbers(path: str, fmt: str) -> Iterator[tuple[int, list[str]]]:
    """(line number of the first, numbers) of the file's rows, a batch at a time."""
    try:
        f = open(path, encoding="utf-8", newline="")  # noqa: SIM115 - closed below
    except OSError as error:
        raise BrokenFile.bad("file", path, f"cannot be read: {error.strerror}") from None
    with f:
        first_line = 1
        rows: Iterator[Any]
        if fmt == "csv":
            reader = csv.reader(f)
            header = next(reader, [])
            if NUMBER not in header:
                raise FileMismatch.bad("line", 1, "is not a header with a number column")
            column = header.index(NUMBER)
            first_line = 2
            rows = (row[column] if len(row) > column else "" for row in reader)
        elif fmt == "jsonl":
            rows = (_json_number(line) for line in f)
        else:
            rows = (line.rstrip("\r\n") for line in f)
        batch: list[str] = []
        for number in rows:
            batch.append(number)
            if len(batch) == BATCH:
                yield first_line, batch
                first_line, batch = first_line + BATCH, []
        if batch:
            yield first_line, batch


def _json_number(line: str) -> str:
    try:
        number = json.loads(line).get(NUMBER)
    except (ValueError, AttributeError):
        return ""
    return number if isinstance(number, str) else ""


__all__ = ["HashingWriter", "Verified", "build", "path_for", "read", "verify", "write"]
