"""The `cardseq` command, through click's CliRunner on a temporary SQLite file, and once
for real in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import cardseq
from cardseq import CardSeries
from cardseq.allocator import SegmentAllocator
from cardseq.cli import main
from cardseq.store import open_store


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


@pytest.fixture
def cli(db: str):
    """Run `cardseq ARGS... --db <temp file>`; stdout and stderr kept apart."""
    runner = CliRunner()

    def run(*args: str, use_db: bool = True):
        return runner.invoke(main, [*args, *(["--db", db] if use_db else [])])

    return run


def ok(result) -> str:
    assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr, result.exception)
    return result.stdout


def fails_with(result, code: int) -> None:
    """A library error: `error <code>: ...` on stderr, exit 1, and no traceback."""
    assert result.exit_code == 1, (result.stdout, result.stderr, result.exception)
    assert result.stderr.startswith(f"error {code}: "), result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert result.exception is None or isinstance(result.exception, SystemExit)


def create(cli, code: str = "GOLD", *extra: str, prefix: str = "GOLD", length: str = "12"):
    """The new series' id (from ``--json``, as a script reads it)."""
    made = cli("series", "create", code, "--prefix", prefix, "--length", length, "--json", *extra)
    return int(json.loads(ok(made))["id"])


def generate(cli, series: str, count: int, *extra: str) -> list[str]:
    return ok(cli("generate", series, "--count", str(count), *extra)).splitlines()


# ---- series ------------------------------------------------------------------------


def test_version(cli):
    result = cli("--version", use_db=False)
    assert result.exit_code == 0
    assert cardseq.__version__ in result.stdout


def test_create_prints_the_new_series(cli):
    out = ok(
        cli(
            "series",
            "create",
            "GOLD",
            "--prefix",
            "GOLD",
            "--suffix",
            "21",
            "--length",
            "12",
            "--offset",
            "5",
        )
    )
    assert out == "series GOLD (id 1): capacity 999995, first number GOLD00000521\n"
    made = ok(cli("series", "create", "SILV", "--prefix", "SILV", "--length", "12", "--json"))
    assert json.loads(made)["id"] == 2 and json.loads(made)["series"]["code"] == "SILV"


def test_create_takes_huge_offsets_exactly(cli):
    offset = 10**40 + 7
    create(cli, "BIG", "--offset", str(offset), prefix="9", length="60")
    assert f"offset: {offset}" in ok(cli("series", "show", "BIG")).splitlines()


def test_create_method_is_case_insensitive_with_aliases(cli):
    create(cli, "V", "--method", "luhnalgo", prefix="4", length="16")
    shown = ok(cli("series", "show", "V")).splitlines()
    assert "method: LUHN" in shown
    first = generate(cli, "V", 1)[0]
    assert CardSeries("X", prefix="4", length=16, method="LUHN").is_valid(first)


def test_create_exists_ok_twice_gives_the_same_id(cli):
    args = (
        "series",
        "create",
        "GOLD",
        "--prefix",
        "GOLD",
        "--length",
        "12",
        "--offset",
        "3",
        "--exists-ok",
    )
    first = ok(cli(*args))
    assert ok(cli(*args)) == first
    # without --exists-ok the same definition is still a duplicate
    fails_with(cli(*args[:-1]), 3002)


def test_create_exists_ok_with_another_definition_fails_3002(cli):
    create(cli, "GOLD", "--exists-ok")
    fails_with(
        cli("series", "create", "GOLD", "--prefix", "GOLD", "--length", "13", "--exists-ok"), 3002
    )
    fails_with(
        cli(
            "series",
            "create",
            "GOLD",
            "--prefix",
            "GOLD",
            "--length",
            "12",
            "--offset",
            "1",
            "--exists-ok",
        ),
        3002,
    )
    fails_with(
        cli(
            "series",
            "create",
            "GOLD",
            "--prefix",
            "GOLD",
            "--length",
            "12",
            "--method",
            "LUHN",
            "--exists-ok",
        ),
        3002,
    )


