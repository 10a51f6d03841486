"""The odds of guessing a card: how long a series lasts against a bot that tries numbers.

The model (docs/odds.md): a bot knows the series' format (prefix, suffix, length, check
character) and draws well-formed strings at random, without repeats, at ``rate`` tries a
second. Each try is a card with chance ``p = issued / well_formed``; it needs about
``1/p`` tries to find one. With PINs, a found card also needs its PIN: the bot has
``attempts`` tries before the card locks, so a card gives way with chance
``q = attempts / 10**pin_length``; it must find about ``1/q`` cards, each ``1/p`` tries
of numbers and ``attempts`` of PINs. A sequential series is worse than this: a
neighbour of one known card is a card, so the figures are for a keyed series, and the
audit says so.

>>> odds = GuessOdds("G", shapes=10**10, well_formed=10**9, issued=10**6, active=0,
...                  rate=100.0)
>>> odds.tries_for_a_card, odds.seconds_for_a_card
(1000.0, 10.0)
>>> with_pin = GuessOdds("G", shapes=10**10, well_formed=10**9, issued=10**6, active=0,
...                      rate=100.0, pin_length=4, pin_attempts=5)
>>> with_pin.tries_for_a_card_and_pin  # 2000 cards found, each 1000 + 5 tries
2010000.0
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

#: each client's request rate at the server by default (``cardseq serve --rate``)
DEFAULT_RATE = 1000.0


@dataclass(frozen=True)
class GuessOdds:
    """A series' exposure to guessing, for a bot making ``rate`` tries a second."""

    code: str
    shapes: int  # strings of the series' form: prefix, suffix, length, any symbols
    well_formed: int  # those with a right check character (that spell no blocked word)
    issued: int  # numbers reserved so far: an upper bound of the valid cards
    active: int  # cards whose status is ACTIVE now
    rate: float
    pin_length: int = 0
    pin_attempts: int = 0
    warnings: tuple[str, ...] = field(default=())

    @property
    def well_formed_share(self) -> float:
        """The share of the strings of the series' form that pass its check."""
        return self.well_formed / self.shapes

    @property
    def hit_chance(self) -> float:
        """The chance that one random well-formed try is a number handed out."""
        return self.issued / self.well_formed

    @property
    def tries_for_a_card(self) -> float:
        """Expected tries to find one valid card number (infinite with none issued)."""
        return 1 / self.hit_chance if self.issued else math.inf

    @property
    def seconds_for_a_card(self) -> float:
        return self.tries_for_a_card / self.rate

    @property
    def pin_space(self) -> int:
        """How many PINs a card may have (0: the series has none)."""
        return 10**self.pin_length if self.pin_length else 0

    @property
    def tries_for_a_card_and_pin(self) -> float:
        """Expected tries (numbers and PINs) to find a card and its PIN; the same as
        ``tries_for_a_card`` for a series without PINs."""
        if not self.pin_length:
            return self.tries_for_a_card
        cards = max(1.0, self.pin_space / self.pin_attempts)  # cards to find, 1/q
        return cards * (self.tries_for_a_card + self.pin_attempts)

    @property
    def seconds_for_a_card_and_pin(self) -> float:
        return self.tries_for_a_card_and_pin / self.rate


def duration(seconds: float) -> str:
    """``seconds`` in the largest unit that keeps it readable.

    >>> duration(42), duration(7200), duration(86400 * 365.25 * 3e6)
    ('42 seconds', '2 hours', '3e+06 years')
    """
    if math.isinf(seconds):
        return "never (no card issued)"
    for unit, size in (("years", 31_557_600), ("days", 86_400), ("hours", 3_600),
                       ("minutes", 60)):  # fmt: skip
        if seconds >= 2 * size:
            return f"{seconds / size:.3g} {unit}"
    return f"{seconds:.3g} seconds"


__all__ = ["DEFAULT_RATE", "GuessOdds", "duration"]
