"""Serving the app with Granian until SIGINT or SIGTERM, in ``workers`` processes that
share the listening socket (the kernel hands each new connection to one of them),
watched by this one; one worker is this process itself, in Granian's embedded server
(which Granian logs as experimental: see docs/http.md for why cardseq uses it). Each
worker makes its own app, with its own store connections, event loop, rate limit share
and credential cache.

Granian's HTTP/1 layer (hyper, in Rust) gives what a public server needs against slow
or hostile clients, so none of it is written here: a deadline for a request's headers
(which also closes a keep-alive connection idle that long), a cap on the connections
served at once (the next ones wait in the kernel's accept queue), and an accept loop
that backs off, with one log line, when the process runs out of file descriptors.
Forwarding headers are ignored unless the operator names the proxies to trust.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import functools
import gc
import os
import signal
import sys
import tempfile
from collections.abc import Callable, Sequence
from typing import Any

from granian.constants import HTTPModes, Interfaces
from granian.http import HTTP1Settings
from granian.log import LogLevels
from granian.server.embed import Server
from granian.server.mp import MPServer
from granian.utils.proxies import wrap_asgi_with_proxy_headers
from starlette.types import ASGIApp

from ..store import check_shared, open_store
from .limits import MAX_WORKERS, within
from .logs import logging_config
from .settings import AppSettings, ListenSettings


def _app(factory: Callable[[], ASGIApp], forwarded_allow_ips: Sequence[str]) -> ASGIApp:
    """The app to serve: ``factory()``'s, behind the forwarding-header wrapper when
    proxies are named; what exists once it is made is frozen (below)."""
    app = factory()
    if forwarded_allow_ips:
        app = wrap_asgi_with_proxy_headers(app, trusted_hosts=[*forwarded_allow_ips])
    # What exists now (modules, the app) lives as long as the process: out of the
    # collector's sight, a full collection under load takes 0.2 ms instead of 15
    # (each one a pause of every request in flight: most of the p99 latency).
    gc.freeze()
    return app


#: prctl's option that sends the calling process a signal when its parent dies
_PR_SET_PDEATHSIG = 1


def _die_with(parent: int) -> None:
    """Have the kernel kill this worker when the server process is gone. Granian stops
    its workers before it exits; this covers the rest (the server killed, or stopped
    while a worker was still starting), so that no worker outlives it holding the port
    and store connections. A kill is safe: a block is committed before any of its
    numbers leaves, so a reservation cut short is at worst a gap."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it died before the line above
        os._exit(1)


def _load(
    factory: Callable[[], ASGIApp], forwarded_allow_ips: Sequence[str], parent: int, _target: Any
) -> Any:
    """Granian's loader in a worker process: the app made there, after the fork."""
    _die_with(parent)
    return _app(factory, forwarded_allow_ips)


def serve_store(
    store_url: str,
    app: AppSettings,
    listen: ListenSettings,
    *,
    warn: Callable[[str], None],
    spelling: Callable[[str], str] = str,
) -> None:
    """Serve the store at ``store_url`` until interrupted: what ``cardseq serve`` runs.

    Before any worker starts, the store is opened once (a store that cannot be opened or
    migrated, or that ``app.workers`` processes could not share, stops here with its
    error, and the workers never race to migrate it) and the users file is read whole
    (``BrokenFile`` otherwise); ``warn`` is told of a users file others can read, or
    of none (no authentication: ``no_auth``).
    ``spelling`` turns a setting's name into the caller's (an option) for the errors.
    """
    with open_store(store_url, migrate=app.migrate, keys=app.keys) as store:
        check_shared(store, app.workers, field=spelling("workers"))
    with contextlib.ExitStack() as cleanup:
        if app.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            # The workers add up their metrics in files there (set before
            # prometheus_client is imported, below: it reads the variable once).
            shared = cleanup.enter_context(tempfile.TemporaryDirectory(prefix="cardseq-metrics-"))
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = shared
            cleanup.callback(os.environ.pop, "PROMETHEUS_MULTIPROC_DIR", None)
        from .app import AppFactory
        from .auth import Authenticator

        if app.users_file is None:
            warn(
                f"{spelling('no_auth')}: every route is open to anyone who can connect to"
                f" {listen.host}:{listen.port}"
            )
        elif Authenticator(app.users_file).world_readable():
            warn(f"{app.users_file} can be read by other users: chmod 600 it")
        serve(AppFactory(store_url, app), listen, workers=app.workers)


def serve(factory: Callable[[], ASGIApp], listen: ListenSettings, *, workers: int = 1) -> None:
    """Serve the app ``factory()`` makes over HTTP/1.1 as ``listen`` says until
    interrupted, in ``workers`` processes, each making its own app (``factory`` must be
    picklable). ``listen.log_level`` and ``log_format`` apply to cardseq's and Granian's
    loggers, the access log included (``cardseq.server.logs``).

    ``X-Forwarded-For`` is honoured only from the peers in ``listen.forwarded_allow_ips``
    (addresses or networks); from anyone else the peer's own address is the client's.
    ``max_connections`` is per process.
    """
    within("workers", workers, 1, MAX_WORKERS, whole=True)
    forwarded_allow_ips = listen.forwarded_allow_ips
    settings: dict[str, Any] = {
        "address": listen.host,
        "port": listen.port,
        "interface": Interfaces.ASGI,
        "http": HTTPModes.http1,
        "websockets": False,
        "backpressure": listen.max_connections,
        "http1_settings": HTTP1Settings(
            header_read_timeout=max(1, round(listen.header_timeout * 1000))
        ),
        "log_level": LogLevels(listen.log_level),
        "log_access": listen.access_log,
        "log_dictconfig": logging_config(listen.log_level, listen.log_format),
    }
    if workers == 1:
        # In this process: the per-address limit (``peers``) counts a request from the
        # moment its headers are in here; in a worker of the multi-process mode, a
        # request whose body is still arriving was seen to reach the app only once
        # the flow of new connections paused.
        asyncio.run(_serve(Server(_app(factory, forwarded_allow_ips), **settings)))
        return
    server = MPServer("cardseq", workers=workers, **settings)
    # The parent only watches: Granian restarts nothing by itself, and stops every
    # worker when one of them dies (a worker that cannot open the store, for one).
    server.serve(
        target_loader=functools.partial(_load, factory, tuple(forwarded_allow_ips), os.getpid()),
        wrap_loader=True,
    )


async def _serve(server: Server) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, server.stop)
    await server.serve()


__all__ = ["serve", "serve_store"]
