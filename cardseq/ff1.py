"""NIST FF1 (SP 800-38G), batched: every number of a block through one AES call per round.

FF1 is a ten-round Feistel network over numeral strings whose round function is a
CBC-MAC of AES. Its input ``P || Q`` starts with blocks that do not depend on the
number (the parameters ``P``, the tweak and its padding), so their MAC state is
computed once per key; what is left per number and round is the last block: one
AES-ECB call per round over every number at once, through the ``cryptography``
package (OpenSSL, with AES-NI where the CPU has it). The arithmetic around it runs
over NumPy ``uint64`` arrays where the domain fits them, and over Python integers
(the same code, ``object`` arrays) where it does not.

The module stays within what the standard fixes: radix 2..65536, at least two
numerals, AES-128/192/256, and a domain ``radix ** n`` of at least one million (the
minimum of SP 800-38G Rev. 1's second public draft, February 2025). The reference
implementation in ``tests/ff1_reference.py`` follows the standard's pseudocode line by
line; the tests hold this module to it and to NIST's sample vectors.

>>> ff1 = FF1(bytes.fromhex("2B7E151628AED2A6ABF7158809CF4F3C"), b"", radix=10, length=10)
>>> ff1.encrypt(123456789)  # NIST's FF1 sample 1: 0123456789 -> 2433477484
2433477484
>>> ff1.decrypt(2433477484)
123456789
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .extras import needed
from .permutation import CycleWalk

#: SP 800-38G's smallest domain (radix ** length) for FF1
MIN_DOMAIN = 1_000_000
KEY_SIZES = (16, 24, 32)  # AES-128, AES-192, AES-256
MAX_RADIX = 1 << 16
#: the widest decimal counter this module takes (radix ** v below 2**120, see FF1)
MAX_DIGITS = 72
ROUNDS = 10
_BLOCK = 16
_MAX_TWEAK = 1 << 32  # the tweak's length is written in four bytes of P
# Domains below this use uint64 arrays: A + y stays below 2**64.
_VECTOR_DOMAIN = 1 << 63


class FF1:
    """AES-FF1 of the integers ``[0, radix ** length)``, read as ``length`` numerals.

    ``encrypt``/``decrypt`` take one integer; ``encrypt_array``/``decrypt_array`` a
    NumPy array of them (``uint64``, or ``object`` for domains of 2**63 and up).
    Arguments outside the standard raise ``ValueError``: the series layer has checked
    its own fields before, with coded errors.
    """

    __slots__ = ("_aes", "_lead", "b", "d", "domain", "length", "radix", "u", "v", "vector")

    def __init__(self, key: bytes, tweak: bytes, *, radix: int, length: int) -> None:
        if len(key) not in KEY_SIZES:
            raise ValueError(f"an FF1 key has 16, 24 or 32 bytes, not {len(key)}")
        if not 2 <= radix <= MAX_RADIX:
            raise ValueError(f"FF1's radix is 2..{MAX_RADIX}, not {radix}")
        if length < 2 or radix**length < MIN_DOMAIN:
            raise ValueError(
                f"FF1 needs radix ** length >= {MIN_DOMAIN:,}, not {radix} ** {length}"
            )
        if len(tweak) >= _MAX_TWEAK:
            raise ValueError("an FF1 tweak is shorter than 2**32 bytes")
        with needed("ff1", "the FF1 cipher"):
            from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
        self._aes = Cipher(algorithms.AES(key), modes.ECB())
        self.radix, self.length = radix, length
        self.domain: int = radix**length
        self.u = length // 2
        self.v = length - self.u
        # b: bytes that hold NUM(B) for the longer half; d: bytes of S (step 3, 4)
        self.b = -(-(radix**self.v - 1).bit_length() // 8)
        self.d = 4 * -(-self.b // 4) + 4
        if self.b >= _BLOCK:  # the round number would leave Q's last block
            raise ValueError("FF1 here takes radix ** (length - length // 2) < 2**120")
        self.vector: bool = self.domain < _VECTOR_DOMAIN and self.d == 8
        p = bytes([1, 2, 1]) + radix.to_bytes(3, "big") + bytes([10, self.u % 256])
        p += length.to_bytes(4, "big") + len(tweak).to_bytes(4, "big")
        q = tweak + bytes((-len(tweak) - self.b - 1) % _BLOCK)  # then [i] and NUM(B)
        # The MAC's state before Q's last block, XORed into that block's constant part
        # (the tweak's end, or padding, before the round number and NUM(B)).
        whole = p + q + bytes(1 + self.b)
        state = bytes(_BLOCK)
        for start in range(0, len(whole) - _BLOCK, _BLOCK):
            state = self._ecb(_xor(state, whole[start : start + _BLOCK]))
        self._lead = np.frombuffer(_xor(state, whole[-_BLOCK:]), dtype=np.uint8)

    def __repr__(self) -> str:  # never shows the key
        return f"FF1(radix={self.radix}, length={self.length})"

    def _ecb(self, data: bytes) -> bytes:
        encryptor = self._aes.encryptor()
        return bytes(encryptor.update(data) + encryptor.finalize())

    def encrypt(self, value: int) -> int:
        """FF1 of one integer in ``[0, domain)``."""
        return int(self.encrypt_array(self._one(value))[0])

    def decrypt(self, value: int) -> int:
        """The inverse of :meth:`encrypt`."""
        return int(self.decrypt_array(self._one(value))[0])

    def encrypt_array(self, values: np.ndarray) -> np.ndarray:
        """FF1 of each value (a new array of the same length)."""
        return self._rounds(values, range(ROUNDS), decrypting=False)

    def decrypt_array(self, values: np.ndarray) -> np.ndarray:
        """The inverse of :meth:`encrypt_array`."""
        return self._rounds(values, reversed(range(ROUNDS)), decrypting=True)

    def _one(self, value: int) -> np.ndarray:
        if not 0 <= value < self.domain:
            raise ValueError(f"{value} is outside FF1's domain [0, {self.domain})")
        return np.array([value], dtype=np.uint64 if self.vector else object)

    def _rounds(self, values: np.ndarray, rounds: Any, *, decrypting: bool) -> np.ndarray:
        dtype = np.dtype(np.uint64 if self.vector else object)
        split = self.radix**self.v
        values = np.asarray(values).astype(dtype)
        a, b = values // dtype.type(split), values % dtype.type(split)
        moduli = (self.radix**self.u, split)  # radix ** m for even and odd rounds
        for i in rounds:
            modulus = dtype.type(moduli[i % 2])
            if decrypting:  # steps 6.i-ix of Algorithm 8
                y = self._prf(i, a) % modulus
                a, b = (b + modulus - y) % modulus, a
            else:  # steps 6.i-ix of Algorithm 7
                y = self._prf(i, b) % modulus
                a, b = b, (a + y) % modulus
        result: np.ndarray = a * dtype.type(split) + b
        return result

    def _prf(self, round_: int, half: np.ndarray) -> np.ndarray:
        """``NUM(S)`` for each number: the MAC of its last block of Q (steps 6.i-iv)."""
        if self.vector:
            return self._prf_words(round_, half)
        n = len(half)
        blocks = np.empty((n, _BLOCK), dtype=np.uint8)
        blocks[:] = self._lead
        blocks[:, _BLOCK - self.b - 1] ^= round_
        blocks[:, _BLOCK - self.b :] ^= self._num_bytes(half)
        r = np.frombuffer(self._ecb(blocks.tobytes()), dtype=np.uint8).reshape(n, _BLOCK)
        s = [r]
        for j in range(1, -(-self.d // _BLOCK)):  # S's further blocks: AES(R xor [j])
            counter = np.frombuffer(j.to_bytes(_BLOCK, "big"), dtype=np.uint8)
            more = self._ecb((r ^ counter).tobytes())
            s.append(np.frombuffer(more, dtype=np.uint8).reshape(n, _BLOCK))
        head = np.concatenate(s, axis=1)[:, : self.d]
        return np.array([int.from_bytes(row.tobytes(), "big") for row in head], dtype=object)

    def _prf_words(self, round_: int, half: np.ndarray) -> np.ndarray:
        """:meth:`_prf` where ``b <= 4`` and ``d == 8``: each block as two big-endian
        64-bit words, the round number and ``NUM(half)`` in the second, ``S`` the first
        word of the MAC."""
        lead = self._lead.view(">u8")
        blocks = np.empty((len(half), 2), dtype=">u8")
        blocks[:, 0] = lead[0]
        blocks[:, 1] = half ^ np.uint64(int(lead[1]) ^ (round_ << (8 * self.b)))
        # (update_into wants room for one block more than it writes)
        out = np.empty((len(half) + 1, 2), dtype=">u8")
        encryptor = self._aes.encryptor()
        encryptor.update_into(blocks.data.cast("B"), out.data.cast("B"))
        return out[:-1, 0].astype(np.uint64)

    def _num_bytes(self, half: np.ndarray) -> np.ndarray:
        """``[NUM(half)]^b``: each value as ``b`` big-endian bytes, one row each."""
        raw = b"".join(int(x).to_bytes(self.b, "big") for x in half)
        return np.frombuffer(raw, dtype=np.uint8).reshape(-1, self.b)


class FF1Permutation(CycleWalk):
    """A series' keyed permutation of ``[0, capacity)`` by FF1: the fewest numerals
    whose domain holds the capacity, cycle-walked down to it (under ten passes)."""

    __slots__ = ("ff1",)

    def __init__(self, key: bytes, tweak: bytes, capacity: int, radix: int = 10) -> None:
        self.capacity = capacity
        self.ff1 = FF1(key, tweak, radix=radix, length=numerals_for(radix, capacity))

    def __repr__(self) -> str:
        return f"FF1Permutation(capacity={self.capacity}, {self.ff1!r})"

    @property
    def vector(self) -> bool:
        return self.ff1.vector

    def _encrypt(self, x: Any) -> Any:
        return self.ff1.encrypt_array(x) if isinstance(x, np.ndarray) else self.ff1.encrypt(x)

    def _decrypt(self, x: Any) -> Any:
        return self.ff1.decrypt_array(x) if isinstance(x, np.ndarray) else self.ff1.decrypt(x)


def numerals_for(radix: int, capacity: int) -> int:
    """The fewest numerals whose domain holds ``capacity`` values (and FF1's minimum)."""
    length = 2
    while radix**length < max(capacity, MIN_DOMAIN):
        length += 1
    return length


def _xor(x: bytes, y: bytes) -> bytes:
    return bytes(p ^ q for p, q in zip(x, y, strict=True))
