"""A missing optional extra is one line naming what to install, never a traceback
(issue 22): a ``postgresql://`` store without psycopg, the server without its extra,
and the comparison's competitors without ``cardseq[bench]``.

The real case runs in a new venv that has cardseq and only its required dependencies
(numpy, click), linked from this environment: nothing is installed or downloaded, and
psycopg, Starlette and Granian are really absent there.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from click.testing import CliRunner

import cardseq
from cardseq import aio
from cardseq.bench import cases
from cardseq.cli import main
from cardseq.extras import MODULES, install, needed
from cardseq.store import open_store

PG_URL = "postgresql://cardseq@127.0.0.1:9/none"


def one_line(feature: str, extra: str) -> re.Pattern[str]:
    """The whole output of a command that misses ``extra``: one line."""
    return re.compile(
        rf"error 500: {re.escape(feature)} needs the extra '{extra}' \(\w+ is not installed\):"
        rf" pip install 'cardseq\[{extra}\]'\n"
    )


POSTGRES = one_line("a postgresql:// store", "postgres")
SERVER = one_line("cardseq serve", "server")


def requirements(extra: str | None) -> set[str]:
    """The distributions cardseq requires with ``extra`` (None: always), by name."""
    found = set()
    for line in importlib.metadata.requires("cardseq") or []:
        name, _, marker = line.partition(";")
        if (extra is None and not marker) or (extra and f'extra == "{extra}"' in marker):
            found.add(re.split(r"[\[<>=!~ ]", name.strip(), maxsplit=1)[0].lower())
    return found


# ---- in this process, with the modules blocked --------------------------------------


@pytest.fixture
def without(monkeypatch):
    """Make ``import NAME`` fail as it does where NAME is not installed; cardseq's
    modules that import one are imported afresh."""

    def block(*names: str) -> None:
        for name in names:
            monkeypatch.setitem(sys.modules, name, None)
        loaded = (*(f"{name}." for name in names), "cardseq.server.")
        for name in [n for n in sys.modules if n.startswith(loaded)]:
            monkeypatch.delitem(sys.modules, name)

    return block


def test_a_postgresql_url_without_psycopg(without, tmp_path):
    without("psycopg")
    result = CliRunner().invoke(main, ["series", "list", "--db", PG_URL])
    assert result.exit_code == 1 and POSTGRES.fullmatch(result.output), result.output
    with pytest.raises(cardseq.MissingExtra, match=r"pip install 'cardseq\[postgres\]'"):
        open_store(PG_URL)
    with pytest.raises(ImportError):  # what it raised before, so callers' handlers still work
        open_store(PG_URL)


def test_the_async_api_without_psycopg(without):
    without("psycopg")
    with pytest.raises(cardseq.MissingExtra, match="extra 'postgres'"):
        asyncio.run(aio.AsyncStore.open(PG_URL))


def test_serve_and_create_app_without_the_server_extra(without, tmp_path):
    without("granian", "starlette")
    result = CliRunner().invoke(
        main, ["serve", "--no-auth", "--db", f"sqlite:///{tmp_path / 's.db'}"]
    )
    assert result.exit_code == 1 and SERVER.fullmatch(result.output), result.output
    assert not (tmp_path / "s.db").exists()
    import cardseq.server

    with pytest.raises(cardseq.MissingExtra, match=r"pip install 'cardseq\[server\]'"):
        cardseq.server.create_app  # noqa: B018


def test_a_module_of_no_extra_missing_is_not_disguised():
    """A missing module that is not the extra's is a bug: it raises as it is."""
    with pytest.raises(ModuleNotFoundError) as raised, needed("postgres", "a store"):
        import cardseq_no_such_module  # type: ignore[import-not-found]  # noqa: F401
    assert not isinstance(raised.value, cardseq.MissingExtra)


def test_each_extras_modules_are_what_it_installs():
    assert requirements("postgres") == {"psycopg"}
    assert requirements("ff1") == set(MODULES["ff1"]) == {"cryptography"}
    assert requirements("print") == {"python-barcode", "pillow"}  # imported as barcode, PIL
    assert MODULES["print"] == {"barcode", "PIL"}
    assert requirements("server") == {
        "starlette",
        "granian",
        "msgspec",
        "prometheus-client",
        "swagger-ui-bundle",
    }
    assert {m.replace("_", "-") for m in MODULES["server"]} == requirements("server")


def test_the_bench_hint_names_an_extra_that_installs_the_competitor(monkeypatch):
    """On main the bench said to install cardseq[bench] for luhn and python-stdnum,
    which that extra did not install."""
    monkeypatch.setattr(cases, "optional", lambda module: None)
    skipped = [
        case
        for task in (cases.sequential(10), cases.unguessable(10), cases.validation(10))
        for case in task.cases
        if case.run is None
    ]
    assert {case.package for case in skipped} >= {"luhn", "python-stdnum", "faker", "ff3"}
    for case in skipped:
        assert case.skipped == f"not installed ({install('bench')})"
        assert case.package in requirements("bench"), case.package
    assert "matplotlib" in requirements("bench")  # the plots


# ---- in a venv without the extras ---------------------------------------------------


def bare_venv(folder: Path) -> Path:
    """A venv with cardseq and the distributions it always requires, linked from this
    environment's site-packages; its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    python = folder / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(site).is_dir() and site != sysconfig.get_path("purelib")
    for name in {"cardseq", *requirements(None)}:
        distribution = importlib.metadata.distribution(name)
        for top in {file.parts[0] for file in distribution.files or [] if file.parts[0] != ".."}:
            link = Path(site) / top
            if not link.exists():
                link.symlink_to(Path(str(distribution.locate_file(top))))
    return python


@pytest.mark.heavy
def test_in_a_venv_without_the_extras_each_is_one_line(tmp_path):
    python = bare_venv(tmp_path / "venv")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [python, *args], cwd=tmp_path, env=env, capture_output=True, text=True, check=False
        )

    absent = run("-c", "import psycopg")
    assert absent.returncode == 1 and "No module named 'psycopg'" in absent.stderr
    assert run("-m", "cardseq", "-V").stdout == f"cardseq {cardseq.__version__}\n"
    for args, pattern in (
        (["series", "list", "--db", PG_URL], POSTGRES),
        (["db", "migrate", "--db", PG_URL], POSTGRES),
        (["serve", "--no-auth", "--db", "sqlite:///served.db"], SERVER),
    ):
        done = run("-m", "cardseq", *args)
        assert (done.returncode, done.stdout) == (1, ""), args
        assert pattern.fullmatch(done.stderr), done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["venv"]  # served.db not made
