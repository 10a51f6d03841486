"""The optional HTTP server (extra ``server``): the reference API over ``CardService``.

``create_app`` needs Starlette, so it is imported on first use; the users file tools in
``cardseq.server.auth`` need only the standard library.
"""

from __future__ import annotations

from typing import Any

from ..extras import needed

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        with needed("server", "the HTTP server"):
            from .app import create_app

        return create_app
    raise AttributeError(f"module 'cardseq.server' has no attribute {name!r}")