def test_create_errors(cli):
    create(cli, "GOLD")
    fails_with(cli("series", "create", "GOLD", "--prefix", "SILV", "--length", "12"), 3002)
    fails_with(cli("series", "create", "BAD", "--prefix", "GO-LD", "--length", "12"), 3022)
    fails_with(
        cli("series", "create", "OFF", "--prefix", "X", "--length", "12", "--offset", "1.5"), 3047
    )
    fails_with(
        cli("series", "create", "M", "--prefix", "X", "--length", "12", "--method", "NOPE"), 3000
    )
    fails_with(cli("series", "create", "L", "--prefix", "X", "--length", "twelve"), 3005)
    fails_with(cli("series", "create", "L", "--prefix", "X", "--length", "4"), 3028)
    fails_with(cli("series", "create", "L", "--prefix", "X", "--length", "151"), 3024)
    # none of the failed commands registered anything
    assert [row.split()[1] for row in ok(cli("series", "list")).splitlines()[1:]] == ["GOLD"]


@pytest.mark.parametrize(
    ("options", "field", "text", "code"),
    [
        (["--length", "twelve"], "length", "twelve", 3005),
        (["--length", "12", "--offset", "1.5"], "offset", "1.5", 3047),
    ],
)
def test_create_names_an_option_that_is_not_an_integer(cli, options, field, text, code):
    result = cli("series", "create", "X", "--prefix", "X", *options)
    fails_with(result, code)
    assert f"{field} {text!r} must be an integer" in result.stderr


def test_create_overlapping_series_fails_3006(cli):
    create(cli, "A", prefix="12", length="10")
    fails_with(cli("series", "create", "B", "--prefix", "123", "--length", "10"), 3006)
    # a different length does not overlap
    create(cli, "C", prefix="123", length="11")


def test_list_is_a_table_of_every_series(cli):
    create(cli, "GOLD")
    create(cli, "SILV", "--disabled", prefix="SILV")
    generate(cli, "GOLD", 7)
    lines = ok(cli("series", "list")).splitlines()
    assert lines[0].split() == [
        "id",
        "code",
        "method",
        "length",
        "prefix",
        "suffix",
        "offset",
        "used",
        "capacity",
        "enabled",
    ]
    assert lines[1].split() == [
        "1",
        "GOLD",
        "DEFAULT",
        "12",
        "GOLD",
        "-",
        "0",
        "7",
        "100000000",
        "yes",
    ]
    assert lines[2].split()[:2] == ["2", "SILV"] and lines[2].split()[-1] == "no"


def test_list_of_an_empty_registry(cli):
    ok(cli("db", "migrate"))
    result = cli("series", "list")
    assert ok(result).splitlines() == [result.stdout.splitlines()[0]]
    assert result.stdout.split() == [
        "id",
        "code",
        "method",
        "length",
        "prefix",
        "suffix",
        "offset",
        "used",
        "capacity",
        "enabled",
    ]
    assert "no series" in result.stderr


def test_show_by_code_and_by_id(cli):
    series_id = create(cli, "GOLD", "--offset", "10")
    generate(cli, "GOLD", 4)
    generate(cli, "GOLD", 2)
    by_code = ok(cli("series", "show", "GOLD"))
    assert ok(cli("series", "show", str(series_id))) == by_code
    fields = dict(line.split(": ", 1) for line in by_code.splitlines() if ": " in line)
    assert fields["id"] == str(series_id)
    assert fields["code"] == "GOLD"
    assert fields["counter width"] == "8"
    assert fields["capacity"] == str(10**8 - 10)
    assert fields["reserved"] == "6"
    assert fields["remaining"] == str(10**8 - 16)
    assert fields["reservations"] == "2"
    assert fields["enabled"] == "yes"
    assert fields["first number"] == "GOLD00000010"
    assert "created" in fields


@pytest.fixture
def key_k(monkeypatch) -> bytes:
    """Key ``k`` in the environment, as an operator supplies it."""
    key = bytes(range(40, 72))
    monkeypatch.setenv("CARDSEQ_KEY_K", key.hex())
    return key


