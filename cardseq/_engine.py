"""Picks the engine at import: the compiled one, or the pure twin.

``CARDSEQ_NO_EXTENSIONS=1`` (or an interpreter other than CPython) selects the pure
twin; a compiled engine that fails to import falls back to it quietly. Type checkers
take the pure twin's branch, so they see its signatures (``_engine_c.pyi`` repeats
them for the compiled module).

Callers look the engine up here at each call (``_engine.engine.render_into``), never
import its functions: ``engine`` is then the one name a test replaces to run blocks on
the other twin.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from ._engine_py import Layout

NO_EXTENSIONS = (
    bool(os.environ.get("CARDSEQ_NO_EXTENSIONS")) or sys.implementation.name != "cpython"
)
#: True when the compiled engine is the one the library uses (``engine`` at import)
COMPILED = False

if TYPE_CHECKING or NO_EXTENSIONS:
    from . import _engine_py as engine
else:
    try:
        from . import _engine_c as engine
    except ImportError:  # pragma: no cover - only without a build
        from . import _engine_py as engine
    else:
        COMPILED = True

__all__ = ["COMPILED", "Layout", "engine"]
