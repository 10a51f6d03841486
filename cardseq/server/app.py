"""The HTTP server: the reference API's routes over ``CardService``, as a Starlette app.

Each request passes one guard first (authentication, then the rate limit); each route
reads and checks its input, awaits the async service (``cardseq.aio``: the event loop
never waits on the database, and no thread is started per request) and answers its
records in the reference's JSON (``wire``). The app opens the service when its server
starts it (the ASGI lifespan) and closes it at shutdown. Every answer other than 200 has
the error envelope ``{"data": [], "warnings": [...], "errors": [{"code", "message"}]}``;
see docs/http.md.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..aio import AsyncCardService, AsyncStore
from ..errors import CardSeqError, InvalidSeries, SchemaMismatch
from ..integers import parse_int
from ..keys import keyring
from ..store import check_shared, open_store
from ..store.base import SCHEMA_VERSION
from . import apidocs, models, wire
from .auth import REALM, Authenticator
from .metrics import CONTENT_TYPE, Measure, Metrics
from .models import ApiError
from .openapi import build_openapi
from .peers import AddressSlots
from .ratelimit import RateLimiter
from .settings import AppSettings
from .target import read_target

log = logging.getLogger("cardseq.server")

#: routes anyone may call (no credentials; still rate limited by address): the document,
#: the page that shows it, the health check; ``/metrics`` too when the server is made
#: with ``metrics_public``
PUBLIC = frozenset({"/openapi.json", "/healthz"}) | apidocs.PATHS
METRICS = "/metrics"
_JSON_TYPES = ("application/json",)
#: credential checks that cost a scrypt, per client address (at most the bucket above)
CHECK_RATE, CHECK_BURST = 5.0, 20
#: scrypt checks running at once (each takes 16 MiB)
CHECK_SLOTS = 4
#: bytes past the body limit read and dropped before a 413 (see read_json)
_DRAIN = 1024 * 1024


# ---- the guard: authentication and rate limit ---------------------------------------


def _address(scope: Scope) -> str:
    """The client's address: the peer's, or the one a trusted proxy forwarded."""
    client = scope.get("client")
    return str(client[0]) if client else "-"


def _credentials(scope: Scope) -> tuple[str, str] | None:
    """(name, password) of a Basic ``Authorization`` header, or None."""
    for key, value in scope.get("headers", ()):
        if key == b"authorization":
            scheme, _, token = value.partition(b" ")
            if scheme.lower() != b"basic":
                return None
            try:
                decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError, ValueError):
                return None
            name, sep, password = decoded.partition(":")
            return (name, password) if sep else None
    return None


class Guard:
    """Outermost layer: the per-address limit, authentication, rate limit, the request
    target's text, and the last word on faults.

    An exception that escapes a route is logged with its traceback and answered with a
    500 (code 500, "internal error"): user input never gets here, real faults do. A
    client that leaves before its body arrived is a normal event: one line, no answer.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        auth: Authenticator | None,
        limiter: RateLimiter,
        slots: AddressSlots,
        public: frozenset[str] = PUBLIC,
        check_rate: float = CHECK_RATE,
        check_burst: int = CHECK_BURST,
    ) -> None:
        self.app = app
        self.auth = auth
        self.limiter = limiter
        self.slots = slots
        self.public = public
        # Checks that need a scrypt (16 MiB, ~50 ms each) are limited per address, and
        # few run at once, so that guessing passwords cannot exhaust memory or threads.
        self.checks = RateLimiter(min(limiter.rate, check_rate), min(limiter.burst, check_burst))
        # A pool of CHECK_SLOTS threads, made on the first uncached check: a scrypt is
        # CPU work that must not run on the event loop; a cached check never gets here.
        self._check_pool: ThreadPoolExecutor | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        address = _address(scope)
        if not self.slots.take(address):
            await self._crowded(address)(scope, receive, send)
            return
        try:
            refusal = await self._refusal(scope)
            if refusal is not None:
                await refusal(scope, receive, tracking_send)
                return
            await self.app(scope, receive, tracking_send)
        except ClientDisconnect:
            log.info(
                "client %s left before sending its whole request: %s %s",
                _address(scope),
                scope.get("method"),
                scope.get("path"),
            )
        except Exception:
            log.exception("internal error answering %s %s", scope.get("method"), scope.get("path"))
            if not started:
                response = wire.failure(500, 500, "internal error")
                await response(scope, receive, send)
        finally:
            self.slots.give_back(address)

    def _crowded(self, address: str) -> Response:
        return wire.failure(
            429,
            429,
            f"too many requests at once from {address}: at most {self.slots.limit} are"
            " served at once per address; retry in 1 s",
            headers={"Retry-After": "1"},
        )

    async def _refusal(self, scope: Scope) -> Response | None:
        """A 400, 401, 429 or 503 answer, or None to let the request through."""
        refusal = await self._unwelcome(scope)
        if refusal is None and (problem := read_target(scope)) is not None:
            return wire.failure(400, 400, problem)
        return refusal

    async def _unwelcome(self, scope: Scope) -> Response | None:
        """A 401, 429 or 503 answer, or None to let the request through."""
        address = f"address:{_address(scope)}"
        if self.auth is None or scope.get("path") in self.public:
            return self._limited(address)
        if not self.auth.refresh():
            return wire.failure(
                503, 503, "authentication is unavailable: the server's users file is broken"
            )
        credentials = _credentials(scope)
        if credentials is None:
            return self._unauthorized("credentials are missing or not HTTP Basic")
        name, password = credentials
        if not self.auth.cached(name, password):
            refusal = self._limited(address, self.checks)
            if refusal is not None:
                return refusal
            if self._check_pool is None:
                self._check_pool = ThreadPoolExecutor(CHECK_SLOTS, thread_name_prefix="scrypt")
            loop = asyncio.get_running_loop()
            verified = await loop.run_in_executor(
                self._check_pool, self.auth.verify, name, password
            )
            if not verified:
                return self._unauthorized("the user name or password is wrong")
        scope.setdefault("state", {})["user"] = name
        return self._limited(f"user:{name}")

    def _limited(self, key: str, limiter: RateLimiter | None = None) -> Response | None:
        wait = (limiter or self.limiter).take(key)
        if not wait:
            return None
        return wire.failure(
            429, 429, f"too many requests: retry in {wait} s", headers={"Retry-After": str(wait)}
        )

    @staticmethod
    def _unauthorized(message: str) -> Response:
        return wire.failure(401, 401, message, headers={"WWW-Authenticate": REALM})


