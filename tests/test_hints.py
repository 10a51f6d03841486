"""The commands cardseq prints for the user to run next, run as printed (issue 22).

The next page of a listing, the recovery after an interrupted or failed print run, the
command that makes or migrates a store: each is parsed by a real shell (``sh``), as a
user who pastes it, and run with the same environment in the same directory, and it
must succeed against the same store with the same keys, whichever way they were given:
options (in a path with a space and a quote), the environment, or the defaults. On
main a hint left out a store that came from --db or $CARDSEQ_DB, and ran against (and
created) ./cardseq.db.

Commands that only read never create a store: on a missing SQLite file they fail with
701 naming its path and the command that makes it.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cardseq.cli import main
from cardseq.printrun import Interrupted
from cardseq.service import CardService
from cardseq.store import open_store

KEY = bytes(range(100, 132))
#: a printed command: a whole line, or the rest of a line after ": "
PRINTED = re.compile(r"(?:^|: )(cardseq .*)$")
STORES = ["option", "environment", "default"]
KEY_SOURCES = ["option", "environment file", "environment key"]


def printed_commands(text: str) -> list[str]:
    return [m.group(1) for line in text.splitlines() if (m := PRINTED.search(line))]


class Operator:
    """A user in ``home`` whose store and keys come from where ``store`` and ``keys``
    say; ``run`` is a command they type, ``again`` one that cardseq printed."""

    def __init__(self, home: Path, store: str, keys: str = "environment key") -> None:
        odd = home / "the operator's files"  # a space and a quote, for the quoting
        odd.mkdir()
        (odd / "keys").write_text(f"k = {KEY.hex()}\n")
        (odd / "keys").chmod(0o600)
        self.home, self.options, self.env = home, [], {}
        url = f"sqlite:///{odd / 'cards.db'}"
        #: how a printed command must name the store and the keys file, as they were given
        self.store_words, self.key_words = "", ""
        if store == "option":
            self.options += ["--db", url]
            self.store_words = f"--db {shlex.quote(url)}"
        elif store == "environment":
            self.env["CARDSEQ_DB"] = url
            self.store_words = '--db "$CARDSEQ_DB"'
        self.path = home / "cardseq.db" if store == "default" else odd / "cards.db"
        self.key_options = []
        if keys == "option":
            self.key_options = ["--keys-file", str(odd / "keys")]
            self.key_words = f"--keys-file {shlex.quote(str(odd / 'keys'))}"
        elif keys == "environment file":
            self.env["CARDSEQ_KEYS_FILE"] = str(odd / "keys")
            self.key_words = '--keys-file "$CARDSEQ_KEYS_FILE"'
        else:
            self.env["CARDSEQ_KEY_K"] = KEY.hex()

    def run(self, *args: str, keys: bool = True) -> Result:
        extra = self.options + (self.key_options if keys else [])
        return CliRunner(env=self.env).invoke(main, [*args, *extra])

    def again(self, line: str) -> Result:
        """``line`` split into words by ``sh`` in this environment, then run. It names
        the store and the keys file (but for `db migrate`, which takes none) as they
        were given: on main one that came from the environment was left out."""
        for words, option in ((self.store_words, "--db"), (self.key_words, "--keys-file")):
            if words and not (option == "--keys-file" and line.startswith("cardseq db ")):
                assert line.endswith(words) or f"{words} " in line, (line, words)
            else:
                assert option not in line, line
        words = subprocess.run(
            ["sh", "-c", f"printf '%s\\0' {line}"],
            cwd=self.home,
            env={"PATH": os.environ["PATH"], **self.env},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split("\0")[:-1]
        assert words[0] == "cardseq", line
        return CliRunner(env=self.env).invoke(main, words[1:])

    def follow(self, result: Result) -> list[Result]:
        """Run every command ``result`` printed; each must succeed."""
        done = []
        for line in printed_commands(result.stderr):
            after = self.again(line)
            assert after.exit_code == 0, (line, after.stdout, after.stderr)
            done.append(after)
        return done


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    for name in [n for n in os.environ if n.startswith("CARDSEQ_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def ok(result: Result) -> str:
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result.stdout


def started(user: Operator) -> None:
    """A keyed series with three reservations, r1..r3."""
    create = ["series", "create", "R", "--prefix", "7", "--length", "12", "--method", "RANDOM"]
    ok(user.run(*create, "--key-id", "k"))
    for n in (1, 2, 3):
        ok(user.run("generate", "R", "-n", "2", "--request-id", f"r{n}"))


def ledger_ids(output: str) -> list[int]:
    return [int(line.split()[0]) for line in output.splitlines()[1:]]


@pytest.mark.parametrize("keys", KEY_SOURCES)
@pytest.mark.parametrize("store", STORES)
def test_next_page_hints_run_as_printed(home, store, keys):
    user = Operator(home, store, keys)
    started(user)
    for listing in (
        ["ledger", "R", "--limit", "1"],
        ["series", "log", "R", "--limit", "1"],
        ["ledger", "R", "--limit", "1", "--label", "NOT_ISSUED", "--since", "2000-01-01"],
    ):
        result = user.run(*listing)
        seen = ledger_ids(ok(result))
        while printed_commands(result.stderr):
            (result,) = user.follow(result)
            seen += ledger_ids(result.stdout)
        assert seen == [1, 2, 3], listing
    assert not (home / "cardseq.db").exists() or store == "default"


@pytest.mark.parametrize("store", STORES)
def test_a_status_log_hint_runs_as_printed(home, store):
    user = Operator(home, store)
    started(user)
    with open_store(f"sqlite:///{user.path}", keys={"k": KEY}) as opened:
        service = CardService(opened)
        number = service.export("R", ledger_id=1).to_list()[0]
        service.issue(number, "c-1")
        service.suspend(number)
        service.reactivate(number)
    result = user.run("card", "log", number, "--limit", "2", "--json")
    assert len(ok(result).splitlines()) == 2
    (page,) = user.follow(result)
    assert [line.count('"to_status"') for line in page.stdout.splitlines()] == [1]


@pytest.mark.parametrize("keys", KEY_SOURCES)
@pytest.mark.parametrize("store", STORES)
def test_recovery_after_a_failed_write_runs_as_printed(home, store, keys, monkeypatch):
    user = Operator(home, store, keys)
    started(user)
    out = home / "print run.csv"

    def refuse(*args):
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr("cardseq.outfile.os.fsync", refuse)
        failed = user.run(
            "generate", "R", "-n", "4", "--out", str(out), "--format", "csv", "--request-id", "p1"
        )
    assert failed.exit_code == 1 and not out.exists()
    (line,) = printed_commands(failed.stderr)
    assert line.startswith("cardseq export R --request-id p1")
    user.follow(failed)
    assert len(out.read_text().splitlines()) == 5  # the header and the four numbers


@pytest.mark.parametrize("keys", KEY_SOURCES)
@pytest.mark.parametrize("store", STORES)
def test_recovery_after_a_signal_while_reserving_runs_as_printed(home, store, keys, monkeypatch):
    """The reservation committed, then the signal came: the printed ledger command
    lists it and the export command writes it."""
    user = Operator(home, store, keys)
    started(user)
    reserve = CardService.reserve

    def committed_then_stopped(*args, **kwargs):
        reserve(*args, **kwargs)
        raise Interrupted(signal.SIGINT)

    out = home / "cards.txt"
    with monkeypatch.context() as patch:
        patch.setattr(CardService, "reserve", committed_then_stopped)
        stopped = user.run("generate", "R", "-n", "3", "--out", str(out), "--request-id", "s1")
    assert stopped.exit_code == 128 + signal.SIGINT, stopped.stderr
    listed, _ = user.follow(stopped)
    assert ledger_ids(listed.stdout) == [4]
    assert len(out.read_text().splitlines()) == 3


@pytest.mark.parametrize("store", STORES)
def test_a_read_command_creates_no_store_and_names_the_command_that_does(home, store):
    """On main `series list` made ./cardseq.db (or the named file) and said
    "no series yet"; now it is 701 naming the file, and the command it prints makes
    the store."""
    user = Operator(home, store)
    for command in (["series", "list"], ["ledger", "R"], ["labels", "list"]):
        result = user.run(*command, keys=False)
        assert result.exit_code == 1, command
        assert result.stderr.startswith(f"error 701: no store at {user.path}: "), result.stderr
        assert sorted(p.name for p in home.iterdir()) == ["the operator's files"]
        assert os.listdir(home / "the operator's files") == ["keys"]
    status = user.run("db", "status", keys=False)
    assert status.exit_code == 1 and not user.path.exists()
    (migrated,) = user.follow(result)
    assert "migrated from no tables" in migrated.stdout
    assert "no series yet" in user.run("series", "list", keys=False).stderr


def test_db_status_and_an_older_store_print_a_migrate_command_that_runs(home):
    from cardseq.store.base import SCHEMA_VERSION

    user = Operator(home, "environment")
    status = user.run("db", "status", keys=False)
    assert status.stdout.endswith(
        'migration needed: yes, with: cardseq db migrate --db "$CARDSEQ_DB"\n'
    )
    user.follow(status)
    with open_store(f"sqlite:///{user.path}") as opened, opened._transaction() as cur:
        opened._run(cur, "UPDATE cardseq_schema SET version = ?", (SCHEMA_VERSION - 1,))
    older = user.run("series", "list", keys=False)
    assert older.exit_code == 1 and "cardseq db migrate" in older.stderr
    user.follow(older)
    assert ok(user.run("db", "status", keys=False)).endswith("migration needed: no\n")


def test_an_empty_db_option_is_refused_not_read_as_the_default(home):
    """A printed ``--db "$CARDSEQ_DB"`` pasted where the variable is unset."""
    result = CliRunner().invoke(main, ["series", "list", "--db", ""])
    assert result.exit_code == 1 and result.stderr.startswith("error 701: --db '' names no store")
    assert list(home.iterdir()) == []


def test_printed_commands_are_found_where_cardseq_puts_them():
    text = (
        "more: cardseq ledger R --limit 1 --after 1\n"
        "error 701: no store at /x: ...; cardseq series create makes one: cardseq db migrate\n"
        "no series yet (cardseq series create registers one)\n"
    )
    assert printed_commands(text) == ["cardseq ledger R --limit 1 --after 1", "cardseq db migrate"]
