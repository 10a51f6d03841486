"""Users and passwords for the HTTP server's Basic authentication.

A users file has one ``name:scrypt$N$r$p$salt_b64$hash_b64`` line per user (blank
lines and ``#`` comments are ignored). Only the standard library is used here, so that
``cardseq users add`` works without the server's extra dependencies.

Checking a password costs one scrypt (about 50 ms, 16 MiB): unknown names pay it too,
against a dummy hash, so the time of an answer does not tell which names exist. A
successful check is remembered in memory, keyed by the name and the SHA-256 of the
password, so that a client sending the same credentials on every request pays once.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
import re
import secrets
import stat
import tempfile
import threading
from dataclasses import dataclass

from ..errors import BrokenFile, InvalidArgument
from ..integers import text_int
from ..operatorfile import (
    FileText,
    Stamp,
    current_stamp,
    numbered_lines,
    read_text,
    whole_or_nothing,
)

N, R, P = 2**14, 8, 1
SALT_BYTES, HASH_BYTES = 16, 32
# Lines may carry other parameters; these bounds keep a hostile or mistyped file from
# making one check take minutes or gigabytes.
_MAX_N, _MAX_R, _MAX_P = 2**20, 32, 16
_MIN_HASH_BYTES = 16
# hashlib takes scrypt's memory limit as a C int
_MAX_MAXMEM = 2**31 - 1
_USERS_FILE = "users file"
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_CACHE_MAX = 10_000

log = logging.getLogger("cardseq.server")

#: the challenge of a 401 answer (its WWW-Authenticate header)
REALM = 'Basic realm="cardseq"'


def check_name(name: str) -> str:
    """A user name: 1..64 ASCII letters, digits, ``_``, ``.`` or ``-``."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidArgument(
            f"user name {name!r} must be 1..64 ASCII letters, digits, '_', '.' or '-'",
            field="name",
            value=name,
        )
    return name


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _maxmem(n: int, r: int) -> int:
    """The memory limit given to scrypt: twice what its table of ``n`` blocks of
    ``128 * r`` bytes takes, and 1 MiB for the rest."""
    return 256 * r * n + 1024 * 1024


def _scrypt(password: bytes, salt: bytes, n: int, r: int, p: int, size: int) -> bytes:
    return hashlib.scrypt(password, salt=salt, n=n, r=r, p=p, dklen=size, maxmem=_maxmem(n, r))


def _check_cost(n: int, r: int) -> None:
    """Refuse the settings that hashlib (OpenSSL) would refuse at every check, ``n``
    and ``r`` being within their bounds already. Its other rules (``r * p`` below
    2**30, the memory needed within the limit ``_maxmem`` gives) hold within them."""
    if n & (n - 1):
        raise InvalidArgument.bad("n", n, "must be a power of 2")
    if n >= 1 << (16 * r):
        raise InvalidArgument.bad("n", n, f"must be below 2**{16 * r} when r is {r}")
    if _maxmem(n, r) > _MAX_MAXMEM:
        raise InvalidArgument.bad(
            "n", n, f"with r {r} needs a memory limit above the {_MAX_MAXMEM} bytes hashlib takes"
        )