def actor(request: Request) -> str:
    """Who a write is recorded for (the ledger's and the status log's actor): the user
    the guard let in; without authentication, ``anonymous@`` the client's address."""
    user = request.scope.get("state", {}).get("user")
    return str(user) if user is not None else f"anonymous@{_address(request.scope)}"


# ---- reading requests ---------------------------------------------------------------


async def read_json(request: Request, max_body: int, timeout: float) -> Any:
    """The JSON body, at most ``max_body`` bytes (413 beyond, by header or as read),
    arrived within ``timeout`` seconds (408 after: a slow client holds no worker)."""
    content_type = request.headers.get("content-type")
    if content_type is not None:
        media = content_type.split(";", 1)[0].strip().lower()
        if media not in _JSON_TYPES and not (
            media.startswith("application/") and media.endswith("+json")
        ):
            raise ApiError(
                415,
                415,
                f"Content-Type {content_type[:100]!r} is not supported: send application/json",
            )
    declared = parse_int(request.headers.get("content-length"))
    announced = declared is not None and declared > max_body
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout):
            # A body over the limit is still read, up to _DRAIN more bytes, before the
            # 413: a connection closed while the client is still sending is reset, and
            # the reset destroys the answer before the client reads it.
            async for chunk in request.stream():
                size += len(chunk)
                if size <= max_body:
                    chunks.append(chunk)
                elif size > max_body + _DRAIN:
                    break
    except TimeoutError:
        raise ApiError(408, 408, f"the request body did not arrive within {timeout:g} s") from None
    if announced:
        raise ApiError(413, 413, f"the request body has {declared} bytes; the limit is {max_body}")
    if size > max_body:
        raise ApiError(413, 413, f"the request body is larger than the limit of {max_body} bytes")
    return models.parse_json(b"".join(chunks))


