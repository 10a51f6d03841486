"""The symbols a series' counter is written in, and the check characters over them.

A series' counter is its value written in base N over an alphabet of N symbols, most
significant first, at the series' exact width. Digits (``0``-``9``) are the default and
keep every number cardseq made before; codes that people type use letters too:

- ``crockford``: Crockford's base 32, ``0-9`` and ``A-Z`` without ``I``, ``L``, ``O`` and
  ``U``; read back leniently, ``O`` is ``0`` and ``I``/``L`` are ``1``.
- ``unambiguous``: 31 symbols, ``2-9`` and ``A-Z`` without ``I``, ``L`` and ``O``: no
  0/O or 1/I/L to confuse, so nothing to fold.
- any other string of 2 to 256 distinct ASCII letters and digits.

Check characters (``checks``): ISO/IEC 7064's hybrid system MOD (N+1, N) over any
alphabet (for base 36 it is MOD 37,36), and Luhn mod N (for digits, Luhn itself). Both
catch every single substitution; MOD (N+1, N) also every transposition of neighbours,
Luhn mod N all but one pair's.

>>> CROCKFORD.encode(1234567, 6), CROCKFORD.decode("15NM7")
('015NM7', 1234567)
>>> CROCKFORD.fold("i5nm-o7")
'15NM07'
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from .errors import InvalidSeries

DIGITS_SYMBOLS = "0123456789"
NAMED = {
    "digits": DIGITS_SYMBOLS,
    "crockford": "0123456789ABCDEFGHJKMNPQRSTVWXYZ",
    "unambiguous": "23456789ABCDEFGHJKMNPQRSTUVWXYZ",
}
#: look-alikes a named alphabet reads as its own symbols, leniently
_LOOK_ALIKES = {"crockford": {"O": "0", "I": "1", "L": "1"}}
_SEPARATORS = frozenset(" -_.")
MAX_SYMBOLS = 256


@dataclass(frozen=True)
class Alphabet:
    """N distinct ASCII letters and digits; a counter's symbol ``k`` stands for ``k``."""

    symbols: str
    name: str | None = None
    """The named alphabet this is (``NAMED``), or None for a custom one."""
    _table: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        table = np.full(256, 255, dtype=np.uint8)
        for value, symbol in enumerate(self.symbols):
            table[ord(symbol)] = value
        object.__setattr__(self, "_table", table)

    @property
    def table(self) -> np.ndarray:
        """The value of each byte (0..255) as a symbol, 255 for a byte that is none."""
        return self._table

    def __repr__(self) -> str:
        return repr(self.spec)

    @property
    def base(self) -> int:
        return len(self.symbols)

    @property
    def digits(self) -> bool:
        """True for ``0``-``9``: the decimal numbers and check digits of before."""
        return self.symbols == DIGITS_SYMBOLS

    @property
    def spec(self) -> str:
        """How a definition names it: its name, or its symbols."""
        return self.name or self.symbols

    def encode(self, value: int, width: int) -> str:
        """``value`` in ``width`` symbols (the caller has checked it fits)."""
        out = []
        for _ in range(width):
            value, symbol = divmod(value, self.base)
            out.append(self.symbols[symbol])
        return "".join(reversed(out))

    def decode(self, text: str) -> int:
        """The value of ``text``'s symbols (ValueError for a character that is none)."""
        value = 0
        for char in text:
            k = self.symbols.find(char)
            if k < 0 or not char:
                raise ValueError(f"{char!r} is not a symbol of the alphabet")
            value = value * self.base + k
        return value

    def has(self, text: str) -> bool:
        return all(char in self.symbols for char in text)

    @functools.cached_property
    def _folds(self) -> dict[str, str]:
        """What lenient reading turns each character into: the case the alphabet
        uses (where it has one case of a letter only), then its look-alikes."""
        folds: dict[str, str] = {}
        for symbol in self.symbols:
            for other in {symbol.lower(), symbol.upper()} - {symbol}:
                if other not in self.symbols:
                    folds[other] = symbol
        for look, symbol in _LOOK_ALIKES.get(self.name or "", {}).items():
            for char in {look, look.lower()}:
                folds.setdefault(char, symbol)
        return folds

    def fold(self, text: str) -> str:
        """``text`` as a person typed it, in the alphabet's symbols: separators
        dropped, case and look-alikes folded where that is unambiguous."""
        folds = self._folds
        return "".join(folds.get(c, c) for c in text if c not in _SEPARATORS)


