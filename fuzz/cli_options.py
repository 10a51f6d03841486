"""The ``cardseq`` command's options and arguments: numbers, times, codes, series
references, card numbers, as argv can hold them (any bytes but NUL, read as Python reads
argv). A command ends with exit status 0, 1 (a coded error) or 2 (a usage error), never
with a traceback; ``serve``'s options are parsed only (no server starts).

The commands run against a SQLite store of this process's own, made again every
``RENEW`` inputs so that the series the fuzzer creates do not slow every later one.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import click
from click.testing import CliRunner

from cardseq.cli import main, serve
from cardseq.keys import write_keys_file
from cardseq.service import CardService
from cardseq.store import open_store

from .harness import Data, Finding, note, outcome, signature
from .lookup_many import SERIES
from .parse import KEY

HOME = Path(tempfile.mkdtemp(prefix="cardseq-fuzz-"))
KEYS = HOME / "keys"
write_keys_file(str(KEYS), {"RAND": KEY})
RENEW = 2000
VALUES = (
    "0",
    "1",
    "-1",
    "65535",
    "99999999999999999999999",
    "2026-11-27",
    "2026-11-27T09:30+01:00",
    "9999-12-31T23:59:59-23:59",
    "0001-01-01T00:00:00+23:59",
    "GOLD",
    "1",
    "GOLD00000000000000032021",
)
REFS = ("GOLD", "VISA", "RAND", "1", "2", "99")
OPTIONS = {
    ("series", "create"): ("--length", "--offset", "--prefix", "--suffix", "--method", "--key-id"),
    ("generate",): (
        "--count",
        "--status-label",
        "--request-id",
        "--columns",
        "--format",
        "--order",
    ),
    ("ledger",): ("--since", "--until", "--limit", "--after", "--label", "--request-id"),
    ("series", "log"): ("--limit", "--after"),
    ("export",): ("--ledger-id", "--request-id", "--order", "--format", "--columns"),
    ("validate",): ("--lenient",),
    ("series", "show"): (),
    ("labels", "add"): ("--status", "--default"),
}
SERVE = (
    "--port",
    "--rate",
    "--burst",
    "--max-count",
    "--header-timeout",
    "--body-timeout",
    "--max-connections",
    "--workers",
    "--forwarded-allow-ips",
)
FLAGS = {"--lenient", "--default"}
#: each kind of failure in process: whether the real command fails too
REAL: dict[str, bool] = {}
runs = 0


def store() -> str:
    """A new store with the series every target knows, numbers reserved; its URL."""
    path = HOME / "cli.db"
    for name in ("cli.db", "cli.db-wal", "cli.db-shm"):
        (HOME / name).unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    with open_store(url, keys=str(KEYS)) as opened:
        service = CardService(opened)
        for made in SERIES:
            service.create_series(made)
            service.reserve(made.code, 30, request_id=f"{made.code}-1")
    return url


URL = store()


def argument(data: Data) -> str:
    """An argv string: a value of interest, or bytes read as Python reads argv."""
    if data.int(0, 2) == 0:
        return data.pick(VALUES)
    return os.fsdecode(data.bytes(40).replace(b"\0", b""))


def one_input(raw: bytes) -> None:
    global URL, runs
    runs += 1
    if runs % RENEW == 0:
        URL = store()
    data = Data(raw)
    if data.int(0, 4) == 0:  # serve: parse only
        args = []
        for _ in range(data.int(0, 4)):
            args += [data.pick(SERVE), argument(data)]
        note("serve", args)
        with contextlib.suppress(click.ClickException):  # a usage error: exit status 2
            outcome(serve.make_context, "serve", args)
        return
    command = data.pick(list(OPTIONS))
    args = [*command, argument(data) if data.int(0, 3) == 0 else data.pick(REFS)]
    if command == ("validate",):
        args += [argument(data) for _ in range(data.int(0, 3))]
    for _ in range(data.int(0, 4) if OPTIONS[command] else 0):  # (no --db: it makes files)
        option = data.pick(OPTIONS[command])
        args += [option] if option in FLAGS else [option, argument(data)]
    if command == ("generate",):
        args += ["--confirm-above", "200"]  # (a count above it is refused, not written)
    note("argv", args)
    env = {"CARDSEQ_DB": URL, "CARDSEQ_KEYS_FILE": str(KEYS)}
    result = CliRunner().invoke(main, args, env=env, catch_exceptions=True)
    error = result.exception
    if result.exit_code not in (0, 1, 2) or not isinstance(error, (type(None), SystemExit)):
        in_process = error or Finding(f"exit status {result.exit_code}", result.output)
        kind = signature(in_process)
        if kind not in REAL:
            REAL[kind] = real_failure(args, env)
        if REAL[kind]:
            raise in_process


def real_failure(args: list[str], env: dict[str, str]) -> bool:
    """Whether the real command fails too: CliRunner's stdout refuses what a real one
    writes (click replaces a lone surrogate there), so the real command has the last
    word, once for each kind of failure."""
    real = subprocess.run(
        [sys.executable, "-m", "cardseq", *args],
        env={**os.environ, **env},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=60,
    )
    return real.returncode not in (0, 1, 2) or b"Traceback" in real.stderr
