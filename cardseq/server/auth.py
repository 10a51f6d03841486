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

from ..errors import InvalidArgument

N, R, P = 2**14, 8, 1
SALT_BYTES, HASH_BYTES = 16, 32
# Lines may carry other parameters; these bounds keep a hostile or mistyped file from
# making one check take minutes or gigabytes.
_MAX_N, _MAX_R, _MAX_P = 2**20, 32, 16
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


def _scrypt(password: bytes, salt: bytes, n: int, r: int, p: int, size: int) -> bytes:
    return hashlib.scrypt(
        password, salt=salt, n=n, r=r, p=p, dklen=size, maxmem=256 * r * n + 1024 * 1024
    )


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
        parts = text.split("$")
        if len(parts) != 6 or parts[0] != "scrypt":
            raise ValueError("expected scrypt$N$r$p$salt$hash")
        try:
            n, r, p = (int(x) for x in parts[1:4])
            salt = base64.b64decode(parts[4], validate=True)
            digest = base64.b64decode(parts[5], validate=True)
        except (ValueError, binascii.Error) as error:
            raise ValueError(f"bad scrypt parameters: {error}") from None
        if (
            n < 2
            or n & (n - 1)
            or n > _MAX_N
            or not 1 <= r <= _MAX_R
            or not 1 <= p <= _MAX_P
            or not salt
            or len(digest) < 16
        ):
            raise ValueError("scrypt parameters out of range")
        return cls(n, r, p, salt, digest)

    def matches(self, password: bytes) -> bool:
        candidate = _scrypt(password, self.salt, self.n, self.r, self.p, len(self.digest))
        return hmac.compare_digest(candidate, self.digest)


def read_users(path: str) -> dict[str, PasswordHash]:
    """The users of a users file; a malformed line is an error naming its number."""
    users: dict[str, PasswordHash] = {}
    with open(path, encoding="utf-8") as fp:
        for number, line in enumerate(fp, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            name, sep, rest = line.partition(":")
            try:
                if not sep:
                    raise ValueError("expected name:scrypt$...")
                check_name(name)
                users[name] = PasswordHash.parse(rest)
            except (ValueError, InvalidArgument) as error:
                raise InvalidArgument(
                    f"users file {path}, line {number}: {error}", field="users_file", value=path
                ) from None
    return users


def add_user(path: str, name: str, password: str) -> bool:
    """Add ``name`` to the users file (created if missing), or replace its password.

    The file is rewritten atomically (a temporary file in the same directory, then a
    rename) with mode 0600. Returns True when the user existed and was replaced.
    """
    check_name(name)
    if not password:
        raise InvalidArgument("the password is empty", field="password")
    return _rewrite(path, name, f"{name}:{hash_password(password)}\n")


def remove_user(path: str, name: str) -> bool:
    """Remove ``name`` from the users file, rewritten as ``add_user`` rewrites it.
    Returns False, and leaves the file as it is, when no line has that name."""
    check_name(name)
    return _rewrite(path, name, None)


def _rewrite(path: str, name: str, line: str | None) -> bool:
    """Rewrite the users file with ``line`` in place of user ``name``'s line (appended
    when it has none; None: the user's lines dropped). Whether the user was there."""
    try:
        with open(path, encoding="utf-8") as fp:
            old = fp.readlines()
    except FileNotFoundError:
        old = []
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

    The file is read again whenever it changes (modification time, size or inode), and
    the cache of successful checks is then dropped, so a replaced password stops working
    at once. It fails closed: while the file is missing, unreadable or malformed, nobody
    is let in (``refresh`` answers False), and the reason is logged once per change.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._dummy = PasswordHash.parse(hash_password(secrets.token_urlsafe(16)))
        # At start a broken file is the operator's error to fix now: raised, not logged.
        self._stamp = self._file_stamp()
        self._users: dict[str, PasswordHash] | None = read_users(path)
        self._ok: set[tuple[str, bytes]] = set()

    def _file_stamp(self) -> tuple[int, int, int] | None:
        """What identifies the file's content; None when it cannot be looked at."""
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def world_readable(self) -> bool:
        return bool(os.stat(self.path).st_mode & (stat.S_IRWXG | stat.S_IRWXO))

    def refresh(self) -> bool:
        """Re-read the file if it changed; False while it cannot be read or parsed."""
        stamp = self._file_stamp()
        with self._lock:
            if stamp == self._stamp:
                return self._users is not None
            self._stamp, self._ok = stamp, set()
            try:
                self._users = read_users(self.path)
            except (OSError, InvalidArgument) as error:
                log.error("refusing every request until the users file is fixed: %s", error)
                self._users = None
                return False
            log.info("users file %s read: %d users", self.path, len(self._users))
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


__all__ = ["Authenticator", "PasswordHash", "add_user", "check_name", "hash_password", "read_users"]
