# cython: language_level=3, boundscheck=False, wraparound=False
# cython: initializedcheck=False, cdivision=True
"""The engine's hot loops, compiled: the twin of ``_engine_py.py``.

Same function names, same arguments, same bytes out. Consecutive counters differ in
their last digits, so nothing here divides a counter by ten per number. A *run* keeps
100 ready-made numbers whose last two counter digits go 00..99 (or 99..00); output is
copied from it in long stretches. When the run is used up, a *cursor* steps the upper
digits by one (carrying digit by digit, as on paper), and only the digits that changed
and the check digits are patched into the 100 numbers. The counter is never held in a
machine integer, so any width works.
"""

from cpython.list cimport PyList_New, PyList_SET_ITEM
from cpython.ref cimport Py_INCREF
from libc.stdint cimport int64_t, uint64_t
from libc.string cimport memcmp, memcpy, memset

import numpy as np

from . import _engine_py, checkdigit
from . import alphabets as _alphabets
from .permutation import ROUNDS as _ROUNDS


cdef extern from *:
    """
    typedef unsigned __int128 cardseq_u128;

    /* Cut the last 19 decimal digits off *v and return them. In C, because Cython
       takes u128 for a 64-bit type and would narrow the division. */
    static inline uint64_t cardseq_split19(cardseq_u128 *v) {
        uint64_t low = (uint64_t)(*v % 10000000000000000000ULL);
        *v /= 10000000000000000000ULL;
        return low;
    }

    /* The same for any divisor: *v % d, leaving *v / d (a code series' base ** k). */
    static inline uint64_t cardseq_split(cardseq_u128 *v, uint64_t d) {
        uint64_t low = (uint64_t)(*v % d);
        *v /= d;
        return low;
    }
    """
    # Cython only needs to know it is an unsigned integer; C sees 128 bits. Shifts,
    # additions and comparisons come out right; division goes through C helpers.
    ctypedef unsigned long long u128 "cardseq_u128"
    uint64_t split19 "cardseq_split19"(u128* value) noexcept nogil
    uint64_t split_by "cardseq_split"(u128* value, uint64_t divisor) noexcept nogil


cdef extern from "Python.h":
    object PyUnicode_New(Py_ssize_t size, Py_UCS4 maxchar)
    void* PyUnicode_DATA(object op)


# Same values as checkdigit.NONE, LUHN, MOD7, ISO7064 and DAMM.
cdef enum:
    NO_CHECK = 0
    LUHN = 1
    MOD7 = 2
    ISO7064 = 3
    DAMM = 4

cdef enum:
    RUN_DIGITS = 2  # a run covers the last two counter digits...
    RUN_SIZE = 100  # ...so it holds 10**RUN_DIGITS numbers

cdef int DOUBLED[10]
DOUBLED[:] = [0, 2, 4, 6, 8, 1, 3, 5, 7, 9]


cdef struct Cursor:
    unsigned char* number  # ASCII digits of the counter (and the rest of the number)
    Py_ssize_t end  # position of the counter's last digit
    Py_ssize_t unit  # position of the digit that step() moves by one
    int check
    int state  # LUHN: weighted digit sum mod 10; MOD7: payload mod 7
    int unit_mod7  # (one unit at `unit`) mod 7


cdef inline int luhn_weight(Py_ssize_t distance, int digit) noexcept nogil:
    # Digits at an even distance from the counter's end are doubled (the check digit
    # itself follows that end).
    return DOUBLED[digit] if distance % 2 == 0 else digit


cdef inline void put_digit(Cursor* c, Py_ssize_t pos, int digit) noexcept nogil:
    if c.check == LUHN:
        c.state = (c.state + 10 + luhn_weight(c.end - pos, digit)
                   - luhn_weight(c.end - pos, c.number[pos] - 48)) % 10
    c.number[pos] = <unsigned char>(48 + digit)


cdef inline Py_ssize_t step(Cursor* c, bint down) noexcept nogil:
    """Add (or subtract) one unit; return the leftmost position that changed.

    Callers never step past the series' first or last counter, so the carry (or
    borrow) stops inside the counter.
    """
    cdef Py_ssize_t pos = c.unit
    if down:
        while c.number[pos] == 48:
            put_digit(c, pos, 9)
            pos -= 1
        put_digit(c, pos, c.number[pos] - 49)
        if c.check == MOD7:
            c.state = (c.state + 7 - c.unit_mod7) % 7
    else:
        while c.number[pos] == 57:
            put_digit(c, pos, 0)
            pos -= 1
        put_digit(c, pos, c.number[pos] - 47)
        if c.check == MOD7:
            c.state = (c.state + c.unit_mod7) % 7
    return pos


