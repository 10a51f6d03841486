"""The optional extras of ``pyproject.toml``, and the error a missing one becomes.

A feature imports its extra's modules only when used, inside :func:`needed`: a module
of that extra not installed is then one ``MissingExtra`` naming the ``pip install`` that
brings it, never a traceback; any other missing module is a bug and still raises as it is.
"""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import Iterator

from .errors import MissingExtra

#: the top-level modules each extra installs that cardseq imports
MODULES = {
    "postgres": frozenset({"psycopg"}),
    "ff1": frozenset({"cryptography"}),
    "print": frozenset({"barcode", "PIL"}),
    "server": frozenset(
        {"starlette", "granian", "msgspec", "prometheus_client", "swagger_ui_bundle"}
    ),
}


def install(extra: str) -> str:
    """The command that installs ``extra``."""
    return f"pip install 'cardseq[{extra}]'"


@contextlib.contextmanager
def needed(extra: str, feature: str) -> Iterator[None]:
    """Turn a missing module of ``extra`` imported in the block into ``MissingExtra``:
    ``feature`` (what the user asked for) needs it."""
    try:
        yield
    except ModuleNotFoundError as error:
        missing = (error.name or "").partition(".")[0]
        if missing not in MODULES[extra]:
            raise
        raise _missing(extra, feature, missing) from None


def require(extra: str, feature: str) -> None:
    """``MissingExtra`` now, before ``feature`` does anything, when a module of
    ``extra`` is not installed (found without importing it)."""
    for module in sorted(MODULES[extra]):
        if importlib.util.find_spec(module) is None:
            raise _missing(extra, feature, module)


def _missing(extra: str, feature: str, module: str) -> MissingExtra:
    return MissingExtra(
        f"{feature} needs the extra {extra!r} ({module} is not installed): {install(extra)}",
        field="extra",
        value=extra,
    )
