"""The in-memory comparisons: what a user would write instead of cardseq, on the same work.

Each case is one tool's fair best effort at a task, as one call that makes ``count``
numbers. A competitor is imported when its case is built, so a missing one becomes a
row that says "not installed" instead of an ImportError.
"""

from __future__ import annotations

import importlib
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from types import ModuleType
from typing import Any

import numpy as np

from ..alphabets import CROCKFORD
from ..extras import install
from ..series import CardSeries

#: the numbers of the Luhn tasks: an issuer prefix, a 9-digit counter, a Luhn digit
PREFIX, WIDTH, LENGTH = "600000", 9, 16
INSTALL = install("bench")
NOT_APPLICABLE = "-"


@dataclass(frozen=True)
class Guarantees:
    """What a tool's numbers promise, in words short enough for a table cell."""

    unique: str
    durable: str
    fixed_length: str
    unguessable: str


NO_PROMISES = Guarantees(NOT_APPLICABLE, NOT_APPLICABLE, NOT_APPLICABLE, NOT_APPLICABLE)


@dataclass(frozen=True)
class Case:
    """One tool on one task: ``run()`` makes (or reserves, or checks) ``count`` numbers.

    ``run`` is None when the case cannot run here; ``skipped`` says why.
    """

    tool: str
    package: str | None
    count: int
    run: Callable[[], object] | None
    guarantees: Guarantees = NO_PROMISES
    note: str = ""
    skipped: str = ""
    reference: bool = False


@dataclass
class Task:
    """Cases doing the same work; the ``reference`` case is cardseq's, the ratios' base."""

    slug: str
    title: str
    work: str
    cases: list[Case] = field(default_factory=list)


def optional(module: str) -> ModuleType | None:
    """``module`` if it is installed, else None (its cases then say so)."""
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def case_with(
    module: str, package: str, build: Callable[[Any], Callable[[], object]], **details: Any
) -> Case:
    """A competitor's case, or a skipped row naming the package to install."""
    found = optional(module)
    if found is None:
        return Case(package=package, run=None, skipped=f"not installed ({INSTALL})", **details)
    return Case(package=package, run=build(found), **details)


def luhn_series(method: str = "LUHN") -> CardSeries:
    """The series every Luhn task formats: ``600000`` + 9-digit counter + Luhn digit."""
    return CardSeries("BENCH", prefix=PREFIX, length=LENGTH, method=method)


def numpy_luhn(first: int, count: int) -> np.ndarray:
    """The Luhn task vectorised with NumPy, written for this comparison: the counters'
    digits column by column, the check digit from a table of doubled digits.

    >>> numpy_luhn(1, 2).tolist()
    [b'6000000000000015', b'6000000000000023']
    """
    doubled = np.array([0, 2, 4, 6, 8, 1, 3, 5, 7, 9], dtype=np.int64)
    payload = len(PREFIX) + WIDTH
    # Luhn doubles every second payload digit from the right, the rightmost one first.
    fixed = sum(
        int(doubled[int(d)]) if (payload - 1 - j) % 2 == 0 else int(d) for j, d in enumerate(PREFIX)
    )
    digits = np.empty((count, LENGTH), dtype=np.uint8)
    digits[:, : len(PREFIX)] = np.frombuffer(PREFIX.encode(), dtype=np.uint8)
    rest = np.arange(first, first + count, dtype=np.int64)
    total = np.full(count, fixed, dtype=np.int64)
    for j in range(payload - 1, len(PREFIX) - 1, -1):
        digit = rest % 10
        rest //= 10
        total += doubled[digit] if (payload - 1 - j) % 2 == 0 else digit
        digits[:, j] = digit + 48
    digits[:, payload] = (10 - total % 10) % 10 + 48
    return digits.view(f"S{LENGTH}").reshape(count)


def _strings(count: int) -> Iterable[str]:
    return (f"{PREFIX}{i:0{WIDTH}d}" for i in range(count))


SEQUENTIAL = Guarantees("yes", "no", "yes", "no")


