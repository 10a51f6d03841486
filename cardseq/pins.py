"""PINs: a card's PIN is a keyed function of its index, so it is stored nowhere.

A series with ``pin_length`` L has a PIN key of its own (never the number key: a leak
of one must not give the other). From it and the series' code, BLAKE2b derives a
128-bit SipHash key; the PIN of index i is SipHash-2-4 of i (a 64-bit word) modulo
10**L, written with L digits. SipHash is a PRF: without the PIN key, the PINs of other
cards say nothing about this one's, and a card's number says nothing about its PIN.
The residue's bias is below 10**L / 2**64 (5e-8 for 12 digits).

A series may move to a new PIN key for the cards reserved from some index on (its
*schedule*: the first index under each key); the cards before keep theirs.

>>> state = pin_state(bytes(range(16)), "GIFT")
>>> pin(((0, state),), 0, 6), pin(((0, state),), 1, 6), pin(((0, state),), 1, 4)
('324019', '932779', '2779')
>>> moved = ((0, state), (1, pin_state(bytes(range(1, 17)), "GIFT")))
>>> pin(moved, 0, 6), pin(moved, 1, 6) != '932779'
('324019', True)
"""

from __future__ import annotations

import hashlib
from typing import Final

import numpy as np

from . import _engine
from .errors import InvalidArgument
from .permutation import sip_state

MIN_PIN, MAX_PIN = 4, 12
#: the most failed checks a series may allow before it locks a card
MAX_ATTEMPTS: Final = 100
#: PINs are SipHash of the index as one 64-bit word: indexes from here have none
MAX_PIN_INDEX: Final = 1 << 64
_PERSON = b"cardseq.pin"

PinState = tuple[int, int, int, int]
#: (first index, state) of each PIN key of a series, by first index, from 0
Schedule = tuple[tuple[int, PinState], ...]


def pin_state(pin_key: bytes, code: str) -> PinState:
    """The SipHash state of series ``code``'s PINs under ``pin_key``: two series that
    share a PIN key still have unrelated PINs."""
    derived = hashlib.blake2b(
        code.encode("ascii"), key=pin_key, digest_size=16, person=_PERSON
    ).digest()
    return sip_state(derived)


def pin_digits(
    schedule: Schedule, first: int, count: int, length: int, descending: bool
) -> np.ndarray:
    """The PINs of ``count`` cards from index ``first`` (up, or down when
    ``descending``) as ASCII digits, shape ``(count, length)``, each under the key its
    index falls in."""
    low, high = (first - count + 1, first) if descending else (first, first + count - 1)
    for index in (low, high):
        if not 0 <= index < MAX_PIN_INDEX:
            raise InvalidArgument.bad("index", index, "has no PIN: PINs stop at index 2**64 - 1")
    out = np.empty((count, length), dtype=np.uint8)
    for k, (start, state) in enumerate(schedule):
        stop = schedule[k + 1][0] if k + 1 < len(schedule) else MAX_PIN_INDEX
        a, b = max(low, start), min(high, stop - 1)
        if a > b:
            continue
        n = b - a + 1
        rows = out[first - b : first - b + n] if descending else out[a - first : a - first + n]
        top = b if descending else a
        _engine.engine.pins_into(rows.reshape(-1), length, state, top, n, descending, length)
    return out


def pin(schedule: Schedule, index: int, length: int) -> str:
    """The PIN of the card at ``index``."""
    return pin_digits(schedule, index, 1, length, False).tobytes().decode("ascii")
