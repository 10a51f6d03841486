"""``keys.read_keys_file`` and ``keys.decode_key``: a keys file of any bytes (mode 0600)
is read, or refused with error 701; every key read has 16..64 bytes."""

from __future__ import annotations

import os
import tempfile

from cardseq.keys import decode_key, read_keys_file
from cardseq.permutation import MAX_KEY, MIN_KEY

from .harness import Data, Finding, outcome

PATH = os.path.join(tempfile.mkdtemp(prefix="cardseq-fuzz-"), "keys")


def one_input(raw: bytes) -> None:
    data = Data(raw)
    if data.bool():  # a key's value alone, as the environment or a key source gives it
        value: str | bytes = data.text(200) if data.bool() else data.bytes(200)
        outcome(decode_key, value, "the key")
        return
    fd = os.open(PATH, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fp:
        fp.write(data.rest())
    read = outcome(read_keys_file, PATH)
    if read[0] == "ok" and any(not MIN_KEY <= len(k) <= MAX_KEY for k in read[1].values()):
        raise Finding("a key read has a size out of bounds", repr(read[1]))
