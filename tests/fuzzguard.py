"""A pytest plugin for tests marked ``fuzz``: tell a crash of the fuzzer from a finding.

A failed check or assertion fails the test as usual. Any other exception comes from the
fuzzing machinery itself (Schemathesis, Hypothesis; a fault of the server is answered
with a 500, which is a failed check), and its internal traceback would read like a bug
in cardseq. The test fails instead with one line that says the fuzzer crashed, with the
versions to report it against. Schemathesis builds some cases while collecting, so a
crash there is caught too.
"""

from __future__ import annotations

from collections.abc import Generator
from importlib import metadata
from traceback import extract_tb

import pytest
from _pytest._code.code import ExceptionChainRepr

FUZZERS = ("schemathesis", "hypothesis")
_MAX_MESSAGE = 500


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "fuzz: a fuzz test; a crash of the fuzzer fails it with one clear line"
    )


def is_failed_check(error: BaseException) -> bool:
    """A failed check or assertion, alone or grouped (Hypothesis and Schemathesis group
    several failures of one test)."""
    if isinstance(error, BaseExceptionGroup):
        return all(is_failed_check(inner) for inner in error.exceptions)
    return isinstance(error, AssertionError)


def crash_message(error: str, where: str | None) -> str:
    """One line: the fuzzers' versions, the error, where it was raised."""
    versions = ", ".join(f"{name} {metadata.version(name)}" for name in FUZZERS)
    text = " ".join(error.split())[:_MAX_MESSAGE]
    return f"the fuzzer crashed ({versions}): {text}" + (f", raised at {where}" if where else "")


def _is_fuzz(node: pytest.Item | pytest.Collector) -> bool:
    """Marked ``fuzz``: the item, or for a collector the test function it expands."""
    function = getattr(node, "test_function", None)
    marks = getattr(function, "pytestmark", [])
    return node.get_closest_marker("fuzz") is not None or any(m.name == "fuzz" for m in marks)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> Generator[None, object, object]:
    if not _is_fuzz(pyfuncitem):
        return (yield)
    try:
        return (yield)
    except (Exception, BaseExceptionGroup) as error:
        if is_failed_check(error):
            raise
        frames = extract_tb(error.__traceback__)
        where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else None
        message = crash_message(f"{type(error).__name__}: {error}", where)
    pytest.fail(message, pytrace=False)  # outside the handler: no chained traceback


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    """A fuzz test that cannot be collected: no check has run, so the fuzzer crashed. The
    first exception of the chain is the cause (Schemathesis wraps it)."""
    report = yield
    longrepr = report.longrepr
    if report.failed and isinstance(longrepr, ExceptionChainRepr) and _is_fuzz(collector):
        cause = longrepr.chain[0][1]
        if cause is not None:
            report.longrepr = crash_message(cause.message, f"{cause.path}:{cause.lineno}")
    return report
