"""Check digits over a decimal payload, one number at a time.

These scalar functions are the definition: the engines compute the same digits in
bulk (the compiled one incrementally, the pure one column by column), and the tests
hold all of them to these and to independent validators.

>>> luhn("7992739871")
3
>>> mod7("123456")
4
"""

from __future__ import annotations

NONE, LUHN, MOD7, ISO7064, DAMM = 0, 1, 2, 3, 4
"""Check-digit kinds as the engines receive them. ``ISO7064`` (MOD N+1,N over the
series' alphabet), ``DAMM`` and Luhn over letters (``alphabets``) run in the pure
engine's base-N path; decimal Luhn and mod 7 in both engines' own loops."""

# Luhn: every second digit from the right of the payload is doubled, and a two-digit
# product counts as the sum of its digits (2 * 7 = 14 counts as 5).
DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)


def luhn(payload: str) -> int:
    """The Luhn digit that, appended to ``payload`` (ASCII digits), makes it valid."""
    total = 0
    for distance, char in enumerate(reversed(payload)):
        digit = ord(char) - 48
        total += DOUBLED[digit] if distance % 2 == 0 else digit
    return (10 - total % 10) % 10


def mod7(payload: str) -> int:
    """``payload mod 7``: a digit 0..6."""
    return int(payload) % 7


def compute(kind: int, payload: str) -> int:
    """The check digit of ``kind`` (``LUHN`` or ``MOD7``) for ``payload``."""
    return luhn(payload) if kind == LUHN else mod7(payload)
