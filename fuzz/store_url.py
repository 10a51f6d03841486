"""``store.open_store``: a store URL of any text, its query options included, opens a
store or is refused with a coded error. SQLite files go to a directory of this
process's own (the URL's path is made a name in it); a PostgreSQL URL is read as
``PostgresStore`` reads it, and no connection is made."""

from __future__ import annotations

import os
import shutil
import tempfile

from cardseq.store import open_store
from cardseq.store.postgres import PostgresStore

from .harness import Data, note, outcome

HOME = tempfile.mkdtemp(prefix="cardseq-fuzz-")
SCHEMES = ("sqlite:///", "memory://", "postgresql://", "postgres://", "")
OPTIONS = (
    "busy_timeout",
    "connect_timeout",
    "max_connections",
    "statement_timeout",
    "unsafe_durability",
    "password",
    "sslmode",
)

# (the URL is read in __init__ before _open connects: a fuzz process opens nothing)
PostgresStore._open = lambda self, migrate: None  # type: ignore[method-assign]


def url_of(data: Data) -> str:
    scheme = data.pick(SCHEMES)
    rest = data.text(80)
    if scheme == "sqlite:///":  # a file name in HOME: nothing is written elsewhere
        rest = f"{HOME}/{rest.replace('/', '')}" if rest else ""
    query = [f"{data.pick(OPTIONS)}={data.text(12)}" for _ in range(data.int(0, 3))]
    return scheme + rest + ("?" + "&".join(query) if query else "")


def one_input(raw: bytes) -> None:
    data = Data(raw)
    url = url_of(data)
    note("url", url)
    opened = outcome(open_store, url, migrate=data.bool())
    if opened[0] == "ok":
        opened[1].close()
    for name in os.listdir(HOME):
        path = os.path.join(HOME, name)
        if os.path.isdir(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)
