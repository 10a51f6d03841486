"""The public surface is made of real methods: what mypy, ``help()``, ``dir()`` and the
API reference read is what runs, and the sync and async APIs agree."""

import ast
import asyncio
import inspect
import os
import shutil
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from cardseq import Block, CardSeries, CardService
from cardseq.aio import AsyncCardService, AsyncSegmentAllocator, AsyncStore
from cardseq.allocator import SegmentAllocator
from cardseq.store import Store
from cardseq.store.ops import Op

ROOT = Path(__file__).resolve().parent.parent
TWINS = [(Store, AsyncStore), (CardService, AsyncCardService)]
PUBLIC = [Store, CardService, AsyncStore, AsyncCardService, SegmentAllocator, AsyncSegmentAllocator]


def operations(cls: type) -> list[str]:
    """The public names of ``cls``'s operations (``@operation`` generators)."""
    return sorted(
        name.removeprefix("_")
        for name, value in inspect.getmembers(cls)
        if getattr(value, "__cardseq_operation__", False)
    )


def aliases(cls: type) -> list[str]:
    """The deprecated old names of ``cls``' public methods."""
    return sorted(
        name
        for name, value in inspect.getmembers(cls)
        if not name.startswith("_") and getattr(value, "__deprecated__", None)
    )


@pytest.mark.parametrize(("sync", "twin"), TWINS, ids=lambda c: c.__name__)
def test_every_operation_is_a_method_on_both_sides_with_one_signature(sync, twin):
    names = operations(sync)
    assert len(names) >= 10
    for name in names:
        method, awaited = inspect.getattr_static(sync, name), inspect.getattr_static(twin, name)
        assert inspect.isfunction(method), name
        assert inspect.iscoroutinefunction(awaited), name
        sync_sig = inspect.signature(method, eval_str=True)
        assert inspect.signature(awaited, eval_str=True) == sync_sig, name
        op = inspect.signature(getattr(sync, "_" + name), eval_str=True)
        assert list(sync_sig.parameters.values()) == list(op.parameters.values()), name
        assert op.return_annotation == Op[sync_sig.return_annotation], name
        assert method.__doc__ and method.__doc__ == awaited.__doc__, name


@pytest.mark.parametrize("cls", PUBLIC, ids=lambda c: c.__name__)
def test_dir_lists_every_public_method_and_nothing_is_made_at_run_time(cls):
    assert "__getattr__" not in vars(cls)
    public = [n for n in dir(cls) if not n.startswith("_")]
    for name in operations(cls):
        assert name in public
    for name in public:
        value = inspect.getattr_static(cls, name)
        if callable(value) and not isinstance(value, type):
            assert inspect.signature(getattr(cls, name)).parameters, name  # not (*args, **kw)
            assert "*args" not in str(inspect.signature(getattr(cls, name))), name


@pytest.mark.parametrize(("sync", "twin"), TWINS, ids=lambda c: c.__name__)
def test_the_twin_offers_every_public_method_of_the_sync_api(sync, twin):
    assert set(operations(sync)) <= {n for n in dir(twin) if not n.startswith("_")}


def test_async_objects_have_async_io_only_and_refuse_unknown_attributes(tmp_path):
    assert not hasattr(AsyncStore, "close") and not hasattr(AsyncCardService, "close")
    assert inspect.iscoroutinefunction(AsyncStore.aclose)
    sync = inspect.signature(CardService.__init__).parameters
    awaited = inspect.signature(AsyncCardService.__init__).parameters
    assert list(sync)[2:] == list(awaited)[2:]  # the same options, keys= included

    async def main() -> None:
        async with await AsyncStore.open(f"sqlite:///{tmp_path / 's.db'}") as store:
            service = AsyncCardService(store, keys={})
            assert service.store is store
            for target in (store, service):
                with pytest.raises(AttributeError):
                    target.busy_timeout = 5  # a misspelt setting is not passed through
            assert not hasattr(store.sync, "busy_timout")

    asyncio.run(main())


