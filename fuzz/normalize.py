"""``text.normalize``: card numbers as people type them and tills send them (text or
bytes). It never raises, and what it gives back has no white space or separator left."""

from __future__ import annotations

from cardseq.text import _is_separator, group, mask, normalize

from .harness import Data, Finding


def one_input(raw: bytes) -> None:
    data = Data(raw)
    value: str | bytes = data.rest() if data.bool() else data.text(200)
    result = normalize(value)
    if not isinstance(result, str):
        raise Finding("normalize gave back no text", repr(result))
    left = [char for char in result if _is_separator(char)]
    if left:
        raise Finding("a separator survived normalize", f"{value!r} -> {result!r}")
    group(mask(result))
