"""The two engine twins: each loaded where expected, and byte-identical."""

from __future__ import annotations

import ast
import importlib
import inspect
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import cardseq
from cardseq import _engine, _engine_py

from .strategies import ALL, series_and_range

#: every test here is about the engine twins: all run in the pure-engine stage too
pytestmark = pytest.mark.engine


def test_dispatcher_honours_the_switch():
    """A compiled run really uses the compiled engine; a pure run really does not."""
    if os.environ.get("CARDSEQ_NO_EXTENSIONS"):
        assert cardseq.COMPILED is False
        assert _engine.engine is _engine_py
        assert _engine.engine.render_into is _engine_py.render_into
    else:
        assert cardseq.COMPILED is True
        compiled = importlib.import_module("cardseq._engine_c")
        assert _engine.engine is compiled
        assert _engine.engine.render_into is compiled.render_into
        assert _engine.engine.render_list is compiled.render_list


def test_engine_fixture_switches_what_blocks_use(engine, monkeypatch):
    """A test that takes ``engine`` runs ``Block`` on that twin: the pure twin's inner
    function is called on ``[py]``, never on ``[c]`` (which formats a narrow counter on
    its own), and the output is the same."""
    calls = []
    inner = _engine_py._render_rows
    monkeypatch.setattr(_engine_py, "_render_rows", lambda *a: calls.append(a) or inner(*a))
    s = cardseq.CardSeries("F", prefix="7", length=12, method="LUHN")
    block = s.block(40, 5)
    expected = [s.format(i) for i in range(40, 45)]
    assert _engine.engine is engine
    assert block.to_list() == expected
    assert [n.decode() for n in block.to_numpy("desc")] == expected[::-1]
    assert len(calls) == (2 if engine is _engine_py else 0)


_PROBE = (
    "import cardseq._engine as e, cardseq._engine_py as p;"
    " print(e.COMPILED, e.engine is p, e.engine.render_list is p.render_list)"
)


@pytest.mark.parametrize(
    ("switch", "prelude"),
    [
        ("1", ""),  # the switch
        ("", "import sys; sys.implementation.name = 'pypy';"),  # not CPython
        ("", "import sys; sys.modules['cardseq._engine_c'] = None;"),  # no importable build
    ],
    ids=["switch", "not-cpython", "no-build"],
)
def test_dispatcher_falls_back_to_the_pure_twin(switch, prelude):
    """Each way of not using the compiled engine picks the pure twin, quietly."""
    env = {**os.environ, "CARDSEQ_NO_EXTENSIONS": switch}
    run = subprocess.run(
        [sys.executable, "-c", prelude + _PROBE],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (run.returncode, run.stdout, run.stderr) == (0, "False True True\n", "")


def test_stub_declares_the_compiled_engine_with_the_twins_signatures():
    """``_engine_c.pyi`` names what the compiled module exports, with the pure twin's
    parameters and annotations (type checkers trust the stub, not the module)."""
    compiled = importlib.import_module("cardseq._engine_c")
    tree = ast.parse(Path(_engine_py.__file__).with_name("_engine_c.pyi").read_text())
    stub = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    exported = {n for n, v in vars(compiled).items() if callable(v) and not n.startswith("_")}
    assert set(stub) == exported
    for name, node in stub.items():
        params = [arg.arg for arg in node.args.args]
        declared = {arg.arg: ast.unparse(arg.annotation) for arg in node.args.args}
        declared["return"] = ast.unparse(node.returns)
        assert declared == getattr(_engine_py, name).__annotations__
        assert list(inspect.signature(getattr(compiled, name)).parameters) == params


def _expected(s, start, count, descending):
    numbers = [s.format(i) for i in range(start, start + count)]
    return numbers[::-1] if descending else numbers


@pytest.mark.heavy
@given(series_and_range(ALL), st.booleans())
def test_render_list_matches_format(engine, case, descending):
    s, start, count = case
    first = start + count - 1 if descending else start
    assert engine.render_list(s._layout, first, count, descending) == _expected(
        s, start, count, descending
    )


@pytest.mark.heavy
@given(series_and_range(ALL), st.booleans(), st.integers(0, 3))
def test_render_into_matches_format(engine, case, descending, pad):
    s, start, count = case
    stride = s.length + pad
    out = np.full(count * stride + 7, 0xEE, dtype=np.uint8)
    first = start + count - 1 if descending else start
    engine.render_into(out, stride, s._layout, first, count, descending)
    expected = b"".join(n.encode() + b"\n" * pad for n in _expected(s, start, count, descending))
    assert out[: count * stride].tobytes() == expected
    assert (out[count * stride :] == 0xEE).all(), "wrote past the records"


@pytest.mark.heavy
@given(series_and_range(ALL, max_count=3000), st.booleans())
def test_twins_are_byte_identical(case, descending):
    """The compiled engine and the pure twin write the same bytes."""
    compiled = pytest.importorskip("cardseq._engine_c")
    s, start, count = case
    first = start + count - 1 if descending else start
    stride = s.length + 1
    a = np.zeros(count * stride, dtype=np.uint8)
    b = np.zeros(count * stride, dtype=np.uint8)
    compiled.render_into(a, stride, s._layout, first, count, descending)
    _engine_py.render_into(b, stride, s._layout, first, count, descending)
    assert a.tobytes() == b.tobytes()
    assert compiled.render_list(s._layout, first, count, descending) == _engine_py.render_list(
        s._layout, first, count, descending
    )


def test_pure_twin_chunks_agree(monkeypatch):
    """Chunk borders inside the pure twin (including an 18-digit wrap) change nothing."""
    s = cardseq.CardSeries("W", length=40, method="LUHN")
    start = 10**18 - 1000
    whole = _engine_py.render_list(s._layout, start, 3000, False)
    monkeypatch.setattr(_engine_py, "_CHUNK", 7)
    assert _engine_py.render_list(s._layout, start, 3000, False) == whole
    assert whole == [s.format(i) for i in range(start, start + 3000)]


def test_too_small_buffer_is_refused(engine):
    s = cardseq.CardSeries("B", length=10)
    with pytest.raises(ValueError, match="too small"):
        engine.render_into(np.zeros(19, np.uint8), 10, s._layout, 0, 2, False)
    with pytest.raises(ValueError, match="stride"):
        engine.render_into(np.zeros(100, np.uint8), 9, s._layout, 0, 2, False)
