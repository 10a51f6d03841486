"""``cardseq.printrun`` driven directly, without the command: a run's file is whole or
absent, a failure says what is left and how the command exits, and the outputs that
would destroy the store or a key are refused however they are spelt."""

from __future__ import annotations

import errno
import os
import signal
from pathlib import Path

import pytest

import cardseq
from cardseq import CardSeries, CardService, printrun
from cardseq.block import Block
from cardseq.outfile import TEMP_MARK, OutputFile
from cardseq.store import open_store


@pytest.fixture
def reserved(tmp_path):
    """A block of 1,000 numbers reserved in a SQLite store, with its ledger entry."""
    with open_store(f"sqlite:///{tmp_path / 'store.db'}") as store:
        service = CardService(store)
        service.create_series(CardSeries("GIFT", prefix="60", length=12, method="LUHN"))
        block = service.reserve("GIFT", 1000, request_id="run-1")
        entry = service.reservation("GIFT", request_id="run-1")
        yield store, block, entry


def _write(block, out, target, entry, **options):
    return printrun.write(
        block, out, target, order="asc", fmt="csv", columns=("number",), entry=entry, **options
    )


def _leftovers(directory: Path) -> list[str]:
    return [p.name for p in directory.iterdir() if TEMP_MARK in p.name]


def test_a_whole_run_is_in_place_with_the_blocks_numbers(reserved, tmp_path):
    _, block, entry = reserved
    out = str(tmp_path / "cards.csv")
    seen: list[int] = []
    assert _write(block, out, OutputFile(out), entry, progress=seen.append) is None
    lines = Path(out).read_text().splitlines()
    assert lines == ["number", *block.to_list()]
    assert sum(seen) == block.count  # the progress callback heard of every number
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("failure", "message", "status"),
    [
        (OSError(errno.ENOSPC, "No space left on device"), "error 711: ", 1),
        (printrun.Interrupted(signal.SIGTERM), "interrupted by SIGTERM while writing ", 143),
    ],
)
def test_a_failed_run_leaves_no_file_and_says_so(
    reserved, tmp_path, monkeypatch, failure, message, status
):
    """Half a file of card numbers looks like a whole one: none is left at the path,
    and no temporary file beside it."""
    _, block, entry = reserved
    out = tmp_path / "cards.csv"
    out.write_text("the previous run\n")

    def breaks(self, fp, *args, **kwargs):
        fp.write(b"6000000000\n")  # part of the numbers went out first
        raise failure

    monkeypatch.setattr(Block, "write", breaks)
    failed = _write(block, str(out), OutputFile(str(out)), entry)
    assert failed is not None
    assert failed.message.startswith(message) and failed.status == status
    assert failed.left == f"nothing was left at {out}"
    assert not failed.broken_pipe
    assert out.read_text() == "the previous run\n"  # the target untouched
    assert _leftovers(tmp_path) == []


def test_a_signal_after_the_file_is_in_place_changes_nothing(reserved, tmp_path, monkeypatch):
    _, block, entry = reserved
    out = str(tmp_path / "cards.csv")
    target = OutputFile(out)
    commit = OutputFile.commit

    def commit_then_signal(self):
        commit(self)
        raise printrun.Interrupted(signal.SIGINT)

    monkeypatch.setattr(OutputFile, "commit", commit_then_signal)
    assert _write(block, out, target, entry) is None
    assert len(Path(out).read_text().splitlines()) == block.count + 1


def test_a_device_written_in_place_keeps_part_of_the_numbers(reserved):
    _, block, entry = reserved
    failed = _write(block, "/dev/full", OutputFile("/dev/full"), entry)
    assert failed is not None and failed.status == 1
    assert failed.message.startswith("error 711: ")
    assert failed.left == "/dev/full got part of them"


def test_stdout_that_went_away_is_a_broken_pipe(reserved, monkeypatch):
    _, block, entry = reserved

    class Closed:
        def write(self, data):
            raise BrokenPipeError(errno.EPIPE, "Broken pipe")

        def flush(self):
            pass

    monkeypatch.setattr(printrun, "binary_stdout", Closed)
    failed = _write(block, "-", None, entry)
    assert failed is not None and failed.broken_pipe and failed.left == "stdout got part of them"


def test_stoppable_turns_a_signal_into_interrupted_and_restores_the_handlers():
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(printrun.Interrupted) as info, printrun.stoppable():
        os.kill(os.getpid(), signal.SIGTERM)
        signal.sigtimedwait([], 0)  # (let the handler run here)
    assert info.value.name == "SIGTERM" and info.value.signum == signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) is before


def test_outputs_that_are_the_store_or_a_key_are_refused_however_spelt(
    reserved, tmp_path, monkeypatch
):
    store, _, _ = reserved
    keys = tmp_path / "keys"
    keys.write_text("k = " + "00" * 32 + "\n")
    os.symlink(tmp_path / "store.db", tmp_path / "link.db")
    monkeypatch.chdir(tmp_path)
    for out in ("store.db", "./link.db", str(tmp_path / "store.db-wal"), "keys"):
        with pytest.raises(cardseq.InvalidArgument) as info:
            printrun.check_output(out, store, "keys")
        assert info.value.code == 701 and info.value.field == "--out", out
    monkeypatch.setenv("CARDSEQ_KEYS_FILE", str(keys))
    with pytest.raises(cardseq.InvalidArgument, match=r"\$CARDSEQ_KEYS_FILE"):
        printrun.check_output("./keys", store, None)
    printrun.check_output("cards.csv", store, "keys")  # anything else is fine
