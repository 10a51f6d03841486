"""The server as an operator runs it (issue 22): the interactive API page at /docs,
served whole by the server itself under a strict Content-Security-Policy, Granian in its
supported mode, and the log level and format of cardseq's and Granian's loggers."""

from __future__ import annotations

import json
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from click.testing import CliRunner

from cardseq.cli import main
from cardseq.server.apidocs import CSP, PATHS

from .server_helpers import Server, add_user, cardseq

ALICE = ("alice", "alice's long password")


class References(HTMLParser):
    """What a page makes the browser fetch (``src`` and ``href``), and whether it holds
    any inline script or style, which the policy would block."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        for name in ("src", "href"):
            if found.get(name):
                self.urls.append(found[name])  # type: ignore[arg-type]
        if "style" in found or any(name.startswith("on") for name in found):
            self.inline.append(f"<{tag}> attributes {sorted(found)}")
        if tag == "style" or (tag == "script" and not found.get("src")):
            self._in = tag
            self.inline.append(f"<{tag}> element")

    def handle_data(self, data: str) -> None:
        if self._in is None and data.strip() and self.lasttag == "script":
            self.inline.append("text inside <script src>")

    def handle_endtag(self, tag: str) -> None:
        self._in = None


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A real `cardseq serve` with authentication, logging JSON at debug level."""
    workdir = tmp_path_factory.mktemp("page")
    users = workdir / "users"
    add_user(users, *ALICE)
    db = f"sqlite:///{workdir / 'page.db'}"
    cardseq("series", "create", "GIFT", "--prefix", "600", "--length", "12", "--db", db)
    with Server(
        workdir,
        db,
        "--users-file",
        str(users),
        "--log-format",
        "json",
        "--log-level",
        "debug",
        auth=ALICE,
    ) as srv:
        yield srv


def test_the_page_and_every_file_it_references_come_from_the_server(server):
    page_url = server.url + "/docs"
    page = httpx.get(page_url)  # no credentials: public, as the document it shows
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.headers["content-security-policy"] == CSP
    parsed = References()
    parsed.feed(page.text)
    assert parsed.inline == []  # the policy allows no inline code: none is needed
    scripts = [u for u in parsed.urls if u.endswith(".js")]
    styles = [u for u in parsed.urls if u.endswith(".css")]
    assert scripts and styles, parsed.urls
    fetched = {}
    for reference in parsed.urls:
        url = urljoin(page_url, reference)
        assert urlsplit(url).netloc == urlsplit(server.url).netloc, url  # no other host
        answer = httpx.get(url)
        assert answer.status_code == 200, (url, answer.text[:200])
        assert answer.headers["content-security-policy"] == CSP
        assert answer.headers["x-content-type-options"] == "nosniff"
        fetched[urlsplit(url).path] = answer
    for path in (urlsplit(urljoin(page_url, u)).path for u in scripts):
        assert fetched[path].headers["content-type"].startswith("text/javascript")
    for path in (urlsplit(urljoin(page_url, u)).path for u in styles):
        assert fetched[path].headers["content-type"].startswith("text/css")
    assert set(fetched) | {"/docs"} == PATHS  # every public file is one the page uses
    # the start-up code asks for the server's own document, relative to the page
    start = fetched["/docs/start.js"].text
    assert 'new URL("openapi.json", document.baseURI)' in start and "http" not in start
    document = httpx.get(urljoin(page_url, "openapi.json"))
    assert (
        document.status_code == 200 and document.json()["paths"]["/docs"]["get"]["security"] == []
    )


def test_the_policy_is_strict():
    rules = dict(rule.strip().split(" ", 1) for rule in CSP.split(";"))
    assert rules["default-src"] == "'none'"
    assert rules["script-src"] == "'self'" and rules["style-src"] == "'self'"
    assert rules["frame-ancestors"] == "'none'" and rules["base-uri"] == "'none'"
    assert "unsafe" not in CSP and "http" not in CSP and "*" not in CSP


