"""The one reader for every integer a user sends: command-line options, JSON fields,
query and path values, headers.

Python's ``int()`` takes ``' 1_0 '``, ``'+5'`` and ``'٣'``, and JSON decoders hand over
``True`` and ``1.0``, which compare equal to integers; none of them is an integer a user
meant, so all are refused here, with the error code of the field they were sent for.

>>> from cardseq.errors import InvalidCount
>>> text_int("10", "count", InvalidCount, minimum=1)
10
>>> text_int(" 1_0 ", "count", InvalidCount, minimum=1)
Traceback (most recent call last):
...
cardseq.errors.InvalidCount: count ' 1_0 ' must be a positive integer (ASCII digits)
>>> json_int(True, "count", InvalidCount, minimum=1)
Traceback (most recent call last):
...
cardseq.errors.InvalidCount: count True must be a positive integer
"""

from __future__ import annotations

import operator
import re
from typing import Any

from .errors import CardSeqError

_UNSIGNED = re.compile(r"[0-9]+")
_SIGNED = re.compile(r"-?[0-9]+")


def as_int(value: Any) -> int | None:
    """``value`` as an int when it is an integer (an ``int``, or a NumPy integer from a
    library caller), else None: never a bool, a float or a string."""
    if isinstance(value, bool):
        return None
    try:
        return operator.index(value)
    except TypeError:
        return None


def parse_int(text: Any, *, signed: bool = False) -> int | None:
    """``text`` as an int when it is ASCII digits only (after one leading ``-`` when
    ``signed``), else None: no spaces, underscores, ``+`` or other scripts' digits."""
    if not isinstance(text, str) or not (_SIGNED if signed else _UNSIGNED).fullmatch(text):
        return None
    try:
        return int(text)
    except ValueError:  # more digits than the interpreter converts (4300)
        return None


def json_int(
    value: Any,
    field: str,
    error: type[CardSeqError],
    *,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int:
    """A JSON (or Python) integer in ``[minimum, maximum]``, else ``error`` naming
    ``field`` and ``value``."""
    number = as_int(value)
    if number is None or not _within(number, minimum, maximum):
        raise error.bad(field, value, f"must be {_expected(minimum, maximum)}")
    return number


def text_int(
    text: Any,
    field: str,
    error: type[CardSeqError],
    *,
    minimum: int | None = 0,
    maximum: int | None = None,
) -> int:
    """An integer written in ``text`` (a command-line or query value) in ``[minimum,
    maximum]``, else ``error``. A minus sign is read only when ``minimum`` allows
    negatives."""
    number = parse_int(text, signed=minimum is None or minimum < 0)
    if number is None or not _within(number, minimum, maximum):
        raise error.bad(field, text, f"must be {_expected(minimum, maximum)} (ASCII digits)")
    return number


def _within(number: int, minimum: int | None, maximum: int | None) -> bool:
    return (minimum is None or number >= minimum) and (maximum is None or number <= maximum)


def _expected(minimum: int | None, maximum: int | None) -> str:
    if minimum is not None and maximum is not None:
        return f"an integer from {minimum} to {maximum}"
    if minimum == 1:
        return "a positive integer"
    if minimum is not None:
        return f"an integer >= {minimum}"
    if maximum is not None:
        return f"an integer <= {maximum}"
    return "an integer"


__all__ = ["as_int", "json_int", "parse_int", "text_int"]
