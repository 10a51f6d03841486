"""Blocked words: codes that never spell them, in a series still one-to-one.

A code series may name words its codes must never contain: matched anywhere in the
code (prefix, counter, check character, suffix), whatever the case, after the
alphabet's lenient folding (over Crockford's alphabet ``B00B`` is ``BOOB``).

The indexes stay dense. Such a series numbers its *allowed* codes only: index ``i``
is the ``i``-th counter from the offset, in counter order, whose code spells no
blocked word; a counter that would spell one is void and skipped. An automaton over
the words, run in step with the check character's own automaton, counts the allowed
counters below any counter exactly, however large the space (``below``,
``counter_at``), so that capacity, reservations and the ledger count allowed codes
only and the store needs nothing new. A keyed series maps the allowed counter through
its permutation and, while the image spells a word, through the permutation again
(cycle walking within the allowed set: one-to-one, and the inverse walks back).

``DEFAULT_WORDS`` is opt-in (``blocked="default"``): see docs/codes.md for why.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from . import alphabets, checkdigit
from .errors import InvalidSeries

if TYPE_CHECKING:
    from ._engine_py import Layout, WritableBuffer
    from .alphabets import Alphabet

#: the most words a series may block, and their sizes: the automaton's states, and so
#: the work of counting, grow with their letters
MAX_WORDS, MIN_WORD, MAX_WORD = 200, 2, 16
#: ``blocked="default"``: English words no one wants on a gift card. Each series
#: records the words it took, so a later list never changes a series' codes.
_DEFAULT = """
    anal anus arse ass bitch bollock boner boob bugger bum butt cock coon crap cum cunt
    damn dick dildo dyke fag fanny feck fuck fudge goddam hell homo jizz kike knob muff
    nazi nigga nigger paki penis piss poop porn prick pube pussy queer rape rapist scrot
    semen sex shag shit slag slut smeg spic spunk tit tosser turd twat vagina wank whore
    """
DEFAULT_WORDS = tuple(_DEFAULT.split())

_OTHER = -1  # a byte no blocked word holds


def _canon(alpha: Alphabet, char: str) -> str:
    """``char`` as words are matched: the alphabet's lenient fold, then upper case."""
    return alpha.fold(char).upper() if char.isascii() and char.isalnum() else ""


def words(spec: object, alpha: Alphabet, affixes: str) -> tuple[str, ...]:
    """The words a series blocks, in the form they are matched and recorded.

    ``spec``: None or ``()`` (none), ``"default"`` (``DEFAULT_WORDS``, keeping those a
    code could spell), a string of words separated by commas or spaces, or an iterable
    of them. Each word must be letters and digits that a code of ``alpha`` (and its
    ``affixes``, the prefix and suffix) could hold; otherwise 3000 names it.
    """
    if spec is None or spec == () or spec == "":
        return ()
    default = isinstance(spec, str) and spec.strip().lower() == "default"
    if isinstance(spec, str):
        given: list[Any] = spec.replace(",", " ").split() if not default else []
    elif isinstance(spec, Iterable):
        given = list(spec)
    else:
        raise InvalidSeries.bad("blocked", spec, "must be 'default' or a list of words")
    if default or given == ["default"]:
        given, default = list(DEFAULT_WORDS), True
    if alpha.digits:
        raise InvalidSeries.bad(
            "blocked", spec, "is for code series (an alphabet with letters), not digits"
        )
    possible = {_canon(alpha, c) for c in alpha.symbols + affixes} - {""}
    kept: set[str] = set()
    for word in given:
        if not (
            isinstance(word, str)
            and MIN_WORD <= len(word) <= MAX_WORD
            and word.isascii()
            and word.isalnum()
        ):
            raise InvalidSeries.bad(
                "blocked",
                word,
                f"must be {MIN_WORD} to {MAX_WORD} ASCII letters or digits",
            )
        matched = "".join(_canon(alpha, c) for c in word)
        missing = sorted(set(matched) - possible)
        if missing:
            if default:
                continue  # a code of this alphabet cannot spell it
            raise InvalidSeries.bad(
                "blocked",
                word,
                f"can never appear: alphabet {alpha.spec!r} and the prefix and suffix"
                f" have no {', '.join(missing)}",
            )
        kept.add(matched)
    if len(kept) > MAX_WORDS:
        raise InvalidSeries.bad("blocked", f"{len(kept)} words", f"is more than {MAX_WORDS}")
    return tuple(sorted(kept))


