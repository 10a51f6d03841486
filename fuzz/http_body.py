"""The HTTP server's request bodies: any bytes, with any content type, sent to each route
that reads a body. No answer may be a 5xx, and both engines answer alike."""

from __future__ import annotations

from .asgi import CREDENTIALS, Server
from .harness import Data

ROUTES = (
    ("POST", "/v2/card/series"),
    ("POST", "/v2/card/generate"),
    ("PUT", "/v2/card"),
    ("POST", "/v2/card/series/"),
)
TYPES = (b"application/json", b"application/merge-patch+json", b"text/plain", None)
SERVER = Server(auth=False, renew=2000)


def one_input(raw: bytes) -> None:
    data = Data(raw)
    method, path = data.pick(ROUTES)
    kind = data.pick(TYPES)
    length = data.int(0, 3)
    body = data.rest()
    headers = [(b"authorization", CREDENTIALS)]
    if kind is not None:
        headers.append((b"content-type", kind))
    if length:  # a Content-Length that may not be the body's
        headers.append((b"content-length", str(len(body) + length - 1).encode()))
    SERVER.request(method, path, headers=headers, body=body)
