"""The request target (path and query string) as UTF-8 text, or the client's error.

RFC 3986 writes text in a URL as percent-encoded UTF-8; clients also send UTF-8 bytes
raw. Starlette reads the raw query string as Latin-1 (``é`` sent raw becomes ``Ã©``)
and both it and Granian turn an escape that is not UTF-8 (``%FF``) into U+FFFD, so a
value would come back in an error message other than it was sent. The guard checks
the target once, before any route reads it: bytes that are not UTF-8 are a 400 naming
the parameter, and raw bytes are percent-encoded in the scope, which every reader then
decodes as UTF-8.
"""

from __future__ import annotations

from urllib.parse import quote_from_bytes, unquote_to_bytes

from starlette.types import Scope

from ..errors import clip

_NOT_TEXT = "is not UTF-8 text (raw or percent-encoded, RFC 3986)"
#: every ASCII character: only the bytes above it are percent-encoded
_ASCII = bytes(range(0x80)).decode("ascii")


def _is_utf8(raw: bytes) -> bool:
    if raw.isascii() and b"%" not in raw:  # the usual case: nothing to decode
        return True
    try:
        unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _ascii(raw: bytes) -> bytes:
    """``raw`` with its bytes above ASCII percent-encoded (those below stay as sent)."""
    return raw if raw.isascii() else quote_from_bytes(raw, safe=_ASCII).encode("ascii")


def _shown(raw: bytes) -> str:
    return clip(_ascii(raw).decode("ascii"))


def read_target(scope: Scope) -> str | None:
    """None when the path and the query string are UTF-8, raw or percent-encoded (the
    query string is then left in ASCII); else the message of the 400."""
    raw_path = scope.get("raw_path")
    if raw_path is not None and not _is_utf8(raw_path):
        return f"the path {_shown(raw_path)} {_NOT_TEXT}"
    query: bytes = scope.get("query_string", b"")
    if _is_utf8(query):
        scope["query_string"] = _ascii(query)
        return None
    # '&' and '=' are ASCII, so no UTF-8 sequence spans two parts: one of them is at fault
    at_fault = next(part for part in query.split(b"&") if not _is_utf8(part))
    name, _, value = at_fault.partition(b"=")
    if not _is_utf8(name):
        return f"the name of query parameter {_shown(name)} {_NOT_TEXT}"
    field = clip(unquote_to_bytes(name).decode("utf-8"))
    return f"the value {_shown(value)} of query parameter {field} {_NOT_TEXT}"


__all__ = ["read_target"]