def _unb64(text: str, field: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidArgument(f"{field} is not base64", field=field) from None


def hash_password(password: str) -> str:
    """The ``scrypt$N$r$p$salt$hash`` form of ``password``, with a fresh random salt."""
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _scrypt(password.encode("utf-8"), salt, N, R, P, HASH_BYTES)
    return f"scrypt${N}${R}${P}${_b64(salt)}${_b64(digest)}"


@dataclass(frozen=True)
class PasswordHash:
    n: int
    r: int
    p: int
    salt: bytes
    digest: bytes

    @classmethod
    def parse(cls, text: str) -> PasswordHash:
        """A ``scrypt$N$r$p$salt$hash`` record, refused (``InvalidArgument`` naming the
        field) unless its settings are within the bounds and hashlib takes them."""
        parts = text.split("$")
        if len(parts) != 6 or parts[0] != "scrypt":
            raise InvalidArgument("expected scrypt$N$r$p$salt$hash", field="hash")
        n = text_int(parts[1], "n", InvalidArgument, minimum=2, maximum=_MAX_N)
        r = text_int(parts[2], "r", InvalidArgument, minimum=1, maximum=_MAX_R)
        p = text_int(parts[3], "p", InvalidArgument, minimum=1, maximum=_MAX_P)
        _check_cost(n, r)
        salt, digest = _unb64(parts[4], "salt"), _unb64(parts[5], "hash")
        if not salt:
            raise InvalidArgument("salt is empty", field="salt")
        if len(digest) < _MIN_HASH_BYTES:
            raise InvalidArgument(
                f"hash has {len(digest)} bytes: at least {_MIN_HASH_BYTES}", field="hash"
            )
        return cls(n, r, p, salt, digest)

    def matches(self, password: bytes) -> bool:
        candidate = _scrypt(password, self.salt, self.n, self.r, self.p, len(self.digest))
        return hmac.compare_digest(candidate, self.digest)


def parse_users(text: str, path: str, *, replacing: str | None = None) -> dict[str, PasswordHash]:
    """The users of the text of the users file ``path``; a bad line (or a name on two
    lines) is a ``BrokenFile`` naming the line, the user and the field. The lines of
    user ``replacing`` are skipped unread."""
    users: dict[str, PasswordHash] = {}
    lines: dict[str, int] = {}
    for number, text_line in numbered_lines(text):
        line = text_line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, rest = line.partition(":")
        where = f"{_USERS_FILE} {path!r}, line {number}"
        try:
            if not sep:
                raise InvalidArgument("expected name:scrypt$...", field="line")
            check_name(name)
            where += f" (user {name!r})"
            if name == replacing:
                continue
            if name in lines:
                raise InvalidArgument(f"the user is on line {lines[name]} too", field="name")
            users[name], lines[name] = PasswordHash.parse(rest), number
        except InvalidArgument as error:
            raise BrokenFile(f"{where}: {error.message}", field="users_file", value=path) from None
    return users


def load_users(path: str) -> tuple[dict[str, PasswordHash], FileText]:
    """The users of the users file ``path``, and the file as read. Any failure, whatever
    its kind, is a ``BrokenFile``: nothing of a file is used unless all of it is good."""
    with whole_or_nothing(_USERS_FILE, path):
        contents = read_text(path, _USERS_FILE)
        return parse_users(contents.text, path), contents


def read_users(path: str) -> dict[str, PasswordHash]:
    """The users of a users file; a malformed line is an error naming its number."""
    return load_users(path)[0]


def add_user(path: str, name: str, password: str) -> bool:
    """Add ``name`` to the users file (created if missing), or replace its password.

    The file is rewritten atomically (a temporary file in the same directory, then a
    rename) with mode 0600. An existing file is left alone (``BrokenFile``) unless the
    server could read it: only the lines of ``name`` may be wrong, being replaced.
    Returns True when the user existed and was replaced.
    """
    check_name(name)
    if not password:
        raise InvalidArgument("the password is empty", field="password")
    return _rewrite(path, name, f"{name}:{hash_password(password)}\n")


def remove_user(path: str, name: str) -> bool:
    """Remove ``name`` from the users file, rewritten as ``add_user`` rewrites it (and
    refused as it refuses a file the server could not read). Returns False, and leaves
    the file as it is, when no line has that name."""
    check_name(name)
    return _rewrite(path, name, None)


def _rewrite(path: str, name: str, line: str | None) -> bool:
    """Rewrite the users file with ``line`` in place of user ``name``'s line (appended
    when it has none; None: the user's lines dropped). Whether the user was there."""
    old: list[str] = []
    if os.path.lexists(path):  # a dangling link is refused, not replaced
        with whole_or_nothing(_USERS_FILE, path):
            text = read_text(path, _USERS_FILE).text
            parse_users(text, path, replacing=name)
        old = [kept for _, kept in numbered_lines(text)]
    replaced = False
    lines = []
    for existing in old:
        if existing.split(":", 1)[0].strip() == name:
            if not replaced and line is not None:
                lines.append(line)
            replaced = True
        else:
            lines.append(existing if existing.endswith("\n") else existing + "\n")
    if not replaced:
        if line is None:
            return False
        lines.append(line)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".users-", dir=directory)  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fp:
            fp.writelines(lines)
            fp.flush()
            os.fsync(fp.fileno())
        os.chmod(tmp, stat.S_IRUSR | stat.S_IWUSR)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return replaced


class Authenticator:
    """Checks Basic credentials against a users file.

    The file is read again whenever it changes (device, inode, size, modification or
    change time), and the cache of successful checks is then dropped, so a replaced
    password stops working at once. It fails closed: from the moment a read fails, for
    whatever reason, nobody is let in (``refresh`` answers False) and the previous users
    are forgotten; every request reads the file again until a read succeeds. The reason
    is logged once per change of the file or of the reason.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._dummy = PasswordHash.parse(hash_password(secrets.token_urlsafe(16)))
        # At start a broken file is the operator's error to fix now: raised, not logged.
        users, contents = load_users(path)
        self._users: dict[str, PasswordHash] | None = users
        self._stamp: Stamp | None = contents.stamp
        self._mode = contents.mode
        self._ok: set[tuple[str, bytes]] = set()
        self._failure: tuple[Stamp | None, str] | None = None

    def world_readable(self) -> bool:
        """Whether others than its owner may read the file, as it was last read."""
        return bool(self._mode & (stat.S_IRWXG | stat.S_IRWXO))

    def refresh(self) -> bool:
        """Re-read the file if it changed or the last read failed; False while it
        cannot be read whole."""
        stamp = current_stamp(self.path)
        with self._lock:
            if self._users is not None and stamp is not None and stamp == self._stamp:
                return True
            # Forgotten before the read: whatever it raises, the old users are gone.
            self._users, self._stamp, self._ok = None, None, set()
            try:
                users, contents = load_users(self.path)
            except BrokenFile as error:
                if self._failure != (stamp, error.message):
                    self._failure = (stamp, error.message)
                    log.error("refusing every request until the users file is fixed: %s", error)
                return False
            self._users, self._stamp, self._mode = users, contents.stamp, contents.mode
            self._failure = None
            log.info("users file %s read: %d users", self.path, len(users))
            return True

    def cached(self, name: str, password: str) -> bool:
        """True when these credentials were verified before (no scrypt needed)."""
        key = (name, hashlib.sha256(password.encode("utf-8")).digest())
        return key in self._ok

    def verify(self, name: str, password: str) -> bool:
        """One scrypt, whether or not ``name`` exists; remembered when it succeeds."""
        secret = password.encode("utf-8")
        key = (name, hashlib.sha256(secret).digest())
        if key in self._ok:
            return True
        with self._lock:
            record = (self._users or {}).get(name)
            ok_set = self._ok
        matches = (record or self._dummy).matches(secret)
        if record is None or not matches:
            return False
        with self._lock:
            if ok_set is self._ok:  # the file did not change meanwhile
                if len(self._ok) >= _CACHE_MAX:
                    self._ok.clear()
                self._ok.add(key)
        return True


__all__ = [
    "Authenticator",
    "PasswordHash",
    "add_user",
    "check_name",
    "hash_password",
    "load_users",
    "parse_users",
    "read_users",
]
