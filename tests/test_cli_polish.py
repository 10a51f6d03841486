"""The small things of issue 22 that read as unfinished: what `series create` prints,
-V, help texts in plain words, `keys new --out`, Ctrl-C before a reservation, the
users commands."""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import cardseq
from cardseq.cli import main
from cardseq.printrun import Interrupted
from cardseq.series import CardSeries
from cardseq.service import CardService
from cardseq.store import open_store


@pytest.fixture
def db(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'polish.db'}"


def run(*args: str, input: str | None = None, env: dict[str, str] | None = None):
    return CliRunner(env=env).invoke(main, list(args), input=input)


def test_series_create_prints_the_series(db):
    create = ["series", "create", "GIFT", "--prefix", "600000", "--length", "16"]
    result = run(*create, "--method", "LUHN", "--db", db)
    assert result.stdout == (
        "series GIFT (id 1): capacity 1000000000, first number 6000000000000007\n"
    )
    again = run(*create, "--method", "LUHN", "--exists-ok", "--db", db)
    assert again.stdout == result.stdout


def test_series_create_of_a_keyed_series_whose_key_is_here(db, monkeypatch):
    monkeypatch.setenv("CARDSEQ_KEY_K", bytes(range(32)).hex())
    create = ["series", "create", "R", "--prefix", "7", "--length", "12", "--method", "RANDOM"]
    result = run(*create, "--key-id", "k", "--db", db)
    first = CardSeries("R", prefix="7", length=12, method="RANDOM", key=bytes(range(32)))
    assert (
        result.stdout == f"series R (id 1): capacity 100000000000, first number {first.format(0)}\n"
    )


@pytest.mark.parametrize("option", ["-V", "--version"])
def test_version(option):
    assert run(option).stdout == f"cardseq {cardseq.__version__}\n"


def every_command(group: click.Group = main, path: tuple[str, ...] = ()):
    yield path, group
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from every_command(command, (*path, name))
        else:
            yield (*path, name), command


def test_help_texts_are_plain_words_and_whole(monkeypatch):
    """On main help showed literal backticks, summaries cut short with '...', and
    paths (docs/http.md) that an installed package does not have."""
    monkeypatch.setenv("COLUMNS", "80")
    for path, _ in every_command():
        text = run(*path, "--help").stdout
        where = " ".join(("cardseq", *path))
        assert "`" not in text, where
        assert not re.search(r"docs/|README|benchmarks/|\.md\b(?<!compare\.md)", text), where
        for line in text.splitlines():  # a summary cut short ends in "..."
            assert line.startswith("Usage:") or not line.endswith("..."), (where, line)