Handler = Callable[[Request], Awaitable[Response]]


def _allowed(routes: Sequence[Route], scope: Scope) -> list[str]:
    """Every method some route serves at this path (a path may have a route per method)."""
    methods = set[str]()
    for route in routes:
        if route.matches(scope)[0] is not Match.NONE:
            methods |= route.methods or set()
    return sorted(methods)


def _domain_error(
    error: CardSeqError,
    request: Request,
    *,
    warnings: Sequence[models.Warning] = (),
    not_found: tuple[int, ...] = (),
) -> Response:
    """The answer to a domain error. A store failure's message goes to the log, and
    only its kind to the client (``wire.STORE_FAILURE``): it can name the database."""
    if wire.status_of(error, not_found=not_found) >= 500:
        log.error(
            "store failure answering %s %s: %s: %s",
            request.method,
            request.url.path,
            type(error).__name__,
            error.message,
        )
    return wire.error(error, warnings=warnings, not_found=not_found)


def answers(*, not_found: tuple[int, ...] = ()) -> Callable[[Handler], Handler]:
    """Turn the errors a route raises into their answers (``ApiError``, domain errors)."""

    def wrap(handler: Handler) -> Handler:
        async def endpoint(request: Request) -> Response:
            try:
                return await handler(request)
            except ApiError as error:
                return wire.failure(
                    error.status, error.code, error.message, error.warnings, error.headers
                )
            except CardSeqError as error:
                return _domain_error(error, request, not_found=not_found)

        endpoint.__name__ = handler.__name__
        endpoint.__doc__ = handler.__doc__
        return endpoint

    return wrap


# ---- the app ------------------------------------------------------------------------


class _Opened:
    """The async store and service of a started app (None before its lifespan ran)."""

    store: AsyncStore | None = None
    service: AsyncCardService | None = None

    def get(self) -> AsyncCardService:
        if self.service is None:
            raise ApiError(
                503,
                503,
                "the server has not started: its ASGI server must run the app's lifespan",
            )
        return self.service


