"""Keys of the keyed methods: where they come from, and how a store tells them apart.

A store never keeps a key: it records the key's id and :func:`fingerprint`, and asks a
:class:`KeyRing` for the bytes when the series is used. The ring looks, in order, in
the source it was given (a mapping, a keys file, or a callable for a secrets manager),
then in the environment variable :func:`env_var` names, then in the keys file that
``$CARDSEQ_KEYS_FILE`` names; a key found is cached for the life of the process.

A keys file holds ``ID = VALUE`` lines (``#`` starts a comment), each value 16..64
bytes in hex or base64, and is refused unless only its owner can read it (mode 0600
or stricter).

>>> fingerprint(bytes(range(32)))[:8]
'604bef72'
>>> env_var("gift-2026")
'CARDSEQ_KEY_GIFT_2026'
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import threading
from collections.abc import Callable, Mapping

from .errors import (
    BrokenFile,
    CardSeqError,
    InsecureKeysFile,
    InvalidArgument,
    KeyMismatch,
    KeyNotFound,
)
from .operatorfile import numbered_lines, read_text, whole_or_nothing
from .permutation import MAX_KEY, MIN_KEY

KEYS_FILE_ENV = "CARDSEQ_KEYS_FILE"
ENV_PREFIX = "CARDSEQ_KEY_"
KEY_BYTES = 32  # what `cardseq keys new` makes
_ID = re.compile(r"[A-Za-z0-9_.-]{1,50}")
_LABEL = b"cardseq key fingerprint v1"
_KEYS_FILE = "keys file"

#: a callable source: the key's bytes (or their hex/base64 text) for an id, None if unknown
KeyLookup = Callable[[str], bytes | str | None]


def fingerprint(key: bytes) -> str:
    """16 bytes of keyed BLAKE2b of a fixed label under ``key``, in hex: tells a right
    key from a wrong one, and tells nothing about the numbers the key gives."""
    return hashlib.blake2b(_LABEL, key=key, digest_size=16).hexdigest()


def check_key_id(key_id: object, error: type[CardSeqError] = InvalidArgument) -> str:
    """A key id: 1..50 ASCII letters, digits, ``_``, ``.`` or ``-``, else ``error``
    naming it. (A series code is one.)"""
    if not isinstance(key_id, str) or not _ID.fullmatch(key_id):
        raise error.bad("key_id", key_id, "must be 1..50 ASCII letters, digits, '_', '.' or '-'")
    return key_id


def env_var(key_id: str) -> str:
    """The environment variable that holds key ``key_id``: ``CARDSEQ_KEY_`` and the id
    in capitals, each character other than a letter or digit made ``_``."""
    return ENV_PREFIX + re.sub(r"[^A-Z0-9]", "_", key_id.upper())


def decode_key(value: bytes | str, where: str) -> bytes:
    """Key bytes from bytes, or from hex or base64 text; ``where`` says where the value
    came from (an error names it, never the value)."""
    if isinstance(value, str):
        text = value.strip()
        try:
            key = bytes.fromhex(text)
        except ValueError:
            try:
                key = base64.b64decode(text, validate=True)
            except (binascii.Error, ValueError):
                raise InvalidArgument(
                    f"{where} is neither hex nor base64", field="key", value=where
                ) from None
    elif isinstance(value, (bytes, bytearray, memoryview)):
        key = bytes(value)
    else:
        raise InvalidArgument(
            f"{where} is a {type(value).__name__}, not bytes or text", field="key", value=where
        )
    if not MIN_KEY <= len(key) <= MAX_KEY:
        raise InvalidArgument(
            f"{where} holds {len(key)} bytes; a key has {MIN_KEY} to {MAX_KEY}",
            field="key",
            value=where,
        )
    return key


def check_private(path: str, mode: int) -> None:
    """Refuse a keys file that anyone but its owner can read or write (``InsecureKeysFile``),
    by the permission bits ``mode`` of the file read."""
    if mode & 0o077:
        raise InsecureKeysFile(
            f"keys file {path!r} has mode {mode:04o}: it must be 0600 or stricter"
            f" (chmod 600 {path})",
            field="keys_file",
            value=path,
        )


def read_keys_file(path: str) -> dict[str, bytes]:
    """The keys of a keys file (``ID = VALUE`` lines), after checking its mode. Any
    failure, whatever its kind, refuses the whole file (``BrokenFile``, of which
    ``InsecureKeysFile`` is one), naming it."""
    with whole_or_nothing(_KEYS_FILE, path):
        contents = read_text(path, _KEYS_FILE)
        check_private(path, contents.mode)
        keys: dict[str, bytes] = {}
        for number, line in numbered_lines(contents.text):
            text = line.split("#", 1)[0].strip()
            if not text:
                continue
            key_id, sep, value = (part.strip() for part in text.partition("="))
            where = f"line {number} of keys file {path!r}"
            if not sep or not _ID.fullmatch(key_id):
                raise BrokenFile(f"{where} is not 'ID = VALUE'", field="keys_file", value=path)
            if key_id in keys:
                raise BrokenFile(f"{where} repeats key {key_id!r}", field="keys_file", value=path)
            keys[key_id] = decode_key(value, where)
        return keys


def write_keys_file(path: str, keys: Mapping[str, bytes]) -> None:
    """Write ``keys`` to a new file created 0600 (never wider, whatever the umask) and
    flush it to disk; an existing file is not touched (``FileExistsError``)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fp:
        fp.write("# cardseq keys: ID = hex; keep this file secret (docs/security.md)\n")
        fp.writelines(f"{key_id} = {key.hex()}\n" for key_id, key in sorted(keys.items()))
        fp.flush()
        os.fsync(fp.fileno())
    directory = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