@dataclass(frozen=True, eq=False)
class Blocklist:
    """The words of one series as an automaton over its codes, and its counts.

    ``table[node, byte]``: the node after ``byte``; ``word[node]``: the word found by
    then (absorbing), or "". ``start``/``check_start``: the word and check states
    after the prefix. ``counts[j][node, check]``: how many ways to end the code from
    counter position ``j`` in that state without spelling a word.
    """

    words: tuple[str, ...]
    table: np.ndarray
    word: tuple[str, ...]
    start: int
    check_start: int
    steps: np.ndarray  # (2, check states, base): the check automaton
    by_symbol: np.ndarray  # (nodes, base): ``table`` at each counter symbol's byte
    counts: tuple[np.ndarray, ...]
    width: int
    base: int
    head: int  # the prefix's length: where scanning a code starts
    hit: np.ndarray  # per node: True once a word was spelled
    offset_rank: int = 0  # allowed counters below the series' offset

    @property
    def total(self) -> int:
        """Allowed counters in the whole space ``[0, base**width)``."""
        return int(self.counts[0][self.start, self.check_start])

    @property
    def capacity(self) -> int:
        """Allowed counters from the offset: the series' capacity."""
        return self.total - self.offset_rank

    def spelled(self, number: str) -> str:
        """The blocked word ``number`` spells ("" for none)."""
        node = 0
        for byte in number.encode("ascii", "replace"):
            node = int(self.table[node, byte])
        return self.word[node]

    def hits(self, rows: np.ndarray) -> np.ndarray:
        """Per row of ``rows`` (uint8, whole numbers): True where it spells a word."""
        node = np.full(len(rows), self.start, dtype=np.int32)
        for column in range(self.head, rows.shape[1]):
            node = self.table[node, rows[:, column]]
        return self.hit[node]

    def _digits(self, counter: int) -> list[int]:
        out = []
        for _ in range(self.width):
            counter, symbol = divmod(counter, self.base)
            out.append(symbol)
        return out[::-1]

    def below(self, counter: int) -> int:
        """How many allowed counters are below ``counter`` (``0..base**width``)."""
        if counter >= self.base**self.width:
            return self.total
        node, check, found = self.start, self.check_start, 0
        for j, value in enumerate(self._digits(counter)):
            step, after = self.steps[(self.width - 1 - j) % 2], self.counts[j + 1]
            for a in range(value):
                found += int(after[self.by_symbol[node, a], step[check, a]])
            node, check = int(self.by_symbol[node, value]), int(step[check, value])
            if self.word[node]:
                break
        return found

    def counter_at(self, index: int) -> int:
        """The allowed counter with ``index`` allowed counters from the offset before
        it (the caller has checked ``index < capacity``)."""
        rank = index + self.offset_rank
        node, check, counter = self.start, self.check_start, 0
        for j in range(self.width):
            step, after = self.steps[(self.width - 1 - j) % 2], self.counts[j + 1]
            for a in range(self.base):
                ways = int(after[self.by_symbol[node, a], step[check, a]])
                if rank < ways:
                    break
                rank -= ways
            counter = counter * self.base + a
            node, check = int(self.by_symbol[node, a]), int(step[check, a])
        return counter

    def index_of(self, counter: int) -> int:
        """The index of allowed ``counter``: ``counter_at``'s inverse."""
        return self.below(counter) - self.offset_rank

    def indexes_of(self, digits: np.ndarray) -> np.ndarray:
        """``index_of`` for each row of counter symbol values ``digits``."""
        dtype = self.counts[0].dtype
        node = np.full(len(digits), self.start, dtype=np.intp)
        check = np.full(len(digits), self.check_start, dtype=np.intp)
        found = np.zeros(len(digits), dtype=dtype)
        for j in range(self.width):
            step, after = self.steps[(self.width - 1 - j) % 2], self.counts[j + 1]
            column = digits[:, j].astype(np.intp)
            for a in range(max(column.tolist(), default=0)):
                below = column > a
                found[below] += after[self.by_symbol[node[below], a], step[check[below], a]]
            node, check = self.by_symbol[node, column], step[check, column]
        return found - self.offset_rank


