"""The server's settings as two typed objects: what the app does (``AppSettings``, which
``create_app`` takes) and how it listens (``ListenSettings``, which ``run.serve`` takes).
``cardseq serve`` fills both, one option a field (a test walks the fields), so no setting
is out of the command's reach; each is checked here, once, whoever made it.

Standard library only: the command reads these before it knows the server extra is
installed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ..errors import InvalidArgument
from ..keys import KeySource
from ..odds import DEFAULT_RATE
from . import limits
from .limits import (
    MAX_BODY,
    MAX_BURST,
    MAX_CONNECTIONS,
    MAX_COUNT,
    MAX_RATE,
    MAX_TIMEOUT,
    MAX_WORKERS,
    MIN_RATE,
    MIN_TIMEOUT,
    within,
)
from .logs import FORMATS, LEVELS
from .peers import default_limit

#: each user's token bucket (anonymous requests: each address's); the rate is also the
#: guess rate ``cardseq series audit`` assumes by default
DEFAULT_BURST = 2000
#: seconds a client has to send a request body once its headers came
DEFAULT_BODY_TIMEOUT = 30.0
#: seconds a client has to send a request's headers, and to start the next request
DEFAULT_HEADER_TIMEOUT = 10.0
#: connections served at once in a process; more wait until one closes
DEFAULT_MAX_CONNECTIONS = 1000
DEFAULT_MAX_CONNECTIONS_PER_IP = default_limit(DEFAULT_MAX_CONNECTIONS)


@dataclass(frozen=True, kw_only=True)
class AppSettings:
    """What the app does: authentication, limits, the store's opening, the keys.

    A value out of its range is 701 naming the field (``limits``), when the object is
    made: before any store is opened or any process started.
    """

    users_file: str | None
    """Users for Basic authentication (``cardseq users add``); None: no authentication,
    every route open to anyone who can connect."""
    rate: float = DEFAULT_RATE
    """Requests a second per user (token bucket refill); anonymous: per address."""
    burst: int = DEFAULT_BURST
    """Requests a user may make at once (bucket size)."""
    max_count: int = limits.DEFAULT_MAX_COUNT
    """Most numbers one generate request may ask for (3026 above it)."""
    max_body: int = limits.DEFAULT_MAX_BODY
    """Largest request body in bytes (413 above it)."""
    body_timeout: float = DEFAULT_BODY_TIMEOUT
    """Seconds a client has to send a body once its headers came (408 after)."""
    migrate: bool = True
    """False: open the store without creating or migrating tables (``open_store``)."""
    metrics_public: bool = False
    """True: anyone may read ``/metrics``; otherwise it takes the API's credentials."""
    keys: KeySource = field(default=None, repr=False)
    """Where the RANDOM series' keys come from (``cardseq.keys``; the environment too).
    A process of several workers needs one it can pickle: a mapping or a path."""
    workers: int = 1
    """Processes serving the port; each limits with its share of ``rate`` and ``burst``,
    so that together they never let a client past them. Above 1, a store private to a
    process (SQLite in memory) is refused (701)."""
    max_connections_per_ip: int = DEFAULT_MAX_CONNECTIONS_PER_IP
    """Requests one client address may have in progress at once, per process (429)."""

    def __post_init__(self) -> None:
        within("rate", self.rate, MIN_RATE, MAX_RATE)
        within("burst", self.burst, 1, MAX_BURST, whole=True)
        within("max_count", self.max_count, 1, MAX_COUNT, whole=True)
        within("max_body", self.max_body, 1, MAX_BODY, whole=True)
        within("body_timeout", self.body_timeout, MIN_TIMEOUT, MAX_TIMEOUT)
        within("workers", self.workers, 1, MAX_WORKERS, whole=True)
        within(
            "max_connections_per_ip", self.max_connections_per_ip, 1, MAX_CONNECTIONS, whole=True
        )


@dataclass(frozen=True, kw_only=True)
class ListenSettings:
    """How the server listens and logs (Granian's part), per process."""

    host: str = "127.0.0.1"
    """Address to listen on (``0.0.0.0``: every interface)."""
    port: int = 8000
    """TCP port to listen on (0: one the system picks)."""
    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    """Seconds a client has to send a request's headers; also how long an idle
    keep-alive connection stays open."""
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    """Connections served at once in a process; more wait until one closes."""
    forwarded_allow_ips: Sequence[str] = ()
    """Proxies (addresses or networks) whose ``X-Forwarded-For`` is trusted; from anyone
    else the peer's own address is the client's."""
    access_log: bool = True
    """False: no log line per request (errors and reservations are still logged)."""
    log_level: str = "info"
    """The least severe records logged, by cardseq and Granian (``logs.LEVELS``)."""
    log_format: str = "text"
    """``text``, or ``json``: one object a line, for log shippers (``logs.FORMATS``)."""

    def __post_init__(self) -> None:
        within("port", self.port, 0, 65535, whole=True)
        within("header_timeout", self.header_timeout, MIN_TIMEOUT, MAX_TIMEOUT)
        within("max_connections", self.max_connections, 1, MAX_CONNECTIONS, whole=True)
        for name, value, allowed in (
            ("log_level", self.log_level, LEVELS),
            ("log_format", self.log_format, FORMATS),
        ):
            if value not in allowed:
                raise InvalidArgument.bad(name, value, f"is not one of {', '.join(allowed)}")
        object.__setattr__(self, "forwarded_allow_ips", tuple(self.forwarded_allow_ips))

    @property
    def max_connections_per_ip(self) -> int:
        """The per-address limit that goes with ``max_connections`` when none is given."""
        return default_limit(self.max_connections)


__all__ = [
    "DEFAULT_BODY_TIMEOUT",
    "DEFAULT_BURST",
    "DEFAULT_HEADER_TIMEOUT",
    "DEFAULT_MAX_CONNECTIONS",
    "DEFAULT_MAX_CONNECTIONS_PER_IP",
    "DEFAULT_RATE",
    "AppSettings",
    "ListenSettings",
]
