"""Guards that hold by identity, not by spelling (issue 19).

A store private to a process (SQLite in memory, however its URL is written) is refused
to several workers, by ``cardseq serve`` and by ``create_app``; and no output is written
over the store's database, the files SQLite keeps beside it (named, as SQLite names
them, after the file it resolved), or a keys file the command reads, by whatever name
it is reached: a symlink, a symlinked directory, a hard link, ``..``.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from cardseq import CardSeries, InvalidArgument, KeysInStore
from cardseq.cli import main
from cardseq.files import same_file
from cardseq.keys import write_keys_file
from cardseq.server.app import create_app
from cardseq.store import open_store

from .server_helpers import Server
from .test_cli import fails_with, ok
from .test_keys import old_store

#: URLs whose store is in memory with any SQLite build
IN_MEMORY = ["memory://", "sqlite:///:memory:", "sqlite:///:memory:?busy_timeout=100"]
#: names SQLite opens as a private database when it reads names as URIs (a build
#: option most builds set), else as ordinary files
URI_NAMES = ["file::memory:", "file:"]


def sqlite_file(name: str) -> str:
    """The file SQLite itself opens for ``name`` ('' for a private database): the
    oracle the guards must agree with."""
    conn = sqlite3.connect(name)
    try:
        return {row[1]: row[2] for row in conn.execute("PRAGMA database_list")}["main"]
    finally:
        conn.close()


@pytest.fixture
def cwd(tmp_path: Path, monkeypatch) -> Path:
    """A temporary working directory (a name SQLite reads as a file lands there)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def served(monkeypatch):
    """What `cardseq serve` would run, without running it."""
    import cardseq.server.run

    calls: list[object] = []
    monkeypatch.setattr(cardseq.server.run, "serve", lambda factory, *a, **s: calls.append(factory))
    return calls


# ---- several workers need a store they share -------------------------------------------


@pytest.mark.parametrize("url", IN_MEMORY)
def test_serve_refuses_workers_over_a_store_in_memory(tmp_path, url):
    """A real `cardseq serve --workers 2`: each worker would have a database of its own
    and hand out the same numbers (without the fix, `sqlite:///:memory:` starts)."""
    try:
        server = Server(tmp_path, url, "--no-auth", "--workers", "2")
    except RuntimeError as error:
        said = str(error)
    else:
        server.stop()
        pytest.fail(f"serve --workers 2 --db {url} started")
    assert "exited with 1" in said and "Traceback" not in said
    assert "error 701: --workers 2 needs a store the processes share" in said
    assert "in memory" in said


@pytest.mark.heavy
def test_serve_workers_over_a_file_store_hand_out_each_number_once(tmp_path):
    """The shared case still serves: two workers on one SQLite file, reached through a
    symlinked directory, never hand out a number twice."""
    (tmp_path / "data").mkdir()
    (tmp_path / "linked").symlink_to(tmp_path / "data")
    url = f"sqlite:///{tmp_path / 'linked' / 'shared.db'}"
    with open_store(url) as store:
        store.create_series(CardSeries("S", prefix="9", length=10))
    with Server(tmp_path, url, "--no-auth", "--workers", "2", "--rate", "1e6") as server:
        numbers = []
        for _ in range(12):
            with server.client() as http:  # a connection each: both workers answer
                answer = http.post("/v2/card/generate", json={"seriesId": 1, "count": 10})
                assert answer.status_code == 200, answer.text
                numbers += answer.json()["data"]
    assert len(numbers) == len(set(numbers)) == 120


@pytest.mark.parametrize("name", [":memory:", *URI_NAMES])
def test_serve_refuses_workers_as_sqlite_reads_the_name(cwd, served, name):
    """Refused exactly when SQLite opens the name as a private database."""
    runner = CliRunner(env={"CARDSEQ_DB": None})
    db = f"sqlite:///{name}"
    result = runner.invoke(main, ["serve", "--no-auth", "--workers", "2", "--db", db])
    if sqlite_file(name) == "":
        fails_with(result, 701)
        assert "--workers 2 needs a store the processes share" in result.stderr
        assert not served
    else:
        assert result.exit_code == 0, result.output
        assert len(served) == 1


@pytest.mark.parametrize("url", [*IN_MEMORY, *(f"sqlite:///{name}" for name in URI_NAMES)])
def test_create_app_refuses_workers_over_a_private_store(cwd, url):
    """The library's own entry point: the coded error, before any worker exists."""
    name = url.removeprefix("sqlite:///").partition("?")[0]
    private = url == "memory://" or sqlite_file(name) == ""
    if private:
        with pytest.raises(InvalidArgument) as info:
            create_app(url, users_file=None, workers=2)
        assert info.value.code == 701 and info.value.field == "workers"
        assert "needs a store the processes share" in info.value.message
    else:
        create_app(url, users_file=None, workers=2)
    create_app(url, users_file=None, workers=1)  # one process may keep it to itself


