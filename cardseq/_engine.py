"""Picks the engine at import: the compiled one, or the pure twin.

``CARDSEQ_NO_EXTENSIONS=1`` (or an interpreter other than CPython) selects the pure
twin; a compiled engine that fails to import falls back to it quietly. Type checkers
take the pure twin's branch, so they see its signatures (``_engine_c.pyi`` repeats
them for the compiled module).
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from ._engine_py import Layout

NO_EXTENSIONS = (
    bool(os.environ.get("CARDSEQ_NO_EXTENSIONS")) or sys.implementation.name != "cpython"
)
COMPILED = False

if TYPE_CHECKING or NO_EXTENSIONS:
    from ._engine_py import render_into, render_list
else:
    try:
        from ._engine_c import render_into, render_list
    except ImportError:  # pragma: no cover - only without a build
        from ._engine_py import render_into, render_list
    else:
        COMPILED = True

__all__ = ["COMPILED", "Layout", "render_into", "render_list"]
