"""The documentation site's examples, each run as a test.

Python examples are doctests (pytest's ``--doctest-glob='*.md'``). This module runs the
rest: every ```` ```console ```` block of a page, its ``$ `` commands in order in one
fresh directory per page, each command's output (stdout and stderr) compared with the
lines under it, as doctest compares (``...`` matches any text within a line, or any
number of lines when alone on one). A command must exit 0 (examples of failures say
``|| echo "exit $?"``). A command ending in ``&`` runs in the background (``cardseq
serve``) until the page is done; the server listens on a free port, put in place of
the pages' ``127.0.0.1:8000``, and ``$PASSWORD`` is the password of the pages' users.

Any other block must say what it is: ``json`` (parsed here), ``sql`` (run on
PostgreSQL below) or ``text`` (a layout or a file format, not code to run).
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from cardseq import CardSeries, CardService
from cardseq.store import open_store

DOCS = Path(__file__).resolve().parent.parent / "docs"
PAGES = sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md"))
FENCE = re.compile(r"^```(\S*)\s*$")
#: what the pages' examples pass as the server's address and their users' password
DOC_ADDRESS = "127.0.0.1:8000"
PASSWORD = "correct horse battery staple"


def blocks(page: str) -> list[tuple[str, int, str]]:
    """The fenced blocks of a page: (language, line number, text)."""
    found: list[tuple[str, int, str]] = []
    lang, start, body = None, 0, []
    for number, line in enumerate((DOCS / page).read_text().splitlines(), 1):
        fence = FENCE.match(line)
        if lang is None:
            if fence:
                lang, start, body = fence.group(1), number, []
        elif line.rstrip() == "```":
            found.append((lang, start, "\n".join(body) + "\n"))
            lang = None
        else:
            body.append(line)
    assert lang is None, f"{page}: the block opened on line {start} is never closed"
    return found


def commands(text: str) -> list[tuple[str, str]]:
    """A console block's commands, each with its output. A command goes on over the
    lines that start with the shell's continuation prompt, ``> ``."""
    steps: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        elif steps and not steps[-1][1] and (line.startswith("> ") or line == ">"):
            steps[-1] = (steps[-1][0] + "\n" + line[2:], [])
        else:
            assert steps, f"output before any command: {line!r}"
            steps[-1][1].append(line)
    return [(command, "".join(f"{o}\n" for o in output)) for command, output in steps]


