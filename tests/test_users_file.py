"""The server's own files fail closed: a users file or a keys file is used whole or not
at all, whatever goes wrong in reading it, at start (a coded error, never a traceback)
and while the server runs (503 to what needs the file, and a log line, until a good file
is in place; never the previous users).

In process: the app from ``create_app`` through the ASGI client of test_server_inputs;
the command line in a subprocess."""

from __future__ import annotations

import functools
import logging
import os
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import cardseq
from cardseq.keys import write_keys_file
from cardseq.server import auth, create_app
from cardseq.server.auth import PasswordHash, add_user, hash_password, read_users

from .server_helpers import cardseq as run_cardseq
from .test_server import fails
from .test_server_inputs import Client

ROUTE = "/v2/card/series/1"  # any route behind the guard: 404 (3000) once let in
ALICE = ("alice", "alices password")
BOB = ("bob", "bobs password")
KEY = bytes(range(32))


@functools.cache
def line(name: str, password: str) -> str:
    return f"{name}:{hash_password(password)}\n"


def scrypt_line(name: str, n: object, r: object, p: object, salt: str = "c2FsdA==") -> str:
    """A users line with these scrypt settings (and a 32-byte hash of zeros)."""
    return f"{name}:scrypt${n}${r}${p}${salt}${'A' * 43}=\n"


def let_in(client: Client, who: tuple[str, str]) -> None:
    fails(client.get(ROUTE, auth=who), 404, 3000)


def refused(client: Client, times: int = 3) -> None:
    """``times`` rounds of requests by bob, alice and nobody: each one 503."""
    for _ in range(times):
        for who in (BOB, ALICE, None):
            message = fails(client.get(ROUTE, auth=who), 503, 503)
            assert "users file is broken" in message


# ---- what a broken file can be --------------------------------------------------------


def _fifo(path: Path) -> None:
    os.mkfifo(path, 0o600)


def _directory(path: Path) -> None:
    path.mkdir()


def _dangling_link(path: Path) -> None:
    path.symlink_to(path.parent / "nowhere")


def _bytes(data: bytes | Callable[[], bytes]) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        path.write_bytes(data() if callable(data) else data)

    return write


def _alice_then(text: str) -> Callable[[], bytes]:
    return lambda: (line(*ALICE) + text).encode()


# Each replaces the users file with one that must be refused as a whole: alice's own line
# stays good in those that keep it, so that a reader skipping the bad part would let her in.
BROKEN_FILES: dict[str, Callable[[Path], None]] = {
    "not UTF-8": _bytes(lambda: b"\xff\xfe" + line(*ALICE).encode()),
    "a bad byte after a good line": _bytes(lambda: line(*ALICE).encode() + b"# caf\xe9\n"),
    "UTF-8 cut short": _bytes(lambda: line(*ALICE).encode() + b"# \xe2\x82"),
    "latin-1 name": _bytes(lambda: line(*ALICE).encode() + b"jos\xe9:" + line(*BOB).encode()),
    "a directory": _directory,
    "a FIFO": _fifo,
    "a dangling link": _dangling_link,
    "missing": lambda path: None,
    "a truncated line": _bytes(_alice_then(line(*BOB)[:40])),
    "no colon": _bytes(_alice_then("bob\n")),
    "a plaintext password": _bytes(_alice_then("bob:plaintext\n")),
    "a bad name": _bytes(_alice_then("b b:" + line(*BOB).split(":", 1)[1])),
    "a NUL byte": _bytes(_alice_then(line(*BOB).replace("$", "\x00$", 1))),
    "the same user twice": _bytes(_alice_then(line(*ALICE))),
    "salt not base64": _bytes(_alice_then(scrypt_line("bob", 16384, 8, 1, salt="***"))),
    "n not ASCII digits": _bytes(_alice_then(scrypt_line("bob", "16_384", 8, 1))),
    # settings hashlib refuses at every check
    "n not a power of 2": _bytes(_alice_then(scrypt_line("bob", 16383, 8, 1))),
    "n not below 2**(16r)": _bytes(_alice_then(scrypt_line("bob", 2**16, 1, 1))),
    "maxmem above a C int": _bytes(_alice_then(scrypt_line("bob", 2**20, 8, 1))),
    "r and p at their bounds, n too": _bytes(_alice_then(scrypt_line("bob", 2**20, 32, 16))),
    "absurd n": _bytes(_alice_then(scrypt_line("bob", 2**70, 8, 1))),
    "r 0": _bytes(_alice_then(scrypt_line("bob", 16384, 0, 1))),
    "p 0": _bytes(_alice_then(scrypt_line("bob", 16384, 8, 0))),
}


