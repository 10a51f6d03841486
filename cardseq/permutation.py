"""The keyed permutation ``P_k`` of ``[0, capacity)`` behind the RANDOM methods.

A Feistel network over the smallest power-of-two domain that holds the capacity (at
most twice its size, at least 4), with cycle walking: a value that lands outside
``[0, capacity)`` is encrypted again until it lands inside. Because the network is a
bijection of the domain, walking from a value inside always comes back inside, and the
result is a bijection of ``[0, capacity)``; on average it takes under two passes.

Each of the ``ROUNDS`` rounds XORs one half of the value with a keyed pseudo-random
function of the other half. Each round has its own 128-bit key, derived from the
series key with keyed BLAKE2b (so rounds, and domains of other sizes, are
independent). The round function is SipHash-1-3 of the half when halves fit 64 bits
(domains up to 128 bits, counters up to 38 digits): a keyed PRF built for short
inputs (CPython and Rust key their string hashing with it), cheap on one 64-bit word,
and simple enough to run in the compiled loop and over NumPy arrays. Eight Feistel
rounds on top of it leave a wide margin. Wider domains use keyed BLAKE2b of the half,
in Python.

>>> p = Permutation(bytes(range(16)), 10)
>>> sorted(p.forward(i) for i in range(10))
[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
>>> all(p.inverse(p.forward(i)) == i for i in range(10))
True
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import numpy as np

ROUNDS = 8
NATIVE_BITS = 128  # domains up to this size use SipHash on 64-bit halves
VECTOR_BITS = 64  # domains up to this size also run over NumPy uint64 arrays
MIN_KEY, MAX_KEY = 16, 64  # bytes; BLAKE2b takes keys up to 64 bytes
MASK64 = (1 << 64) - 1
_SIP_INIT = (0x736F6D6570736575, 0x646F72616E646F6D, 0x6C7967656E657261, 0x7465646279746573)
_PERSON = b"cardseq.feistel"

# One index, or a NumPy uint64 array of them: the network's code serves both.
_Word = TypeVar("_Word", int, np.ndarray)


def _rotl(x: Any, bits: int) -> Any:
    return ((x << bits) | (x >> (64 - bits))) & MASK64


def _sipround(v0: Any, v1: Any, v2: Any, v3: Any) -> tuple[Any, Any, Any, Any]:
    v0 = (v0 + v1) & MASK64
    v1 = _rotl(v1, 13) ^ v0
    v0 = _rotl(v0, 32)
    v2 = (v2 + v3) & MASK64
    v3 = _rotl(v3, 16) ^ v2
    v0 = (v0 + v3) & MASK64
    v3 = _rotl(v3, 21) ^ v0
    v2 = (v2 + v1) & MASK64
    v1 = _rotl(v1, 17) ^ v2
    v2 = _rotl(v2, 32)
    return v0, v1, v2, v3


def siphash(
    state: tuple[int, int, int, int], word: Any, c_rounds: int = 1, d_rounds: int = 3
) -> Any:
    """SipHash-c-d of one 64-bit little-endian word, from a keyed initial ``state``.

    The rounds use SipHash-1-3; ``c_rounds=2, d_rounds=4`` gives SipHash-2-4, whose
    published test vectors check this code. ``word`` is an int or a NumPy uint64 array
    (then so is the result): the same code serves the scalar and the vector path.
    """
    v0, v1, v2, v3 = state
    v3 = v3 ^ word
    for _ in range(c_rounds):
        v0, v1, v2, v3 = _sipround(v0, v1, v2, v3)
    v0 = v0 ^ word
    last = 8 << 56  # the final block: the message length (8) in the top byte
    v3 = v3 ^ last
    for _ in range(c_rounds):
        v0, v1, v2, v3 = _sipround(v0, v1, v2, v3)
    v0 = v0 ^ last
    v2 = v2 ^ 0xFF
    for _ in range(d_rounds):
        v0, v1, v2, v3 = _sipround(v0, v1, v2, v3)
    return v0 ^ v1 ^ v2 ^ v3


def sip_state(key16: bytes) -> tuple[int, int, int, int]:
    """SipHash's initial state for a 16-byte key."""
    k0 = int.from_bytes(key16[:8], "little")
    k1 = int.from_bytes(key16[8:], "little")
    return (k0 ^ _SIP_INIT[0], k1 ^ _SIP_INIT[1], k0 ^ _SIP_INIT[2], k1 ^ _SIP_INIT[3])


