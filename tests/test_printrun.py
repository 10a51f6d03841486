"""The print run (issue 13): output that is whole or absent, reservations found and
written again (ledger, export), columns beside each number, and the guard on big runs.

The guarantees about interruption are tested on the real command in a subprocess,
with real signals and a real full device.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from cardseq import CardSeries
from cardseq.allocator import SegmentAllocator
from cardseq.cli import main
from cardseq.columns import parse_columns, row_format
from cardseq.errors import (
    InvalidArgument,
    InvalidRelease,
    OutputError,
    ReservationNotFound,
)
from cardseq.outfile import TEMP_MARK, OutputFile
from cardseq.service import CardService
from cardseq.store import open_store

CARDSEQ = [sys.executable, "-m", "cardseq"]
GIFT = CardSeries("GIFT", prefix="600000", length=16, method="LUHN")


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'run.db'}"


@pytest.fixture
def cli(db: str):
    runner = CliRunner()

    def run(*args: str, input: str | None = None):
        return runner.invoke(main, [*args, "--db", db], input=input)

    run("series", "create", "GIFT", "--prefix", "600000", "--length", "16", "--method", "LUHN")
    return run


def reserved(db: str) -> int:
    with open_store(db) as store:
        return store.series("GIFT").next_index


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if TEMP_MARK in p.name)


# ---- the real command, real signals --------------------------------------------------


def delivered() -> None:
    """SIGINT and SIGTERM as at a terminal: a suite started in the background (``&``)
    inherits SIGINT ignored, and cardseq rightly leaves an ignored signal ignored."""
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, signal.SIG_DFL)


def start(db: str, out: Path, count: int, *extra: str) -> subprocess.Popen[bytes]:
    """``cardseq generate`` of ``count`` numbers to ``out`` in its own process."""
    command = [*CARDSEQ, "generate", "GIFT", "-n", str(count), "--yes", "--db", db, *extra]
    command += ["--out", str(out)]
    return subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=delivered,  # (before exec: nothing but the two calls runs there)
    )


def wait_for_writing(folder: Path, process: subprocess.Popen[bytes]) -> Path:
    """The temporary file once it holds a few megabytes: the write is under way."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        temps = [p for p in folder.iterdir() if TEMP_MARK in p.name]
        if temps and temps[0].stat().st_size > 4 << 20:
            return temps[0]
        time.sleep(0.005)
    raise AssertionError("the write never started")


def recovery_command(stderr: str) -> list[str]:
    (line,) = [x for x in stderr.splitlines() if x.startswith("write them again with: ")]
    return shlex.split(line.removeprefix("write them again with: "))


@pytest.fixture
def real_db(db: str) -> str:
    with open_store(db) as store:
        store.create_series(GIFT)
    return db


@pytest.mark.parametrize(("sig", "name"), [(signal.SIGINT, "SIGINT"), (signal.SIGTERM, "SIGTERM")])
def test_a_signal_while_writing_leaves_no_file_and_says_how_to_write_it_again(
    real_db, tmp_path, sig, name
):
    out = tmp_path / "cards.csv"
    count = 200_000_000  # far more than can be written before the signal comes
    process = start(real_db, out, count, "--format", "csv", "--request-id", "run-1")
    wait_for_writing(tmp_path, process)
    process.send_signal(sig)
    _, err = process.communicate(timeout=60)
    stderr = err.decode()
    assert process.returncode == 128 + sig, stderr
    assert not out.exists()
    assert leftovers(tmp_path) == []
    assert f"interrupted by {name} while writing {out}" in stderr
    assert f"nothing was left at {out}" in stderr
    assert (
        f"{count} numbers of series GIFT (id 1), indexes 0..{count - 1}, first"
        f" {GIFT.format(0)}, last {GIFT.format(count - 1)}, ledger id 1, request id run-1"
    ) in stderr
    command = recovery_command(stderr)
    assert command[:5] == ["cardseq", "export", "GIFT", "--request-id", "run-1"]
    assert command[command.index("--out") + 1] == str(out)
    assert reserved(real_db) == count  # the reservation stands, never handed out again


def test_sigkill_leaves_at_most_a_temporary_file_and_the_old_file_whole(real_db, tmp_path):
    out = tmp_path / "cards.txt"
    out.write_bytes(b"the previous run\n")
    process = start(real_db, out, 200_000_000)
    temp = wait_for_writing(tmp_path, process)
    process.kill()
    process.communicate(timeout=60)
    assert out.read_bytes() == b"the previous run\n"
    assert temp.name.startswith(f".cards.txt{TEMP_MARK}")
    assert leftovers(tmp_path) == [temp.name]


