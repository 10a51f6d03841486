"""Signatures of the compiled engine (``_engine_c.pyx``): those of its pure twin."""

import numpy as np

from ._engine_py import Layout, WritableBuffer

def render_into(
    out: WritableBuffer, stride: int, layout: Layout, first_index: int, count: int, descending: bool
) -> None: ...
def render_list(layout: Layout, first_index: int, count: int, descending: bool) -> list[str]: ...
def parse_rows(
    rows: np.ndarray, layout: Layout, reasons: np.ndarray, indexes: np.ndarray
) -> None: ...
def pins_into(
    out: WritableBuffer,
    stride: int,
    state: tuple[int, int, int, int],
    first_index: int,
    count: int,
    descending: bool,
    length: int,
) -> None: ...