def _release_readers(path: Path, stop: threading.Event) -> None:
    """Until ``stop``: whenever a reader holds the FIFO ``path`` open (or waits in the
    open), open it for writing and close it again, which ends that reader's wait."""
    while not stop.wait(0.01):
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:  # no reader (ENXIO), or no FIFO there any more
            pass


@pytest.fixture
def unblock_fifos(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A reader that opened a FIFO in blocking mode (the defect) would wait for a writer
    for ever, and the test with it: each FIFO made gets a thread that releases it (the
    reader then sees an empty file), so such a defect fails the test instead."""
    stop = threading.Event()
    threads: list[threading.Thread] = []
    real_mkfifo = os.mkfifo

    def mkfifo(path: Path, mode: int = 0o666) -> None:
        real_mkfifo(path, mode)
        threads.append(threading.Thread(target=_release_readers, args=(path, stop)))
        threads[-1].start()

    monkeypatch.setattr(os, "mkfifo", mkfifo)
    yield
    stop.set()
    for thread in threads:
        thread.join()


@pytest.fixture
def users_path(tmp_path: Path) -> Path:
    path = tmp_path / "users"
    path.write_text(line(*ALICE) + line(*BOB))
    return path


@pytest.fixture
def client(users_path: Path) -> Iterator[Client]:
    http = Client(create_app("memory://", users_file=str(users_path)))
    yield http
    http.close()


def replace(path: Path, make: Callable[[Path], None]) -> None:
    """Put what ``make`` makes in the place of the file ``path``."""
    if path.is_dir() and not path.is_symlink():
        path.rmdir()
    else:
        path.unlink(missing_ok=True)
    make(path)


# ---- while the server runs -------------------------------------------------------------


@pytest.mark.usefixtures("unblock_fifos")
@pytest.mark.parametrize("broken", list(BROKEN_FILES))
def test_a_broken_users_file_refuses_everyone_then_the_new_users_only(
    client: Client, users_path: Path, broken: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Bob is in; the file is replaced by a broken one without him: every request is a
    503 (not a 500, not the old users), as often as it is asked; then a good file
    without bob lets alice in and not bob, although his password was cached."""
    let_in(client, BOB)
    with caplog.at_level(logging.ERROR, logger="cardseq.server"):
        replace(users_path, BROKEN_FILES[broken])
        refused(client)
    reasons = [r.getMessage() for r in caplog.records if r.name == "cardseq.server"]
    assert len(reasons) == 1 and "until the users file is fixed" in reasons[0], reasons
    assert repr(str(users_path)) in reasons[0]

    replace(users_path, lambda path: path.write_text(line(*ALICE)))
    fails(client.get(ROUTE, auth=BOB), 401, 401)
    let_in(client, ALICE)


def test_a_non_utf8_file_never_lets_a_removed_user_in(client: Client, users_path: Path) -> None:
    """The finding as found: after the first refusal, the next requests were checked
    against the users of before, so a user just removed kept access."""
    let_in(client, BOB)
    users_path.write_bytes("# alice only, café\n".encode("latin-1") + line(*ALICE).encode())
    refused(client, times=5)


@pytest.mark.parametrize(
    "exception",
    [
        RuntimeError("nobody saw this coming"),
        PermissionError(13, "Permission denied"),
        FileNotFoundError(2, "No such file or directory"),  # gone between stat and read
        UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"),
        MemoryError(),
    ],
    ids=type,
)
def test_whatever_the_reader_raises_nobody_is_let_in_and_it_reads_again(
    client: Client,
    users_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    exception: Exception,
) -> None:
    """A read that fails with any exception refuses; the file is read again on the next
    request (its stamp is not taken for read), so once reading works the same file, as
    it is now, applies: bob, removed in it, stays out."""
    let_in(client, BOB)
    users_path.write_text(line(*ALICE))

    def fail(*args: object) -> object:
        raise exception

    monkeypatch.setattr(auth, "read_text", fail)
    refused(client)
    monkeypatch.undo()
    fails(client.get(ROUTE, auth=BOB), 401, 401)
    let_in(client, ALICE)


def test_an_exception_in_parsing_refuses_too(
    client: Client, users_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same for a fault in reading a line, past the file's bytes."""
    let_in(client, BOB)
    users_path.write_text(line(*ALICE))

    def fail(text: str) -> PasswordHash:
        raise RuntimeError("a fault in parsing")

    monkeypatch.setattr(PasswordHash, "parse", fail)
    refused(client)
    monkeypatch.undo()
    fails(client.get(ROUTE, auth=BOB), 401, 401)
    let_in(client, ALICE)


# ---- at start ----------------------------------------------------------------------------


@pytest.mark.usefixtures("unblock_fifos")
@pytest.mark.parametrize("broken", list(BROKEN_FILES))
def test_a_broken_users_file_stops_create_app(tmp_path: Path, broken: str) -> None:
    path = tmp_path / "users"
    BROKEN_FILES[broken](path)
    with pytest.raises(cardseq.BrokenFile) as info:
        create_app("memory://", users_file=str(path))
    error = info.value
    assert (error.code, error.field, error.value) == (701, "users_file", str(path))
    assert error.message.startswith(f"users file {str(path)!r}")


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ((16383, 8, 1), "line 2 (user 'bob'): n 16383 must be a power of 2"),
        ((2**16, 1, 1), "line 2 (user 'bob'): n 65536 must be below 2**16 when r is 1"),
        ((2**17, 1, 1), "line 2 (user 'bob'): n 131072 must be below 2**16 when r is 1"),
        ((2**20, 8, 1), "line 2 (user 'bob'): n 1048576 with r 8 needs a memory limit"),
        ((2**20, 32, 16), "line 2 (user 'bob'): n 1048576 with r 32 needs a memory limit"),
        ((2**70, 8, 1), "line 2 (user 'bob'): n '1180591620717411303424' must be an integer"),
        ((1, 8, 1), "line 2 (user 'bob'): n '1' must be an integer from 2 to 1048576"),
        ((16384, 33, 1), "line 2 (user 'bob'): r '33' must be an integer from 1 to 32"),
        ((16384, 8, 17), "line 2 (user 'bob'): p '17' must be an integer from 1 to 16"),
        (("+16384", 8, 1), "line 2 (user 'bob'): n '+16384' must be an integer"),
    ],
)
def test_settings_hashlib_refuses_are_refused_when_the_file_is_read(
    tmp_path: Path, record: tuple[object, object, object], message: str
) -> None:
    """The record is refused naming its line, its user and the field, not met with a
    500 at every check."""
    path = tmp_path / "users"
    path.write_text(line(*ALICE) + scrypt_line("bob", *record))
    with pytest.raises(cardseq.BrokenFile) as info:
        read_users(str(path))
    assert info.value.message.startswith(f"users file {str(path)!r}, {message}"), info.value