def alphabet(spec: object) -> Alphabet:
    """The alphabet ``spec`` names (``NAMED``) or spells; 3000 naming ``alphabet``."""
    if isinstance(spec, Alphabet):
        return spec
    if not isinstance(spec, str):
        raise InvalidSeries.bad("alphabet", spec, "must be a name or a string of symbols")
    if spec.lower() in NAMED:
        name = spec.lower()
        return _named(name)
    if not (2 <= len(spec) <= MAX_SYMBOLS):
        raise InvalidSeries.bad(
            "alphabet",
            spec,
            f"must be one of {', '.join(NAMED)} or 2 to {MAX_SYMBOLS} symbols",
        )
    if not (spec.isascii() and spec.isalnum()):
        raise InvalidSeries.bad(
            "alphabet", spec, "may hold ASCII letters and digits only (no separators)"
        )
    twice = sorted({c for c in spec if spec.count(c) > 1})
    if twice:
        raise InvalidSeries.bad("alphabet", spec, f"has {''.join(twice)!r} more than once")
    for name, symbols in NAMED.items():
        if spec == symbols:
            return _named(name)
    return Alphabet(spec)


@functools.cache
def _named(name: str) -> Alphabet:
    return Alphabet(NAMED[name], name)


DIGITS = _named("digits")
CROCKFORD = _named("crockford")
UNAMBIGUOUS = _named("unambiguous")


# ---- check characters ---------------------------------------------------------------


def iso7064_state(values: list[int], base: int) -> int:
    """The running value ``p`` of ISO/IEC 7064's hybrid system MOD (``base`` + 1,
    ``base``) after the symbol values ``values`` (``base`` before any)."""
    p = base
    for value in values:
        p = (p + value) % base or base
        p = (2 * p) % (base + 1)
    return p


def iso7064(values: list[int], base: int) -> int:
    """The check value MOD (``base`` + 1, ``base``) appends to ``values``."""
    return (base + 1 - iso7064_state(values, base)) % base


def iso7064_array(values: np.ndarray, base: int, start: int) -> np.ndarray:
    """``iso7064`` of each row of ``values`` (a column a symbol) after a prefix whose
    running value is ``start`` (``iso7064_state``)."""
    p = np.full(len(values), start, dtype=np.int64)
    for column in range(values.shape[1]):
        p = (p + values[:, column]) % base
        p[p == 0] = base
        p = (2 * p) % (base + 1)
    return (base + 1 - p) % base


def iso7064_fits(base: int) -> bool:
    """MOD (N+1, N) catches every substitution and swap of neighbours only when N+1 is
    prime: 10 (MOD 11,10), 36 (MOD 37,36), but not 32 (33 = 3 x 11)."""
    n = base + 1
    return n > 2 and all(n % k for k in range(2, int(n**0.5) + 1))


# Damm's algorithm over a totally anti-symmetric quasigroup of order N: x * y = a.x + y,
# with a and a - 1 both invertible. For odd N, a = 2 in the integers mod N; for N = 2**k,
# a = the polynomial x in GF(2**k) (these irreducible polynomials). Every substitution
# and every swap of neighbours changes the result.
_GF_POLYNOMIALS = {4: 0b111, 8: 0b1011, 16: 0b10011, 32: 0b100101, 64: 0b1000011,
                   128: 0b10000011, 256: 0b100011011}  # fmt: skip


def damm_fits(base: int) -> bool:
    """Damm's quasigroup here: N odd (3 and up), or a power of two from 4 to 256."""
    return (base % 2 == 1 and base >= 3) or base in _GF_POLYNOMIALS