class KeyRing:
    """Keys by id, from a source, the environment and ``$CARDSEQ_KEYS_FILE``, cached."""

    def __init__(self, source: KeyLookup | None = None) -> None:
        self._source = source
        self._cache: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def find(self, key_id: str) -> bytes | None:
        """The key ``key_id``, or None when no source has it."""
        key = self._cache.get(key_id)
        if key is not None:
            return key
        key = self._lookup(key_id)
        if key is not None:
            with self._lock:
                self._cache[key_id] = key
        return key

    def _lookup(self, key_id: str) -> bytes | None:
        if self._source is not None:
            value = self._source(key_id)
            if value is not None:
                return decode_key(value, f"the key source's key {key_id!r}")
        name = env_var(key_id)
        if os.environ.get(name):
            return decode_key(os.environ[name], f"${name}")
        path = os.environ.get(KEYS_FILE_ENV)
        if path:
            value = read_keys_file(path).get(key_id)
            if value is not None:
                return value
        return None

    def add(self, key_id: str, key: bytes) -> None:
        """Remember ``key`` as ``key_id`` for this process (e.g. keys just exported)."""
        with self._lock:
            self._cache[check_key_id(key_id)] = key

    def check(self, series: str, key_id: str, expected: str, *, field: str = "key_id") -> bytes:
        """The key ``key_id`` of series ``series``, if its fingerprint is ``expected``;
        else ``KeyNotFound`` or ``KeyMismatch``, naming the series and the key id (the
        series' ``field`` that holds it)."""
        key = self.find(key_id)
        if key is None:
            raise KeyNotFound(
                f"series {series!r} needs key {key_id!r}, which no key source has: set"
                f" ${env_var(key_id)} or give a keys file (--keys-file, ${KEYS_FILE_ENV})",
                field=field,
                value=key_id,
            )
        if fingerprint(key) != expected:
            raise KeyMismatch(
                f"key {key_id!r} given for series {series!r} is not the key the series was"
                f" created with (fingerprint {fingerprint(key)}, registered {expected})",
                field=field,
                value=key_id,
            )
        return key


#: what ``open_store(keys=...)`` and ``CardService`` take
KeySource = KeyRing | Mapping[str, bytes | str] | KeyLookup | str | os.PathLike[str] | None


def keyring(source: KeySource = None) -> KeyRing:
    """A ``KeyRing`` over ``source``: a ring (as is), a mapping of id to key, the path of
    a keys file (read once, mode checked), or a callable; None for the environment only."""
    if source is None or isinstance(source, KeyRing):
        return source or KeyRing()
    if isinstance(source, (str, os.PathLike)):
        keys = read_keys_file(os.fspath(source))
        return KeyRing(keys.get)
    if isinstance(source, Mapping):
        return KeyRing(source.get)
    if callable(source):
        return KeyRing(source)
    raise InvalidArgument.bad("keys", source, "is not a key source (mapping, file or callable)")


def new_key() -> bytes:
    """A fresh key for a new series, from ``secrets``."""
    import secrets

    return secrets.token_bytes(KEY_BYTES)
