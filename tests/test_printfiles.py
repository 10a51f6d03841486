"""Print files for a print shop (issue 24): boxes and positions, a manifest beside each
file, and ``cardseq verify-file``, which names the first line that differs."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from cardseq import CardSeries
from cardseq.errors import InvalidArgument

PIN_KEY = bytes(range(32))


@pytest.fixture
def run(cli, monkeypatch):
    monkeypatch.setenv("CARDSEQ_KEY_PINS", PIN_KEY.hex())
    run = cli
    run("series", "create", "GIFT", "--prefix", "6037", "--length", "16", "--method",
        "LUHN", "--pin-length", "6", "--pin-key-id", "pins")  # fmt: skip
    return run


SERIES = CardSeries("GIFT", prefix="6037", length=16, method="LUHN", pin_length=6,
                    pin_key=PIN_KEY)  # fmt: skip


def test_boxes_count_from_the_reservation_and_export_writes_them_again(run) -> None:
    run("generate", "GIFT", "-n", "3")  # the reservation under test starts at index 3
    run("generate", "GIFT", "-n", "23", "--format", "csv", "--columns", "number,pin",
        "--box-size", "10", "--out", "cards.csv", "--request-id", "r1")  # fmt: skip
    rows = [line.split(",") for line in Path("cards.csv").read_text().splitlines()]
    assert rows[0] == ["number", "pin", "box", "position"]
    assert rows[1:] == [
        [SERIES.format(i), SERIES.pin(i), str((i - 3) // 10 + 1), f"{(i - 3) % 10 + 1:02d}"]
        for i in range(3, 26)
    ]
    run("export", "GIFT", "--request-id", "r1", "--format", "csv", "--columns", "number,pin",
        "--box-size", "10", "--out", "again.csv")  # fmt: skip
    assert Path("again.csv").read_bytes() == Path("cards.csv").read_bytes()
    boxes = json.loads(Path("cards.csv.manifest.json").read_text())["boxes"]
    assert boxes == [
        {"box": 1, "count": 10, "first": SERIES.format(3), "last": SERIES.format(12)},
        {"box": 2, "count": 10, "first": SERIES.format(13), "last": SERIES.format(22)},
        {"box": 3, "count": 3, "first": SERIES.format(23), "last": SERIES.format(25)},
    ]


def test_box_columns_need_a_box_size_and_the_other_way_round() -> None:
    block = SERIES.block(0, 5)
    for columns, size in (("number,box", None), ("number", 10), ("number,position", 0)):
        with pytest.raises(InvalidArgument) as caught:
            block.write(io.BytesIO(), fmt="csv", columns=columns, box_size=size)
        assert caught.value.field == "box_size"
    out = io.BytesIO()
    block.write(out, "desc", fmt="jsonl", columns="number,box,position", box_size=2)
    records = [json.loads(line) for line in out.getvalue().decode().splitlines()]
    assert [(r["box"], r["position"]) for r in records] == [
        ("3", "1"), ("2", "2"), ("2", "1"), ("1", "2"), ("1", "1")
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("fmt", "order", "header"), [("csv", "asc", 1), ("jsonl", "desc", 0), ("txt", "asc", 0)]
)
def test_a_fresh_file_and_its_export_verify(run, fmt, order, header) -> None:
    columns = "number,pin,index" if fmt != "txt" else "number"
    run("generate", "GIFT", "-n", "250", "--format", fmt, "--columns", columns, "--order",
        order, "--out", "cards", "--request-id", "r1")  # fmt: skip
    manifest = json.loads(Path("cards.manifest.json").read_text())
    first = 0 if order == "asc" else 249
    assert (manifest["count"], manifest["first"]["index"], manifest["format"]) == (250, first, fmt)
    assert manifest["reservation"]["request_id"] == "r1"
    text = Path("cards.manifest.json").read_text()
    assert SERIES.pin(0) not in text  # numbers, never PINs
    ok = run("verify-file", "cards").stdout
    assert "cards: 250 numbers of series GIFT, ledger id 1 (request id r1)" in ok
    run("export", "GIFT", "--request-id", "r1", "--format", fmt, "--columns", columns,
        "--order", order, "--out", "again")  # fmt: skip
    run("verify-file", "again")
    assert json.loads(Path("again.manifest.json").read_text())["sha256"] == manifest["sha256"]


def _damaged(run, change) -> str:
    run("generate", "GIFT", "-n", "30", "--format", "csv", "--columns", "number,pin",
        "--out", "cards.csv", "--request-id", "r1")  # fmt: skip
    lines = Path("cards.csv").read_text().splitlines(keepends=True)
    Path("cards.csv").write_text("".join(change(lines)))
    return run("verify-file", "cards.csv", code=1).stderr


def test_a_changed_number_is_named_by_its_line(run) -> None:
    def change(lines):
        lines[7] = lines[7].replace("6037", "6038", 1)
        return lines

    said = _damaged(run, change)
    assert said.startswith(f"error 714: line 8 holds '6038{SERIES.format(6)[4:]}', not ")


def test_a_duplicated_number_is_named_by_its_line(run) -> None:
    said = _damaged(run, lambda lines: [*lines[:11], lines[10], *lines[12:]])
    assert f"line 12 holds '{SERIES.format(9)}', not '{SERIES.format(10)}'" in said


def test_a_missing_number_is_named_by_its_line(run) -> None:
    said = _damaged(run, lambda lines: [*lines[:5], *lines[6:]])
    assert f"line 6 holds '{SERIES.format(5)}', not '{SERIES.format(4)}'" in said
    said = _damaged(run, lambda lines: lines[:-1])  # the last one
    assert "error 714: count 29 numbers in the file: the manifest says 30" in said


def test_an_added_line_and_a_changed_pin_are_found(run) -> None:
    said = _damaged(run, lambda lines: [*lines, lines[-1]])
    assert "line 32 is past the 30 numbers of the file" in said

    def pin(lines):
        number, value = lines[3].rstrip("\n").split(",")
        lines[3] = f"{number},{'0' if value[0] != '0' else '1'}{value[1:]}\n"
        return lines

    said = _damaged(run, pin)  # the numbers are all right: the checksum tells
    assert said.startswith("error 714: sha256 ") and "differs from the manifest's" in said


def test_a_file_without_its_manifest_is_refused(run) -> None:
    run("generate", "GIFT", "-n", "3", "--out", "cards.txt")
    Path("cards.txt.manifest.json").unlink()
    said = run("verify-file", "cards.txt", code=1).stderr
    assert said.startswith("error 701: manifest ") and "Traceback" not in said