@functools.cache
def _damm_times_a(base: int) -> tuple[int, ...]:
    """``a.x`` for each ``x``."""
    if base % 2:
        return tuple(2 * x % base for x in range(base))
    poly, top = _GF_POLYNOMIALS[base], base >> 1
    return tuple(((x << 1) ^ poly) if x & top else x << 1 for x in range(base))


def _damm_step(p: int, value: int, base: int) -> int:
    a = _damm_times_a(base)[p]
    return (a + value) % base if base % 2 else a ^ value


def damm_state(values: list[int], base: int) -> int:
    """Damm's running value after ``values`` (0 before any)."""
    p = 0
    for value in values:
        p = _damm_step(p, value, base)
    return p


def damm(values: list[int], base: int) -> int:
    """The check value after which Damm's running value is 0."""
    a = _damm_times_a(base)[damm_state(values, base)]
    return (-a) % base if base % 2 else a


def damm_array(values: np.ndarray, base: int, start: int) -> np.ndarray:
    """``damm`` of each row of ``values`` after a prefix whose running value is
    ``start`` (``damm_state``)."""
    times_a = np.array(_damm_times_a(base), dtype=np.int64)
    p = np.full(len(values), start, dtype=np.int64)
    for column in range(values.shape[1]):
        v = values[:, column].astype(np.int64)
        p = (times_a[p] + v) % base if base % 2 else times_a[p] ^ v
    a = times_a[p]
    return (-a) % base if base % 2 else a


def _doubled(value: int, base: int) -> int:
    value *= 2
    return value // base + value % base


def luhn_total(values: list[int], base: int) -> int:
    """Luhn mod ``base``'s sum: every second value from the right doubled (its two
    base-``base`` digits added)."""
    return sum(
        _doubled(v, base) if distance % 2 == 0 else v for distance, v in enumerate(reversed(values))
    )


def luhn(values: list[int], base: int) -> int:
    """The Luhn mod ``base`` check value that makes ``values`` valid."""
    return (base - luhn_total(values, base) % base) % base


def luhn_array(values: np.ndarray, base: int, prefix_total: int) -> np.ndarray:
    """``luhn`` of each row of ``values`` (the payload's last symbols), whose payload
    starts with symbols adding ``prefix_total`` (``luhn_total`` of them, followed by
    as many zeros as a row has values)."""
    total = np.full(len(values), prefix_total, dtype=np.int64)
    width = values.shape[1]
    for column in range(width):
        value = values[:, column].astype(np.int64)
        if (width - 1 - column) % 2 == 0:
            value = 2 * value
            value = value // base + value % base
        total += value
    return (base - total % base) % base


# ---- the check as an automaton ---------------------------------------------------------


def check_automaton(kind: str, base: int) -> tuple[np.ndarray, np.ndarray, int]:
    """The check ``kind`` (``iso7064``, ``damm``, ``luhn``) as a machine the compiled
    engine steps through a number's symbols: ``(step, final, start)``, where
    ``step[d % 2][state][value]`` is the state after a symbol at distance ``d`` from
    the payload's end, ``final[state]`` the check value, ``start`` the state before
    any symbol. The same values as the functions above, a symbol at a time."""
    states = base + 1 if kind == "iso7064" else base
    step = np.zeros((2, states, base), dtype=np.int32)
    final = np.zeros(states, dtype=np.int32)
    for state in range(states):
        for value in range(base):
            if kind == "iso7064":
                p = (state + value) % base or base
                step[:, state, value] = (2 * p) % (base + 1)
            elif kind == "damm":
                step[:, state, value] = _damm_step(state, value, base)
            else:  # luhn: the symbol at an even distance from the end is doubled
                step[0, state, value] = (state + _doubled(value, base)) % base
                step[1, state, value] = (state + value) % base
        if kind == "iso7064":
            final[state] = (base + 1 - state) % base
        elif kind == "damm":
            a = _damm_times_a(base)[state]
            final[state] = (-a) % base if base % 2 else a
        else:
            final[state] = (base - state) % base
    return step, final, base if kind == "iso7064" else 0