def test_show_never_prints_the_key(cli, db, key_k):
    create(cli, "R", "--method", "RANDOM", "--key-id", "k", prefix="7", length="12")
    with cardseq.store.open_store(db) as store:
        key = store.series_definition("R").key
    assert key == key_k
    out = ok(cli("series", "show", "R"))
    # only the key's id and fingerprint are named, never the key
    assert [line for line in out.lower().splitlines() if "key" in line] == [
        "key id: k",
        f"key fingerprint: {cardseq.keys.fingerprint(key)}",
    ]
    assert key.hex() not in out.lower()


def test_unknown_series_is_3000(cli):
    ok(cli("db", "migrate"))
    fails_with(cli("series", "show", "NOPE"), 3000)
    fails_with(cli("series", "show", "99"), 3000)
    fails_with(cli("generate", "NOPE", "--count", "1"), 3000)
    fails_with(cli("series", "disable", "NOPE"), 3000)
    fails_with(cli("series", "enable", "42"), 3000)


def test_log_pages_through_the_reservations(cli, db):
    """250 reservations, 100 a page: following the hint on stderr prints each once, in
    order, and the last page gives no hint."""
    create(cli, "GOLD")
    with cardseq.store.open_store(db) as store:
        blocks = [store.reserve("GOLD", 1 + i % 3, request_id=f"r{i}") for i in range(250)]
    rows, sizes, args = [], [], ["--limit", "100"]
    while True:
        result = cli("series", "log", "GOLD", *args)
        header, *page = ok(result).splitlines()
        assert header.split()[:4] == ["id", "start", "count", "label"]
        rows += [line.split() for line in page]
        sizes.append(len(page))
        if not result.stderr:
            break
        hint = result.stderr.strip().split()
        assert hint[:4] == ["more:", "cardseq", "series", "log"]
        args = hint[5:]
    assert sizes == [100, 100, 50]
    assert [(int(r[1]), int(r[2]), r[4]) for r in rows] == [
        (b.start, b.count, f"r{i}") for i, b in enumerate(blocks)
    ]
    assert len(ok(cli("series", "log", "GOLD")).splitlines()) == 101  # the default limit


@pytest.mark.parametrize(
    "args", [["--limit", "1001"], ["--limit", "0"], ["--limit", " 10"], ["--after", "-1"]]
)
def test_log_page_bounds_are_701(cli, args):
    create(cli, "GOLD")
    result = cli("series", "log", "GOLD", *args)
    fails_with(result, 701)
    assert args[0].removeprefix("--") in result.stderr


def test_log_of_an_unknown_series_is_3000(cli):
    """By code or by id: the log goes through the service, which checks the series."""
    create(cli, "GOLD")
    fails_with(cli("series", "log", "NOPE"), 3000)
    fails_with(cli("series", "log", "99"), 3000)


def test_disable_then_enable(cli):
    create(cli, "GOLD")
    ok(cli("series", "disable", "GOLD"))
    assert "enabled: no" in ok(cli("series", "show", "GOLD")).splitlines()
    fails_with(cli("generate", "GOLD", "--count", "1"), 703)
    ok(cli("series", "enable", "1"))
    assert generate(cli, "GOLD", 1) == ["GOLD00000000"]


def test_created_disabled(cli):
    create(cli, "GOLD", "--disabled")
    fails_with(cli("generate", "GOLD", "--count", "1"), 703)


# ---- generate ----------------------------------------------------------------------


def test_generate_txt(cli):
    create(cli, "GOLD")
    assert generate(cli, "GOLD", 3) == ["GOLD00000000", "GOLD00000001", "GOLD00000002"]


def test_generate_csv(cli):
    create(cli, "GOLD")
    lines = generate(cli, "GOLD", 3, "--format", "csv")
    assert lines == ["number", "GOLD00000000", "GOLD00000001", "GOLD00000002"]


def test_generate_jsonl(cli):
    create(cli, "GOLD")
    for order, expected in (
        ("asc", ["GOLD00000000", "GOLD00000001", "GOLD00000002"]),
        ("desc", ["GOLD00000005", "GOLD00000004", "GOLD00000003"]),
    ):
        lines = generate(cli, "GOLD", 3, "--format", "jsonl", "--order", order)
        assert [json.loads(line) for line in lines] == [{"number": n} for n in expected]


