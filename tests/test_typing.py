"""What a type checker sees of the public API: every method typed, so that mistakes in
a user's program are found before it runs (the programs are in tests/typing/)."""

import ast
import inspect
import re
import subprocess
import sys
from pathlib import Path

from cardseq import CardService
from cardseq.aio import AsyncCardService, AsyncSegmentAllocator, AsyncStore
from cardseq.allocator import SegmentAllocator
from cardseq.store import Store

HERE = Path(__file__).resolve().parent / "typing"
ROOT = HERE.parent.parent
PUBLIC = [Store, CardService, AsyncStore, AsyncCardService, SegmentAllocator, AsyncSegmentAllocator]


def mypy(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )


def test_the_program_that_calls_every_method_type_checks():
    done = mypy(HERE / "every_method.py")
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_program_calls_every_public_method():
    called = {
        node.attr
        for node in ast.walk(ast.parse((HERE / "every_method.py").read_text()))
        if isinstance(node, ast.Attribute)
    }
    for cls in PUBLIC:
        for name, value in vars(cls).items():
            deprecated = getattr(value, "__deprecated__", None)  # typing/old_names.py
            if not name.startswith("_") and inspect.isfunction(value) and not deprecated:
                assert name in called, f"{cls.__name__}.{name} is not called"


def test_mistakes_are_found_on_their_lines():
    """A misspelt method, a record attribute that does not exist and an argument of the
    wrong type: each is an error on its line, and there is no other (with an untyped
    API, as the async one was, mypy finds none of them). ``reserve`` keeps an overload
    for its old keyword ``series_id=`` for one release, so its wrong argument is told as
    no overload matching, with the argument types."""
    done = mypy(HERE / "mistakes.py")
    found = re.findall(r"mistakes\.py:(\d+): error: .*\[([a-z-]+)\]", done.stdout)
    assert found == [("11", "attr-defined"), ("12", "attr-defined"), ("13", "call-overload")], (
        done.stdout
    )
    assert '"AsyncCardService" has no attribute "generat"' in done.stdout
    assert '"SeriesInfo" has no attribute "code"' in done.stdout
    assert (
        'variant of "reserve" of "AsyncCardService" matches argument types "str", "int", "int"'
        in done.stdout
    )


def test_old_spellings_type_check_and_are_reported_deprecated():
    """A program written before the renames still type-checks: the old names are real
    methods and overloads, which mypy reports as deprecated when asked, line by line."""
    path = HERE / "old_names.py"
    done = mypy(path)
    assert done.returncode == 0, done.stdout + done.stderr
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--enable-error-code", "deprecated", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    old = [n for n, line in enumerate(path.read_text().splitlines(), 1) if line.endswith("# old")]
    found = re.findall(r"old_names\.py:(\d+): error: .*\[([a-z-]+)\]", done.stdout)
    assert len(old) == 13 and found == [(str(n), "deprecated") for n in old], done.stdout