def create_app(store_url: str, settings: AppSettings | None = None, **options: Any) -> Starlette:
    """The server for the store at ``store_url``, as ``settings`` say (``AppSettings``;
    its fields may instead be given as keywords: ``create_app(url, users_file=None,
    rate=50.0)``; ``users_file`` is then required, so that no server is open to all by
    omission).

    The store is opened (``AsyncStore.open``) when the ASGI server starts the app's
    lifespan, and closed when it ends; ``app.state.service`` (``AsyncCardService``) and
    ``app.state.store`` are there in between. With ``workers`` above 1 it is also opened
    here, once, to ask whether the processes can share it: one private to a process
    (SQLite in memory, however its URL is spelt) is refused (701), since each worker
    would hand out the numbers the others hand out. The users file and a keys file are
    read here: one that cannot be read whole raises ``BrokenFile``. A file that breaks
    later makes the app answer 503 (the users file: to everyone; ``$CARDSEQ_KEYS_FILE``,
    read again for a key not found yet: to what needs that key) until it is fixed.
    """
    if settings is None:
        settings = AppSettings(**options)
    elif options:
        raise TypeError("create_app takes settings or their fields as keywords, not both")
    workers, max_body, max_count = settings.workers, settings.max_body, settings.max_count
    migrate, metrics_public = settings.migrate, settings.metrics_public
    if workers > 1:
        with open_store(store_url, migrate=migrate, keys=settings.keys) as store:
            check_shared(store, workers, field="workers")
    auth = Authenticator(settings.users_file) if settings.users_file is not None else None
    ring = keyring(settings.keys)  # a keys file is read now: a broken one stops the start here
    limiter = RateLimiter(settings.rate / workers, math.ceil(settings.burst / workers))
    opened = _Opened()
    metrics = Metrics()
    schema = wire.dumps(
        build_openapi(
            max_count=max_count,
            max_body=max_body,
            auth=auth is not None,
            metrics_public=metrics_public,
        )
    )

    async def body(request: Request) -> Any:
        return await read_json(request, max_body, settings.body_timeout)

    @answers()
    async def create_series(request: Request) -> Response:
        """POST /v2/card/series: register a series; answer its new id."""
        asked, warnings = models.read_body(models.SeriesRequest, await body(request))
        series_id = await opened.get().create_series(
            asked.series(), enabled=asked.cardGenerationEnabled, details=asked.details()
        )
        return wire.entity(series_id, warnings)

    @answers(not_found=(InvalidSeries.code,))
    async def get_series(request: Request) -> Response:
        """GET /v2/card/series/{id}: the series as created, with its configuration."""
        path = models.read_params(models.SeriesPath, request.path_params, status=404)
        details = await opened.get().series_details(path.id)
        return wire.respond(200, wire.series(details))

    @answers()
    async def no_series_id(request: Request) -> Response:
        raise ApiError(404, InvalidSeries.code, "the path names no series id")

    async def create_series_or_none(request: Request) -> Response:
        """The reference writes POST /v2/card/series/ with a slash: the same route."""
        if request.method == "POST":
            return await create_series(request)
        return await no_series_id(request)

    @answers()
    async def generate(request: Request) -> Response:
        """POST /v2/card/generate: reserve and answer numbers, newest first."""
        asked, warnings = models.read_body(models.GenerateRequest, await body(request))
        try:
            result = await opened.get().generate(**asked.arguments(), actor=actor(request))
        except CardSeqError as error:  # the answer keeps the request's warnings
            return _domain_error(error, request, warnings=warnings)
        metrics.reserved(len(result.numbers))
        if result.warnings:
            warnings = warnings + wire.notices(result.warnings)
        # msgspec encodes the largest answer (--max-count numbers) in a few ms
        return wire.generated(result.numbers, warnings)

    @answers(not_found=(3010,))
    async def get_card(request: Request) -> Response:
        """GET /v2/card?number=: a card's series, status, label and customer."""
        query = models.read_params(models.CardQuery, request.query_params)
        service, number = opened.get(), query.number
        if query.lenient == "true":  # the series' own form of what was typed, if any has it
            (found,) = await service.lookup_many([number], lenient=True)
            number = found.number if found is not None else number
        return wire.respond(200, wire.card(await service.card(number)))

    @answers()
    async def change_status(request: Request) -> Response:
        """PUT /v2/card: change a card's status by a label (customerId records who has it)."""
        asked, warnings = models.read_body(models.StatusRequest, await body(request))
        card = await opened.get().change_status(
            asked.cardNumber, asked.statusLabel, customer_id=asked.customer(), actor=actor(request)
        )
        return wire.entity(card, warnings)

    @answers()
    async def verify_pin(request: Request) -> Response:
        """POST /v2/card/pin: whether a PIN is the card's (cardseq's own route)."""
        asked, warnings = models.read_body(models.PinRequest, await body(request))
        right = await opened.get().verify_pin(asked.cardNumber, asked.pin)
        return wire.pin_checked(right, warnings)

    @answers(not_found=(3010,))
    async def status_log(request: Request) -> Response:
        """GET /v2/card/statusLog?number=: a card's status changes, oldest first."""
        query = models.read_params(models.StatusLogQuery, request.query_params)
        page = await opened.get().status_log(query.number, limit=query.limit, after=query.after)
        return wire.status_log(page)

    @answers(not_found=(InvalidSeries.code,))
    async def generation_log(request: Request) -> Response:
        """GET /v2/card/generation/logs?seriesId=: a series' generation requests."""
        query = models.read_params(models.GenerationLogQuery, request.query_params)
        page = await opened.get().generation_log(
            query.seriesId, limit=query.limit, after=query.after
        )
        return wire.generation_log(page)

    async def openapi(request: Request) -> Response:
        return Response(schema, media_type="application/json")

    @answers()
    async def healthz(request: Request) -> Response:
        """GET /healthz: 200 when the store answers a read and is at this cardseq's
        schema version, else 503. The answer names the kind of failure; the server's
        log has the whole message (it can name hosts: not for anonymous callers)."""
        opened.get()
        assert opened.store is not None
        try:
            found = await opened.store.schema_version()
        except CardSeqError as error:
            log.warning("health check failed: %s", error.message)
            reason = f"the store does not answer ({type(error).__name__})"
            return wire.failure(503, error.code, reason)
        if found != SCHEMA_VERSION:
            reason = f"the store's schema version is {found}; this cardseq needs {SCHEMA_VERSION}"
            return wire.failure(503, SchemaMismatch.code, reason)
        return wire.healthy()

    async def prometheus(request: Request) -> Response:
        """GET /metrics: the counters and latency histograms, Prometheus text format."""
        return Response(metrics.exposition(), media_type=CONTENT_TYPE)

    async def http_error(request: Request, exc: Exception) -> Response:
        """Unknown paths (404) and methods (405) in the same envelope as the rest."""
        assert isinstance(exc, HTTPException)
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # Starlette names the first route's methods only
            headers["Allow"] = ", ".join(_allowed(routes, request.scope))
        return wire.failure(exc.status_code, exc.status_code, exc.detail, headers=headers)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        store = await AsyncStore.open(store_url, migrate=migrate, keys=ring)
        opened.store, opened.service = store, AsyncCardService(store, max_count=max_count)
        app.state.store, app.state.service = opened.store, opened.service
        try:
            yield
        finally:
            opened.store = opened.service = app.state.store = app.state.service = None
            await store.aclose()

    routes = [
        Route("/v2/card/series", create_series, methods=["POST"]),
        Route("/v2/card/series/", create_series_or_none, methods=["GET", "POST"]),
        Route("/v2/card/series/{id}", get_series, methods=["GET"]),
        Route("/v2/card/generate", generate, methods=["POST"]),
        Route("/v2/card", get_card, methods=["GET"]),
        Route("/v2/card", change_status, methods=["PUT"]),
        Route("/v2/card/pin", verify_pin, methods=["POST"]),
        Route("/v2/card/statusLog", status_log, methods=["GET"]),
        Route("/v2/card/generation/logs", generation_log, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
        *apidocs.routes(),
        Route("/healthz", healthz, methods=["GET"]),
        Route(METRICS, prometheus, methods=["GET"]),
    ]
    public = PUBLIC | {METRICS} if metrics_public else PUBLIC
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[
            Middleware(Measure, metrics=metrics, routes=routes),
            Middleware(
                Guard,
                auth=auth,
                limiter=limiter,
                slots=AddressSlots(settings.max_connections_per_ip),
                public=public,
                check_rate=CHECK_RATE / workers,
                check_burst=math.ceil(CHECK_BURST / workers),
            ),
        ],
        exception_handlers={HTTPException: http_error},
    )
    app.state.store = app.state.service = None
    app.state.auth = auth
    app.state.metrics = metrics
    return app


@dataclass(frozen=True)
class AppFactory:
    """What makes the app in each worker process: a picklable callable, for Granian's
    workers (``settings.keys`` then a mapping or a path)."""

    store_url: str
    settings: AppSettings

    def __call__(self) -> Starlette:
        return create_app(self.store_url, self.settings)


__all__ = ["AppFactory", "AppSettings", "create_app"]
