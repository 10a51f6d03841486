"""Requests in progress per client address: what an ASGI app can enforce of a limit on
each address's connections.

Granian caps the connections a process serves at once (``--max-connections``), not
those of one address, and an ASGI app sees a connection only while it carries a
request: from the request's headers to the end of its answer (after the answer, the
app is told nothing, not even that the connection closed). HTTP/1.1 carries one
request at a time on a connection, so an address's requests in progress are its busy
connections: a slow body, a slow credential check, a long generate. Connections that
are still sending their headers, or idle between requests, never reach the app; the
header timeout closes them.
"""

from __future__ import annotations

#: the share of a process's connections one address may hold by default: a tenth, so
#: that ten addresses are needed to fill a process
SHARE = 10


def default_limit(max_connections: int) -> int:
    """The default per-address limit for a process serving ``max_connections``."""
    return max(1, max_connections // SHARE)


class AddressSlots:
    """At most ``limit`` requests in progress per address (one process's count: each
    worker has its own, as each has its own ``--max-connections``).

    Used from the event loop only, so it needs no lock.
    """

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"limit {limit!r} must be at least 1")
        self.limit = limit
        self._busy: dict[str, int] = {}

    def take(self, address: str) -> bool:
        """Take a slot for a request of ``address``: False when it holds them all."""
        held = self._busy.get(address, 0)
        if held >= self.limit:
            return False
        self._busy[address] = held + 1
        return True

    def give_back(self, address: str) -> None:
        """The request's answer is sent, or it ended otherwise: its slot is free. An
        address with no request in progress is forgotten."""
        held = self._busy[address] - 1
        if held:
            self._busy[address] = held
        else:
            del self._busy[address]

    def held(self, address: str) -> int:
        return self._busy.get(address, 0)


__all__ = ["SHARE", "AddressSlots", "default_limit"]
