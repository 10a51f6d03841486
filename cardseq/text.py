"""Card numbers as people and tills send them, and as people should see them.

A cashier types ``6000 0000-0000 0007``; a magnetic-stripe reader sends track 2,
``;6000000000000007=2512101?`` plus a check character. ``normalize`` turns both into
``6000000000000007``; the series then matches its prefix and suffix letters whatever
their case (``CardSeries.normalize``). ``mask`` and ``group`` are for showing numbers
on screens and receipts.

>>> normalize(" 6000 0000-0000 0007 ")
'6000000000000007'
>>> normalize(";6000000000000007=25121010000?:")
'6000000000000007'
>>> group(mask("6000000000000007"))
'**** **** **** 0007'
"""

from __future__ import annotations

import unicodedata
from typing import Any

from .errors import InvalidArgument

#: What ``mask`` shows instead of a hidden character: ASCII, so it prints on any till
#: receipt printer and in any log.
MASK_CHAR = "*"

# ISO/IEC 7813 track 2: ";" PAN "=" YYMM service-code discretionary-data "?" LRC.
_TRACK2_START, _TRACK2_FIELD, _TRACK2_END = ";", "=", "?"
# Separators people type or card faces print inside a number, besides white space
# (which includes the no-break spaces of word processors) and any Unicode dash.
_DOTS = ".\u00b7\u2022\u2219/"


def _is_separator(char: str) -> bool:
    return char.isspace() or char in _DOTS or unicodedata.category(char) == "Pd"


def unwrap_track2(text: str) -> str:
    """The account number of ISO/IEC 7813 track 2 data; other text unchanged.

    Track 2 is ``;`` (start sentinel), the number, ``=`` (field separator), the expiry
    YYMM, the service code and discretionary data, ``?`` (end sentinel) and one
    check character (LRC). Readers set to drop the sentinels still send the ``=``, and
    nothing a person types holds one, so a ``=`` alone marks track 2 as well.

    >>> unwrap_track2(";6000000000000007=2512?"), unwrap_track2("6000000000000007=2512")
    ('6000000000000007', '6000000000000007')
    """
    body = text.strip()
    if body.startswith(_TRACK2_START):
        body = body[1:]
    elif _TRACK2_FIELD not in body:
        return text
    for end in (_TRACK2_FIELD, _TRACK2_END):
        body = body.partition(end)[0]
    return body


def normalize(text: Any) -> Any:
    """``text`` without track-2 framing, white space and separators (dashes, dots,
    slashes), in compatibility form (a full-width digit is the ASCII one). Letters keep their
    case: only a series knows where letters belong (``CardSeries.normalize``).

    Bytes are read as ASCII; anything else but text comes back as it is, for ``parse``
    to refuse as it would in strict mode.
    """
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("ascii", "replace")
    if not isinstance(text, str):
        return text
    text = unwrap_track2(unicodedata.normalize("NFKC", text))
    return "".join(char for char in text if not _is_separator(char))


def fold_case(text: str) -> str:
    """``text`` as lenient reading compares prefix and suffix letters: whatever their
    case. A store refuses two series whose numbers match once folded (3006), so that
    lenient reading never has two series to choose from.

    >>> fold_case("gold"), fold_case("Ab12")
    ('GOLD', 'AB12')
    """
    return text.upper()


def match_affixes(text: str, prefix: str, suffix: str) -> str:
    """``text`` with its start and end rewritten as ``prefix`` and ``suffix`` where they
    match those regardless of letter case (``gold0001`` reads as ``GOLD0001``)."""
    head = text[: len(prefix)]
    if head != prefix and fold_case(head) == fold_case(prefix):
        text = prefix + text[len(prefix) :]
    cut = len(text) - len(suffix)
    if cut >= 0 and text[cut:] != suffix and fold_case(text[cut:]) == fold_case(suffix):
        text = text[:cut] + suffix
    return text


def mask(number: str, visible: int = 4, char: str = MASK_CHAR) -> str:
    """``number`` with all but its last ``visible`` characters replaced by ``char``.

    >>> mask("6000000000000007"), mask("GOLD00000000000000102021", 6, "•")
    ('************0007', '••••••••••••••••••102021')
    """
    shown = max(0, min(visible, len(number)))
    return char * (len(number) - shown) + number[len(number) - shown :]


def group(number: str, size: int = 4, separator: str = " ") -> str:
    """``number`` in groups of ``size`` characters from the left, as card faces print it.

    >>> group("6000000000000007"), group("6000000000000000007", 4, "-")
    ('6000 0000 0000 0007', '6000-0000-0000-0000-007')
    """
    if size < 1:
        raise InvalidArgument.bad("size", size, "must be at least 1")
    return separator.join(number[i : i + size] for i in range(0, len(number), size))
