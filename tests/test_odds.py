"""The odds of guessing a card (issue 24): ``CardService.guess_odds`` and ``cardseq
series audit``, checked against figures worked out by hand."""

from __future__ import annotations

import json
import math

import pytest
from click.testing import CliRunner

from cardseq import CardSeries, CardService
from cardseq.cli import main
from cardseq.errors import InvalidArgument
from cardseq.odds import DEFAULT_RATE
from cardseq.store import open_store

KEYS = {"num": bytes(range(16)), "pins": bytes(range(1, 33))}


def _series(method: str, pins: bool) -> CardSeries:
    more = {"pin_length": 4, "pin_key_id": "pins", "pin_attempts": 5} if pins else {}
    key = {"key_id": "num"} if method.startswith("RANDOM") else {}
    return CardSeries("GIFT", prefix="6037", length=16, method=method, **key, **more)


@pytest.mark.parametrize("pins", [False, True])
@pytest.mark.parametrize("method", ["LUHN", "RANDOM_LUHN"])
def test_the_figures_are_the_hand_computed_ones(method: str, pins: bool) -> None:
    with open_store("memory://", keys=KEYS) as store:
        service = CardService(store)
        service.create_series(_series(method, pins), details={"type": "PHYSICAL"})
        numbers = service.generate("GIFT", 1000).numbers
        for number in numbers[:3]:
            service.issue(number, "c1")
        odds = service.guess_odds("GIFT", rate=1000)
    # 16 digits: prefix 6037, an 11-digit counter, a Luhn digit.
    assert (odds.shapes, odds.well_formed) == (10**12, 10**11)
    assert odds.well_formed_share == 0.1
    assert (odds.issued, odds.active) == (1000, 3)
    assert odds.hit_chance == 1000 / 10**11  # 1e-8 a try
    assert odds.tries_for_a_card == pytest.approx(1e8)
    assert odds.seconds_for_a_card == pytest.approx(1e5)  # 28 hours at 1000 tries a second
    if pins:
        # 10**4 PINs, 5 tries a card: 2000 cards to find, each 1e8 + 5 tries
        assert odds.pin_space == 10**4
        assert odds.tries_for_a_card_and_pin == pytest.approx(2000 * (1e8 + 5))
        assert odds.seconds_for_a_card_and_pin == pytest.approx(2000 * (1e8 + 5) / 1000)
    else:
        assert odds.tries_for_a_card_and_pin == odds.tries_for_a_card
    said = " ".join(odds.warnings)
    assert ("sequential" in said) == (method == "LUHN")
    assert ("no PIN" in said) == (not pins)


def test_defaults_digital_series_and_bad_rates() -> None:
    with open_store("memory://", keys=KEYS) as store:
        service = CardService(store)
        service.create_series(_series("RANDOM_LUHN", False), details={"type": "DIGITAL"})
        odds = service.guess_odds("GIFT")
        assert odds.rate == DEFAULT_RATE and odds.warnings == ()  # digital: no PIN expected
        assert math.isinf(odds.tries_for_a_card)  # nothing issued yet
        for rate in (0, -1.0, math.inf, True, "fast"):
            with pytest.raises(InvalidArgument) as caught:
                service.guess_odds("GIFT", rate=rate)  # type: ignore[arg-type]
            assert caught.value.field == "rate"


def test_series_audit_prints_the_figures(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("CARDSEQ_KEY_PINS", KEYS["pins"].hex())
    runner = CliRunner(env={"CARDSEQ_DB": f"sqlite:///{tmp_path}/cards.db"})

    def run(*args: str) -> str:
        result = runner.invoke(main, list(args))
        assert result.exit_code == 0, result.output
        return result.stdout

    run("series", "create", "GIFT", "--prefix", "6037", "--length", "16", "--method", "LUHN",
        "--pin-length", "4", "--pin-key-id", "pins")  # fmt: skip
    run("generate", "GIFT", "-n", "1000")
    shown = run("series", "audit", "GIFT", "--rate", "1000")
    assert "expected to find a card: 1e+08 tries, 27.8 hours\n" in shown
    assert "PIN: 4 digits, a card locks after 5 wrong\n" in shown
    assert "warning: method LUHN is sequential" in shown
    figures = json.loads(run("series", "audit", "GIFT", "--json"))
    assert figures["rate"] == DEFAULT_RATE and figures["issued"] == 1000
    assert figures["tries_for_a_card_and_pin"] == pytest.approx(2000 * (1e8 + 5))