class CycleWalk:
    """A keyed bijection of ``[0, capacity)`` made from a cipher of a larger domain by
    cycle walking: subclasses give one pass (``_encrypt``/``_decrypt``) of the cipher,
    on an int or a NumPy uint64 array, and say when arrays fit (``vector``)."""

    __slots__ = ("capacity",)
    capacity: int

    @property
    def native(self) -> bool:
        """True when the compiled engine runs this cipher itself; else it hands the
        block to the pure engine, which calls the methods below."""
        return False

    @property
    def vector(self) -> bool:
        """True when the domain's values fit uint64 arrays (``forward_array``)."""
        raise NotImplementedError

    def _encrypt(self, x: _Word) -> _Word:
        raise NotImplementedError

    def _decrypt(self, x: _Word) -> _Word:
        raise NotImplementedError

    def forward(self, index: int) -> int:
        """``P_k(index)`` for one index in ``[0, capacity)``."""
        x = self._encrypt(index)
        while x >= self.capacity:
            x = self._encrypt(x)
        return x

    def inverse(self, value: int) -> int:
        """The index whose image is ``value``."""
        x = self._decrypt(value)
        while x >= self.capacity:
            x = self._decrypt(x)
        return x

    def forward_array(self, indexes: np.ndarray) -> np.ndarray:
        """``P_k`` of each uint64 in ``indexes`` (domains that fit: ``vector``)."""
        return self._walk_array(self._encrypt, indexes)

    def inverse_array(self, values: np.ndarray) -> np.ndarray:
        """The inverse of :meth:`forward_array`."""
        return self._walk_array(self._decrypt, values)

    def _walk_array(
        self, step: Callable[[np.ndarray], np.ndarray], values: np.ndarray
    ) -> np.ndarray:
        if not self.vector:
            raise ValueError(f"{self!r}'s domain does not fit uint64 arrays")
        out = step(values.astype(np.uint64))
        outside = np.flatnonzero(out >= self.capacity)
        while outside.size:
            out[outside] = step(out[outside])
            outside = outside[out[outside] >= self.capacity]
        return out


class Permutation(CycleWalk):
    """``P_k``: a keyed bijection of ``[0, capacity)``, with its inverse."""

    __slots__ = ("bits", "high_bits", "low_bits", "round_keys", "states")

    def __init__(self, key: bytes, capacity: int) -> None:
        if not isinstance(key, bytes) or not MIN_KEY <= len(key) <= MAX_KEY:
            raise ValueError(f"key must be {MIN_KEY}..{MAX_KEY} bytes")
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self.bits = max(2, (capacity - 1).bit_length())
        self.high_bits = self.bits // 2
        self.low_bits = self.bits - self.high_bits
        domain = self.bits.to_bytes(2, "little")
        self.round_keys = tuple(
            hashlib.blake2b(bytes([r]) + domain, key=key, digest_size=16, person=_PERSON).digest()
            for r in range(ROUNDS)
        )
        self.states = tuple(sip_state(k) for k in self.round_keys)

    def __repr__(self) -> str:  # never shows the keys
        return f"Permutation(capacity={self.capacity}, bits={self.bits})"

    @property
    def native(self) -> bool:
        """True when the halves fit 64 bits (SipHash rounds; the compiled engine's range)."""
        return self.bits <= NATIVE_BITS

    @property
    def vector(self) -> bool:
        return self.bits <= VECTOR_BITS

    def _round(self, r: int, half: Any, bits: int) -> Any:
        mask = (1 << bits) - 1
        if self.native:
            return siphash(self.states[r], half) & mask
        size = (max(self.high_bits, self.low_bits) + 7) // 8
        digest = hashlib.blake2b(
            half.to_bytes(size, "little"), key=self.round_keys[r], digest_size=(bits + 7) // 8
        ).digest()
        return int.from_bytes(digest, "little") & mask

    def _feistel(self, x: _Word, rounds: Iterable[int]) -> _Word:
        """The network over ``rounds`` in order: ascending encrypts, descending decrypts
        (each round only XORs one half with a function of the other)."""
        low_bits = self.low_bits
        high, low = x >> low_bits, x & ((1 << low_bits) - 1)
        for r in rounds:
            if r % 2 == 0:
                low = low ^ self._round(r, high, low_bits)
            else:
                high = high ^ self._round(r, low, self.high_bits)
        return (high << low_bits) | low

    def _encrypt(self, x: _Word) -> _Word:
        return self._feistel(x, range(ROUNDS))

    def _decrypt(self, x: _Word) -> _Word:
        return self._feistel(x, reversed(range(ROUNDS)))
