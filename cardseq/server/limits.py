"""The server's settings' ranges, checked once for every way in: ``cardseq serve`` (its
options and ``CARDSEQ_*``), ``create_app`` and ``run.serve``. A value outside them is
error 701 naming the setting, never a ``ValueError`` or an overflow at the first
request. Standard library only: the command line reads these without the extra."""

from __future__ import annotations

import math
from typing import Any

from ..errors import InvalidArgument

#: a token bucket's refill a second: a slower one makes Retry-After overflow, a faster
#: one is no limit
MIN_RATE, MAX_RATE = 1e-6, 1e9
#: a bucket's size, and connections (in all, or from one address): beyond these the
#: server's float arithmetic and its connection limit (a machine word) fail; no
#: deployment comes near them
MAX_BURST, MAX_CONNECTIONS = 10**9, 10**6
#: numbers one generate request may ask for: a response holds them in memory, and ten
#: million are already most of a worker's
MAX_COUNT = 10**7
#: ...and the cap when none is given (error 3026 above it)
DEFAULT_MAX_COUNT = 100_000
#: a request body's bytes: the body is held in memory to be parsed
MAX_BODY = 2**30
#: ...and the cap when none is given (a generate or series request is far smaller)
DEFAULT_MAX_BODY = 64 * 1024
#: header and body timeouts, seconds
MIN_TIMEOUT, MAX_TIMEOUT = 0.001, 3600.0
#: processes serving one port
MAX_WORKERS = 64


def within(field: str, value: Any, minimum: float, maximum: float, *, whole: bool = False) -> Any:
    """``value`` when it is a number (a whole one if ``whole``) from ``minimum`` to
    ``maximum``; else 701 naming ``field``. NaN and infinities are never in range."""
    number = value if isinstance(value, int | float) and not isinstance(value, bool) else None
    if number is not None and whole and not isinstance(number, int):
        number = None
    if number is None or not (math.isfinite(number) and minimum <= number <= maximum):
        kind = "a whole number" if whole else "a number"
        raise InvalidArgument.bad(field, value, f"must be {kind} from {minimum:g} to {maximum:g}")
    return value


__all__ = [
    "DEFAULT_MAX_BODY",
    "DEFAULT_MAX_COUNT",
    "MAX_BODY",
    "MAX_BURST",
    "MAX_CONNECTIONS",
    "MAX_COUNT",
    "MAX_RATE",
    "MAX_TIMEOUT",
    "MAX_WORKERS",
    "MIN_RATE",
    "MIN_TIMEOUT",
    "within",
]
