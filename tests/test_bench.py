"""The comparison with other tools (`cardseq bench`, benchmarks/compare.py) on a tiny size.

The competitors are in the lock: a missing one is a failure here, never a skip, so that
CI cannot publish a table with holes.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from cardseq import CardSeries, bench
from cardseq.bench import cases, report
from cardseq.cli import main

TINY = bench.Settings(n=300, rounds=2, batch_sizes=(10, 100), min_seconds=0.0)
PNG = b"\x89PNG\r\n\x1a\n"


def check_outputs(results: bench.Results, tmp_path) -> dict:
    """The table, Markdown, JSON and PNG files are written, and each row measured or skipped
    with a reason; returns the JSON."""
    written = report.write(results, tmp_path / "out")
    names = {p.name for p in written}
    assert {"compare.md", "compare.json", "batch-size.png"} <= names
    measured = {row.task for row in results.rows if row.rates}
    assert {f"{slug}.png" for slug in measured} <= names
    for path in written:
        if path.suffix == ".png":
            assert path.read_bytes().startswith(PNG)
    text, md = report.table(results), (tmp_path / "out" / "compare.md").read_text()
    data = json.loads((tmp_path / "out" / "compare.json").read_text())
    assert data["environment"]["python"] and data["environment"]["machine"]
    assert data["environment"]["packages"]["cardseq"]
    for row in results.rows:
        assert row.case.tool in text and row.case.tool in md
        assert "not installed" not in row.case.skipped, row.case
        assert row.case.skipped or (row.rate is not None and row.rate > 0), row
    for rates in data["batches"].values():
        assert len(rates) == len(TINY.batch_sizes) and all(r > 0 for r in rates)
    return data


def test_every_tool_measured_with_postgres(tmp_path, postgres_url):
    results = bench.run(TINY, postgres_url=postgres_url)
    data = check_outputs(results, tmp_path)
    assert [t["slug"] for t in data["tasks"]] == [
        "sequential",
        "unguessable",
        "codes",
        "reserving",
        "validation",
    ]
    for task in data["tasks"]:
        assert sum(row["reference"] for row in task["rows"]) == 1
        for row in task["rows"]:
            assert row["skipped"] is None and row["rate"] > 0 and row["ratio"] > 0, row
    assert data["environment"]["postgresql"] != "not used"
    assert set(data["batches"]) == {
        "cardseq to_numpy",
        "cardseq to_list",
        "NumPy, vectorised",
        "f-string + luhn.append",
    }


def test_reservations_say_skipped_without_postgres_url(tmp_path):
    """No URL and no throwaway server: the PostgreSQL rows are skipped, saying why."""
    results = bench.run(TINY, start_postgres=False)
    check_outputs(results, tmp_path)
    reserving = [row for row in results.rows if row.task == "reserving"]
    assert reserving and all(row.rates == [] for row in reserving)
    assert all(row.case.skipped == "no --postgres-url given" for row in reserving)
    assert "skipped: no --postgres-url given" in report.table(results)
    measured = [row for row in results.rows if row.task != "reserving"]
    assert all(row.rate is not None and row.rate > 0 for row in measured)


def test_competitors_do_the_same_work():
    """The sequential cases make cardseq's numbers; the unguessable ones 16 characters."""
    ours = cases.luhn_series().block(0, 50).to_numpy()
    assert np.array_equal(cases.numpy_luhn(0, 50), ours)
    task = cases.sequential(500)
    made = {c.tool: c.run() for c in task.cases if c.run is not None}
    expected = [n.decode() for n in ours[:5]]
    for tool in ("f-string + luhn.append", "f-string + stdnum calc_check_digit"):
        assert made[tool][:5] == expected, tool
    faker_numbers = made["Faker credit_card_number"]
    assert all(len(n) == 16 for n in faker_numbers)
    for case in cases.unguessable(500).cases:
        assert case.run is not None, case
        numbers = list(case.run())
        assert len(set(numbers)) == len(numbers) == case.count
        assert all(len(n) >= 16 for n in numbers)


def test_the_code_competitors_write_16_distinct_characters_of_the_same_shape():
    """Every codes row makes ``count`` distinct 16-character ``GIFT`` codes; the
    Crockford encoder's decode back to their counters; cardseq's blocked row spells
    none of the default words, which the plain keyed row does within a larger run."""
    import base32_crockford

    task = cases.codes(3000)
    made = {c.tool: list(c.run()) for c in task.cases if c.run is not None}
    assert len(made) == len(task.cases)
    for case in task.cases:
        numbers = [n.decode() if isinstance(n, bytes) else n for n in made[case.tool]]
        assert len(set(numbers)) == len(numbers) == case.count, case.tool
        assert all(len(n) == 16 and n.startswith("GIFT") for n in numbers), case.tool
    encoded = made["base32-crockford encode"]
    assert [base32_crockford.decode(n[4:], checksum=True) for n in encoded] == list(
        range(len(encoded))
    )
    plain = cases.code_series("DAMM")
    assert made["cardseq DAMM (sequential) to_list"] == plain.block(0, 3000).to_list()
    words = cases.code_series(blocked="default").blocked
    assert not any(w in plain.alphabet.fold(n) for n in made["cardseq RANDOM_DAMM, blocked words"]
                   for w in words)  # fmt: skip
    spelled = [n for n in cases.code_series().block(0, 20_000).to_list()
               if any(w in plain.alphabet.fold(n) for w in words)]  # fmt: skip
    assert spelled  # the words do occur without the list: the row above is not vacuous


def test_cli_bench_quick_writes_the_report(tmp_path, monkeypatch):
    monkeypatch.setattr(bench, "QUICK", TINY)
    out = tmp_path / "results"
    result = CliRunner().invoke(main, ["bench", "--quick", "--no-postgres", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Sequential numbers with a Luhn digit" in result.stdout
    assert "x cardseq" in result.stdout
    assert (out / "compare.json").is_file() and (out / "batch-size.png").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--out", "{file}"], "error 701: out '{file}' cannot be created"),
        (["--postgres-url", "mysql://x"], "error 701: postgres-url 'mysql://x' is not a"),
    ],
)
def test_cli_bench_refuses_bad_options_before_measuring(tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a-file").write_text("")
    args = [a.format(file="a-file") for a in args]
    result = CliRunner().invoke(main, ["bench", *args])
    assert result.exit_code == 1
    assert result.stderr.startswith(message.format(file="a-file"))
    assert "measuring" not in result.stderr


def test_validation_measures_the_bulk_api_where_cardseq_has_one(monkeypatch):
    """Issue 13's ``is_valid_many`` becomes the reference row once it is there."""
    monkeypatch.setattr(
        CardSeries, "is_valid_many", lambda self, ns: [self.is_valid(n) for n in ns], raising=False
    )
    task = cases.validation(300)
    assert [c.tool for c in task.cases if c.reference] == ["cardseq CardSeries.is_valid_many"]
    assert "cardseq CardSeries.is_valid" in [c.tool for c in task.cases]
    assert all(task.cases[0].run())