def test_a_failed_write_names_the_failure_and_the_reservation(real_db, tmp_path):
    """/dev/full opens fine and fails on write: the message says so (not "could not open
    file"), names what was reserved, and its export command writes exactly that."""
    done = subprocess.run(
        [*CARDSEQ, "generate", "GIFT", "-n", "100000", "--out", "/dev/full", "--db", real_db],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "error 711: --out '/dev/full' could not be written: No space left on device" in (
        done.stderr
    )
    assert "open" not in done.stderr.lower()
    assert "/dev/full got part of them" in done.stderr  # a device: written in place
    (generated,) = re.findall(r"request id (\S+) \(generated\)", done.stderr)
    assert (
        f"100000 numbers of series GIFT (id 1), indexes 0..99999, first {GIFT.format(0)},"
        f" last {GIFT.format(99999)}, ledger id 1, request id {generated}"
    ) in done.stderr
    command = recovery_command(done.stderr)
    out = tmp_path / "again.txt"
    command[command.index("--out") + 1] = str(out)
    again = subprocess.run([*CARDSEQ, *command[1:]], capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert out.read_text().splitlines() == GIFT.block(0, 100_000).to_list()
    assert reserved(real_db) == 100_000  # export reserved nothing


@pytest.mark.heavy
def test_the_progress_bar_shows_count_rate_and_time_left_on_stderr(real_db, tmp_path):
    import pty

    controller, terminal = pty.openpty()
    out = tmp_path / "cards.txt"
    process = subprocess.Popen(
        [*CARDSEQ, "generate", "GIFT", "-n", "3000000", "--out", str(out), "--db", real_db],
        stdout=subprocess.DEVNULL,
        stderr=terminal,
        env={**os.environ, "COLUMNS": "160"},
    )
    os.close(terminal)
    seen = b""
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    process.wait(timeout=60)
    os.close(controller)
    text = seen.decode(errors="replace")
    assert process.returncode == 0, text
    assert "writing" in text
    assert "3000000/3000000" in text  # the count
    assert re.search(r"\d(\.\d+)?[kMG]?/s, \d+:\d\d:\d\d left", text)  # rate, time left
    # one time-left figure: not click's own estimate beside it (00:00:01 ... 0:00:01 left)
    updates = [u for u in re.split(r"[\r\n]", text) if "/s, " in u]
    assert updates and all(len(re.findall(r"\d+:\d\d:\d\d", u)) == 1 for u in updates), updates
    assert len(out.read_text().splitlines()) == 3_000_000


# ---- whole or absent, in process -------------------------------------------------------


def test_output_file_appears_only_when_committed(tmp_path):
    out = tmp_path / "cards.txt"
    out.write_text("old\n")
    os.chmod(out, 0o640)
    with OutputFile(str(out)) as target:
        target.fp.write(b"new\n")
        assert out.read_text() == "old\n"  # not yet
        assert len(leftovers(tmp_path)) == 1
    assert out.read_text() == "new\n" and target.done
    assert oct(out.stat().st_mode & 0o777) == oct(0o640)  # the old file's mode kept
    assert leftovers(tmp_path) == []
    with pytest.raises(RuntimeError), OutputFile(str(out)) as target:
        target.fp.write(b"half")
        raise RuntimeError
    assert out.read_text() == "new\n"
    assert leftovers(tmp_path) == []


def test_output_through_a_symlink_replaces_the_file_it_points_to(tmp_path):
    real = tmp_path / "real.txt"
    real.write_text("old\n")
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    with OutputFile(str(link)) as target:
        target.fp.write(b"new\n")
    assert link.is_symlink() and real.read_text() == "new\n"


def test_output_file_in_a_missing_folder_is_711(tmp_path):
    with pytest.raises(OutputError) as caught:
        OutputFile(str(tmp_path / "no" / "cards.txt"))
    assert caught.value.code == 711
    assert "no such directory" in caught.value.message


def test_generate_to_a_missing_folder_reserves_nothing(cli, db, tmp_path):
    result = cli("generate", "GIFT", "-n", "5", "--out", str(tmp_path / "no" / "x.txt"))
    assert result.exit_code == 1
    assert result.stderr.startswith("error 711: --out ")
    assert reserved(db) == 0


def test_a_failed_commit_leaves_no_file(cli, db, tmp_path, monkeypatch):
    """A failure at the last step (the rename) is a failed write too: no file, no
    temporary file, and the message with the export command."""
    out = tmp_path / "cards.txt"

    def refuse(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("cardseq.outfile.os.fsync", refuse)
    result = cli("generate", "GIFT", "-n", "5", "--out", str(out), "--request-id", "r9")
    assert result.exit_code == 1
    assert "could not be written: No space left on device" in result.stderr
    assert "write them again with: cardseq export GIFT --request-id r9 --out" in result.stderr
    assert not out.exists() and leftovers(tmp_path) == []


def test_a_signal_while_reserving_says_where_to_look(cli, db, tmp_path, monkeypatch):
    """Stopped while the reservation commits, the command cannot know whether it did:
    it names the request id to look up and to export, and leaves no file."""
    from cardseq.printrun import Interrupted

    def stopped(*args, **kwargs):
        raise Interrupted(signal.SIGTERM)

    monkeypatch.setattr(CardService, "reserve", stopped)
    out = tmp_path / "cards.txt"
    result = cli("generate", "GIFT", "-n", "5", "--out", str(out), "--request-id", "r5")
    assert result.exit_code == 128 + signal.SIGTERM
    assert "interrupted by SIGTERM while reserving" in result.stderr
    assert f"it is listed by: cardseq ledger GIFT --request-id r5 --db {db}\n" in result.stderr
    assert not out.exists() and leftovers(tmp_path) == []


# ---- request ids, the ledger, export --------------------------------------------------


def test_generate_always_has_a_request_id(cli, db):
    result = cli("generate", "GIFT", "-n", "3")
    assert result.exit_code == 0
    (request_id,) = re.findall(r"request id (\S+) \(generated\)", result.stderr)
    with open_store(db) as store:
        (entry,) = store.ledger("GIFT")
    assert entry.request_id == request_id


def test_service_export_by_request_id_or_ledger_id_reserves_nothing(store):
    service = CardService(store)
    store.create_series(GIFT)
    other = store.create_series(CardSeries("OTHER", prefix="7", length=10))
    first = service.reserve("GIFT", 5, request_id="a")
    service.reserve("GIFT", 3, request_id="b")
    foreign = service.reserve(other, 2, request_id="c")
    used = service.series("GIFT").next_index
    by_request = service.export("GIFT", request_id="a")
    entry = service.reservation("GIFT", request_id="a")
    assert by_request == first
    assert service.export("GIFT", ledger_id=entry.id) == first
    assert (entry.first_number, entry.last_number) == (GIFT.format(0), GIFT.format(4))
    assert service.series("GIFT").next_index == used
    for bad in ({"request_id": "nope"}, {"request_id": "c"}, {"ledger_id": 999}):
        with pytest.raises(ReservationNotFound) as caught:
            service.export("GIFT", **bad)
        assert caught.value.code == 710
        assert repr(next(iter(bad.values()))) in caught.value.message
    other_entry = service.reservation(other, request_id="c")
    assert service.export(other, ledger_id=other_entry.id) == foreign
    with pytest.raises(ReservationNotFound):  # another series' ledger id
        service.export("GIFT", ledger_id=other_entry.id)
    with pytest.raises(InvalidArgument):
        service.export("GIFT")
    with pytest.raises(InvalidArgument):
        service.export("GIFT", request_id="a", ledger_id=entry.id)


def test_export_leaves_out_what_was_released_unused(store):
    """The allocator gives back the unused tail of its segment: export writes only the
    numbers it handed out, so no number written reads as 'released unused'."""
    service = CardService(store)
    store.create_series(GIFT)
    with SegmentAllocator(store, "GIFT", step=100) as numbers:
        handed = [numbers.next() for _ in range(7)]
    (entry,) = service.generation_log("GIFT").items
    assert service.export("GIFT", ledger_id=entry.id).to_list() == handed
    block = service.reserve("GIFT", 10)
    store.release("GIFT", block.start, 10)
    whole = service.generation_log("GIFT").items[-1]
    with pytest.raises(InvalidRelease):
        service.export("GIFT", ledger_id=whole.id)


def test_generation_log_filters(store):
    service = CardService(store)
    store.create_series(GIFT)
    service.add_label("PRINTED", "NOT_ISSUED")
    service.reserve("GIFT", 1, request_id="r1")
    between = dt.datetime.now(dt.UTC)
    time.sleep(0.01)
    service.reserve("GIFT", 2, "PRINTED", request_id="r2")
    service.reserve("GIFT", 3, request_id="r3")

    def starts(**filters):
        return [e.start for e in service.generation_log("GIFT", **filters).items]

    assert starts() == [0, 1, 3]
    assert starts(label="PRINTED") == [1]
    assert starts(request_id="r3") == [3]
    assert starts(since=between) == [1, 3]
    assert starts(until=between) == [0]
    assert starts(since=between.replace(tzinfo=None)) == [1, 3]  # naive: UTC
    assert starts(since=between.astimezone(dt.timezone(dt.timedelta(hours=5)))) == [1, 3]
    assert starts(label="NOT_ISSUED", since=between) == [3]
    with pytest.raises(InvalidArgument):
        service.generation_log("GIFT", since="yesterday")  # type: ignore[arg-type]


def test_ledger_command_lists_filters_and_pages(cli, db):
    for i in range(5):
        assert cli("generate", "GIFT", "-n", "2", "--request-id", f"r{i}").exit_code == 0
    header, *rows = cli("ledger", "GIFT").stdout.splitlines()
    assert header.split() == [
        "id", "start", "count", "label", "request", "id", "actor", "generated", "first", "last"
    ]  # fmt: skip
    assert [r.split()[4] for r in rows] == [f"r{i}" for i in range(5)]
    assert rows[0].split()[-2:] == [GIFT.format(0), GIFT.format(1)]
    (only,) = cli("ledger", "GIFT", "--request-id", "r3").stdout.splitlines()[1:]
    assert only.split()[1] == "6"
    page = cli("ledger", "GIFT", "--limit", "2", "--label", "NOT_ISSUED")
    assert page.stderr.strip() == (
        f"more: cardseq ledger GIFT --limit 2 --label NOT_ISSUED --after 2 --db {db}"
    )
    assert cli("ledger", "GIFT", "--until", "2000-01-01").stderr == "no reservation matches\n"
    assert len(cli("ledger", "GIFT", "--since", "2000-01-01").stdout.splitlines()) == 6
    bad = cli("ledger", "GIFT", "--since", "last week")
    assert bad.exit_code == 1
    assert bad.stderr.startswith("error 701: --since 'last week' is not an ISO 8601")


def test_series_log_is_the_same_listing(cli):
    cli("generate", "GIFT", "-n", "2", "--request-id", "x")
    assert cli("series", "log", "GIFT").stdout == cli("ledger", "GIFT").stdout


def test_export_command_writes_a_reservation_again_in_any_format(cli, db, tmp_path):
    first = cli("generate", "GIFT", "-n", "4", "--request-id", "batch-7")
    assert first.exit_code == 0
    cli("generate", "GIFT", "-n", "3")
    again = cli("export", "GIFT", "--request-id", "batch-7")
    assert again.stdout == first.stdout
    out = tmp_path / "batch.csv"
    result = cli(
        "export", "GIFT", "--ledger-id", "1", "--out", str(out), "--format", "csv",
        "--columns", "number,index,request_id", "--order", "desc",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert rows == [
        {"number": GIFT.format(i), "index": str(i), "request_id": "batch-7"} for i in (3, 2, 1, 0)
    ]
    assert reserved(db) == 7
    missing = cli("export", "GIFT", "--request-id", "nope")
    assert missing.exit_code == 1
    assert missing.stderr.startswith("error 710: request_id 'nope' is not a reservation")
    assert cli("export", "GIFT").exit_code == 2
    assert cli("export", "GIFT", "--request-id", "x", "--ledger-id", "1").exit_code == 2


# ---- columns -----------------------------------------------------------------------


@pytest.mark.usefixtures("engine")
@pytest.mark.parametrize("order", ["asc", "desc"])
def test_columns_csv_and_jsonl_across_index_widths(order):
    """Indexes 5..1204 cross 10, 100 and 1000, so rows change length inside a chunk;
    the chunk is small so that chunks end everywhere. Each engine, same rows."""
    block = GIFT.block(5, 1200)
    spec = 'number,index,series_code,status_label,request_id,"note=a,b ""c"""'
    indexes = list(range(5, 1205))[:: -1 if order == "desc" else 1]
    expected = [
        {
            "number": GIFT.format(i),
            "index": i,
            "series_code": "GIFT",
            "status_label": "NOT_ISSUED",
            "request_id": "r/1",
            "note": 'a,b "c"',
        }
        for i in indexes
    ]
    for fmt in ("csv", "jsonl"):
        fp = io.BytesIO()
        written = block.write(
            fp, order, fmt=fmt, columns=spec, status_label="NOT_ISSUED", request_id="r/1",
            chunk_bytes=1000,
        )  # fmt: skip
        text = fp.getvalue().decode()
        assert written == len(fp.getvalue())
        if fmt == "csv":
            rows = [{**r, "index": int(r["index"])} for r in csv.DictReader(io.StringIO(text))]
        else:
            rows = [json.loads(line) for line in text.splitlines()]
        assert rows == expected


@pytest.mark.usefixtures("engine")
def test_number_only_columns_are_todays_bytes():
    block = GIFT.block(0, 3)
    for fmt, header, row in (
        ("txt", "", "{}\n"),
        ("csv", "number\n", "{}\n"),
        ("jsonl", "", '{{"number": "{}"}}\n'),
    ):
        fp = io.BytesIO()
        block.write(fp, fmt=fmt, columns="number")
        assert fp.getvalue().decode() == header + "".join(row.format(n) for n in block.to_list())


def test_huge_indexes_in_columns():
    wide = CardSeries("WIDE", prefix="9", length=60)
    block = wide.block(10**40 - 2, 4)
    fp = io.BytesIO()
    block.write(fp, fmt="jsonl", columns="number,index")
    rows = [json.loads(line) for line in fp.getvalue().splitlines()]
    assert [r["index"] for r in rows] == [10**40 - 2 + k for k in range(4)]
    assert [r["number"] for r in rows] == block.to_list()


@pytest.mark.parametrize(
    ("spec", "why"),
    [
        ("index", "must include the column 'number'"),
        ("number,colour", "is not a column"),
        ("number,number", "names number twice"),
        ("number,1x=2", "NAME=VALUE"),
        ("number,index=2", "NAME=VALUE"),
        ("", "must include the column 'number'"),
    ],
)
def test_bad_columns_are_701(spec, why):
    with pytest.raises(InvalidArgument) as caught:
        parse_columns(spec)
    assert caught.value.code == 701 and why in caught.value.message


def test_columns_need_their_values_and_a_format_with_room():
    with pytest.raises(InvalidArgument, match="request_id"):
        GIFT.block(0, 1).write(io.BytesIO(), fmt="csv", columns="number,request_id")
    with pytest.raises(InvalidArgument, match="csv or jsonl"):
        row_format("txt", parse_columns("number,index"), {})


def test_generate_columns_and_mistakes_before_reserving(cli, db):
    result = cli(
        "generate", "GIFT", "-n", "2", "--format", "jsonl", "--request-id", "p1",
        "--columns", "number,status_label,request_id,batch=B7",
    )  # fmt: skip
    assert [json.loads(line) for line in result.stdout.splitlines()] == [
        {"number": GIFT.format(i), "status_label": "NOT_ISSUED", "request_id": "p1", "batch": "B7"}
        for i in range(2)
    ]
    for args in (["--columns", "number,index"], ["--format", "csv", "--columns", "nope"]):
        bad = cli("generate", "GIFT", "-n", "2", *args)
        assert bad.exit_code == 1 and bad.stderr.startswith("error 701: columns "), bad.stderr
    assert reserved(db) == 2


# ---- the guard on big runs --------------------------------------------------------


def test_a_big_run_without_yes_and_no_terminal_reserves_nothing(cli, db):
    result = cli("generate", "GIFT", "-n", "11000000")
    assert result.exit_code == 1
    assert result.stderr.startswith("error 3026: --count 11000000 is above --confirm-above")
    assert "11,000,000 numbers of series GIFT, 1.1% of its capacity of 1,000,000,000" in (
        result.stderr
    )
    assert "nothing was reserved" in result.stderr
    assert reserved(db) == 0


def test_the_threshold_from_option_and_environment(cli, db, monkeypatch):
    assert cli("generate", "GIFT", "-n", "6", "--confirm-above", "5").exit_code == 1
    monkeypatch.setenv("CARDSEQ_CONFIRM_ABOVE", "5")
    assert cli("generate", "GIFT", "-n", "6").exit_code == 1
    assert reserved(db) == 0
    assert cli("generate", "GIFT", "-n", "6", "--yes").exit_code == 0
    assert cli("generate", "GIFT", "-n", "5").exit_code == 0
    assert reserved(db) == 11


def test_a_person_confirms_or_declines(cli, db, monkeypatch):
    monkeypatch.setattr("cardseq.cli._interactive", lambda: True)
    declined = cli("generate", "GIFT", "-n", "6", "--confirm-above", "5", input="n\n")
    assert declined.exit_code == 1
    assert "Reserve 6 numbers of series GIFT, 6e-07% of its capacity" in declined.stderr
    assert "not confirmed: nothing was reserved" in declined.stderr
    assert reserved(db) == 0
    agreed = cli("generate", "GIFT", "-n", "6", "--confirm-above", "5", input="y\n")
    assert agreed.exit_code == 0
    assert len(agreed.stdout.splitlines()) == 6
    assert reserved(db) == 6