def blocklist(words: tuple[str, ...], layout: Layout) -> Blocklist:
    """The ``Blocklist`` of ``words`` over the series that ``layout`` writes (cached:
    series are made afresh from a store's rows)."""
    alpha = layout.alphabet
    assert alpha is not None
    return _compiled(
        words,
        alpha,
        layout.prefix,
        layout.suffix,
        layout.width,
        layout.check,
        layout.check_prefix,
        layout.offset,
    )


@functools.lru_cache(maxsize=64)
def _compiled(
    words: tuple[str, ...],
    alpha: Alphabet,
    prefix: bytes,
    suffix: bytes,
    width: int,
    check: int,
    check_prefix: str,
    offset: int,
) -> Blocklist:
    table, word = _automaton(words, alpha)
    node = 0
    for byte in prefix:
        node = int(table[node, byte])
    if word[node]:
        raise InvalidSeries.bad(
            "blocked", word[node], f"is spelled by the prefix {prefix.decode()!r}: no code is left"
        )
    base = alpha.base
    symbols = np.frombuffer(alpha.symbols.encode("ascii"), dtype=np.uint8)
    steps, final, check_start = _check_machine(check, alpha, check_prefix, width)
    by_symbol = table[:, symbols]
    hit = np.array([bool(w) for w in word])
    # After the counter: the check character, then the suffix.
    end = np.repeat(np.arange(len(word))[:, None], steps.shape[1], axis=1)
    if final is not None:
        end = table[end, symbols[final][None, :]]
    for byte in suffix:
        end = table[end, byte]
    dtype = np.dtype(np.int64 if base ** (width + 1) < 1 << 62 else object)
    counts = [(~hit[end]).astype(dtype)]
    for j in range(width - 1, -1, -1):
        step, after = steps[(width - 1 - j) % 2], counts[0]
        ways = np.zeros(after.shape, dtype=dtype)
        for a in range(base):
            ways += after[by_symbol[:, a][:, None], step[:, a][None, :]]
        counts.insert(0, ways)
    found = Blocklist(
        words,
        table,
        tuple(word),
        node,
        check_start,
        steps,
        by_symbol,
        tuple(counts),
        width,
        base,
        len(prefix),
        hit,
    )
    found = dataclasses.replace(found, offset_rank=found.below(offset))
    if found.capacity == 0:
        raise InvalidSeries.bad("blocked", ",".join(words), "leaves the series no code")
    return found