def sequential(n: int) -> Task:
    """Sequential numbers with a Luhn digit, made in memory."""
    block = luhn_series().block(0, n)
    small, tiny = max(1, n // 10), max(1, n // 100)
    return Task(
        "sequential",
        "Sequential numbers with a Luhn digit",
        f"16-digit numbers {PREFIX} + 9-digit counter + Luhn digit, in order, in memory",
        [
            Case(
                "cardseq Block.to_list",
                "cardseq",
                n,
                block.to_list,
                SEQUENTIAL,
                "list of str",
                reference=True,
            ),
            Case("cardseq Block.to_numpy", "cardseq", n, block.to_numpy, SEQUENTIAL, "S16 array"),
            Case(
                "NumPy, vectorised",
                "numpy",
                n,
                lambda: numpy_luhn(0, n),
                SEQUENTIAL,
                "S16 array, written for this comparison",
            ),
            case_with(
                "luhn",
                "luhn",
                lambda luhn: lambda: [luhn.append(s) for s in _strings(small)],
                tool="f-string + luhn.append",
                count=small,
                guarantees=SEQUENTIAL,
                note="list of str",
            ),
            case_with(
                "stdnum.luhn",
                "python-stdnum",
                lambda luhn: lambda: [s + luhn.calc_check_digit(s) for s in _strings(small)],
                tool="f-string + stdnum calc_check_digit",
                count=small,
                guarantees=SEQUENTIAL,
                note="list of str",
            ),
            case_with(
                "faker",
                "faker",
                lambda faker: _faker(faker, tiny),
                tool="Faker credit_card_number",
                count=tiny,
                guarantees=Guarantees("no (random)", "no", "yes", "no (Mersenne Twister)"),
                note="random Visa numbers: repeats possible, not collision-free",
            ),
        ],
    )


def _faker(faker: Any, count: int) -> Callable[[], object]:
    fake = faker.Faker()
    return lambda: [fake.credit_card_number(card_type="visa16") for _ in range(count)]


def unguessable(n: int) -> Task:
    """Numbers that cannot be predicted from the ones already seen."""
    series = luhn_series("RANDOM_LUHN")
    block = series.block(0, n)
    small, tiny = max(1, n // 10), max(1, n // 100)
    keyed = Guarantees("yes", "no", "yes", "yes (keyed)")
    return Task(
        "unguessable",
        "Unguessable numbers",
        "16-character numbers that do not reveal the next one, in memory",
        [
            Case(
                "cardseq RANDOM_LUHN to_list",
                "cardseq",
                n,
                block.to_list,
                keyed,
                "one thread; a Luhn digit too",
                reference=True,
            ),
            Case(
                "cardseq RANDOM_LUHN to_numpy",
                "cardseq",
                n,
                block.to_numpy,
                keyed,
                "all cores; a Luhn digit too",
            ),
            case_with(
                "cryptography",
                "cryptography",  # what a skipped row names: the ff1 extra's package
                lambda _: _ff1_series().block(0, n).to_numpy,
                tool="cardseq RANDOM_LUHN cipher=ff1 to_numpy",
                count=n,
                guarantees=keyed,
                note="NIST SP 800-38G AES-FF1, batched (the ff1 extra)",
            ),
            case_with(
                "ff3",
                "ff3",
                lambda ff3: _ff3(ff3, tiny),
                tool="ff3 FF3-1 encrypt",
                count=tiny,
                guarantees=keyed,
                note="format-preserving encryption of a 16-digit counter",
            ),
            case_with(
                "pyffx",
                "pyffx",
                lambda pyffx: _pyffx(pyffx, tiny),
                tool="pyffx encrypt",
                count=tiny,
                guarantees=keyed,
                note="FFX-A2 (not a NIST mode) of a 16-digit counter, one number a call",
            ),
            _sqids_case(
                small,
                "digits alphabet, min_length 16; decodable by anyone with the alphabet",
                alphabet="0123456789",
                min_length=LENGTH,
            ),
            _drawn_case(
                "secrets.randbelow + set",
                small,
                lambda: f"{secrets.randbelow(10**LENGTH):0{LENGTH}d}",
                "the voucher-generator approach: draw, retry on a repeat",
            ),
        ],
    )


def _ff3(ff3: Any, count: int) -> Callable[[], object]:
    # a 56-bit tweak (14 hex digits) selects FF3-1
    cipher = ff3.FF3Cipher(secrets.token_hex(16), secrets.token_hex(7))
    return lambda: [cipher.encrypt(f"{i:016d}") for i in range(count)]


def _ff1_series() -> CardSeries:
    return CardSeries(
        "BENCH", prefix=PREFIX, length=LENGTH, method="RANDOM_LUHN", cipher="ff1", key=bytes(32)
    )


def _pyffx(pyffx: Any, count: int) -> Callable[[], object]:
    cipher = pyffx.Integer(secrets.token_bytes(16), length=LENGTH)
    return lambda: [f"{cipher.encrypt(i):0{LENGTH}d}" for i in range(count)]


def _sqids_case(count: int, note: str, prefix: str = "", **options: Any) -> Case:
    """``sqids`` encoding ``count`` counters, ``options`` its settings."""
    return case_with(
        "sqids",
        "sqids",
        lambda sqids: _sqids(sqids.Sqids(**options), count, prefix),
        tool="sqids encode",
        count=count,
        guarantees=Guarantees("yes", "no", "no (16 or more)", "no (obfuscated)"),
        note=note,
    )


def _sqids(coder: Any, count: int, prefix: str) -> Callable[[], object]:
    return lambda: [prefix + coder.encode([i]) for i in range(count)]


def _drawn_case(tool: str, count: int, draw: Callable[[], str], note: str) -> Case:
    """Random draws until ``count`` distinct ones are in a set: unique only there."""
    return Case(
        tool, None, count, lambda: _draw_unique(count, draw),
        Guarantees("within one set", "no", "yes", "yes"), note,
    )  # fmt: skip


def _draw_unique(count: int, draw: Callable[[], str]) -> set[str]:
    seen: set[str] = set()
    while len(seen) < count:
        seen.add(draw())
    return seen


#: the codes task: ``GIFT`` + 11 Crockford symbols + a check character, 16 in all
CODE_PREFIX, CODE_LENGTH = "GIFT", 16


def code_series(method: str = "RANDOM_DAMM", **more: Any) -> CardSeries:
    """The series the codes task writes (keyed ones under a fixed benchmark key)."""
    key = bytes(16) if method.startswith("RANDOM") else None
    return CardSeries(
        "CODES", prefix=CODE_PREFIX, length=CODE_LENGTH, alphabet="crockford",
        method=method, key=key, **more,
    )  # fmt: skip


def codes(n: int) -> Task:
    """Alphanumeric codes that people type, as vouchers and gift codes are."""
    small = max(1, n // 10)
    keyed = Guarantees("yes", "no", "yes", "yes (keyed)")
    plain = code_series("DAMM").block(0, n)
    blocked = code_series(blocked="default").block(0, n)
    return Task(
        "codes",
        "Codes people type",
        f"{CODE_LENGTH}-character codes {CODE_PREFIX} + 11 Crockford base32 symbols + a check"
        " character, in memory",
        [
            Case(
                "cardseq RANDOM_DAMM to_list",
                "cardseq",
                n,
                code_series().block(0, n).to_list,
                keyed,
                "keyed permutation, Damm check character",
                reference=True,
            ),
            Case(
                "cardseq RANDOM_DAMM to_numpy",
                "cardseq",
                n,
                code_series().block(0, n).to_numpy,
                keyed,
                "S16 array",
            ),
            Case(
                "cardseq RANDOM_DAMM, blocked words",
                "cardseq",
                n,
                blocked.to_list,
                keyed,
                "the default list of 63 words: no code spells one",
            ),
            Case(
                "cardseq DAMM (sequential) to_list",
                "cardseq",
                n,
                plain.to_list,
                SEQUENTIAL,
                "counter order, Damm check character",
            ),
            case_with(
                "base32_crockford",
                "base32-crockford",
                lambda b32: _crockford(b32, small),
                tool="base32-crockford encode",
                count=small,
                guarantees=SEQUENTIAL,
                note="counter zero-padded, its mod 37 check symbol (may be *~$=U)",
            ),
            _sqids_case(
                small,
                "its default alphabet (62, case matters) and blocklist, min_length 12",
                prefix=CODE_PREFIX,
                min_length=CODE_LENGTH - len(CODE_PREFIX),
            ),
            _drawn_case(
                "secrets.choice + set",
                small,
                lambda: CODE_PREFIX + "".join(secrets.choice(CROCKFORD.symbols) for _ in range(12)),
                "the voucher-generator approach over Crockford's symbols: draw, retry",
            ),
        ],
    )


def _crockford(b32: Any, count: int) -> Callable[[], object]:
    width = CODE_LENGTH - len(CODE_PREFIX) - 1
    encode = b32.encode
    return lambda: [f"{CODE_PREFIX}{encode(i, checksum=True):0>{width + 1}}" for i in range(count)]


def validation(n: int) -> Task:
    """Checking numbers one by one, as a till or an import job does."""
    series = luhn_series()
    small = max(1, n // 10)
    numbers = series.block(0, small).to_list()
    ours = [
        Case(
            "cardseq CardSeries.is_valid",
            "cardseq",
            small,
            lambda: [series.is_valid(s) for s in numbers],
            note="per number: length, prefix, Luhn digit",
        )
    ]
    # The bulk API of issue 13 (``is_valid_many``), where this cardseq has it.
    bulk = getattr(series, "is_valid_many", None)
    if bulk is not None:
        ours.insert(
            0,
            Case(
                "cardseq CardSeries.is_valid_many",
                "cardseq",
                small,
                lambda: bulk(numbers),
                note="one call for the list: length, prefix, Luhn digit",
            ),
        )
    ours[0] = replace(ours[0], reference=True)
    return Task(
        "validation",
        "Validation",
        "check 16-digit Luhn numbers of the series (the others: one call per number)",
        [
            *ours,
            case_with(
                "stdnum.luhn",
                "python-stdnum",
                lambda luhn: lambda: [luhn.is_valid(s) for s in numbers],
                tool="stdnum.luhn.is_valid",
                count=small,
                note="Luhn digit only",
            ),
            case_with(
                "luhn",
                "luhn",
                lambda luhn: lambda: [luhn.verify(s) for s in numbers],
                tool="luhn.verify",
                count=small,
                note="Luhn digit only",
            ),
        ],
    )


def batch_cases(size: int) -> dict[str, Callable[[], object]]:
    """The sequential task at one batch size, for the throughput-against-size plot."""
    series = luhn_series()
    cases: dict[str, Callable[[], object]] = {
        "cardseq to_numpy": lambda: series.block(0, size).to_numpy(),
        "cardseq to_list": lambda: series.block(0, size).to_list(),
        "NumPy, vectorised": lambda: numpy_luhn(0, size),
    }
    luhn = optional("luhn")
    if luhn is not None:
        cases["f-string + luhn.append"] = lambda: [luhn.append(s) for s in _strings(size)]
    return cases