cdef struct Run:
    Cursor base  # the number of the run's first record with its last digits at zero
    unsigned char* records  # `size` numbers, `stride` bytes apart
    Py_ssize_t stride
    Py_ssize_t size
    Py_ssize_t pos  # next record to hand out
    bint down
    int low_share[RUN_SIZE]  # each record's last digits' share of its check digit
    unsigned char check_chars[10]  # check digit by share, for the current base


cdef inline void set_check_chars(Run* r) noexcept nogil:
    # A record's check digit depends only on the base's state and the record's share,
    # so each refresh works out the (at most ten) possible digits once.
    cdef int share, total
    for share in range(10):
        total = r.base.state + share
        if r.base.check == LUHN:
            r.check_chars[share] = <unsigned char>(48 + (10 - total % 10) % 10)
        else:
            r.check_chars[share] = <unsigned char>(48 + total % 7)


cdef Py_ssize_t take(Run* r, Py_ssize_t want, unsigned char** out) noexcept nogil:
    """Point ``out`` at up to ``want`` consecutive records; return how many."""
    cdef Py_ssize_t j, k, first, n
    cdef Py_ssize_t stride = r.stride
    cdef unsigned char* column
    cdef unsigned char digit
    if r.pos == r.size:
        first = step(&r.base, r.down)
        # Patch column by column: usually one digit changed, and a strided store over
        # the records is all it takes.
        for k in range(first, r.base.unit + 1):
            digit = r.base.number[k]
            column = r.records + k
            for j in range(r.size):
                column[j * stride] = digit
        if r.base.check != NO_CHECK:
            set_check_chars(r)
            column = r.records + r.base.end + 1
            for j in range(r.size):
                column[j * stride] = r.check_chars[r.low_share[j]]
        r.pos = 0
    n = min(r.size - r.pos, want)
    out[0] = r.records + r.pos * r.stride
    r.pos += n
    return n


cdef int payload_state(int check, bytes payload):
    """``Cursor.state`` of an ASCII-digit payload: what ``checkdigit.compute`` works
    out, kept as the running state (Luhn: the weighted sum mod 10; mod 7: the value)."""
    cdef const unsigned char* p = payload
    cdef Py_ssize_t n = len(payload), i
    cdef int total = 0
    for i in range(n):
        if check == LUHN:
            total = (total + luhn_weight(n - 1 - i, p[i] - 48)) % 10
        else:
            total = (total * 10 + p[i] - 48) % 7
    return total


