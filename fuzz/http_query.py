"""The HTTP server's query strings, path parameters and credentials: any bytes to each
route that reads them. No answer may be a 5xx, and both engines answer alike."""

from __future__ import annotations

import urllib.parse

from .asgi import CREDENTIALS, Server
from .harness import Data

PATHS = (
    "/v2/card",
    "/v2/card/statusLog",
    "/v2/card/generation/logs",
    "/v2/card/series/",
    "/healthz",
    "/openapi.json",
)
NAMES = ("number", "limit", "after", "seriesId", "id")
NUMBERS = ("GOLD00000000000000032021", "4000000000000010", "900000000052")
SERVER = Server(auth=True)


def one_input(raw: bytes) -> None:
    data = Data(raw)
    path = data.pick(PATHS)
    if path.endswith("/"):
        path += data.text(24)
    if data.bool():
        query = data.bytes(300)
    else:
        pairs = []
        for _ in range(data.int(0, 4)):
            value = data.pick(NUMBERS) if data.int(0, 3) == 0 else data.text(30)
            quoted = urllib.parse.quote(value.encode("utf-8", "surrogatepass"), safe="")
            pairs.append(f"{data.pick(NAMES)}={quoted}")
        query = "&".join(pairs).encode("ascii")
    credentials = CREDENTIALS
    if data.int(0, 15) == 15:  # (most with the right ones: a wrong one costs a scrypt)
        credentials = data.bytes(80)
    SERVER.request("GET", path, query, [(b"authorization", credentials)])
