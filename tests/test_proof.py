"""Proof sheets (issue 24): the first cards of a reservation drawn at their real size,
their barcodes read back by a decoder (zxing-cpp), PINs masked, the extra required."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from cardseq import CardSeries
from cardseq.proof import CARD, PAGE

PIN_KEY = bytes(range(32))


@pytest.fixture
def run(cli, monkeypatch):
    run = cli
    monkeypatch.setenv("CARDSEQ_KEY_PINS", PIN_KEY.hex())
    run("series", "create", "GIFT", "--prefix", "6037", "--length", "16", "--method",
        "LUHN", "--pin-length", "6", "--pin-key-id", "pins", "--group", "4")  # fmt: skip
    run("generate", "GIFT", "-n", "2")
    run("generate", "GIFT", "-n", "20", "--request-id", "r1")
    monkeypatch.delenv("CARDSEQ_KEY_PINS")  # a proof needs no PIN key: it shows none
    return run


SERIES = CardSeries("GIFT", prefix="6037", length=16, method="LUHN")


def test_a_png_proof_holds_barcodes_that_read_back_to_the_numbers(run) -> None:
    said = run("proof", "GIFT", "--request-id", "r1", "-n", "6", "--out", "proof.png").stderr
    assert "drew 6 cards of series GIFT on 1 page(s): proof.png" in said
    with Image.open("proof.png") as image:
        assert image.format == "PNG" and image.size == PAGE
        read = sorted(b.text for b in zxingcpp.read_barcodes(image))
    assert read == [SERIES.format(i) for i in range(2, 8)]  # the reservation's first six
    assert CARD == (1027, 648)  # ID-1, 85.60 x 53.98 mm at 12 px/mm


def test_a_pdf_proof_has_eight_cards_a_page(run) -> None:
    run("proof", "GIFT", "--ledger-id", "2", "-n", "20", "--out", "proof.pdf")
    data = Path("proof.pdf").read_bytes()
    assert data.startswith(b"%PDF-")
    assert len(re.findall(rb"/Type\s*/Page\b(?!s)", data)) == 3  # 8 + 8 + 4


def test_bad_requests_are_refused_before_anything_is_drawn(run) -> None:
    refused = run("proof", "GIFT", "--request-id", "r1", "--out", "proof.jpg", code=1)
    assert refused.stderr.startswith("error 701: --out 'proof.jpg' must end in .pdf or .png")
    missing = run("proof", "GIFT", "--request-id", "nope", "--out", "p.png", code=1)
    assert missing.stderr.startswith("error 710")
    assert not Path("p.png").exists() and not Path("proof.jpg").exists()


def test_without_the_print_extra_it_is_one_coded_line(run, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "barcode", None)
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "barcode" else real(name, *a)
    )
    said = run("proof", "GIFT", "--request-id", "r1", "--out", "p.pdf", code=1).stderr
    assert said == (
        "error 500: cardseq proof needs the extra 'print' (barcode is not installed):"
        " pip install 'cardseq[print]'\n"
    )
