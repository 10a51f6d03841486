"""The server's Prometheus metrics (``GET /metrics``), with ``prometheus_client``.

Each app has a registry of its own, not the library's global one: two apps in one
process (tests, an embedding service) never mix their counts. Several worker processes
(``cardseq serve --workers N``) share their counts through prometheus_client's
multiprocess mode instead: each writes its values to files in
``$PROMETHEUS_MULTIPROC_DIR``, and ``/metrics``, whichever worker answers it, adds them
up. ``Measure``, the outermost layer, times every request by route and status, counts
it by worker process, and counts error answers by their code; the generate route counts
what it reserved.
"""

from __future__ import annotations

import json
import os
import struct
import time
from collections.abc import Sequence

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, values
from prometheus_client.exposition import generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: the route label of a request that matched no route (unknown paths stay out of labels)
UNMATCHED = "unmatched"
#: attempts at reading the workers' files (see ``Metrics.exposition``)
_READS = 3
#: the content type of the text format
CONTENT_TYPE = CONTENT_TYPE_LATEST


def multiprocess() -> bool:
    """Whether prometheus_client keeps values in files shared by processes: it decides
    when it is first imported, by ``$PROMETHEUS_MULTIPROC_DIR``."""
    return values.ValueClass is not values.MutexValue


class Metrics:
    """The counters and histogram of one app (of every worker, in multiprocess mode)."""

    def __init__(self) -> None:
        owner: CollectorRegistry | None
        if multiprocess():
            # The metrics write to the shared files; the registry reads all of them,
            # when scraped only (auto_describe would read them at once, while another
            # worker may be creating its own).
            self.registry = CollectorRegistry()
            MultiProcessCollector(self.registry)  # type: ignore[no-untyped-call]
            owner = None
        else:
            self.registry = owner = CollectorRegistry(auto_describe=True)
        self.reservations = Counter(
            "cardseq_reservations",
            "Generate requests answered with numbers (a replayed request id included)",
            registry=owner,
        )
        self.numbers = Counter(
            "cardseq_numbers_reserved",
            "Numbers answered by generate requests",
            registry=owner,
        )
        self.errors = Counter(
            "cardseq_errors",
            "Error answers, by the code in their error object",
            ["code"],
            registry=owner,
        )
        self.latency = Histogram(
            "cardseq_request_duration_seconds",
            "Time to answer a request, by route and HTTP status",
            ["route", "status"],
            registry=owner,
        )
        self.by_worker = Counter(
            "cardseq_worker_requests",
            "Requests answered, by the worker process (its pid) that answered them",
            ["pid"],
            registry=owner,
        ).labels(str(os.getpid()))

    def reserved(self, count: int) -> None:
        self.reservations.inc()
        self.numbers.inc(count)

    def exposition(self) -> bytes:
        """Every metric, in the Prometheus text format."""
        for _ in range(_READS - 1):
            try:
                return generate_latest(self.registry)
            except struct.error:  # a worker's file, being created, is still empty
                time.sleep(0.01)
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
            self.metrics.by_worker.inc()

    def _route(self, scope: Scope) -> str:
        """The path template of the route the request is for (its method may not be):
        the one the router chose, or, for a request answered before it (401, 429), the
        first that matches."""
        chosen = scope.get("route")
        if isinstance(chosen, Route):
            return chosen.path
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
