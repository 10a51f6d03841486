"""Many numbers of one series checked in one call, at the engine's speed.

``CardSeries.parse_many`` gives, for each number, its index and a ``Reason``: the same
answer as ``parse`` one number at a time, without a Python object per number. The
numbers become one row of bytes each here; the engine (``_engine.engine.parse_rows``)
checks the rows.

>>> from cardseq import CardSeries
>>> s = CardSeries("V", prefix="400000", length=16, method="LUHN")
>>> parsed = s.parse_many(["4000000000000010", "4000000000000011", "400000"])
>>> parsed.indexes.tolist(), [Reason(r).name for r in parsed.reasons]
([1, -1, -1], ['OK', 'CHECK_DIGIT', 'LENGTH'])
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import numpy.typing as npt

from . import _engine, blocked
from ._engine_py import (
    BAD_BLOCKED,
    BAD_CHECK_DIGIT,
    BAD_DIGITS,
    BAD_LENGTH,
    BAD_PREFIX,
    BAD_RANGE,
    BAD_SUFFIX,
    BAD_TYPE,
    OK,
    index_dtype,
)

if TYPE_CHECKING:
    from .series import CardSeries

# The byte that stands for a character outside ASCII: no digit, no prefix or suffix
# character, so such a character fails where ``parse`` says it fails.
_FOREIGN = 0xFF


class Reason(enum.IntEnum):
    """Why a number is not one of the series (``OK`` when it is). Each value is also
    the ``reason`` that ``parse`` puts on its ``InvalidNumber`` (see ``label``)."""

    OK = OK
    TYPE = BAD_TYPE  # not a string
    LENGTH = BAD_LENGTH  # not the series' length
    PREFIX = BAD_PREFIX  # does not start with the prefix
    SUFFIX = BAD_SUFFIX  # does not end with the suffix
    DIGITS = BAD_DIGITS  # a non-digit between prefix and suffix
    CHECK_DIGIT = BAD_CHECK_DIGIT  # the check digit is wrong
    RANGE = BAD_RANGE  # the counter is below the series' offset
    BLOCKED = BAD_BLOCKED  # it spells one of the series' blocked words

    @property
    def label(self) -> str:
        """``InvalidNumber.reason`` for this reason ("" for ``OK``)."""
        return _LABELS[self]


_LABELS = {
    Reason.OK: "",
    Reason.TYPE: "type",
    Reason.LENGTH: "length",
    Reason.PREFIX: "prefix",
    Reason.SUFFIX: "suffix",
    Reason.DIGITS: "digits",
    Reason.CHECK_DIGIT: "check digit",
    Reason.RANGE: "range",
    Reason.BLOCKED: "blocked",
}


class Parsed(NamedTuple):
    """Indexes and reasons of many numbers, in their order.

    ``indexes``: int64, -1 where a number is not valid; for counters wider than 18
    digits (indexes may pass 2**63), an object array of ints, None where not valid.
    ``reasons``: uint8 ``Reason`` values, 0 (``OK``) where valid.
    """

    indexes: np.ndarray
    reasons: npt.NDArray[np.uint8]

    @property
    def valid(self) -> npt.NDArray[np.bool_]:
        """A bool array: True where the number is one of the series."""
        valid: npt.NDArray[np.bool_] = self.reasons == OK  # (NumPy types == as Any)
        return valid


def parse_many(series: CardSeries, numbers: Any) -> Parsed:
    """Indexes and reasons of ``numbers`` (a NumPy array of dtype ``S``/``U``, or any
    iterable of ``str``/``bytes``) in ``series``; see ``CardSeries.parse_many``."""
    layout = series._layout
    rows, reasons = as_rows(numbers, series.length)
    indexes = np.full(len(reasons), -1, dtype=index_dtype(layout))
    if indexes.dtype == object:
        indexes[:] = None
    if layout.blocked is None:
        _engine.engine.parse_rows(rows, layout, reasons, indexes)
    else:
        blocked.parse_rows(_engine.engine.parse_rows, rows, layout, reasons, indexes)
    return Parsed(indexes, reasons)


def as_rows(numbers: Any, length: int) -> tuple[np.ndarray, np.ndarray]:
    """``numbers`` as a uint8 matrix of ``length`` columns (a view where it can be),
    and reasons: ``LENGTH`` or ``TYPE`` for the numbers that cannot be of the series,
    0 for the rest (their rows are what the engine checks).

    An element of a NumPy array is what indexing it gives: NumPy drops trailing NULs.
    """
    if isinstance(numbers, np.ndarray) and numbers.dtype.kind in "SU" and numbers.ndim == 1:
        return _array_rows(numbers, length)
    if isinstance(numbers, (str, bytes)) or not isinstance(numbers, Iterable):
        raise TypeError(f"expected an array or a list of numbers, not {type(numbers).__name__}")
    return _list_rows(list(numbers), length)


def _array_rows(numbers: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
    n = len(numbers)
    size = numbers.dtype.itemsize // (4 if numbers.dtype.kind == "U" else 1)
    if size < length or n == 0:
        return np.zeros((n, length), np.uint8), np.full(n, BAD_LENGTH, np.uint8)
    wide = numbers.dtype.kind == "U"  # UCS-4: one uint32 per character
    chars = np.ascontiguousarray(numbers).view(np.uint32 if wide else np.uint8).reshape(n, size)
    # An element has `length` characters when its last one is not NUL and none follow.
    fits = chars[:, length - 1] != 0
    if size > length:
        fits &= ~chars[:, length:].any(axis=1)
    rows = chars[:, :length]
    if wide:
        rows = np.where(np.greater(rows, 127), _FOREIGN, rows).astype(np.uint8)
    reasons = np.zeros(n, np.uint8)
    reasons[~fits] = BAD_LENGTH
    return rows, reasons


def _list_rows(items: list[Any], length: int) -> tuple[np.ndarray, np.ndarray]:
    """Each item as ASCII bytes, one character a byte (as ``parse`` reads it)."""
    blank = b"\0" * length
    reasons = np.zeros(len(items), np.uint8)
    parts = []
    for k, item in enumerate(items):
        if isinstance(item, str):
            item = item.encode("ascii", "replace")  # '?' is no digit nor literal
        elif isinstance(item, bytearray):
            item = bytes(item)
        elif not isinstance(item, bytes):
            reasons[k] = BAD_TYPE
            parts.append(blank)
            continue
        if len(item) != length:
            reasons[k] = BAD_LENGTH
            item = blank
        parts.append(item)
    rows = np.frombuffer(b"".join(parts), dtype=np.uint8).reshape(len(items), length)
    return rows, reasons
