"""FF1 as NIST SP 800-38G writes it: the oracle for ``cardseq.ff1``.

One number at a time, numeral strings as lists of ints, one AES call per block, each
line a step of Algorithm 7 (FF1.Encrypt) or 8 (FF1.Decrypt) with its number; nothing
precomputed, nothing batched. Slow on purpose: it is here to be obviously right.
"""

from __future__ import annotations

import math

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


def num(numerals: list[int], radix: int) -> int:
    """NUM_radix(X): the numerals as an integer, most significant first."""
    x = 0
    for numeral in numerals:
        x = x * radix + numeral
    return x


def num_bytes(data: bytes) -> int:
    """NUM(X) of a byte string: big-endian."""
    return int.from_bytes(data, "big")


def str_m(x: int, radix: int, m: int) -> list[int]:
    """STR^m_radix(x): x as m numerals."""
    out = []
    for _ in range(m):
        x, numeral = divmod(x, radix)
        out.append(numeral)
    return out[::-1]


def ciph(key: bytes, block: bytes) -> bytes:
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return encryptor.update(block) + encryptor.finalize()


def prf(key: bytes, x: bytes) -> bytes:
    """PRF(X), Algorithm 6: CBC-MAC of AES with a zero IV."""
    y = bytes(16)
    for j in range(len(x) // 16):
        y = ciph(key, bytes(a ^ b for a, b in zip(y, x[16 * j : 16 * j + 16], strict=True)))
    return y


def _setup(key: bytes, tweak: bytes, radix: int, n: int) -> tuple[int, int, int, int, bytes]:
    u = n // 2  # step 1
    v = n - u
    b = math.ceil(math.ceil(v * math.log2(radix)) / 8)  # step 3
    if 2 ** (8 * b) < radix**v:  # guard against float rounding in step 3
        b += 1
    d = 4 * math.ceil(b / 4) + 4  # step 4
    t = len(tweak)
    p = (
        bytes([1, 2, 1])
        + radix.to_bytes(3, "big")
        + bytes([10, u % 256])
        + n.to_bytes(4, "big")
        + t.to_bytes(4, "big")
    )  # step 5
    return u, v, b, d, p


def _y(key: bytes, p: bytes, tweak: bytes, i: int, half: int, b: int, d: int) -> int:
    q = tweak + bytes((-len(tweak) - b - 1) % 16) + bytes([i]) + half.to_bytes(b, "big")
    r = prf(key, p + q)  # step 6.ii
    s = r
    j = 1
    while len(s) < d:  # step 6.iii
        s += ciph(key, bytes(a ^ c for a, c in zip(r, j.to_bytes(16, "big"), strict=True)))
        j += 1
    return num_bytes(s[:d])  # step 6.iv


def encrypt(key: bytes, tweak: bytes, radix: int, x: list[int]) -> list[int]:
    """FF1.Encrypt(K, T, X), Algorithm 7."""
    n = len(x)
    u, v, b, d, p = _setup(key, tweak, radix, n)
    a, bb = x[:u], x[u:]  # step 2
    for i in range(10):  # step 6
        y = _y(key, p, tweak, i, num(bb, radix), b, d)
        m = u if i % 2 == 0 else v  # step 6.v
        c = (num(a, radix) + y) % radix**m  # step 6.vi
        a, bb = bb, str_m(c, radix, m)  # steps 6.vii-ix
    return a + bb  # step 7


def decrypt(key: bytes, tweak: bytes, radix: int, x: list[int]) -> list[int]:
    """FF1.Decrypt(K, T, X), Algorithm 8."""
    n = len(x)
    u, v, b, d, p = _setup(key, tweak, radix, n)
    a, bb = x[:u], x[u:]
    for i in reversed(range(10)):
        y = _y(key, p, tweak, i, num(a, radix), b, d)
        m = u if i % 2 == 0 else v
        c = (num(bb, radix) - y) % radix**m
        a, bb = str_m(c, radix, m), a
    return a + bb
