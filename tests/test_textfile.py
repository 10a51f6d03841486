"""The operator's text files (users, keys) holding bytes that are not UTF-8: refused
with error 701 naming the file and the line, as any malformed line is, by the readers,
the server at its start and at a reload (fail closed), and the CLI; never a
``UnicodeDecodeError`` (found by fuzz/users_file.py and fuzz/keys_file.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cardseq.errors import InvalidArgument
from cardseq.keys import read_keys_file
from cardseq.server.auth import Authenticator, add_user, read_users

KEY_LINE = b"GOLD = " + bytes(range(32)).hex().encode() + b"\n"
# (bytes, the line they are on): a Latin-1 letter, a stray continuation byte, an
# encoded surrogate (CESU-8), a character cut off at the end of the file
NOT_UTF8 = [
    (b"\xe9", 1),
    (b"# ok\n\n\x80 = x\n", 3),
    (b"# \xed\xa0\x80\n", 1),
    (b"\n\n\n# \xe2\x82", 4),
]


def private(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    os.chmod(path, 0o600)
    return str(path)


READERS = {"keys_file": read_keys_file, "users_file": read_users}


@pytest.mark.parametrize("field", READERS)
@pytest.mark.parametrize(("junk", "line"), NOT_UTF8)
def test_a_file_that_is_not_utf8(tmp_path, field, junk, line):
    read = READERS[field]
    path = private(tmp_path / field, junk)
    with pytest.raises(InvalidArgument) as info:
        read(path)
    assert info.value.code == 701 and info.value.field == field
    assert str(info.value).startswith(f"{field.replace('_', ' ')} {path!r} is not UTF-8: byte")
    assert str(info.value).endswith(f" on line {line}")


def test_keys_file_lines_after_the_junk_are_numbered_as_text_mode_numbers_them(tmp_path):
    path = private(tmp_path / "keys", b"# one\r\n# two\rGOLD = zz\n")
    with pytest.raises(InvalidArgument, match="line 3 of keys file"):
        read_keys_file(path)
    assert read_keys_file(private(tmp_path / "good", b"# \xc3\xa9\r\n" + KEY_LINE)) == {
        "GOLD": bytes(range(32))
    }


def test_users_file_that_stops_being_utf8_refuses_everyone(tmp_path):
    path = tmp_path / "users"
    add_user(str(path), "alice", "alice password")
    auth = Authenticator(str(path))
    assert auth.refresh()
    path.write_bytes(path.read_bytes() + b"bob:\xff\n")
    assert not auth.refresh()  # fail closed: nobody in until it is fixed


def cardseq(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cardseq", *args],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def test_serve_with_a_users_file_that_is_not_utf8(tmp_path):
    users = private(tmp_path / "users", b"# \xe9\n")
    result = cardseq("serve", "--users-file", users, "--db", f"sqlite:///{tmp_path / 'n.db'}")
    assert result.returncode == 1, result.stderr
    assert f"error 701: users file {users!r} is not UTF-8: byte 0xe9 on line 1" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_with_a_keys_file_that_is_not_utf8(tmp_path):
    keys = private(tmp_path / "keys", KEY_LINE + b"\xff\n")
    db = f"sqlite:///{tmp_path / 'k.db'}"
    options = ["--length", "12", "--method", "RANDOM", "--key-id", "GOLD", "--keys-file", keys]
    result = cardseq("series", "create", "GOLD", *options, "--db", db)
    assert result.returncode == 1, result.stderr
    assert result.stderr == f"error 701: keys file {keys!r} is not UTF-8: byte 0xff on line 2\n"