cdef tuple start_run(Run* r, layout, object first_index, Py_ssize_t stride, bint down):
    """Set ``r`` up to hand out numbers from ``first_index``.

    Returns the buffers behind ``r``'s pointers: keep them alive while ``r`` is used.
    """
    cdef Py_ssize_t width = layout.width
    cdef Py_ssize_t low_digits = min(width, RUN_DIGITS)
    cdef Py_ssize_t size = 10 if low_digits == 1 else RUN_SIZE
    cdef Py_ssize_t j, value, length
    counter = layout.offset + first_index
    low = counter % size
    digits = "%0*d" % (width, counter - low)
    check = b"0" if layout.check != NO_CHECK else b""
    number = bytearray(layout.prefix + digits.encode("ascii") + check + layout.suffix)
    length = len(number)
    if stride < length:
        raise ValueError(f"stride {stride} is shorter than the number ({length})")
    r.base.number = <unsigned char*><char*>number
    r.base.end = len(layout.prefix) + width - 1
    r.base.unit = r.base.end - low_digits
    r.base.check = layout.check
    r.base.state = 0
    if layout.check != NO_CHECK:
        r.base.state = payload_state(
            layout.check, layout.check_prefix.encode("ascii") + digits.encode("ascii")
        )
    r.base.unit_mod7 = size % 7
    set_check_chars(r)
    r.stride = stride
    r.size = size
    r.down = down
    records = bytearray(b"\n" * (size * stride))
    r.records = <unsigned char*><char*>records
    # The records' last digits and their shares of the check digit, in C: this runs
    # for every block, and a block of a hundred numbers costs little more than it.
    cdef unsigned char* record
    for j in range(size):
        value = size - 1 - j if down else j
        record = r.records + j * stride
        memcpy(record, r.base.number, length)
        if low_digits == 2:
            record[r.base.end - 1] = <unsigned char>(48 + value // 10)
            record[r.base.end] = <unsigned char>(48 + value % 10)
        else:
            record[r.base.end] = <unsigned char>(48 + value)
        if r.base.check == LUHN:
            r.low_share[j] = (
                luhn_weight(0, value % 10) + (luhn_weight(1, value // 10) if low_digits == 2 else 0)
            ) % 10
        else:
            r.low_share[j] = value % 7
        if r.base.check != NO_CHECK:
            record[r.base.end + 1] = r.check_chars[r.low_share[j]]
    r.pos = size - 1 - low if down else low
    return number, records


# ---- keyed methods: counter = offset + P_k(index) ----------------------------------
#
# Consecutive indexes give unrelated counters, so each number is written in full: the
# permutation (permutation.py has the definition this mirrors) gives a value of up to
# 128 bits, whose digits go right to left, and the check digit comes from those digits.

DEF ROUNDS = 8
DEF NATIVE_DIGITS = 38  # 10**38 < 2**128: counters this wide fit the 128-bit path
assert _ROUNDS == ROUNDS, "permutation.ROUNDS and the compiled engine disagree"

cdef struct Keyed:
    uint64_t states[ROUNDS][4]  # each round's SipHash initial state
    int low_bits
    uint64_t low_mask
    uint64_t high_mask
    u128 capacity
    u128 offset
    Py_ssize_t head  # length of the prefix: where the counter starts
    Py_ssize_t width
    int check
    int prefix_share  # the prefix's part of the check digit (prefix_share)


cdef inline uint64_t rotl(uint64_t x, int bits) noexcept nogil:
    return (x << bits) | (x >> (64 - bits))


cdef inline void sipround(uint64_t* v) noexcept nogil:
    v[0] += v[1]
    v[1] = rotl(v[1], 13) ^ v[0]
    v[0] = rotl(v[0], 32)
    v[2] += v[3]
    v[3] = rotl(v[3], 16) ^ v[2]
    v[0] += v[3]
    v[3] = rotl(v[3], 21) ^ v[0]
    v[2] += v[1]
    v[1] = rotl(v[1], 17) ^ v[2]
    v[2] = rotl(v[2], 32)


cdef inline uint64_t siphash(const uint64_t* state, uint64_t word, int c, int d) noexcept nogil:
    # SipHash-c-d of one word: permutation.siphash(). Inlined with constant rounds.
    cdef uint64_t v[4]
    cdef uint64_t last = (<uint64_t>8) << 56
    cdef int _r
    v[0] = state[0]
    v[1] = state[1]
    v[2] = state[2]
    v[3] = state[3] ^ word
    for _r in range(c):
        sipround(v)
    v[0] ^= word
    v[3] ^= last
    for _r in range(c):
        sipround(v)
    v[0] ^= last
    v[2] ^= 0xFF
    for _r in range(d):
        sipround(v)
    return v[0] ^ v[1] ^ v[2] ^ v[3]


cdef inline uint64_t siphash13(const uint64_t* state, uint64_t word) noexcept nogil:
    # the permutation's rounds
    return siphash(state, word, 1, 3)


cdef inline uint64_t siphash24(const uint64_t* state, uint64_t word) noexcept nogil:
    # the PINs' PRF
    return siphash(state, word, 2, 4)


def pins_into(out, Py_ssize_t stride, tuple state, object first_index, Py_ssize_t count,
              bint descending, int length):
    """Write the PINs of ``count`` cards, ``length`` digits every ``stride`` bytes (see
    the twin)."""
    if count <= 0:
        return
    cdef unsigned char[::1] buf = out
    if buf.shape[0] < (count - 1) * stride + length:
        raise ValueError(f"buffer of {buf.shape[0]} bytes is too small for {count} PINs")
    cdef uint64_t st[4]
    cdef int k
    for k in range(4):
        st[k] = state[k]
    cdef uint64_t first = first_index
    cdef uint64_t modulus = int(10) ** length  # a Python int: exact
    cdef Py_ssize_t i, at
    cdef uint64_t value
    cdef unsigned char* dst = &buf[0]
    with nogil:
        for i in range(count):
            value = siphash24(st, first - <uint64_t>i if descending else first + <uint64_t>i)
            value %= modulus
            at = i * stride + length - 1
            for k in range(length):
                dst[at - k] = <unsigned char>(48 + value % 10)
                value //= 10


DEF LANES = 16
DEF CODED_CHUNK = 262144  # numbers per pass of a code series: bounds the symbol arrays


cdef inline void encrypt_lanes(const Keyed* k, uint64_t* high, uint64_t* low,
                               Py_ssize_t n, bint inverse) noexcept nogil:
    # The lanes are independent: interleaving their hash chains keeps the CPU's
    # arithmetic units busy where one chain alone would leave them waiting. Each round
    # only XORs one half, so the rounds in reverse order decrypt.
    cdef int r, done
    cdef Py_ssize_t j
    for done in range(ROUNDS):
        r = ROUNDS - 1 - done if inverse else done
        if r % 2 == 0:
            for j in range(n):
                low[j] ^= siphash13(k.states[r], high[j]) & k.low_mask
        else:
            for j in range(n):
                high[j] ^= siphash13(k.states[r], low[j]) & k.high_mask


cdef inline void permute_lanes(const Keyed* k, u128* x, Py_ssize_t n,
                               bint inverse) noexcept nogil:
    """Replace the indexes ``x[0:n]`` (``n <= LANES``) with their images under P_k (or,
    ``inverse``, the values with their indexes)."""
    cdef uint64_t high[LANES]
    cdef uint64_t low[LANES]
    cdef Py_ssize_t pending[LANES]
    cdef Py_ssize_t j, left = n, still
    cdef u128 value
    for j in range(n):
        pending[j] = j
    while left:  # cycle walking: values outside the capacity go round again
        for j in range(left):
            value = x[pending[j]]
            high[j] = <uint64_t>(value >> k.low_bits)
            low[j] = (<uint64_t>value) & k.low_mask
        encrypt_lanes(k, high, low, left, inverse)
        still = 0
        for j in range(left):
            value = ((<u128>high[j]) << k.low_bits) | low[j]
            x[pending[j]] = value
            if value >= k.capacity:
                pending[still] = pending[j]
                still += 1
        left = still


cdef int LUHN_SHARE[2][10]
LUHN_SHARE[0][:] = [0, 2, 4, 6, 8, 1, 3, 5, 7, 9]  # even distance from the end: doubled
LUHN_SHARE[1][:] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]


cdef inline void put_counter(const Keyed* k, unsigned char* record, u128 value) noexcept nogil:
    """Write ``value`` as the zero-padded counter of ``record``, then its check digit."""
    cdef Py_ssize_t pos = k.head + k.width - 1
    cdef Py_ssize_t n, _i
    cdef uint64_t part
    cdef int digit, odd = 0, luhn = 0, mod7 = 0
    cdef int weight7 = 1  # 10**(19 * chunk) mod 7: 1, 3, 2, 6, 4, 5, ...
    while pos >= k.head:  # in chunks of 19 digits (one uint64) from the right
        if value >> 64:
            part = split19(&value)
            n = 19
        else:
            part = <uint64_t>value
            value = 0
            n = pos - k.head + 1
        if k.check == MOD7:
            mod7 = (mod7 + <int>(part % 7) * weight7) % 7
            weight7 = weight7 * 3 % 7
        for _i in range(n):
            digit = <int>(part % 10)
            part = part / 10
            record[pos] = <unsigned char>(48 + digit)
            luhn += LUHN_SHARE[odd][digit]
            odd ^= 1
            pos -= 1
    if k.check == LUHN:
        record[k.head + k.width] = <unsigned char>(48 + (10 - (luhn + k.prefix_share) % 10) % 10)
    elif k.check == MOD7:
        record[k.head + k.width] = <unsigned char>(48 + (mod7 + k.prefix_share) % 7)


cdef u128 as_u128(object value) except? 0:
    return ((<u128><uint64_t>(value >> 64)) << 64) | <uint64_t>(value & 0xFFFFFFFFFFFFFFFF)


cdef int prefix_share(layout):
    """The prefix's part of the check digit: the state of the payload with a zero
    counter (zeros add nothing to either sum)."""
    zeros = layout.check_prefix + "0" * layout.width
    if layout.check == LUHN:
        return (10 - checkdigit.luhn(zeros)) % 10
    if layout.check == MOD7:
        return checkdigit.mod7(zeros)
    return 0


cdef bytes start_keyed(Keyed* k, layout):
    """Set ``k`` up for ``layout``; return the number with a zero counter (a template)."""
    perm = layout.perm
    cdef int r, j
    for r in range(ROUNDS):
        for j in range(4):
            k.states[r][j] = perm.states[r][j]
    k.low_bits = perm.low_bits
    k.low_mask = (1 << perm.low_bits) - 1
    k.high_mask = (1 << perm.high_bits) - 1
    k.capacity = as_u128(perm.capacity)
    k.offset = as_u128(layout.offset)
    k.head = len(layout.prefix)
    k.width = layout.width
    k.check = layout.check
    # (a code series' check character is the twin's: _coded_symbols needs no share)
    k.prefix_share = prefix_share(layout) if layout.alphabet is None else 0
    check = b"0" if layout.check != NO_CHECK else b""
    return layout.prefix + b"0" * layout.width + check + layout.suffix


cdef inline u128 fill_lanes(u128* x, u128 index, Py_ssize_t n, bint down) noexcept nogil:
    """Put the next ``n`` indexes from ``index`` into ``x``; return the one after them."""
    cdef Py_ssize_t j
    for j in range(n):
        x[j] = index
        if down:
            index -= 1
        else:
            index += 1
    return index


cdef keyed_into(unsigned char[::1] buf, Py_ssize_t stride, layout, object first_index,
                Py_ssize_t count, bint descending):
    cdef Keyed k
    cdef bytes template = start_keyed(&k, layout)
    cdef Py_ssize_t length = len(template)
    cdef const unsigned char* blank = template
    cdef unsigned char* dst = &buf[0]
    cdef u128 index = as_u128(first_index)
    cdef u128 x[LANES]
    cdef Py_ssize_t done = 0, n, j
    with nogil:
        while done < count:
            n = min(LANES, count - done)
            index = fill_lanes(x, index, n, descending)
            permute_lanes(&k, x, n, False)
            for j in range(n):
                memcpy(dst, blank, length)
                put_counter(&k, dst, k.offset + x[j])
                if stride > length:
                    memset(dst + length, 10, stride - length)
                dst += stride
            done += n


cdef list keyed_list(layout, object first_index, Py_ssize_t count, bint descending):
    cdef Keyed k
    cdef bytes template = start_keyed(&k, layout)
    cdef Py_ssize_t length = len(template)
    cdef const unsigned char* blank = template
    cdef u128 index = as_u128(first_index)
    cdef u128 x[LANES]
    cdef list result = PyList_New(count)
    cdef Py_ssize_t done = 0, n, j
    cdef unsigned char* data
    while done < count:
        n = min(LANES, count - done)
        index = fill_lanes(x, index, n, descending)
        permute_lanes(&k, x, n, False)
        for j in range(n):
            text = PyUnicode_New(length, 127)
            data = <unsigned char*>PyUnicode_DATA(text)
            memcpy(data, blank, length)
            put_counter(&k, data, k.offset + x[j])
            Py_INCREF(text)
            PyList_SET_ITEM(result, done + j, text)
        done += n
    return result


# ---- code series: the counter's symbols over an alphabet -----------------------------
#
# The counter (offset + index, or offset + P_k(index)) as a 128-bit value, written in
# base N into one row of symbol values per number; the pure twin lays them out with the
# check character (``_engine_py.write_rows``).

cdef inline void put_symbols(unsigned char* row, Py_ssize_t width, u128 value,
                             uint64_t base, uint64_t chunk, int per_chunk) noexcept nogil:
    # Most of the value in 64-bit arithmetic: one 128-bit division per `per_chunk`
    # symbols (chunk = base ** per_chunk fits 64 bits).
    cdef Py_ssize_t pos = width - 1
    cdef Py_ssize_t n, _i
    cdef uint64_t part
    while pos >= 0:
        if value >> 64:
            part = split_by(&value, chunk)
            n = per_chunk
        else:
            part = <uint64_t>value
            value = 0
            n = pos + 1
        for _i in range(n):
            row[pos] = <unsigned char>(part % base)
            part = part / base
            pos -= 1


def _coded_symbols(layout, object first_index, Py_ssize_t count, bint descending):
    """The counters of ``count`` numbers from ``first_index``, as a ``(count, width)``
    array of symbol values (the caller has checked that base ** width fits 128 bits
    and that a cipher, if any, is the native one)."""
    cdef Py_ssize_t width = layout.width
    symbols_base = layout.alphabet.base
    per = 1
    while symbols_base ** (per + 1) < 2 ** 64:
        per += 1
    cdef uint64_t base = symbols_base
    cdef int per_chunk = per
    cdef uint64_t chunk = symbols_base ** per
    out = np.empty((count, width), dtype=np.uint8)
    if count == 0:
        return out
    cdef unsigned char[:, ::1] rows = out
    cdef Keyed k
    cdef bint keyed = layout.perm is not None
    if keyed:
        start_keyed(&k, layout)
    cdef u128 offset = as_u128(layout.offset)
    cdef u128 index = as_u128(first_index)
    cdef u128 x[LANES]
    cdef Py_ssize_t done = 0, n, j
    with nogil:
        while done < count:
            n = min(LANES, count - done)
            index = fill_lanes(x, index, n, descending)
            if keyed:
                permute_lanes(&k, x, n, False)
            for j in range(n):
                put_symbols(&rows[done + j, 0], width, offset + x[j], base, chunk, per_chunk)
            done += n
    return out


_AUTOMATA = {LUHN: "luhn", ISO7064: "iso7064", DAMM: "damm"}


cdef inline int run_state(const int* step, Py_ssize_t states, Py_ssize_t base, int state,
                          const unsigned char* values, Py_ssize_t n,
                          Py_ssize_t distance) noexcept nogil:
    # The check automaton after ``n`` symbol values, the first at ``distance`` from the
    # payload's end (then one less each).
    cdef Py_ssize_t i
    for i in range(n):
        state = step[((distance - i) % 2) * states * base + state * base + values[i]]
    return state


def _coded_runs_into(out, Py_ssize_t stride, layout, object first_index, Py_ssize_t count,
                     bint descending):
    """A sequential code series' numbers, as the digit loop writes them: records that
    differ in their last one or two symbols are built once, then copied run after run,
    the columns of the higher symbols patched where the counter carried, and the check
    column worked out from the automaton's state after those symbols."""
    cdef Py_ssize_t j, k, value, pos, n, first_changed
    cdef Py_ssize_t width = layout.width, head = len(layout.prefix)
    cdef Py_ssize_t base = layout.alphabet.base
    cdef Py_ssize_t low_n = 2 if width >= 2 and base * base <= 4096 else 1
    cdef Py_ssize_t size = base ** low_n
    cdef Py_ssize_t high_n = width - low_n
    cdef Py_ssize_t length = layout.length
    if stride < length:
        raise ValueError(f"stride {stride} is shorter than the number ({length})")
    cdef unsigned char[::1] buf = out
    if buf.shape[0] < count * stride:
        raise ValueError(f"buffer of {buf.shape[0]} bytes is too small for {count} records")
    if count <= 0:
        return
    symbols_text = layout.alphabet.symbols.encode("ascii")
    cdef const unsigned char* symbols = symbols_text
    cdef bint has_check = layout.check != NO_CHECK
    # the automaton (a dummy one without a check)
    if has_check:
        step_table, final_table, start = _alphabets.check_automaton(_AUTOMATA[layout.check], base)
        prefix_values = [layout.alphabet.symbols.index(c) for c in layout.check_prefix]
        state0 = start
        for at, symbol_value in enumerate(prefix_values):
            distance = width + len(prefix_values) - 1 - at
            state0 = int(step_table[distance % 2, state0, symbol_value])
    else:
        step_table, final_table, state0 = np.zeros((2, 1, base), np.int32), np.zeros(1, np.int32), 0
    step_table = np.ascontiguousarray(step_table, dtype=np.int32)
    final_table = np.ascontiguousarray(final_table, dtype=np.int32)
    cdef const int[:, :, ::1] steps = step_table
    cdef const int[::1] finals = final_table
    cdef Py_ssize_t states = steps.shape[1]
    cdef int start_state = state0
    counter = layout.offset + first_index
    high_value, low = divmod(counter, size)
    high = bytearray(max(high_n, 1))
    for at in range(high_n - 1, -1, -1):
        high_value, high[at] = divmod(high_value, base)
    cdef unsigned char[::1] hv = high
    # the run's records, and each one's low symbol values
    template = (layout.prefix + symbols_text[:1] * width + (symbols_text[:1] if has_check else b"")
                + layout.suffix + b"\n" * (stride - length))
    records = bytearray(template * size)
    lows = bytearray(size * low_n)
    cdef unsigned char* rec = records
    cdef unsigned char* lv = lows
    for j in range(size):
        value = size - 1 - j if descending else j
        for k in range(low_n - 1, -1, -1):
            lv[j * low_n + k] = value % base
            rec[j * stride + head + high_n + k] = symbols[value % base]
            value //= base
    for k in range(high_n):
        for j in range(size):
            rec[j * stride + head + k] = symbols[hv[k]]
    cdef unsigned char* dst = &buf[0]
    cdef Py_ssize_t left = count
    cdef int state, s
    cdef Py_ssize_t check_at = head + width
    pos = size - 1 - low if descending else low
    with nogil:
        while True:
            if has_check:
                state = run_state(&steps[0, 0, 0], states, base, start_state, &hv[0],
                                  high_n, width - 1)
                for j in range(size):
                    s = run_state(&steps[0, 0, 0], states, base, state, lv + j * low_n,
                                  low_n, low_n - 1)
                    rec[j * stride + check_at] = symbols[finals[s]]
            n = min(size - pos, left)
            memcpy(dst, rec + pos * stride, n * stride)
            dst += n * stride
            left -= n
            if not left:
                break
            pos = 0
            # the next run: the high symbols move by one (the caller stays in range)
            k = high_n - 1
            if descending:
                while hv[k] == 0:
                    hv[k] = base - 1
                    k -= 1
                hv[k] -= 1
            else:
                while hv[k] == base - 1:
                    hv[k] = 0
                    k -= 1
                hv[k] += 1
            first_changed = k
            for k in range(first_changed, high_n):
                for j in range(size):
                    rec[j * stride + head + k] = symbols[hv[k]]


cdef bint coded_here(layout):
    # A code series this module counts for: 128-bit counters, no cipher or SipHash.
    return (
        layout.alphabet.base ** layout.width <= 2 ** 128
        and (layout.perm is None or layout.perm.native)
    )


def _coded_into(out, Py_ssize_t stride, layout, object first_index, Py_ssize_t count,
                bint descending):
    flat = np.frombuffer(out, dtype=np.uint8)
    if flat.size < count * stride:
        raise ValueError(f"buffer of {flat.size} bytes is too small for {count} records")
    if stride < layout.length:
        raise ValueError(f"stride {stride} is shorter than the number ({layout.length})")
    rows = flat[: count * stride].reshape(count, stride)
    step = -1 if descending else 1
    cdef Py_ssize_t done, n
    for done in range(0, count, CODED_CHUNK):
        n = min(CODED_CHUNK, count - done)
        symbols = _coded_symbols(layout, first_index + step * done, n, descending)
        _engine_py.write_rows(rows[done : done + n], layout, symbols)


# ---- entry points -------------------------------------------------------------------

cdef bint by_twin(layout, Py_ssize_t widest):
    # The pure twin's work: counters wider than ``widest`` digits (its Python integers),
    # ciphers this module does not run (FF1: batched AES calls, in NumPy), and code
    # series (``layout.alphabet``: base-N symbols and their check characters).
    return (
        layout.alphabet is not None
        or layout.width > widest
        or (layout.perm is not None and not layout.perm.native)
    )


def render_into(out, Py_ssize_t stride, layout, object first_index, Py_ssize_t count,
                bint descending):
    """Write ``count`` numbers into ``out``, one every ``stride`` bytes (see the twin)."""
    if count <= 0:
        return
    if layout.alphabet is not None:  # a code series: counters here, columns in the twin
        if layout.perm is None and layout.width >= 1:
            return _coded_runs_into(out, stride, layout, first_index, count, descending)
        if coded_here(layout):
            return _coded_into(out, stride, layout, first_index, count, descending)
        return _engine_py.render_into(out, stride, layout, first_index, count, descending)
    if layout.perm is not None:
        if by_twin(layout, NATIVE_DIGITS):
            return _engine_py.render_into(out, stride, layout, first_index, count,
                                          descending)
        if stride < layout.length:
            raise ValueError(f"stride {stride} is shorter than the number ({layout.length})")
        if len(out) < count * stride:
            raise ValueError(f"buffer of {len(out)} bytes is too small for {count} records")
        return keyed_into(out, stride, layout, first_index, count, descending)
    cdef Run r
    _keep = start_run(&r, layout, first_index, stride, descending)
    cdef unsigned char[::1] buf = out
    if buf.shape[0] < count * stride:
        raise ValueError(f"buffer of {buf.shape[0]} bytes is too small for {count} records")
    cdef unsigned char* dst = &buf[0]
    cdef unsigned char* src
    cdef Py_ssize_t n
    with nogil:
        while count:
            n = take(&r, count, &src)
            memcpy(dst, src, n * stride)
            dst += n * stride
            count -= n


def render_list(layout, object first_index, Py_ssize_t count, bint descending):
    """The same numbers as :func:`render_into`, as a list of ``str``."""
    if count <= 0:
        return []
    if layout.alphabet is not None:
        if coded_here(layout):
            buf = np.empty(count * (layout.length + 1), dtype=np.uint8)
            _coded_into(buf, layout.length + 1, layout, first_index, count, descending)
            return buf[:-1].tobytes().decode("ascii").split("\n")
        return _engine_py.render_list(layout, first_index, count, descending)
    if layout.perm is not None:
        if by_twin(layout, NATIVE_DIGITS):
            return _engine_py.render_list(layout, first_index, count, descending)
        return keyed_list(layout, first_index, count, descending)
    cdef Run r
    cdef Py_ssize_t length = layout.length
    _keep = start_run(&r, layout, first_index, length, descending)
    cdef list result = PyList_New(count)
    cdef unsigned char* src
    cdef Py_ssize_t n, k, i = 0
    while i < count:
        n = take(&r, count - i, &src)
        for k in range(n):
            text = PyUnicode_New(length, 127)
            memcpy(PyUnicode_DATA(text), src + k * length, length)
            Py_INCREF(text)
            PyList_SET_ITEM(result, i, text)
            i += 1
    return result


# ---- from numbers back to indexes: the twin's parse_rows ------------------------------

# Same values as _engine_py's OK, BAD_TYPE, ...: bulk.Reason names them.
cdef enum:
    OK = 0
    BAD_PREFIX = 3
    BAD_SUFFIX = 4
    BAD_DIGITS = 5
    BAD_CHECK_DIGIT = 6
    BAD_RANGE = 7
assert (_engine_py.OK, _engine_py.BAD_PREFIX, _engine_py.BAD_SUFFIX, _engine_py.BAD_DIGITS,
        _engine_py.BAD_CHECK_DIGIT, _engine_py.BAD_RANGE) == (0, 3, 4, 5, 6, 7), \
    "the engines' reason codes disagree"
DEF INT64_DIGITS = 18  # _engine_py.INT64_DIGITS: wider counters take the twin's path


cdef struct Checker:
    const unsigned char* prefix
    Py_ssize_t head  # length of the prefix
    const unsigned char* suffix
    Py_ssize_t tail  # length of the suffix
    Py_ssize_t width
    int check
    int prefix_share
    int64_t offset


cdef inline int check_row(const Checker* c, const unsigned char* row,
                          int64_t* value) noexcept nogil:
    """The reason ``row`` is not a number (OK: then its counter minus the offset goes to
    ``value``). The checks and their order are CardSeries.parse's."""
    cdef Py_ssize_t j, end = c.head + c.width, stop = end + (c.check != NO_CHECK)
    cdef int64_t counter = 0
    cdef int odd = 0, luhn = 0, expected = 0
    if memcmp(row, c.prefix, c.head) != 0:
        return BAD_PREFIX
    if memcmp(row + stop, c.suffix, c.tail) != 0:
        return BAD_SUFFIX
    for j in range(c.head, stop):
        if <unsigned char>(row[j] - 48) > 9:
            return BAD_DIGITS
    for j in range(c.head, end):
        counter = counter * 10 + (row[j] - 48)
    if c.check == LUHN:
        for j in range(end - 1, c.head - 1, -1):
            luhn += LUHN_SHARE[odd][row[j] - 48]
            odd ^= 1
        expected = (10 - (luhn + c.prefix_share) % 10) % 10
    elif c.check == MOD7:
        expected = <int>((counter % 7 + c.prefix_share) % 7)
    if c.check != NO_CHECK and row[end] - 48 != expected:
        return BAD_CHECK_DIGIT
    if counter < c.offset:
        return BAD_RANGE
    value[0] = counter - c.offset
    return OK


cdef inline void unpermute(const Keyed* k, u128* x, Py_ssize_t* at, Py_ssize_t n,
                           int64_t[::1] out) noexcept nogil:
    permute_lanes(k, x, n, True)
    cdef Py_ssize_t j
    for j in range(n):
        out[at[j]] = <int64_t>x[j]


def parse_rows(rows, layout, reasons, indexes):
    """Check each row whose reason is 0; write an index or a reason (see the twin)."""
    if by_twin(layout, INT64_DIGITS):
        return _engine_py.parse_rows(rows, layout, reasons, indexes)
    cdef const unsigned char[:, :] view = rows  # rows may be columns of a wider array
    cdef unsigned char[::1] why = reasons
    cdef int64_t[::1] out = indexes
    cdef Py_ssize_t n = view.shape[0]
    if view.shape[1] != layout.length or view.strides[1] != 1:
        raise ValueError(f"rows of {view.shape[1]} bytes (stride {view.strides[1]})"
                         f" for numbers of {layout.length}")
    if why.shape[0] != n or out.shape[0] != n:
        raise ValueError(f"{n} rows, {why.shape[0]} reasons, {out.shape[0]} indexes")
    cdef Keyed k
    cdef bint keyed = layout.perm is not None
    if keyed:
        start_keyed(&k, layout)
    cdef Checker c
    prefix, suffix = layout.prefix, layout.suffix  # (kept alive for c's pointers)
    c.prefix = prefix
    c.head = len(prefix)
    c.suffix = suffix
    c.tail = len(suffix)
    c.width = layout.width
    c.check = layout.check
    c.offset = layout.offset
    c.prefix_share = prefix_share(layout)
    cdef u128 x[LANES]
    cdef Py_ssize_t at[LANES]
    cdef Py_ssize_t i, lanes = 0
    cdef int64_t value
    cdef int reason
    if n == 0:
        return
    with nogil:
        for i in range(n):
            if why[i] != OK:
                continue
            reason = check_row(&c, &view[i, 0], &value)
            if reason != OK:
                why[i] = <unsigned char>reason
            elif not keyed:
                out[i] = value
            else:  # keyed: the index is P_k^-1(value), found LANES at a time
                x[lanes] = <u128>value
                at[lanes] = i
                lanes += 1
                if lanes == LANES:
                    unpermute(&k, x, at, lanes, out)
                    lanes = 0
        if lanes:
            unpermute(&k, x, at, lanes, out)