def test_generate_desc_is_the_reverse_of_asc(cli, key_k):
    create(cli, "R", "--method", "RANDOM_LUHN", "--key-id", "k", prefix="5", length="12")
    asc = generate(cli, "R", 50, "--request-id", "one")
    desc = generate(cli, "R", 50, "--request-id", "one", "--order", "desc")
    assert desc == asc[::-1]
    assert len(set(asc)) == 50


def test_generate_numbers_never_repeat(cli, key_k):
    create(cli, "R", "--method", "RANDOM", "--key-id", "k", prefix="5", length="10")
    first = generate(cli, "R", 1000)
    second = generate(cli, "R", 1000)
    assert len(set(first) | set(second)) == 2000


def test_generate_request_id_returns_the_same_numbers(cli):
    create(cli, "GOLD")
    first = generate(cli, "GOLD", 5, "--request-id", "order-17")
    assert generate(cli, "GOLD", 5, "--request-id", "order-17") == first
    assert generate(cli, "GOLD", 5)[0] == "GOLD00000005"  # the retry reserved nothing


def test_generate_to_a_file_with_a_summary_on_stderr(cli, tmp_path):
    create(cli, "GOLD")
    out = tmp_path / "numbers.csv"
    result = cli("generate", "GOLD", "--count", "4", "--format", "csv", "--out", str(out))
    assert ok(result) == ""
    assert out.read_text().splitlines() == [
        "number",
        "GOLD00000000",
        "GOLD00000001",
        "GOLD00000002",
        "GOLD00000003",
    ]
    reserved, wrote = result.stderr.splitlines()
    assert reserved.startswith("reserved 4 numbers of series GOLD (id 1), indexes 0..3, first")
    assert reserved.endswith(" (generated)")  # no --request-id: one was made and shown
    assert wrote == f"wrote 4 numbers of series GOLD to {out}"


def test_generate_to_a_missing_directory_reserves_nothing(cli, tmp_path):
    create(cli, "GOLD")
    result = cli("generate", "GOLD", "--count", "4", "--out", str(tmp_path / "no" / "x.txt"))
    assert result.exit_code == 1
    assert "Traceback" not in result.stderr
    assert "reserved: 0" in ok(cli("series", "show", "GOLD")).splitlines()


@pytest.mark.parametrize("count", ["abc", "0", "-3", "1.5", ""])
def test_generate_bad_count_is_3025(cli, count):
    create(cli, "GOLD")
    fails_with(cli("generate", "GOLD", "--count", count), 3025)


@pytest.mark.parametrize("text", [" 1_2 ", "1_2", " 12", "12 ", "+12", "\u0661\u0662", "12.0", ""])
def test_integer_options_are_ascii_digits(cli, text):
    """--length, --offset and --count read integers alike: no spaces, underscores, signs
    or other scripts' digits (Python's int() takes them all), each with its own code."""
    create(cli, "GOLD")
    fails_with(cli("series", "create", "L", "--prefix", "X", "--length", text), 3005)
    fails_with(
        cli("series", "create", "O", "--prefix", "X", "--length", "12", "--offset", text), 3047
    )
    fails_with(cli("generate", "GOLD", "--count", text), 3025)
    assert [row.split()[1] for row in ok(cli("series", "list")).splitlines()[1:]] == ["GOLD"]
    assert "reserved: 0" in ok(cli("series", "show", "GOLD")).splitlines()


def test_negative_integer_options_get_the_fields_range_errors(cli):
    fails_with(cli("series", "create", "L", "--prefix", "X", "--length", "-12"), 3028)
    fails_with(
        cli("series", "create", "O", "--prefix", "X", "--length", "12", "--offset", "-1"), 3047
    )


@pytest.mark.parametrize("option", ["--port", "--burst", "--max-count"])
@pytest.mark.parametrize("text", ["\u0668\u0660", "8_0", " 80", "0"])
def test_serve_integer_options_are_ascii_digits(cli, option, text):
    """Refused before the server starts (without the fix, the value passes and the
    command stops later, for want of --users-file, with exit 2)."""
    result = cli("serve", option, text, use_db=False)
    fails_with(result, 701)
    assert option in result.stderr