def _automaton(words: tuple[str, ...], alpha: Alphabet) -> tuple[np.ndarray, list[str]]:
    """Aho-Corasick over ``words`` (matched form), stepping on bytes: each byte is first
    read as ``_canon`` reads it. A node where a word was found stays there."""
    letters = sorted({c for w in words for c in w})
    column = {c: k for k, c in enumerate(letters)}
    byte_class = [
        column.get(_canon(alpha, chr(b)), _OTHER) if b < 128 else _OTHER for b in range(256)
    ]
    children: list[dict[int, int]] = [{}]
    word = [""]
    for w in words:
        node = 0
        for c in w:
            k = column[c]
            if k not in children[node]:
                children[node][k] = len(children)
                children.append({})
                word.append("")
            node = children[node][k]
        word[node] = word[node] or w
    goto = np.zeros((len(children), len(letters)), dtype=np.int32)
    fail = [0] * len(children)
    queue = []
    for k, child in children[0].items():
        goto[0, k] = child
        queue.append(child)
    for node in queue:  # breadth first: a node's fail link is done before its children
        word[node] = word[node] or word[fail[node]]
        for k in range(len(letters)):
            if k not in children[node]:
                goto[node, k] = goto[fail[node], k]
                continue
            child = children[node][k]
            fail[child] = int(goto[fail[node], k]) if node else 0
            goto[node, k] = child
            queue.append(child)
    table = np.zeros((len(children), 256), dtype=np.int32)
    classes = np.array(byte_class)
    known = classes != _OTHER
    table[:, known] = goto[:, classes[known]]
    for node, found in enumerate(word):
        if found:
            table[node, :] = node
    return table, word


def _check_machine(
    check: int, alpha: Alphabet, check_prefix: str, width: int
) -> tuple[np.ndarray, np.ndarray | None, int]:
    """The check character's automaton (``alphabets.check_automaton``) and its state
    after the prefix's symbols; one state and no final character without a check."""
    if check == checkdigit.NONE:
        return np.zeros((2, 1, alpha.base), dtype=np.intp), None, 0
    kind = {checkdigit.ISO7064: "iso7064", checkdigit.DAMM: "damm", checkdigit.LUHN: "luhn"}
    step, final, state = alphabets.check_automaton(kind[check], alpha.base)
    values = [alpha.symbols.index(c) for c in check_prefix]
    for at, value in enumerate(values):
        state = int(step[(width + len(values) - 1 - at) % 2, state, value])
    return step.astype(np.intp), final, state


# ---- numbers of a series with blocked words ------------------------------------------

Render = Callable[["WritableBuffer", int, "Layout", int, int, bool], None]