def test_keys_new_out_makes_a_private_keys_file_ready_for_use(tmp_path, db, monkeypatch):
    """On main `keys new > FILE` made a 0644 file of a bare key, which --keys-file
    refuses twice over (its mode, its format)."""
    for name in [n for n in os.environ if n.startswith("CARDSEQ_KEY")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    old = os.umask(0o022)
    try:
        result = run("keys", "new", "--key-id", "gift", "--out", "keys")
    finally:
        os.umask(old)
    assert result.exit_code == 0 and result.stdout == "", result.output
    assert stat.S_IMODE(os.stat("keys").st_mode) == 0o600
    assert "key gift written to keys (mode 0600)" in result.stderr
    create = ["series", "create", "G", "--prefix", "6", "--length", "12", "--method", "RANDOM"]
    made = run(*create, "--key-id", "gift", "--keys-file", "keys", "--db", db)
    assert made.exit_code == 0, made.output
    kept = Path("keys").read_text()
    refused = run("keys", "new", "--key-id", "other", "--out", "keys")
    assert refused.exit_code == 1
    assert refused.stderr.startswith("error 701: --out 'keys' exists: pass --force")
    assert Path("keys").read_text() == kept
    replaced = run("keys", "new", "--key-id", "other", "--out", "keys", "--force")
    assert replaced.exit_code == 0 and "other = " in Path("keys").read_text()
    assert stat.S_IMODE(os.stat("keys").st_mode) == 0o600
    assert sorted(os.listdir()) == ["keys", "polish.db"] or sorted(os.listdir()) == ["keys"]
    for lone in (["--out", "x"], ["--key-id", "x"]):
        assert run("keys", "new", *lone).exit_code == 2
    assert run("keys", "new", "--key-id", "bad id", "--out", "y").stderr.startswith("error 701")
    assert not Path("y").exists()


def test_keys_new_out_into_a_missing_folder_is_711(tmp_path):
    result = run("keys", "new", "--key-id", "k", "--out", str(tmp_path / "no" / "keys"))
    assert result.exit_code == 1 and result.stderr.startswith("error 711: ")


# ---- Ctrl-C before anything is reserved ---------------------------------------------


def test_a_signal_before_reserving_says_nothing_was_reserved(db, monkeypatch):
    """On main a Ctrl-C there was click's bare "Aborted!"."""
    with open_store(db) as store:
        CardService(store).create_series(CardSeries("GIFT", prefix="6", length=12))

    def stopped(*args, **kwargs):
        raise Interrupted(signal.SIGINT)

    monkeypatch.setattr(CardService, "series", stopped)
    result = run("generate", "GIFT", "-n", "5", "--db", db)
    assert result.exit_code == 130
    assert result.stderr == "interrupted by SIGINT before reserving: nothing was reserved\n"


def reserved(db: str) -> int:
    with open_store(db) as store:
        return store.series("GIFT").next_index


def reading_the_terminal(pid: int) -> None:
    """Wait until process ``pid`` is blocked reading its stdin (Linux names its system
    call, read: 0, and the call's first argument, fd 0): a signal sent between the
    question and the read would wait for the read to end, as it would at a terminal."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with open(f"/proc/{pid}/syscall") as f:
            if f.read().startswith("0 0x0 "):
                return
        time.sleep(0.001)
    raise AssertionError("the command never read its answer")


@pytest.mark.heavy
@pytest.mark.parametrize("answer", ["ctrl-c", "end of input"])
def test_leaving_the_confirmation_question_reserves_nothing_and_says_so(db, tmp_path, answer):
    """At the question a big run asks, Ctrl-C (SIGINT) or the end of the terminal's input
    (Ctrl-D) says that nothing was reserved, in the real command at a terminal."""
    with open_store(db) as store:
        CardService(store).create_series(CardSeries("GIFT", prefix="6", length=12))
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "cardseq", "generate", "GIFT", "-n", "50", "--db", db],
        stdin=terminal,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "CARDSEQ_CONFIRM_ABOVE": "10"},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    os.close(terminal)
    asked = b""
    deadline = time.monotonic() + 60
    while b"[y/N]" not in asked and time.monotonic() < deadline:
        ready, _, _ = select.select([process.stderr], [], [], 1)
        if ready:
            asked += os.read(process.stderr.fileno(), 4096)  # type: ignore[union-attr]
    assert b"Reserve 50 numbers of series GIFT" in asked
    reading_the_terminal(process.pid)
    if answer == "ctrl-c":
        process.send_signal(signal.SIGINT)
    else:
        os.write(controller, b"\x04")  # the terminal's end-of-input character
    _, err = process.communicate(timeout=60)
    os.close(controller)
    said = (asked + err).decode()
    assert "Aborted!" not in said
    if answer == "ctrl-c":
        assert process.returncode == 130, said
        assert said.endswith("interrupted by SIGINT before reserving: nothing was reserved\n")
    else:
        assert process.returncode == 1, said
        assert said.endswith("not confirmed: nothing was reserved\n")
    assert reserved(db) == 0


# ---- users ---------------------------------------------------------------------------


def test_users_list_remove_and_passwd(tmp_path):
    from cardseq.server.auth import Authenticator

    users = str(tmp_path / "users")
    for name, password in (("alice", "a-secret"), ("bob", "b-secret")):
        added = run("users", "add", name, "--users-file", users, "--password-stdin", input=password)
        assert added.exit_code == 0
    assert run("users", "list", "--users-file", users).stdout == "alice\nbob\n"
    changed = run("users", "passwd", "bob", "--users-file", users, "--password-stdin", input="new")
    assert changed.exit_code == 0 and "password of user bob changed" in changed.stderr
    check = Authenticator(users)
    assert check.verify("bob", "new") and not check.verify("bob", "b-secret")
    removed = run("users", "remove", "alice", "--users-file", users)
    assert removed.exit_code == 0 and "user alice removed" in removed.stderr
    assert run("users", "list", "--users-file", users).stdout == "bob\n"
    assert not Authenticator(users).verify("alice", "a-secret")
    assert stat.S_IMODE(os.stat(users).st_mode) == 0o600
    for command in (["remove", "carol"], ["passwd", "carol", "--password-stdin"]):
        result = run("users", *command, "--users-file", users, input="x")
        assert result.exit_code == 1, command
        assert result.stderr.startswith(
            f"error 701: user 'carol' is not in the users file {users!r}"
        )
    assert run("users", "list", "--users-file", users).stdout == "bob\n"
    missing = run("users", "list", "--users-file", str(tmp_path / "none"))
    assert missing.exit_code == 2 and "does not exist" in missing.stderr
