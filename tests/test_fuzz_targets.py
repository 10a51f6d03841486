"""The fuzz targets (fuzz/), each run briefly from a fixed seed, its seed corpus first
(the reproducers of past findings are there): no finding. And the harness' own rules:
what is a finding, and the twins compared.

A whole run takes about 30 s (a process per target, under atheris where it is
installed), so it is ``heavy``: CI runs it once, on the main interpreter.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from cardseq.errors import CardSeqError, InvalidArgument
from fuzz import TARGETS
from fuzz.harness import TWINS, Data, Finding, Record, guarded, on_both, outcome, signature
from fuzz.run import run_target

#: inputs per target: about two seconds of each on a busy machine
RUNS = {"parse": 800, "lookup_many": 800, "cli_options": 300, "store_url": 1000}
#: Targets whose seed corpus holds the reproducer of a finding left to the engineers of
#: that part (each file is named for its finding): the mark goes once the fix has landed,
#: which xfail_strict says by failing the test.
OPEN = {
    "store_url": "store URLs with a NUL, a lone surrogate, a directory, a '%XX' that is not"
    " UTF-8 or a '[' in the host: ValueError, UnicodeError, IsADirectoryError",
    "http_query": "a path ending in '/' that no route has, with a query that is not UTF-8:"
    " Starlette's slash redirect answers 500",
    "cli_options": "a date past 9999 in UTC (ledger --since): OverflowError; an argument"
    " that is not UTF-8 (series log $'\\xfb'): UnicodeEncodeError from SQLite",
}


@pytest.mark.heavy
@pytest.mark.parametrize(
    "target",
    [
        pytest.param(t, marks=pytest.mark.xfail(reason=OPEN[t], strict=True)) if t in OPEN else t
        for t in TARGETS
    ],
)
def test_target_finds_nothing(target, tmp_path):
    result = run_target(target, runs=RUNS.get(target, 2000), seed=1, findings=tmp_path)
    found = "\n\n".join(path.read_text("utf-8", "replace")[-3000:] for path in result.findings)
    assert not result.findings, found
    assert result.status == 0
    assert result.runs >= RUNS.get(target, 2000)


def test_every_target_has_a_module():
    here = Path(__file__).resolve().parent.parent / "fuzz"
    assert sorted(TARGETS) == sorted(
        path.stem for path in here.glob("*.py") if "\ndef one_input(" in path.read_text()
    )


def test_data_reads_past_its_end_as_the_smallest_values():
    data = Data(b"\x05")
    assert data.int(0, 9) == 5
    assert (data.int(3, 9), data.text(), data.bytes(9), data.bool()) == (3, "", b"", False)


def test_text_covers_every_alphabet():
    assert Data(b"\x00\x02\xc1\xc2").text() == "AB"  # ASCII: the low seven bits
    assert Data(b"\x02\x01\x00\xd8").text() == "\ud800"  # UTF-16 units: lone surrogates too
    assert Data(b"\x03\x01\xff\xff\x10").text() == chr(0x10FFFF)


def test_a_coded_error_is_an_outcome_and_any_other_exception_a_finding():
    def refuse():
        raise InvalidArgument.bad("x", 1, "is wrong")

    assert outcome(refuse) == ("error", "InvalidArgument", 701, "x 1 is wrong")
    with pytest.raises(ZeroDivisionError):
        outcome(lambda: 1 / 0)

    class Uncoded(CardSeqError):
        code = "E1"  # type: ignore[assignment]

    with pytest.raises(Finding, match="numeric code"):
        outcome(lambda: (_ for _ in ()).throw(Uncoded("no code")))


def test_twins_that_differ_are_a_finding(monkeypatch):
    from cardseq import _engine

    monkeypatch.setattr("fuzz.harness.TWINS", [*TWINS, sys.modules[__name__]])
    assert on_both(lambda: 1) == ("ok", 1)
    with pytest.raises(Finding, match="twins differ"):
        on_both(lambda: _engine.engine.__name__)


def test_findings_are_recorded_once_per_kind_with_the_shortest_input(tmp_path):
    def one_input(raw: bytes) -> None:
        raise KeyError(raw)

    run = guarded(one_input, Record(tmp_path))
    for raw in (b"long input", b"short", b"longest input"):
        run(raw)
    (text,) = tmp_path.glob("*.txt")
    (saved,) = tmp_path.glob("*.input")
    assert saved.read_bytes() == b"short"
    assert text.read_text().startswith("KeyError at test_fuzz_targets.py:")
    assert signature(Finding("a kind", "its detail")) == "a kind"
