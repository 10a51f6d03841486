"""The HTTP server in process, for the HTTP targets: one app per engine twin, each on a
memory store of its own, sent the same requests in the same order. Their answers must
be the same (timestamps aside), and none may be a 5xx.

Requests are ASGI messages sent straight to the app: no socket, no HTTP client, so any
bytes reach the query string, the headers and the body.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import re
import tempfile
from pathlib import Path
from typing import Any

from cardseq.server import create_app
from cardseq.server.auth import add_user
from cardseq.server.limits import MAX_BURST, MAX_RATE

from .harness import TWINS, Finding, engine_in_use, note
from .parse import KEY

USER, PASSWORD = "fuzz", "fuzz password"
CREDENTIALS = b"Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode())
#: answers whose difference between the twins is time, not the engine: a timestamp, a
#: rate limit's wait
_TIME = re.compile(rb'"\d{4}-\d\d-\d\dT[^"]*"')
#: a request id cardseq made for a reservation that gave none: random, as times differ
_MADE_UP = re.compile(rb'"cardseq-[0-9a-f-]{36}"')
_TIMED = {429}
SERIES = (
    {
        "code": "GOLD",
        "cardGenerationConfiguration": {"prefix": "GOLD", "suffix": "2021", "length": 24},
    },
    {
        "code": "VISA",
        "cardGenerationConfiguration": {"prefix": "400000", "length": 16, "method": "LUHN"},
    },
    {
        "code": "RAND",
        "cardGenerationConfiguration": {"prefix": "9", "length": 12, "method": "RANDOM_MOD7"},
    },
)


async def call(
    app: Any, method: str, path: str, query: bytes, headers: list[tuple[bytes, bytes]], body: bytes
) -> tuple[int, bytes]:
    """The app's status and body for one request."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode("utf-8", "surrogatepass"),
        "query_string": query,
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
    }
    pending = [{"type": "http.request", "body": body, "more_body": False}]
    answer: dict[str, Any] = {"status": 0, "body": b""}

    async def receive() -> dict[str, Any]:
        if pending:
            return pending.pop()
        await asyncio.Event().wait()  # the client waits for the answer
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
        elif message["type"] == "http.response.body":
            answer["body"] += message.get("body", b"")

    await app(scope, receive, send)
    return answer["status"], answer["body"]


class _Faults(logging.Handler):
    """The server's last logged fault (its traceback), for a finding to show."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.last = ""

    def emit(self, record: logging.LogRecord) -> None:
        self.last = self.format(record)


FAULTS = _Faults()
logging.getLogger("cardseq.server").addHandler(FAULTS)


class Server:
    """The apps, started; made again every ``renew`` requests (None: never), so that
    what fuzzed requests create does not slow every later one."""

    def __init__(self, *, auth: bool, renew: int | None = None) -> None:
        self.loop = asyncio.new_event_loop()
        self.users: str | None = None
        if auth:
            self.users = str(Path(tempfile.mkdtemp(prefix="cardseq-fuzz-")) / "users")
            add_user(self.users, USER, PASSWORD)
        self.renew = renew
        self.sent = 0
        self.apps: list[tuple[Any, Any, contextlib.AbstractAsyncContextManager[None]]] = []
        self.start()

    def start(self) -> None:
        for twin in TWINS:
            app = create_app(
                "memory://",
                users_file=self.users,
                rate=MAX_RATE,
                burst=MAX_BURST,
                max_count=500,
                keys={"RAND": KEY},
            )
            lifespan = app.router.lifespan_context(app)
            self.loop.run_until_complete(lifespan.__aenter__())
            self.apps.append((twin, app, lifespan))
        for series in SERIES:
            self.request("POST", "/v2/card/series", body=json.dumps(series).encode())
        for series_id in (1, 2, 3):
            body = json.dumps({"seriesId": series_id, "count": 20}).encode()
            self.request("POST", "/v2/card/generate", body=body)

    def stop(self) -> None:
        for _, _, lifespan in self.apps:
            self.loop.run_until_complete(lifespan.__aexit__(None, None, None))
        self.apps.clear()

    def request(
        self,
        method: str,
        path: str,
        query: bytes = b"",
        headers: list[tuple[bytes, bytes]] | None = None,
        body: bytes = b"",
    ) -> tuple[int, bytes]:
        """Each app's answer to the request, the same from each twin; the first."""
        self.sent += 1
        if self.renew and self.sent % self.renew == 0:
            self.stop()
            self.start()
        if headers is None:
            headers = [(b"authorization", CREDENTIALS), (b"content-type", b"application/json")]
        note("request", (method, path, query, headers, body))
        answers = []
        FAULTS.last = ""
        for twin, app, _ in self.apps:
            with engine_in_use(twin):
                answers.append(
                    self.loop.run_until_complete(call(app, method, path, query, headers, body))
                )
        for status, text in answers:
            if status >= 500 or status < 100:
                shown = text.decode("utf-8", "replace")
                raise Finding(f"the server answered {status}", f"{shown}\n{FAULTS.last}")
        if not _TIMED & {status for status, _ in answers}:
            seen = [
                (status, _MADE_UP.sub(b'"ID"', _TIME.sub(b'"T"', text))) for status, text in answers
            ]
            if any(one != seen[0] for one in seen[1:]):
                raise Finding("the engine twins' servers answered differently", repr(seen))
        return answers[0]