def test_create_app_takes_workers_over_a_file_store_and_refuses_none(tmp_path):
    url = f"sqlite:///{tmp_path / 'app.db'}"
    create_app(url, users_file=None, workers=3)
    with pytest.raises(InvalidArgument) as info:
        create_app(url, users_file=None, workers=0)
    assert info.value.code == 701 and info.value.field == "workers"


@pytest.mark.parametrize("url", [*IN_MEMORY, *(f"sqlite:///{name}" for name in URI_NAMES)])
def test_store_says_what_sqlite_opened(cwd, url):
    """``private`` and ``files`` come from SQLite, not from the URL's text; a private
    database is one for every thread of the store (each used to get its own, empty,
    under a `file:` name), and no stray file is left for a name SQLite read as a URI."""
    name = url.removeprefix("sqlite:///").partition("?")[0]
    file = "" if url == "memory://" else sqlite_file(name)
    if url.startswith("sqlite:///file:"):
        Path(file or name).unlink(missing_ok=True)  # the oracle's own file
    with open_store(url) as store:
        assert store.private == (file == "")
        assert store.files == (() if file == "" else (file, *(file + s for s in SUFFIXES)))
        store.create_series(CardSeries("T", prefix="9", length=10))
        seen = []
        reader = threading.Thread(target=lambda: seen.append(store.series("T").series.code))
        reader.start()
        reader.join()
        assert seen == ["T"]
    if file == "":
        assert os.listdir(cwd) == []


# ---- --out is never a file the command depends on --------------------------------------

SUFFIXES = ("-wal", "-shm", "-journal")

#: how a command reaches the store data/real.db (from the working directory)
STORE_NAMES = {
    "symlink": "link.db",
    "symlinked directory": "linked/real.db",
    "hard link": "hard.db",
    "relative with ..": "data/../linked/../data/real.db",
}


def make_store(cwd: Path) -> CliRunner:
    """data/real.db with series G and 3 numbers reserved, and every name of STORE_NAMES."""
    (cwd / "data").mkdir()
    runner = CliRunner(env={"CARDSEQ_DB": "sqlite:///data/real.db", "CARDSEQ_KEYS_FILE": None})
    ok(runner.invoke(main, ["series", "create", "G", "--prefix", "G", "--length", "10"]))
    assert ok(runner.invoke(main, ["generate", "G", "-n", "3"])).split() == [
        "G000000000",
        "G000000001",
        "G000000002",
    ]
    (cwd / "link.db").symlink_to("data/real.db")
    (cwd / "linked").symlink_to("data")
    os.link(cwd / "data" / "real.db", cwd / "hard.db")
    return runner


def assert_intact(runner: CliRunner, reserved: int) -> None:
    """The store still holds the numbers reserved, and goes on after them."""
    shown = ok(runner.invoke(main, ["series", "show", "G"])).splitlines()
    assert f"reserved: {reserved}" in shown
    assert ok(runner.invoke(main, ["generate", "G", "-n", "1"])).split() == [f"G{reserved:09d}"]


@pytest.mark.parametrize("target", ["database", *SUFFIXES, "database by its first name"])
@pytest.mark.parametrize("reached", list(STORE_NAMES))
@pytest.mark.parametrize("command", ["generate", "export"])
def test_out_over_the_stores_files_is_refused(cwd, reached, target, command):
    """--out at the store's database or at a file SQLite keeps beside it, named as
    SQLite names it (after the file it resolved: through a symlink, that is the real
    file's name, not the link's), is refused and the store left whole. Without the fix,
    a store opened through a symlink let --out replace its live -wal."""
    runner = make_store(cwd)
    name = STORE_NAMES[reached]
    resolved = sqlite_file(name)
    assert resolved == str(cwd / ("hard.db" if reached == "hard link" else "data/real.db"))
    out = {"database": resolved, "database by its first name": "data/real.db"}.get(
        target, resolved + target
    )
    selected = ["--request-id", "second"] if command == "export" else ["-n", "5"]
    ok(runner.invoke(main, ["generate", "G", "-n", "2", "--request-id", "second"]))
    db = ["--db", f"sqlite:///{name}"]
    result = runner.invoke(main, [command, "G", *selected, *db, "--out", out])
    fails_with(result, 701)
    assert f"--out {out!r} is the store's file" in result.stderr
    assert_intact(runner, 5)


