"""``server.auth.read_users``: a users file of any bytes is read, or refused with error
701 naming its line; a user read has scrypt parameters within the bounds."""

from __future__ import annotations

import os
import tempfile

from cardseq.server.auth import _MAX_N, _MAX_P, _MAX_R, read_users

from .harness import Data, Finding, outcome

PATH = os.path.join(tempfile.mkdtemp(prefix="cardseq-fuzz-"), "users")


def one_input(raw: bytes) -> None:
    with open(PATH, "wb") as fp:
        fp.write(Data(raw).rest())
    read = outcome(read_users, PATH)
    if read[0] != "ok":
        return
    for name, found in read[1].items():
        if not (2 <= found.n <= _MAX_N and 1 <= found.r <= _MAX_R and 1 <= found.p <= _MAX_P):
            raise Finding("a user's scrypt parameters are out of bounds", f"{name}: {found}")