# ---- --out never overwrites the store ------------------------------------------------

OUT_SPELLINGS = [
    "cardseq.db",
    "./cardseq.db",
    "sub/../cardseq.db",
    "absolute",
    "symlink",
    "hard link",
    "cardseq.db-wal",
    "cardseq.db-shm",
    "cardseq.db-journal",
    "symlink to a journal not yet there",
]


def _out_path(tmp_path: Path, spelling: str) -> str:
    db = tmp_path / "cardseq.db"
    (tmp_path / "sub").mkdir()
    if spelling == "absolute":
        return str(db)
    if spelling == "symlink":
        os.symlink(db, tmp_path / "link.txt")
        return "link.txt"
    if spelling == "hard link":
        os.link(db, tmp_path / "hard.txt")
        return "hard.txt"
    if spelling == "symlink to a journal not yet there":
        assert not (tmp_path / "cardseq.db-journal").exists()
        os.symlink(tmp_path / "cardseq.db-journal", tmp_path / "journal.txt")
        return "journal.txt"
    return spelling


@pytest.mark.parametrize("spelling", OUT_SPELLINGS)
def test_generate_refuses_to_write_over_the_store(tmp_path, monkeypatch, spelling):
    """The default store is cardseq.db in the working directory: --out naming it (or its
    -wal, -shm, -journal), however spelt, is refused before anything is reserved."""
    monkeypatch.chdir(tmp_path)
    runner = CliRunner(env={"CARDSEQ_DB": None})
    ok(runner.invoke(main, ["series", "create", "GOLD", "--prefix", "GOLD", "--length", "12"]))
    out = _out_path(tmp_path, spelling)
    result = runner.invoke(main, ["generate", "GOLD", "--count", "5", "--out", out])
    fails_with(result, 701)
    assert f"--out {out!r}" in result.stderr
    show = ok(runner.invoke(main, ["series", "show", "GOLD"])).splitlines()
    assert "reserved: 0" in show  # the store is intact, and nothing was reserved
    assert generate(lambda *a: runner.invoke(main, list(a)), "GOLD", 2) == [
        "GOLD00000000",
        "GOLD00000001",
    ]


def test_generate_next_to_the_store_is_fine(cli, db, tmp_path):
    create(cli, "GOLD")
    out = tmp_path / "cli.db.txt"  # the store is cli.db: a name that starts alike is no store
    ok(cli("generate", "GOLD", "--count", "3", "--out", str(out)))
    assert out.read_text().splitlines() == ["GOLD00000000", "GOLD00000001", "GOLD00000002"]
    fails_with(cli("generate", "GOLD", "--count", "3", "--out", db.removeprefix("sqlite:///")), 701)


def test_generate_past_the_end_is_702_and_reserves_nothing(cli):
    create(cli, "TINY", "--offset", "99990", prefix="", length="5")  # capacity 10
    assert len(generate(cli, "TINY", 8)) == 8
    fails_with(cli("generate", "TINY", "--count", "3"), 702)
    assert generate(cli, "TINY", 2) == ["99998", "99999"]
    fails_with(cli("generate", "TINY", "--count", "1"), 702)


def test_generate_bad_status_label(cli):
    create(cli, "GOLD")
    fails_with(cli("generate", "GOLD", "--count", "1", "--status-label", "not ok"), 3017)


def test_generate_usage_errors_exit_2(cli):
    create(cli, "GOLD")
    for args in (
        ["generate", "GOLD"],
        ["generate", "GOLD", "--count", "1", "--order", "up"],
        ["generate", "GOLD", "--count", "1", "--format", "xml"],
    ):
        result = cli(*args)
        assert result.exit_code == 2, args
        assert "Traceback" not in result.stderr
    assert "reserved: 0" in ok(cli("series", "show", "GOLD")).splitlines()