def test_facades_check_fails_on_a_stale_file(tmp_path):
    """The generator's --check (a CI gate) fails when an operation's signature or
    docstring changed and its methods were not written again, and passes on the tree."""
    tree = tmp_path / "tree"
    shutil.copytree(ROOT / "cardseq", tree / "cardseq", ignore=shutil.ignore_patterns("*.so"))
    shutil.copytree(ROOT / "tools", tree / "tools")
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    check = [sys.executable, str(tree / "tools" / "facades.py"), "--check"]
    assert subprocess.run(check, capture_output=True, check=False).returncode == 0
    path = tree / "cardseq" / "store" / "reservations.py"
    text = path.read_text()
    path.write_text(text.replace("status_label: str = DEFAULT_LABEL", 'status_label: str = "X"', 1))
    done = subprocess.run(check, capture_output=True, text=True, check=False)
    assert done.returncode == 1 and "cardseq/store/reservations.py" in done.stdout
    assert "cardseq/aio.py" in done.stdout  # the async twin is stale too
    subprocess.run(check[:-1], capture_output=True, check=True)
    assert subprocess.run(check, capture_output=True, check=False).returncode == 0
    assert 'status_label: str = "X"' in (tree / "cardseq" / "aio.py").read_text()


def _methods(cls: type) -> set[str]:
    """Public methods and properties of ``cls`` and its bases (not ``object``'s)."""
    kinds = (property, classmethod, staticmethod)
    return {
        name
        for name in dir(cls)
        if not name.startswith("_")
        and (
            inspect.isfunction(inspect.getattr_static(cls, name))
            or isinstance(inspect.getattr_static(cls, name), kinds)
        )
    }


@pytest.mark.heavy
def test_the_reference_lists_every_public_method(tmp_path):
    """The built site's inventory (objects.inv, what other sites link to) has an entry
    for every public method of the classes a user holds."""
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        check=True,
    )
    head, _, body = (site / "objects.inv").read_bytes().partition(b"zlib.\n")
    assert head.startswith(b"# Sphinx inventory version 2")
    listed = {line.split()[0] for line in zlib.decompress(body).decode().splitlines()}
    where = {
        Store: "cardseq.store.Store",
        CardService: "cardseq.CardService",
        AsyncStore: "cardseq.aio.AsyncStore",
        AsyncCardService: "cardseq.aio.AsyncCardService",
        SegmentAllocator: "cardseq.allocator.SegmentAllocator",
        AsyncSegmentAllocator: "cardseq.aio.AsyncSegmentAllocator",
        CardSeries: "cardseq.CardSeries",
        Block: "cardseq.Block",
    }
    for cls, path in where.items():
        missing = sorted(name for name in _methods(cls) if f"{path}.{name}" not in listed)
        assert not missing, f"{path}: {missing}"
    assert not any("_Awaited" in name or ".aio._" in name for name in listed)


def _generators() -> list[tuple[str, ast.FunctionDef]]:
    """Every operation, transaction body and helper generator of the package: the
    functions whose result is ``Op[...]`` or ``Body[...]``."""
    found = []
    for path in sorted((ROOT / "cardseq").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            returns = getattr(node, "returns", None)
            if (
                isinstance(node, ast.FunctionDef)
                and isinstance(returns, ast.Subscript)
                and isinstance(returns.value, ast.Name)
                and returns.value.id in ("Op", "Body")
            ):
                found.append((f"{path.relative_to(ROOT)}:{node.lineno} {node.name}", node))
    return found


def driving_calls(node: ast.FunctionDef, driving: set[str]) -> list[str]:
    """Calls in ``node`` of a public (driving) method: ``self.series(ref)`` where the
    operation must ``yield from self._series(ref)``."""
    return [
        f"line {call.lineno}: .{call.func.attr}()"
        for call in ast.walk(node)
        if isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and call.func.attr in driving
    ]


def test_operations_yield_from_operations_and_never_drive_one():
    """Inside an operation, a public method runs a whole operation on the calling
    thread: under ``cardseq.aio`` that blocks the event loop. Operations and bodies
    must ``yield from`` the generator instead (CONTRIBUTING.md)."""
    driving = {*operations(Store), *operations(CardService), *aliases(Store), *aliases(CardService)}
    generators = _generators()
    assert len(generators) > 50
    found = {where: calls for where, node in generators if (calls := driving_calls(node, driving))}
    assert found == {}


def test_the_convention_check_finds_a_driving_call():
    source = "def _op(self, ref) -> Op[int]:\n    info = self.series(ref)\n    yield from ()\n"
    (node,) = ast.parse(source).body
    assert driving_calls(node, set(operations(Store))) == ["line 2: .series()"]
