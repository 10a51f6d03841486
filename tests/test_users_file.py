"""The users file fails closed: a change that cannot be read, for any reason, lets
nobody in until a good file is in place (never the users read before), and at start it
is a coded error, never a traceback. Records hashlib would refuse are refused when the
file is read, not at every check."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import sys
import time

import httpx
import pytest

import cardseq.server.auth as auth_module
from cardseq.errors import CardSeqError
from cardseq.server.auth import Authenticator, PasswordHash, add_user, read_users

from .server_helpers import Server

SALT = base64.b64encode(b"0123456789abcdef").decode()
DIGEST = base64.b64encode(bytes(32)).decode()


def scrypt_line(name: str, n: int, r: int, p: int) -> str:
    return f"{name}:scrypt${n}${r}${p}${SALT}${DIGEST}\n"


def replace_file(path, make) -> None:
    """Put something else where the users file was (a new inode: a new stamp)."""
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()
    make(path)


#: ways a users file stops being readable: (id, how to make it so)
BROKEN = [
    ("not-utf8", lambda p: p.write_bytes(b"alice:\xff\xfe\n")),
    ("a-directory", lambda p: p.mkdir()),
    ("missing", lambda p: None),
    ("no-colon", lambda p: p.write_text("alice\n")),
    ("bad-hash", lambda p: p.write_text("alice:scrypt$x$8$1$aa$bb\n")),
    ("truncated", lambda p: p.write_text(scrypt_line("alice", 2**14, 8, 1)[:40])),
    ("hashlib-refuses", lambda p: p.write_text(scrypt_line("alice", 2**16, 1, 1))),
    ("too-much-memory", lambda p: p.write_text(scrypt_line("alice", 2**20, 32, 1))),
]


@pytest.fixture
def users(tmp_path):
    path = tmp_path / "users"
    add_user(str(path), "alice", "alice password")
    add_user(str(path), "bob", "bob password")
    return path


@pytest.mark.parametrize(("kind", "make"), BROKEN, ids=[b[0] for b in BROKEN])
def test_a_broken_reload_lets_nobody_in_until_a_good_file_is_back(users, kind, make):
    auth = Authenticator(str(users))
    assert auth.refresh() and auth.verify("bob", "bob password")
    good = users.read_text()
    replace_file(users, make)
    for _ in range(3):  # every request, not just the first
        assert not auth.refresh()
        assert not auth.verify("bob", "bob password")  # not the users read before
        assert not auth.cached("bob", "bob password")
    replace_file(users, lambda p: p.write_text(good.replace("bob:", "carol:")))
    assert auth.refresh()
    assert auth.verify("carol", "bob password")
    assert not auth.verify("bob", "bob password")  # removed: gone for good


def test_any_exception_while_reading_fails_closed_and_the_next_request_retries(users, monkeypatch):
    """An error nobody foresaw (here a RuntimeError from the reader) refuses everyone;
    the file's stamp is recorded only after a read succeeds, so the next request reads
    it again, and gets in once the reader works, although the file did not change."""
    auth = Authenticator(str(users))
    assert auth.refresh() and auth.verify("alice", "alice password")
    users.write_text(users.read_text().replace("bob:", "dave:"))  # bob removed

    def broken(path):
        raise RuntimeError("the disk said no")

    monkeypatch.setattr(auth_module, "read_users", broken)
    assert not auth.refresh()
    assert not auth.verify("alice", "alice password")
    assert not auth.refresh()  # still refusing, not back to the old users
    monkeypatch.setattr(auth_module, "read_users", read_users)
    assert auth.refresh()  # the same file, read again
    assert auth.verify("dave", "bob password") and not auth.verify("bob", "bob password")


@pytest.mark.parametrize(("kind", "make"), BROKEN, ids=[b[0] for b in BROKEN])
def test_a_broken_file_at_start_is_a_coded_error(tmp_path, kind, make):
    path = tmp_path / "users"
    make(path)
    with pytest.raises(CardSeqError) as info:
        Authenticator(str(path))
    assert (info.value.code, info.value.field) == (701, "users_file")
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    ("n", "r", "p"),
    [(2**16, 1, 1), (2**17, 1, 1), (2**20, 32, 1), (2**19, 16, 1)],
    ids=["N-above-what-r-allows", "N-far-above", "4-GiB", "1-GiB"],
)
def test_records_hashlib_would_refuse_are_refused_when_read(tmp_path, n, r, p):
    """On main these parsed, and every check of the user raised in hashlib (a 500 with
    a traceback for each request)."""
    path = tmp_path / "users"
    path.write_text("# users\n" + scrypt_line("alice", n, r, p))
    with pytest.raises(CardSeqError) as info:
        read_users(str(path))
    assert info.value.code == 701 and "line 2" in str(info.value)


def test_the_default_settings_and_a_stronger_set_are_taken():
    assert PasswordHash.parse(f"scrypt${2**14}$8$1${SALT}${DIGEST}").n == 2**14
    assert PasswordHash.parse(f"scrypt${2**16}$8$2${SALT}${DIGEST}").p == 2


def serve_fails(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cardseq", "serve", *args],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        check=False,
    )


@pytest.mark.parametrize("kind", ["a-directory", "missing", "hashlib-refuses"])
def test_serve_with_a_broken_users_file_says_so_in_one_line(tmp_path, kind):
    path = tmp_path / "users"
    dict(BROKEN)[kind](path)
    result = serve_fails("--users-file", str(path), "--db", f"sqlite:///{tmp_path / 'u.db'}")
    assert result.returncode == 1
    assert result.stderr.startswith("error 701: ") and "Traceback" not in result.stderr


@pytest.mark.heavy
def test_a_real_server_refuses_everyone_while_its_users_file_is_broken(tmp_path):
    """The issue's case on a running server: the file replaced by one that is not
    UTF-8. Every request is 503 (never 500, never let in as before) until the file is
    good again, and then only its users get in."""
    path = tmp_path / "users"
    add_user(str(path), "alice", "alice password")
    add_user(str(path), "bob", "bob password")
    server = Server(tmp_path, f"sqlite:///{tmp_path / 's.db'}", "--users-file", str(path))
    try:
        url = f"{server.url}/v2/card/series/1"
        bob = ("bob", "bob password")
        assert httpx.get(url, auth=bob).status_code == 404  # in: no such series
        good = path.read_text()
        os.replace(_written(tmp_path / "new", b"alice:\xff\n"), path)
        for _ in range(3):
            answer = httpx.get(url, auth=bob)
            assert answer.status_code == 503, answer.text
            assert answer.json()["errors"][0]["code"] == 503
        os.replace(_written(tmp_path / "new", good.replace("bob:", "carol:").encode()), path)
        deadline = time.monotonic() + 10
        while httpx.get(url, auth=("carol", "bob password")).status_code == 503:
            assert time.monotonic() < deadline
        assert httpx.get(url, auth=("carol", "bob password")).status_code == 404
        assert httpx.get(url, auth=bob).status_code == 401
        assert "Traceback" not in server.log_path.read_text()
    finally:
        server.stop()


def _written(path, data: bytes):
    path.write_bytes(data)
    os.chmod(path, 0o600)
    return path