@pytest.mark.parametrize(
    "path", ["/docs/", "/docs/index.html", "/docs/swagger-ui.js.map", "/docs/../v2/card", "/docs2"]
)
def test_only_the_page_s_own_files_are_public(server, path):
    """The public paths are a list, not a prefix: anything else under /docs takes the
    API's credentials (and is no file of the page)."""
    answer = httpx.get(server.url + path)
    assert answer.status_code == 401, (path, answer.status_code)


def test_a_file_the_browser_holds_is_not_sent_again(server):
    first = httpx.get(server.url + "/docs/swagger-ui.css")
    again = httpx.get(
        server.url + "/docs/swagger-ui.css", headers={"If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304 and again.content == b""


def records(server: Server) -> list[dict]:
    """The server's log so far, each whole line parsed: every one is a JSON object."""
    text = server.log()
    return [json.loads(line) for line in text[: text.rfind("\n") + 1].splitlines() if line]


def test_every_line_granian_and_cardseq_log_is_json(server):
    with server.client() as client:
        assert client.post("/v2/card/generate", json={"seriesId": 1, "count": 2}).is_success
    httpx.get(server.url + "/docs?logged=1")
    deadline = time.monotonic() + 30
    while not any(r.get("query_string") == "logged=1" for r in records(server)):
        assert time.monotonic() < deadline, server.log()
        time.sleep(0.05)
    logged = records(server)
    # one worker serves in the command's process (docs/http.md says why), whose
    # Granian warning is a JSON record like any other
    assert all(r["level"] != "ERROR" for r in logged)
    assert all({"time", "level", "logger", "message"} <= set(r) for r in logged)
    (access,) = [r for r in logged if r.get("query_string") == "logged=1"]
    assert (access["logger"], access["path"], access["status"]) == ("granian.access", "/docs", 200)
    (reserved,) = [r for r in logged if r["logger"] == "cardseq.store"]
    assert (reserved["actor"], reserved["count"], reserved["level"]) == ("alice", 2, "INFO")
    assert any(r["logger"] == "_granian" for r in logged)  # Granian's own, in JSON too


def test_the_log_level_applies_to_every_logger_and_the_access_log(tmp_path):
    db = f"sqlite:///{tmp_path / 'quiet.db'}"
    with Server(tmp_path, db, "--no-auth", env={"CARDSEQ_LOG_LEVEL": "WARNING"}) as srv:
        assert httpx.get(srv.url + "/healthz").status_code == 200
        srv.stop()
    lines = [line for line in srv.log().splitlines() if line.strip()]
    # the command's own warning about --no-auth and Granian's about its embedded server
    # (docs/http.md): no INFO of Granian's, no access line
    open_to = f"127.0.0.1:{srv.port}"
    assert lines == [
        f"warning: --no-auth: every route is open to anyone who can connect to {open_to}",
        "[WARNING] Embedded server is experimental!",
    ]


@pytest.mark.parametrize(
    ("args", "env", "said"),
    [
        (["--log-level", "loud"], {}, "--log-level 'loud' must be one of debug, info, warning"),
        ([], {"CARDSEQ_LOG_LEVEL": "verbose"}, "$CARDSEQ_LOG_LEVEL (--log-level) 'verbose'"),
        (["--log-format", "xml"], {}, "--log-format 'xml' must be one of text, json"),
        ([], {"CARDSEQ_LOG_FORMAT": "yaml"}, "$CARDSEQ_LOG_FORMAT (--log-format) 'yaml' must"),
    ],
)
def test_a_bad_log_option_is_a_coded_error(args, env, said, tmp_path: Path, monkeypatch):
    import cardseq.server.run

    served: list[object] = []  # (nothing may be served: the value stops the command first)
    monkeypatch.setattr(cardseq.server.run, "serve", lambda *a, **kw: served.append(kw))
    result = CliRunner().invoke(
        main, ["serve", "--no-auth", "--db", f"sqlite:///{tmp_path}/x.db", *args], env=env
    )
    assert result.exit_code == 1 and result.output.startswith("error 701: "), result.output
    assert said in result.output and "Traceback" not in result.output and served == []