def test_generate_broken_pipe_says_what_was_reserved(cli, monkeypatch):
    create(cli, "GOLD")

    class ClosedPipe:
        def write(self, data):
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self):
            pass

    monkeypatch.setattr("cardseq.printrun.binary_stdout", ClosedPipe)
    result = cli("generate", "GOLD", "--count", "10", "--request-id", "r1")
    assert result.exit_code == 1
    assert "error 711: --out '-' could not be written: Broken pipe" in result.stderr
    assert "stdout got part of them" in result.stderr
    assert "write them again with: cardseq export GOLD --request-id r1" in result.stderr
    assert "Traceback" not in result.stderr
    assert not isinstance(result.exception, BrokenPipeError)


# ---- validate ----------------------------------------------------------------------


def test_validate_a_generated_number(cli):
    create(cli, "GOLD")
    ok(cli("labels", "add", "PRINTED", "--status", "NOT_ISSUED"))
    number = generate(cli, "GOLD", 3, "--status-label", "PRINTED")[2]
    line = ok(cli("validate", number)).strip()
    assert line.startswith(f"{number}: series GOLD (id 1), index 2, reserved ")
    assert line.endswith("(label PRINTED)")


def test_validate_a_number_not_reserved_yet(cli):
    create(cli, "GOLD")
    generate(cli, "GOLD", 1)
    assert (
        ok(cli("validate", "GOLD00000009")).strip()
        == "GOLD00000009: series GOLD (id 1), index 9, not reserved yet"
    )


def test_validate_tells_released_from_not_reserved_yet(cli, db):
    """An allocator hands out index 0 and releases 1..9 on close: index 5 was released
    unused, index 10 was never reached, and validate says which."""
    create(cli, "GOLD")
    with open_store(db) as store, SegmentAllocator(store, "GOLD", step=10) as allocator:
        assert allocator.next() == "GOLD00000000"
    assert ok(cli("validate", "GOLD00000005", "GOLD00000010")).splitlines() == [
        "GOLD00000005: series GOLD (id 1), index 5, released unused (never handed out)",
        "GOLD00000010: series GOLD (id 1), index 10, not reserved yet",
    ]


def test_validate_junk_exits_1(cli):
    create(cli, "GOLD")
    number = generate(cli, "GOLD", 1)[0]
    result = cli("validate", number, "junk", "GOLD0000000X")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"{number}: series GOLD")
    assert lines[1:] == [
        "junk: not valid: no series has this number",
        "GOLD0000000X: not valid: no series has this number",
    ]


def test_validate_needs_a_number(cli):
    assert cli("validate").exit_code == 2


def test_validate_lenient_reads_numbers_as_typed(cli):
    """``--lenient``: spaces, dashes, letter case and a track-2 swipe are read as the
    number; the line shows what was typed and what it was read as."""
    create(cli, "GOLD")
    generate(cli, "GOLD", 3)
    typed = ("gold 0000-0001", ";GOLD00000002=2512101?", "GOLD00000000")
    result = cli("validate", *typed)
    assert result.exit_code == 1
    assert result.stdout.splitlines()[:2] == [
        "gold 0000-0001: not valid: no series has this number",
        ";GOLD00000002=2512101?: not valid: no series has this number",
    ]
    lines = ok(cli("validate", "--lenient", *typed)).splitlines()
    assert [line.split(", reserved ")[0] for line in lines] == [
        "gold 0000-0001 (read as GOLD00000001): series GOLD (id 1), index 1",
        ";GOLD00000002=2512101? (read as GOLD00000002): series GOLD (id 1), index 2",
        "GOLD00000000: series GOLD (id 1), index 0",
    ]


def test_validate_from_file(cli, tmp_path, monkeypatch):
    """``--from-file``: one number a line, blank lines skipped, after any NUMBER given;
    many numbers are looked up in batches, each answer on its own line in order."""
    create(cli, "GOLD")
    generate(cli, "GOLD", 5)
    listing = tmp_path / "numbers.txt"
    listing.write_text("GOLD00000004\r\n\nGOLD00000009\n  \njunk\nGOLD00000001")
    result = cli("validate", "GOLD00000000", "--from-file", str(listing))
    assert result.exit_code == 1
    assert [line.split(", reserved")[0] for line in result.stdout.splitlines()] == [
        "GOLD00000000: series GOLD (id 1), index 0",
        "GOLD00000004: series GOLD (id 1), index 4",
        "GOLD00000009: series GOLD (id 1), index 9, not reserved yet",
        "junk: not valid: no series has this number",
        "GOLD00000001: series GOLD (id 1), index 1",
    ]
    many = tmp_path / "many.txt"
    many.write_text("".join(f"GOLD{i:08d}\n" for i in range(2500)))
    monkeypatch.setattr("cardseq.cli._VALIDATE_BATCH", 1000)
    lines = ok(cli("validate", "--from-file", str(many))).splitlines()
    assert [line.split(",")[1] for line in lines] == [f" index {i}" for i in range(2500)]
    assert cli("validate", "--from-file", str(tmp_path / "missing.txt")).exit_code == 2