def matches(expected: str, actual: str) -> bool:
    """Doctest's comparison with ELLIPSIS, line by line; trailing spaces ignored."""
    pattern = []
    for line in expected.splitlines():
        if line.strip() == "...":
            pattern.append(r"(?:[^\n]*\n)*?")
        else:
            pattern.append(re.escape(line.rstrip()).replace(r"\.\.\.", r"[^\n]*") + r"\n")
    text = "".join(f"{line.rstrip()}\n" for line in actual.splitlines())
    return re.fullmatch("".join(pattern), text) is not None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def shell_env(home: Path, port: int) -> dict[str, str]:
    """The environment of a reader who just installed cardseq: its venv first on PATH,
    no CARDSEQ_ setting but the engine switches of this test run."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("CARDSEQ_") or k in ("CARDSEQ_NO_EXTENSIONS", "CARDSEQ_THREADS")
    }
    env.update(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        HOME=str(home),
        PASSWORD=PASSWORD,
        CARDSEQ_PORT=str(port),
        COLUMNS="100",
    )
    return env


CONSOLE_PAGES = [p for p in PAGES if any(lang == "console" for lang, _, _ in blocks(p))]


def test_every_block_is_tested_or_says_what_it_is():
    kinds = {"python", "console", "json", "sql", "text"}
    for page in PAGES:
        for lang, line, text in blocks(page):
            where = f"docs/{page}:{line}"
            assert lang in kinds, f"{where}: a ```{lang} block; use one of {sorted(kinds)}"
            if lang == "python":
                assert text.lstrip().startswith(">>> "), f"{where}: not a doctest"
            if lang == "console":
                assert text.startswith("$ "), f"{where}: a console block starts with '$ '"
    assert "cli.md" in CONSOLE_PAGES and "http.md" in CONSOLE_PAGES


@pytest.mark.heavy
@pytest.mark.parametrize("page", CONSOLE_PAGES)
def test_console_examples(page, tmp_path):
    port = free_port()
    env = shell_env(tmp_path, port)
    background: list[subprocess.Popen[bytes]] = []
    try:
        for _, line, text in (b for b in blocks(page) if b[0] == "console"):
            for command, expected in commands(text):
                command = command.replace(DOC_ADDRESS, f"127.0.0.1:{port}")
                if command.endswith("&"):
                    with (tmp_path / f"background-{len(background)}.log").open("wb") as log:
                        background.append(
                            subprocess.Popen(
                                ["bash", "-c", command[:-1]],
                                cwd=tmp_path,
                                env=env,
                                stdout=log,
                                stderr=subprocess.STDOUT,
                                start_new_session=True,
                            )
                        )
                    continue
                done = subprocess.run(
                    ["bash", "-o", "pipefail", "-c", command],
                    cwd=tmp_path,
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                    timeout=600,
                    check=False,
                )
                where = f"docs/{page}, block of line {line}: $ {command}"
                assert done.returncode == 0, f"{where}\nexit {done.returncode}:\n{done.stdout}"
                assert matches(expected, done.stdout), (
                    f"{where}\nexpected:\n{expected}\ngot:\n{done.stdout}"
                )
    finally:
        for process in background:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)


def test_the_console_runner_compares_as_doctest_does():
    assert matches("a\n...\nz\n", "a\nb\nc\nz\n")
    assert matches("id ...: ok\n", "id 17: ok\n")
    assert not matches("a\nz\n", "a\nb\nz\n")
    assert not matches("exit 0\n", "exit 1\n")
    assert commands("$ a \\\n>   b\nout\n$ c\n") == [("a \\\n  b", "out\n"), ("c", "")]


def test_json_examples_parse():
    for page in PAGES:
        for lang, line, text in blocks(page):
            if lang == "json":
                try:
                    json.loads(text)
                except ValueError as error:
                    pytest.fail(f"docs/{page}:{line}: {error}")


def test_the_least_privilege_grants_work(postgres_url):
    """store.md's SQL, run as written (the role's password aside), then the service as
    that role on a store opened without DDL."""
    [(_, _, sql)] = [b for b in blocks("store.md") if b[0] == "sql"]
    role = f"cardseq_app_{os.getpid()}"
    open_store(postgres_url).close()  # `cardseq db migrate`, as the owner
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        for statement in filter(str.strip, re.sub(r"--[^\n]*", "", sql).split(";")):
            conn.execute(statement.replace("cardseq_app", role).replace("'...'", "'app'"))
    app_url = postgres_url.replace("postgres@", f"{role}:app@", 1)
    try:
        with open_store(app_url, migrate=False) as store:
            service = CardService(store)
            service.create_series(CardSeries("LEAST", prefix="55", length=10))
            number = service.generate("LEAST", 2).numbers[0]
            assert service.issue(number, "c-1").status == "ACTIVE"
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(f"DROP OWNED BY {role}")
            conn.execute(f"DROP ROLE {role}")


LINK = re.compile(r"\]\(([^)\s]+)\)")
ROOT = DOCS.parent


def test_relative_links_name_files_in_the_repository():
    """mkdocs build --strict checks the site's own links and anchors; this checks the
    pages read on GitHub too (README, CONTRIBUTING, CHANGES, benchmarks/README). Links
    to other sites cannot be fetched here (no network): they are only listed."""
    pages = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", ROOT / "CHANGES.md"]
    pages += [ROOT / "benchmarks" / "README.md", *DOCS.rglob("*.md")]
    broken = []
    for page in pages:
        for target in LINK.findall(page.read_text()):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue
            path = (page.parent / target.split("#")[0]).resolve()
            if not path.exists() or ROOT not in path.parents:
                broken.append(f"{page.relative_to(ROOT)}: {target}")
    assert not broken
