"""The server's Prometheus metrics (``GET /metrics``), with ``prometheus_client``.

Each app has a registry of its own, not the library's global one: two apps in one
process (tests, an embedding service) never mix their counts. ``Measure``, the
outermost layer, times every request by route and status, and counts error answers by
their code; the generate route counts what it reserved.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import generate_latest
from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: the route label of a request that matched no route (unknown paths stay out of labels)
UNMATCHED = "unmatched"
#: the content type of the text format
CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    """The counters and histogram of one app."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.reservations = Counter(
            "cardseq_reservations",
            "Generate requests answered with numbers (a replayed request id included)",
            registry=self.registry,
        )
        self.numbers = Counter(
            "cardseq_numbers_reserved",
            "Numbers answered by generate requests",
            registry=self.registry,
        )
        self.errors = Counter(
            "cardseq_errors",
            "Error answers, by the code in their error object",
            ["code"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "cardseq_request_duration_seconds",
            "Time to answer a request, by route and HTTP status",
            ["route", "status"],
            registry=self.registry,
        )

    def reserved(self, count: int) -> None:
        self.reservations.inc()
        self.numbers.inc(count)

    def exposition(self) -> bytes:
        """Every metric, in the Prometheus text format."""
        return generate_latest(self.registry)


class Measure:
    """Times each HTTP request and counts its error code, whoever answered it (a route,
    the guard's 401 and 429, a 404, a 500)."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.metrics = metrics
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        status = 500

        async def measured_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and status >= 400:
                self.metrics.errors.labels(_error_code(message.get("body", b""), status)).inc()
            await send(message)

        try:
            await self.app(scope, receive, measured_send)
        finally:
            self.metrics.latency.labels(self._route(scope), str(status)).observe(
                time.perf_counter() - began
            )

    def _route(self, scope: Scope) -> str:
        """The path template of the route the request is for (its method may not be)."""
        for route in self.routes:
            if isinstance(route, Route) and route.matches(scope)[0] != Match.NONE:
                return route.path
        return UNMATCHED


def _error_code(body: bytes, status: int) -> str:
    """The code of an error answer's first error object (every answer other than 200
    has the envelope); the HTTP status if the body has none."""
    try:
        return str(int(json.loads(body)["errors"][0]["code"]))
    except (ValueError, KeyError, IndexError, TypeError):
        return str(status)


__all__ = ["CONTENT_TYPE", "Measure", "Metrics"]