@pytest.mark.parametrize(
    "spelling", ["the path", "./sub/../keys", "a symlink", "a hard link", "$CARDSEQ_KEYS_FILE"]
)
@pytest.mark.parametrize("command", ["generate", "export"])
def test_out_over_the_keys_file_is_refused(cwd, monkeypatch, spelling, command):
    """The keys file the command reads may hold the only copy of a key: --out at it, by
    any name, is refused and the file left as it was (without the fix, it was replaced
    by the numbers)."""
    for variable in [n for n in os.environ if n.startswith("CARDSEQ_KEY")]:
        monkeypatch.delenv(variable)
    (cwd / "sub").mkdir()
    write_keys_file("keys", {"k": bytes(range(32))})
    before = Path("keys").read_bytes()
    runner = CliRunner(env={"CARDSEQ_DB": "sqlite:///store.db"})
    given = ["--keys-file", "keys"]
    ok(runner.invoke(main, ["series", "create", "R", "--prefix", "7", "--length", "12",
                            "--method", "RANDOM", "--key-id", "k", *given]))  # fmt: skip
    ok(runner.invoke(main, ["generate", "R", "-n", "2", "--request-id", "first", *given]))
    out = {"the path": "keys", "$CARDSEQ_KEYS_FILE": "keys"}.get(spelling, spelling)
    if spelling == "a symlink":
        out = "link"
        os.symlink("keys", out)
    elif spelling == "a hard link":
        out = "hard"
        os.link("keys", out)
    elif spelling == "$CARDSEQ_KEYS_FILE":
        monkeypatch.setenv("CARDSEQ_KEYS_FILE", str(cwd / "keys"))
        given = []
    selected = ["--request-id", "first"] if command == "export" else ["-n", "3"]
    result = runner.invoke(main, [command, "R", *selected, *given, "--out", out])
    fails_with(result, 701)
    assert f"--out {out!r} is the keys file" in result.stderr
    assert Path("keys").read_bytes() == before
    shown = ok(runner.invoke(main, ["series", "show", "R", "--keys-file", "keys"])).splitlines()
    assert "reserved: 2" in shown


@pytest.mark.parametrize("target", ["", *SUFFIXES])
def test_keys_export_is_never_written_over_the_stores_files(tmp_path, monkeypatch, target):
    """`keys export --keys-file` at the store's -journal would have been deleted by
    SQLite when it next opened the database, after the keys were wiped from the store:
    refused, like every other name of its files; the keys stay in the store."""
    for variable in [n for n in os.environ if n.startswith("CARDSEQ_KEY")]:
        monkeypatch.delenv(variable)
    url = old_store(tmp_path)
    open_store(url).close()  # migrated (`cardseq db migrate`), its key still in clear
    path = url.removeprefix("sqlite:///")
    (tmp_path / "link").symlink_to(tmp_path)
    keys_file = str(tmp_path / "link" / Path(path).name) + target
    result = CliRunner().invoke(main, ["keys", "export", "--keys-file", keys_file, "--db", url])
    fails_with(result, 701)
    assert f"--keys-file {keys_file!r} is the store's file" in result.stderr
    assert not os.path.exists(path + "-journal")
    with open_store(url) as store, pytest.raises(KeysInStore):
        store.reserve("GIFT", 1)  # the key is still in the store, not lost


# ---- one test of sameness ------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("data/real.db", "data/real.db", True),
        ("data/real.db", "./data//real.db", True),
        ("data/real.db", "data/../data/real.db", True),
        ("data/real.db", "data/real.db/", True),
        ("data/real.db", "linked/real.db", True),
        ("data/real.db", "link.db", True),
        ("data/real.db", "hard.db", True),
        ("data/real.db-journal", "linked/real.db-journal", True),  # neither exists
        ("data/real.db-journal", "dangling", True),  # a link to it: writing creates it
        ("data/real.db-journal", "link.db-journal", False),  # SQLite never uses this name
        ("data/real.db", "data/real.db.txt", False),
        ("data/real.db", "data/other.db", False),
        ("data/new", "other/new", False),
        ("none/x", "none/./x", True),  # no directory to ask: the resolved paths
    ],
)
def test_same_file(cwd, a, b, same):
    (cwd / "data").mkdir()
    (cwd / "other").mkdir()
    (cwd / "data" / "real.db").write_text("")
    (cwd / "data" / "other.db").write_text("")
    (cwd / "link.db").symlink_to("data/real.db")
    (cwd / "linked").symlink_to("data")
    (cwd / "dangling").symlink_to("data/real.db-journal")
    os.link(cwd / "data" / "real.db", cwd / "hard.db")
    assert same_file(a, b) is same
    assert same_file(b, a) is same