def _checks(n: int, r: int, p: int) -> bool:
    """Whether a check of a password against a record with these settings runs (hashlib
    refuses some at once, at every check)."""
    record = PasswordHash(n, r, p, b"salt", bytes(32))
    try:
        record.matches(b"password")
    except ValueError:
        return False
    return True


def test_the_settings_refused_are_those_hashlib_refuses() -> None:
    """Over powers of 2 for n and every r and p within the bounds: a record refused
    for its settings is one whose checks hashlib refuses (which it does at once), and a
    record read is one whose checks run (tried where that is cheap)."""
    checked = refused = 0
    for n in (2**k for k in range(1, 21)):
        for r in range(1, auth._MAX_R + 1):
            for p in (1, 2, auth._MAX_P):
                try:
                    PasswordHash.parse(scrypt_line("x", n, r, p).split(":", 1)[1].strip())
                except cardseq.InvalidArgument:
                    assert not _checks(n, r, p), (n, r, p)
                    refused += 1
                    continue
                if 128 * r * n * p <= 2**20:
                    assert _checks(n, r, p), (n, r, p)
                    checked += 1
    assert refused > 50 and checked > 100, (refused, checked)


def _serve(*args: str) -> subprocess.CompletedProcess[str]:
    return run_cardseq("serve", "--db", "memory://", *args, check=False)


@pytest.mark.parametrize("broken", ["not UTF-8", "a truncated line", "maxmem above a C int"])
def test_cardseq_serve_refuses_a_broken_users_file_cleanly(tmp_path: Path, broken: str) -> None:
    path = tmp_path / "users"
    BROKEN_FILES[broken](path)
    result = _serve("--users-file", str(path))
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith(f"error 701: users file {str(path)!r}"), result.stderr
    assert "Traceback" not in result.stderr


# ---- cardseq users add -------------------------------------------------------------------


