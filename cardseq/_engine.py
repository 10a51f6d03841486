"""Picks the engine at import: the compiled one, or the pure twin.

``CARDSEQ_NO_EXTENSIONS=1`` (or an interpreter other than CPython) selects the pure
twin; a compiled engine that fails to import falls back to it quietly. Type checkers
see the pure twin's signatures.
"""

from __future__ import annotations

import os
import sys

from ._engine_py import Layout, render_into, render_list

COMPILED = False

if not os.environ.get("CARDSEQ_NO_EXTENSIONS") and sys.implementation.name == "cpython":
    try:
        from ._engine_c import render_into, render_list  # type: ignore[no-redef]
    except ImportError:  # pragma: no cover - only without a build
        pass
    else:
        COMPILED = True

__all__ = ["COMPILED", "Layout", "render_into", "render_list"]
