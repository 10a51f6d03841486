"""What every fuzz target shares: typed values read from the fuzzer's bytes (``Data``),
what counts as a finding, a call run on both engine twins, and the record of findings.

A finding is any exception other than a ``CardSeqError`` with a numeric code (a
``TypeError``, an ``OverflowError``, a ``UnicodeError`` escaping a parser), or a
``Finding`` a target raises for a wrong answer: the twins disagree, the server answers
500. Findings are recorded and the fuzzing goes on, so one run reports every kind it met.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import traceback
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

from cardseq import _engine
from cardseq.errors import CardSeqError

T = TypeVar("T")


class Finding(Exception):
    """A wrong answer rather than an exception: ``kind`` names it (one finding per kind),
    ``detail`` shows it."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind


class Data:
    """Values taken one after another from the fuzzer's input. Past its end every read
    gives the smallest value, so any input is a whole case."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self.at = 0

    def take(self, size: int) -> bytes:
        chunk = self.raw[self.at : self.at + size]
        self.at += len(chunk)
        return chunk

    def int(self, low: int, high: int) -> int:
        """An integer in ``[low, high]``, from as many bytes as the range needs."""
        span = high - low
        if span <= 0:
            return low
        return low + int.from_bytes(self.take((span.bit_length() + 7) // 8), "little") % (span + 1)

    def bool(self) -> bool:
        return self.int(0, 1) == 1

    def pick(self, options: Sequence[T]) -> T:
        return options[self.int(0, len(options) - 1)]

    def bytes(self, most: int) -> bytes:
        return self.take(self.int(0, most))

    def text(self, most: int = 64) -> str:
        """Up to ``most`` characters of one alphabet: ASCII, Latin-1, UTF-16 code units
        (lone surrogates too) or any code point."""
        kind = self.int(0, 3)
        count = self.int(0, most)
        if kind == 0:
            return "".join(chr(b & 0x7F) for b in self.take(count))
        if kind == 1:
            return self.take(count).decode("latin-1")
        width = 2 if kind == 2 else 3
        raw = self.take(count * width)
        units = [int.from_bytes(raw[i : i + width], "little") for i in range(0, len(raw), width)]
        return "".join(chr(unit % 0x110000) for unit in units)

    def rest(self) -> bytes:
        return self.take(len(self.raw))


def outcome(call: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, ...]:
    """``("ok", value)``, or ``("error", class, code, message)`` for a ``CardSeqError``;
    any other exception goes on up: it is a finding."""
    try:
        return ("ok", call(*args, **kwargs))
    except CardSeqError as error:
        if not isinstance(error.code, int) or isinstance(error.code, bool):
            raise Finding("an error without a numeric code", repr(error)) from error
        return ("error", type(error).__name__, error.code, error.message)


def twins() -> list[ModuleType]:
    """The engine twins this installation has: the pure one, and the compiled one unless
    it is missing or switched off (``CARDSEQ_NO_EXTENSIONS``)."""
    found = [importlib.import_module("cardseq._engine_py")]
    if not _engine.NO_EXTENSIONS:
        with contextlib.suppress(ImportError):
            found.append(importlib.import_module("cardseq._engine_c"))
    return found


TWINS = twins()


@contextlib.contextmanager
def engine_in_use(twin: ModuleType) -> Iterator[None]:
    """The library runs on ``twin`` until the block ends (as tests/conftest.py switches)."""
    saved = _engine.engine
    _engine.engine = twin  # type: ignore[assignment]
    try:
        yield
    finally:
        _engine.engine = saved


def on_both(
    call: Callable[..., Any], *args: Any, view: Callable[[Any], Any] = repr, **kwargs: Any
) -> tuple[Any, ...]:
    """The ``outcome`` of ``call`` on each twin, which must be the same (compared by
    ``view`` of the value); that outcome, with the value itself."""
    seen = []
    for twin in TWINS:
        with engine_in_use(twin):
            result = outcome(call, *args, **kwargs)
        compared = ("ok", view(result[1])) if result[0] == "ok" else result
        seen.append((twin.__name__, compared, result))
    for name, compared, _ in seen[1:]:
        if compared != seen[0][1]:
            what = getattr(call, "__qualname__", repr(call))
            raise Finding(
                f"the engine twins differ on {what}",
                f"{seen[0][0]}: {seen[0][1]!r:.2000}; {name}: {compared!r:.2000}",
            )
    return seen[0][2]


_case: list[str] = []


def note(what: str, value: object) -> None:
    """Say what the input became (a URL, a request): a finding's record shows it."""
    _case.append(f"{what}: {value!r:.3000}")


class Record:
    """Findings of one target: for each kind, the shortest input seen (``KIND.input``)
    and what it did (``KIND.txt``), in ``directory``."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self.sizes: dict[str, int] = {}

    def add(self, raw: bytes, error: BaseException) -> None:
        kind = signature(error)
        if kind in self.sizes and self.sizes[kind] <= len(raw):
            return
        self.sizes[kind] = len(raw)
        name = hashlib.sha1(kind.encode()).hexdigest()[:12]
        case = "".join(f"{line}\n" for line in _case)
        text = f"{kind}\n\n{case}\n" + "".join(traceback.format_exception(error))
        if self.directory is None:
            print(text, flush=True)
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / f"{name}.input").write_bytes(raw)
        (self.directory / f"{name}.txt").write_text(text, encoding="utf-8", errors="replace")


def signature(error: BaseException) -> str:
    """What makes two findings the same: a ``Finding``'s kind, else the exception's
    class and the innermost line of cardseq (or of the target) it came through."""
    if isinstance(error, Finding):
        return error.kind
    frames = traceback.extract_tb(error.__traceback__)
    ours = [f for f in frames if "/cardseq/" in f.filename] or frames
    where = f"{Path(ours[-1].filename).name}:{ours[-1].lineno}" if ours else "?"
    return f"{type(error).__name__} at {where}"


def guarded(one_input: Callable[[bytes], None], record: Record) -> Callable[[bytes], None]:
    """``one_input`` with its findings recorded instead of raised: the fuzzing goes on."""

    def run(raw: bytes) -> None:
        _case.clear()
        try:
            one_input(raw)
        except Exception as error:
            record.add(raw, error)

    return run