def test_users_add_leaves_a_broken_file_alone(tmp_path: Path) -> None:
    path = tmp_path / "users"
    broken = b"\xff" + line(*ALICE).encode()
    path.write_bytes(broken)
    args = ("users", "add", "carol", "--users-file", str(path), "--password-stdin")
    result = run_cardseq(*args, input="carols password\n", check=False)
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith(f"error 701: users file {str(path)!r} is not UTF-8")
    assert "Traceback" not in result.stderr
    assert path.read_bytes() == broken


def test_users_add_replaces_the_broken_line_of_its_user_only(tmp_path: Path) -> None:
    path = tmp_path / "users"
    path.write_text(line(*ALICE) + scrypt_line("bob", 2**20, 8, 1))
    assert add_user(str(path), "bob", "new password") is True
    assert set(read_users(str(path))) == {"alice", "bob"}
    path.write_text(scrypt_line("bob", 2**20, 8, 1) + line(*ALICE))
    with pytest.raises(cardseq.BrokenFile, match="line 1 \\(user 'bob'\\): n 1048576"):
        add_user(str(path), "alice", "new password")


# ---- keys files ----------------------------------------------------------------------------


def _keys(path: Path, text: bytes | None = None) -> None:
    """A keys file holding key GIFT, or ``text``; mode 0600."""
    if text is None:
        write_keys_file(str(path), {"GIFT": KEY})
    else:
        path.write_bytes(text)
        path.chmod(0o600)


BROKEN_KEYS: dict[str, Callable[[Path], None]] = {
    "not UTF-8": lambda path: _keys(path, b"GIFT = " + KEY.hex().encode() + b"\n# \xff\n"),
    "a directory": _directory,
    "a FIFO": _fifo,
    "a line not ID = VALUE": lambda path: _keys(path, b"GIFT " + KEY.hex().encode() + b"\n"),
    "a key cut short": lambda path: _keys(path, b"GIFT = " + KEY.hex()[:20].encode() + b"\n"),
    "the same id twice": lambda path: _keys(
        path, b"GIFT = %s\nGIFT = %s\n" % (2 * (KEY.hex().encode(),))
    ),
    "readable by others": lambda path: (_keys(path), path.chmod(0o644)),
}


@pytest.fixture
def no_key_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("CARDSEQ_KEY")]:
        monkeypatch.delenv(name)


@pytest.mark.usefixtures("unblock_fifos", "no_key_env")
@pytest.mark.parametrize("broken", list(BROKEN_KEYS))
def test_a_broken_keys_file_stops_create_app(tmp_path: Path, broken: str) -> None:
    path = tmp_path / "keys"
    BROKEN_KEYS[broken](path)
    with pytest.raises(cardseq.BrokenFile) as info:
        create_app("memory://", users_file=None, keys=str(path))
    assert info.value.field == "keys_file" and str(path) in info.value.message


def test_cardseq_serve_refuses_a_broken_keys_file_cleanly(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    BROKEN_KEYS["not UTF-8"](path)
    result = _serve("--no-auth", "--keys-file", str(path))
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith(f"error 701: keys file {str(path)!r} is not UTF-8")
    assert "Traceback" not in result.stderr


@pytest.mark.usefixtures("unblock_fifos", "no_key_env")
@pytest.mark.parametrize("broken", list(BROKEN_KEYS))
def test_a_keys_file_broken_while_the_server_runs_is_503_until_fixed(
    tmp_path: Path, broken: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """``$CARDSEQ_KEYS_FILE`` is read again for a key not found yet: broken, what needs
    the key is a 503 naming no path, with the reason in the log; fixed, it works."""
    path = tmp_path / "keys"
    monkeypatch.setenv("CARDSEQ_KEYS_FILE", str(path))
    BROKEN_KEYS[broken](path)
    series = {"code": "GIFT", "cardGenerationConfiguration": {"length": 12, "method": "RANDOM"}}
    client = Client(create_app("memory://", users_file=None))
    try:
        with caplog.at_level(logging.ERROR, logger="cardseq.server"):
            for _ in range(2):
                message = fails(client.post("/v2/card/series", json=series), 503, 503)
                assert "keys file is broken" in message and str(path) not in message
        reasons = [r.getMessage() for r in caplog.records if r.name == "cardseq.server"]
        assert reasons and all(str(path) in reason for reason in reasons), reasons
        replace(path, _keys)
        answer = client.post("/v2/card/series", json=series)
        assert answer.status_code == 200, answer.text
    finally:
        client.close()