def render_into(
    render: Render,
    out: WritableBuffer,
    stride: int,
    layout: Layout,
    first: int,
    count: int,
    descending: bool,
) -> None:
    """``render`` (an engine's ``render_into``) for a series with blocked words: the
    same records, of the allowed codes at indexes ``first, first +- 1, ...``.

    The engine writes the counters from the first one's onwards; the automaton drops
    the void ones. A keyed series' codes come from the engine too, and the few that
    spell a word walk on through the permutation here.
    """
    if count <= 0:
        return
    found = layout.blocked
    assert found is not None
    length = layout.length
    plain = layout._replace(perm=None, blocked=None)
    keyed = layout._replace(blocked=None)
    low = first - count + 1 if descending else first
    raw = found.counter_at(low) - layout.offset
    room = found.base**found.width - layout.offset
    codes = np.empty((count, length), dtype=np.uint8)
    done = 0
    while done < count:
        need = count - done
        span = min(need + need // 4 + 64, room - raw)
        rows = np.empty((span, length), dtype=np.uint8)
        render(rows.reshape(-1), length, plain, raw, span, False)
        picks = np.flatnonzero(~found.hits(rows))[:need]
        if layout.perm is None:
            codes[done : done + len(picks)] = rows[picks]
        else:
            render(rows.reshape(-1), length, keyed, raw, span, False)
            mapped = rows[picks]
            for k in np.flatnonzero(found.hits(mapped)):
                value = walk(layout, layout.perm.forward, layout.perm.forward(raw + int(picks[k])))
                mapped[k] = np.frombuffer(code(layout, value), dtype=np.uint8)
            codes[done : done + len(picks)] = mapped
        done += len(picks)
        raw += span
    flat = np.frombuffer(out, dtype=np.uint8)[: count * stride].reshape(count, stride)
    flat[:, :length] = codes[::-1] if descending else codes
    if stride > length:
        flat[:, length:] = ord("\n")


def render_list(
    render: Render, layout: Layout, first: int, count: int, descending: bool
) -> list[str]:
    """``render_into``'s numbers as ``str``."""
    if count <= 0:
        return []
    stride = layout.length + 1
    buf = np.empty(count * stride, dtype=np.uint8)
    render_into(render, buf, stride, layout, first, count, descending)
    return buf[:-1].tobytes().decode("ascii").split("\n")


def code(layout: Layout, value: int) -> bytes:
    """The code of counter ``offset + value``, blocked words or not."""
    from ._engine_py import _digit_row, write_rows

    alpha = layout.alphabet
    assert alpha is not None
    row = np.empty((1, layout.length), dtype=np.uint8)
    digits = _digit_row(layout.offset + value, layout.width, alpha.base)
    write_rows(row, layout._replace(perm=None, blocked=None), digits[None, :])
    return row.tobytes()


def walk(layout: Layout, step: Callable[[int], int], value: int) -> int:
    """``value``, or while its code spells a word ``step(value)``: the permutation's
    forward or inverse walk within the allowed counters."""
    found = layout.blocked
    assert found is not None
    while found.spelled(code(layout, value).decode("ascii")):
        value = step(value)
    return value


Parse = Callable[[np.ndarray, "Layout", np.ndarray, np.ndarray], None]


def parse_rows(
    parse: Parse, rows: np.ndarray, layout: Layout, reasons: np.ndarray, indexes: np.ndarray
) -> None:
    """``parse`` (an engine's ``parse_rows``) for a series with blocked words: the
    engine checks the rows as numbers without the words or the permutation; a row that
    spells a word gets ``BAD_BLOCKED``; the rest walk back through the permutation and
    are counted to their indexes."""
    from ._engine_py import BAD_BLOCKED, OK

    found = layout.blocked
    assert found is not None
    plain = layout._replace(perm=None, blocked=None)
    values = np.full(len(indexes), -1, dtype=indexes.dtype)
    parse(rows, plain, reasons, values)
    todo = np.flatnonzero(reasons == OK)
    spelled = found.hits(rows[todo])
    reasons[todo[spelled]] = BAD_BLOCKED
    todo = todo[~spelled]
    values = values[todo]
    perm = layout.perm
    if values.dtype == object:
        for k, value in zip(todo, values.tolist(), strict=True):
            if perm is not None:
                value = walk(layout, perm.inverse, perm.inverse(value))
            indexes[k] = found.index_of(layout.offset + value)
        return
    if perm is not None:
        values = _walk_back(layout, found, values)
    indexes[todo] = found.indexes_of(_digits_of(layout, values))


def _digits_of(layout: Layout, values: np.ndarray) -> np.ndarray:
    """The counter symbol values of counters ``offset + values`` (int64)."""
    from ._engine_py import _put_digits

    assert layout.alphabet is not None
    digits = np.empty((len(values), layout.width), dtype=np.uint8)
    _put_digits(digits, values + layout.offset, layout.width, layout.alphabet.base)
    return digits


def _walk_back(layout: Layout, found: Blocklist, values: np.ndarray) -> np.ndarray:
    """``walk`` backwards for many values at once (int64 ones)."""
    from ._engine_py import write_rows

    perm = layout.perm
    assert perm is not None
    plain = layout._replace(perm=None, blocked=None)
    if not perm.vector:
        return np.array([walk(layout, perm.inverse, perm.inverse(int(v))) for v in values])
    values = perm.inverse_array(values.astype(np.uint64)).astype(np.int64)
    todo = np.arange(len(values))
    while todo.size:
        rows = np.empty((todo.size, layout.length), dtype=np.uint8)
        write_rows(rows, plain, _digits_of(layout, values[todo]))
        todo = todo[found.hits(rows)]
        if todo.size:
            values[todo] = perm.inverse_array(values[todo].astype(np.uint64)).astype(np.int64)
    return values