# ---- the store URL -----------------------------------------------------------------


def test_db_defaults_to_the_environment_variable(db):
    runner = CliRunner(env={"CARDSEQ_DB": db})
    assert (
        runner.invoke(
            main, ["series", "create", "GOLD", "--prefix", "GOLD", "--length", "12"]
        ).stdout
        == "series GOLD (id 1): capacity 100000000, first number GOLD00000000\n"
    )
    with cardseq.store.open_store(db) as store:
        assert [info.series.code for info in store.list_series()] == ["GOLD"]


def test_db_defaults_to_cardseq_db_in_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner(env={"CARDSEQ_DB": None})
    result = runner.invoke(main, ["series", "create", "GOLD", "--prefix", "GOLD", "--length", "12"])
    assert result.stdout.startswith("series GOLD (id 1): ")
    assert (tmp_path / "cardseq.db").exists()


def test_bad_db_url_is_an_error_not_a_traceback(cli):
    result = CliRunner().invoke(main, ["series", "list", "--db", "mysql://x"])
    fails_with(result, 701)


# ---- the real command --------------------------------------------------------------


def test_python_m_cardseq_pipes_generate_into_a_file(tmp_path):
    db = f"sqlite:///{tmp_path / 'real.db'}"
    env = {**os.environ, "CARDSEQ_DB": db}
    command = [sys.executable, "-m", "cardseq"]
    created = subprocess.run(
        [*command, "series", "create", "V", "--prefix", "4", "--length", "16", "--method", "LUHN"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert (
        created.stdout
        == "series V (id 1): capacity 100000000000000, first number 4000000000000002\n"
    )
    out = tmp_path / "numbers.txt"
    with out.open("wb") as fp:
        done = subprocess.run(
            [*command, "generate", "V", "--count", "100000"],
            env=env,
            stdout=fp,
            stderr=subprocess.PIPE,
            check=True,
        )
    assert done.stderr.startswith(b"reserved 100000 numbers of series V (id 1), indexes 0..99999")
    numbers = out.read_text().splitlines()
    series = CardSeries("V", prefix="4", length=16, method="LUHN")
    assert numbers == [series.format(i) for i in range(100000)]


def test_labels(cli):
    ok(cli("db", "migrate"))
    assert "NOT_ISSUED  NOT_ISSUED  yes" in ok(cli("labels", "list"))
    ok(cli("labels", "add", "PRINTED", "--status", "not_issued"))
    ok(cli("labels", "add", "GIVEN", "--status", "ACTIVE", "--default"))
    table = ok(cli("labels", "list"))
    assert "PRINTED     NOT_ISSUED  no" in table and "GIVEN       ACTIVE      yes" in table
    assert "ACTIVE      ACTIVE      no" in table
    fails_with(cli("labels", "add", "PRINTED", "--status", "ACTIVE"), 3019)  # exists
    fails_with(cli("labels", "add", "PRINTED", "--status", "ACTIVE", "--exists-ok"), 3019)
    ok(cli("labels", "add", "PRINTED", "--status", "not_issued", "--exists-ok"))  # same: fine
    fails_with(cli("labels", "add", "LOST", "--status", "GONE"), 3017)
    ok(cli("series", "create", "GOLD", "--prefix", "GOLD", "--length", "10"))
    fails_with(cli("generate", "GOLD", "--count", "1", "--status-label", "GIVEN"), 3018)
    fails_with(cli("generate", "GOLD", "--count", "1", "--status-label", "UNKNOWN"), 3017)
