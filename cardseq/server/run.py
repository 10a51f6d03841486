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
import ctypes
import functools
import gc
import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any

from granian.constants import HTTPModes, Interfaces
from granian.http import HTTP1Settings
from granian.log import LogLevels
from granian.server.embed import Server
from granian.server.mp import MPServer
from granian.utils.proxies import wrap_asgi_with_proxy_headers
from starlette.types import ASGIApp

from .limits import MAX_CONNECTIONS, MAX_TIMEOUT, MAX_WORKERS, MIN_TIMEOUT, within
from .logs import logging_config

#: seconds a client has to send a request's headers, and to start the next request
DEFAULT_HEADER_TIMEOUT = 10.0
#: connections served at once; more wait until one closes
DEFAULT_MAX_CONNECTIONS = 1000


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


def serve(
    factory: Callable[[], ASGIApp],
    *,
    host: str,
    port: int,
    workers: int = 1,
    access_log: bool = True,
    header_timeout: float = DEFAULT_HEADER_TIMEOUT,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
    forwarded_allow_ips: Sequence[str] = (),
    log_level: str = "info",
    log_format: str = "text",
) -> None:
    """Serve the app ``factory()`` makes over HTTP/1.1 on ``host``:``port`` until
    interrupted, in ``workers`` processes, each making its own app (``factory`` must be
    picklable). ``log_level`` and ``log_format`` apply to cardseq's and Granian's
    loggers, the access log included (``cardseq.server.logs``).

    ``X-Forwarded-For`` is honoured only from the peers in ``forwarded_allow_ips``
    (addresses or networks); from anyone else the peer's own address is the client's.
    ``max_connections`` is per process; ``access_log`` False logs no line per request.
    A setting out of its range (``limits``) is 701, before anything starts.
    """
    within("port", port, 0, 65535, whole=True)
    within("workers", workers, 1, MAX_WORKERS, whole=True)
    within("header_timeout", header_timeout, MIN_TIMEOUT, MAX_TIMEOUT)
    within("max_connections", max_connections, 1, MAX_CONNECTIONS, whole=True)
    settings: dict[str, Any] = {
        "address": host,
        "port": port,
        "interface": Interfaces.ASGI,
        "http": HTTPModes.http1,
        "websockets": False,
        "backpressure": max_connections,
        "http1_settings": HTTP1Settings(header_read_timeout=max(1, round(header_timeout * 1000))),
        "log_level": LogLevels(log_level),
        "log_access": access_log,
        "log_dictconfig": logging_config(log_level, log_format),
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


__all__ = ["DEFAULT_HEADER_TIMEOUT", "DEFAULT_MAX_CONNECTIONS", "serve"]
