"""The engine in readable Python (with NumPy): the twin of ``_engine_c.pyx``.

Same function names, same arguments, same bytes out. It formats column by column over
whole arrays instead of number by number, so it stays fast where no compiler is
available; the compiled twin steps a counter digit by digit instead. Neither does I/O.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple, TypeAlias

import numpy as np

from . import alphabets, checkdigit
from .permutation import siphash

if TYPE_CHECKING:
    from .alphabets import Alphabet
    from .blocked import Blocklist
    from .permutation import CycleWalk

# Numbers per pass: bounds the temporary int64 arrays (8 bytes per number each).
_CHUNK = 1 << 18
# Decimal digits that fit an int64 with room for adding a chunk's worth of indexes.
_LOW_DIGITS = 18
_NEWLINE = 10
_ZERO = 48

#: What ``render_into`` writes into: any writable buffer of bytes.
WritableBuffer: TypeAlias = np.ndarray | bytearray | memoryview


class Layout(NamedTuple):
    """What an engine needs to know of a series to write its numbers."""

    prefix: bytes
    suffix: bytes
    width: int  # counter digits
    check: int  # checkdigit.NONE, LUHN or MOD7
    check_prefix: str  # the prefix when it takes part in the check digit, else ""
    offset: int
    perm: CycleWalk | None = None  # the RANDOM methods' P_k; None: counter = offset + i
    #: None: decimal digits with Luhn or mod 7 (the engines' own loops); else the
    #: alphabet of a code series, or digits under an ISO 7064 check (``coded``)
    alphabet: Alphabet | None = None
    #: a code series' blocked words (``blocked``): its callers hand the engines the
    #: layout without them and drop the void counters themselves
    blocked: Blocklist | None = None

    @property
    def length(self) -> int:
        return len(self.prefix) + self.width + (self.check != checkdigit.NONE) + len(self.suffix)


def int64_symbols(base: int) -> int:
    """Counter symbols whose values fit an int64 with room to add a chunk's indexes:
    18 decimal digits, 12 base-32 symbols."""
    width, top = 0, base
    while top <= 10**_LOW_DIGITS:
        width, top = width + 1, top * base
    return width


def render_into(
    out: WritableBuffer, stride: int, layout: Layout, first_index: int, count: int, descending: bool
) -> None:
    """Write ``count`` numbers into the byte buffer ``out``, one every ``stride`` bytes.

    The first is the number at ``first_index``; the next ones follow upwards, or
    downwards when ``descending``. A stride one longer than the number ends each
    record with a newline. The caller has checked the range against the capacity.
    """
    if count <= 0:
        return
    if stride < layout.length:
        raise ValueError(f"stride {stride} is shorter than the number ({layout.length})")
    flat = np.frombuffer(out, dtype=np.uint8)
    if flat.size < count * stride:
        raise ValueError(f"buffer of {flat.size} bytes is too small for {count} records")
    rows = flat[: count * stride].reshape(count, stride)
    step = -1 if descending else 1
    for done in range(0, count, _CHUNK):
        n = min(_CHUNK, count - done)
        _render_rows(rows[done : done + n], layout, first_index + step * done, n, step)


def render_list(layout: Layout, first_index: int, count: int, descending: bool) -> list[str]:
    """The same numbers as :func:`render_into`, as a list of ``str``."""
    if count <= 0:
        return []
    stride = layout.length + 1
    buf = np.empty(count * stride, dtype=np.uint8)
    render_into(buf, stride, layout, first_index, count, descending)
    return buf[:-1].tobytes().decode("ascii").split("\n")


def _render_rows(rows: np.ndarray, layout: Layout, first_index: int, n: int, step: int) -> None:
    base = _base(layout)
    if layout.perm is None:
        digits = _counter_digits(layout.offset + first_index, n, layout.width, step, base)
    else:
        digits = _keyed_digits(layout, layout.perm, first_index, n, step)
    write_rows(rows, layout, digits)


def write_rows(rows: np.ndarray, layout: Layout, digits: np.ndarray) -> None:
    """Lay prefix, counter (``digits``: each row's symbol values), check character,
    suffix and newline into ``rows`` (one a number). The compiled engine hands code
    series' counters it worked out here."""
    head = len(layout.prefix)
    tail = head + layout.width
    rows[:, :head] = np.frombuffer(layout.prefix, dtype=np.uint8)
    symbols = _symbols(layout)
    rows[:, head:tail] = symbols[digits]
    if layout.check != checkdigit.NONE:
        rows[:, tail] = symbols[_check_digits(digits, layout)]
        tail += 1
    rows[:, tail : layout.length] = np.frombuffer(layout.suffix, dtype=np.uint8)
    if rows.shape[1] > layout.length:
        rows[:, layout.length :] = _NEWLINE


_DECIMAL = np.frombuffer(b"0123456789", dtype=np.uint8)


def _base(layout: Layout) -> int:
    return 10 if layout.alphabet is None else layout.alphabet.base


def _symbols(layout: Layout) -> np.ndarray:
    """Each counter value's byte."""
    if layout.alphabet is None:
        return _DECIMAL
    return np.frombuffer(layout.alphabet.symbols.encode("ascii"), dtype=np.uint8)


def _counter_digits(first: int, n: int, width: int, step: int, base: int = 10) -> np.ndarray:
    """Symbol values (0..base-1) of ``first, first+step, ...``: shape ``(n, width)``.

    The low symbols (``low_width``: 18 decimal digits) are computed in int64; wider
    counters take their high symbols from two precomputed rows (``n`` is far below the
    low part's range, so it wraps at most once within a chunk).
    """
    low_width = min(width, int64_symbols(base))
    modulus = base**low_width
    high, low = divmod(first, modulus)
    values = low + step * np.arange(n, dtype=np.int64)
    wrapped = (values < 0) if step < 0 else (values >= modulus)
    values[wrapped] -= step * modulus
    digits = np.empty((n, width), dtype=np.uint8)
    _put_digits(digits, values, low_width, base)
    high_width = width - low_width
    if high_width:
        # (mod: when nothing wraps, high + step may not fit the width, and is unused)
        other = (high + step) % base**high_width
        rows = np.array([_digit_row(high, high_width, base), _digit_row(other, high_width, base)])
        digits[:, :high_width] = rows[wrapped.astype(np.intp)]
    return digits


def _put_digits(digits: np.ndarray, values: np.ndarray, count: int, base: int = 10) -> None:
    """Write the last ``count`` base-``base`` symbol values of ``values`` into
    ``digits``' last columns."""
    width = digits.shape[1]
    for column in range(width - 1, width - 1 - count, -1):
        values, digit = np.divmod(values, base)
        digits[:, column] = digit


def _keyed_digits(
    layout: Layout, perm: CycleWalk, first_index: int, n: int, step: int
) -> np.ndarray:
    """Counter digits ``offset + P_k(i)`` for the indexes from ``first_index``.

    Counters of up to 18 digits go through NumPy arrays; wider ones, one number at a
    time through Python integers (correct, and much slower).
    """
    width, base = layout.width, _base(layout)
    if base**width <= 1 << 63 and perm.vector:
        indexes = (first_index + step * np.arange(n, dtype=np.int64)).astype(np.uint64)
        values = perm.forward_array(indexes).astype(np.int64) + layout.offset
        digits = np.empty((n, width), dtype=np.uint8)
        _put_digits(digits, values, width, base)
        return digits
    return np.array(
        [
            _digit_row(layout.offset + perm.forward(first_index + step * k), width, base)
            for k in range(n)
        ],
        dtype=np.uint8,
    ).reshape(n, width)


def _digit_row(value: int, width: int, base: int = 10) -> np.ndarray:
    if base == 10:
        return np.frombuffer(b"%0*d" % (width, value), dtype=np.uint8) - _ZERO
    row = np.empty(width, dtype=np.uint8)
    for column in range(width - 1, -1, -1):
        value, row[column] = divmod(value, base)
    return row


_LUHN_WEIGHTS = np.array([range(10), checkdigit.DOUBLED], dtype=np.int32)


def _check_digits(digits: np.ndarray, layout: Layout) -> np.ndarray:
    """Check digits (values) of each row of counter ``digits`` with the layout's prefix."""
    width = layout.width
    if layout.alphabet is not None:
        return _check_values(digits, layout, layout.alphabet)
    # The prefix's share: the payload with a zero counter (zeros add nothing to either).
    prefix_payload = layout.check_prefix + "0" * width
    if layout.check == checkdigit.LUHN:
        total = np.full(len(digits), (10 - checkdigit.luhn(prefix_payload)) % 10, np.int32)
        for column in range(width):
            doubled = (width - 1 - column) % 2 == 0
            total += _LUHN_WEIGHTS[int(doubled)][digits[:, column]]
        return ((10 - total % 10) % 10).astype(np.uint8)
    remainder = np.zeros(len(digits), dtype=np.int32)
    for column in range(width):
        remainder = (remainder * 10 + digits[:, column]) % 7
    return ((remainder + checkdigit.mod7(prefix_payload)) % 7).astype(np.uint8)


def _check_values(digits: np.ndarray, layout: Layout, alphabet: Alphabet) -> np.ndarray:
    """A code series' check values: ISO 7064 MOD (N+1, N), Damm's, or Luhn mod N."""
    base = alphabet.base
    prefix = [alphabet.symbols.index(c) for c in layout.check_prefix]
    if layout.check == checkdigit.ISO7064:
        checks = alphabets.iso7064_array(digits, base, alphabets.iso7064_state(prefix, base))
    elif layout.check == checkdigit.DAMM:
        checks = alphabets.damm_array(digits, base, alphabets.damm_state(prefix, base))
    else:
        total = alphabets.luhn_total(prefix + [0] * layout.width, base)
        checks = alphabets.luhn_array(digits, base, total)
    return checks.astype(np.uint8)


# ---- from numbers back to indexes ---------------------------------------------------

# Why a row is not a number of the series: ``bulk.Reason`` names them. A row whose
# reason is set already (by the caller: wrong length, not a string) is left alone.
OK, BAD_TYPE, BAD_LENGTH, BAD_PREFIX, BAD_SUFFIX, BAD_DIGITS, BAD_CHECK_DIGIT, BAD_RANGE = range(8)
#: spells a blocked word (``blocked.parse_rows`` sets it; the engines never do)
BAD_BLOCKED = 8
#: Counters up to this many digits give int64 indexes; wider ones, Python ints.
INT64_DIGITS = 18


def _int64_width(layout: Layout) -> int:
    """The widest counter whose indexes fit int64 and whose cipher runs on arrays."""
    if layout.alphabet is None:
        return INT64_DIGITS
    if layout.perm is not None and not layout.perm.vector:
        return 0
    base, width = layout.alphabet.base, 1
    while base ** (width + 1) <= 1 << 63:
        width += 1
    return width


def _values(layout: Layout) -> np.ndarray:
    """Each byte's value as a counter symbol (the byte itself where it is none: the
    callers have checked)."""
    if layout.alphabet is None:
        return (np.arange(256) - _ZERO).astype(np.uint8)
    return layout.alphabet.table


def index_dtype(layout: Layout) -> np.dtype:
    """int64 where every index fits it, else object (Python ints)."""
    return np.dtype(np.int64 if layout.width <= _int64_width(layout) else object)


def parse_rows(rows: np.ndarray, layout: Layout, reasons: np.ndarray, indexes: np.ndarray) -> None:
    """Check each row of ``rows`` (uint8, ``layout.length`` columns) whose reason is 0.

    A number of the series gets its index in ``indexes``; any other row, its reason
    (the first failed check, in ``CardSeries.parse``'s order). ``indexes`` has
    ``index_dtype(layout)`` and holds -1 (or None) where nothing is written.
    """
    for done in range(0, len(rows), _CHUNK):
        part = slice(done, done + _CHUNK)
        _parse_chunk(rows[part], layout, reasons[part], indexes[part])


def _parse_chunk(
    rows: np.ndarray, layout: Layout, reasons: np.ndarray, indexes: np.ndarray
) -> None:
    head, width = len(layout.prefix), layout.width
    stop = layout.length - len(layout.suffix)
    todo = np.flatnonzero(reasons == OK)
    for reason, part, literal in (
        (BAD_PREFIX, slice(0, head), layout.prefix),
        (BAD_SUFFIX, slice(stop, layout.length), layout.suffix),
        (BAD_DIGITS, slice(head, stop), None),  # counter and check digit
    ):
        chars = rows[todo, part]
        if literal is None and layout.alphabet is not None:
            bad = (layout.alphabet.table[chars] == 255).any(axis=1)
        elif literal is None:
            bad = ((chars < _ZERO) | (chars > _ZERO + 9)).any(axis=1)
        else:
            bad = (chars != np.frombuffer(literal, dtype=np.uint8)).any(axis=1)
        reasons[todo[bad]] = reason
        todo = todo[~bad]
    values = _values(layout)
    digits = values[rows[todo, head : head + width]]
    if layout.check != checkdigit.NONE:
        bad = _check_digits(digits, layout) != values[rows[todo, head + width]]
        reasons[todo[bad]] = BAD_CHECK_DIGIT
        todo, digits = todo[~bad], digits[~bad]
    base = _base(layout)
    if width > _int64_width(layout):  # Python integers, one number at a time
        for k, row in zip(todo, digits, strict=True):
            counter = 0
            for digit in row.tolist():
                counter = counter * base + digit
            if counter < layout.offset:
                reasons[k] = BAD_RANGE
            else:
                value = counter - layout.offset
                indexes[k] = layout.perm.inverse(value) if layout.perm else value
        return
    counters = np.zeros(len(todo), np.int64)
    for column in range(width):
        counters = counters * base + digits[:, column]
    low = counters < layout.offset
    reasons[todo[low]] = BAD_RANGE
    values = counters[~low] - layout.offset
    if layout.perm is not None:
        values = layout.perm.inverse_array(values.astype(np.uint64)).astype(np.int64)
    indexes[todo[~low]] = values


def pins_into(
    out: WritableBuffer,
    stride: int,
    state: tuple[int, int, int, int],
    first_index: int,
    count: int,
    descending: bool,
    length: int,
) -> None:
    """Write the PINs of ``count`` cards into ``out``, ``length`` digits every ``stride``
    bytes: SipHash-2-4 of each index (a 64-bit word) from the keyed ``state``, modulo
    ``10**length`` (``cardseq.pins``). Indexes must fit 64 bits; the caller checks."""
    if count <= 0:
        return
    flat = np.frombuffer(out, dtype=np.uint8)
    if flat.size < (count - 1) * stride + length:
        raise ValueError(f"buffer of {flat.size} bytes is too small for {count} PINs")
    rows = np.lib.stride_tricks.as_strided(flat, (count, length), (stride, 1), writeable=True)
    step = -1 if descending else 1
    for done in range(0, count, _CHUNK):
        n = min(_CHUNK, count - done)
        first = first_index + step * done
        indexes = np.arange(first, first + step * n, step, dtype=np.uint64)
        values = siphash(state, indexes, 2, 4) % np.uint64(10**length)
        for j in range(length - 1, -1, -1):
            rows[done : done + n, j] = (values % np.uint64(10)).astype(np.uint8) + _ZERO
            values //= np.uint64(10)
