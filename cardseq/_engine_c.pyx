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
from libc.string cimport memcpy

from . import checkdigit


cdef extern from "Python.h":
    object PyUnicode_New(Py_ssize_t size, Py_UCS4 maxchar)
    void* PyUnicode_DATA(object op)


# Same values as checkdigit.NONE, LUHN and MOD7.
cdef enum:
    NO_CHECK = 0
    LUHN = 1
    MOD7 = 2

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
    cdef unsigned char* record
    if r.pos == r.size:
        first = step(&r.base, r.down)
        set_check_chars(r)
        for j in range(r.size):
            record = r.records + j * r.stride
            # Usually one digit changed: a byte loop beats a call to memcpy here.
            for k in range(first, r.base.unit + 1):
                record[k] = r.base.number[k]
            if r.base.check != NO_CHECK:
                record[r.base.end + 1] = r.check_chars[r.low_share[j]]
        r.pos = 0
    n = min(r.size - r.pos, want)
    out[0] = r.records + r.pos * r.stride
    r.pos += n
    return n


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
        digit = checkdigit.compute(layout.check, layout.check_prefix + digits)
        r.base.state = (10 - digit) % 10 if layout.check == LUHN else digit
    r.base.unit_mod7 = size % 7
    set_check_chars(r)
    r.stride = stride
    r.size = size
    r.down = down
    records = bytearray(b"\n" * (size * stride))
    r.records = <unsigned char*><char*>records
    for j in range(size):
        value = size - 1 - j if down else j
        tail = b"%0*d" % (low_digits, value)
        record = r.records + j * stride
        memcpy(record, r.base.number, length)
        memcpy(record + r.base.end + 1 - low_digits, <char*>tail, low_digits)
        if layout.check == LUHN:
            r.low_share[j] = sum([luhn_weight(low_digits - 1 - k, tail[k] - 48)
                                  for k in range(low_digits)]) % 10
        else:
            r.low_share[j] = value % 7
        if layout.check != NO_CHECK:
            record[r.base.end + 1] = r.check_chars[r.low_share[j]]
    r.pos = size - 1 - low if down else low
    return number, records


def render_into(out, Py_ssize_t stride, layout, object first_index, Py_ssize_t count,
                bint descending):
    """Write ``count`` numbers into ``out``, one every ``stride`` bytes (see the twin)."""
    if count <= 0:
        return
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
