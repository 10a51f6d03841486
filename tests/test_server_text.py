"""Text in the request target: query and path values in any script come back in error
messages as they were sent, percent-encoded or raw UTF-8; bytes that are not UTF-8 are a
400 (code 400) naming the parameter, never a 500 or a replaced character. On a real
server, over raw sockets (an HTTP client would percent-encode what it sends); the
guard's reading of the target also on its own."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from urllib.parse import quote

import pytest
from starlette.requests import Request

from cardseq.server.target import read_target

from .server_helpers import Server

#: several scripts, a letter with a combining mark, emoji (one with a joiner), and a
#: soft hyphen (whose Latin-1 misreading ends in a byte Python prints escaped)
TEXTS = ["é", "e\u0301", "中文", "😀", "👩\u200d💻", "שלום", "Ωμέγα", "١٢", "\u00e4\u00b8\u00ad"]
#: escapes that are not UTF-8: a lone byte, a cut sequence, a bad continuation, an
#: overlong form, a surrogate, a code point above U+10FFFF
NOT_UTF8 = ["%FF", "%C3", "%C3%28", "%C0%AF", "%ED%A0%80", "%F4%90%80%80"]
#: bytes that are not UTF-8 sent raw
RAW_NOT_UTF8 = [b"\xff", b"\xc3(", b"\xed\xa0\x80"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    workdir: Path = tmp_path_factory.mktemp("text")
    with Server(workdir, f"sqlite:///{workdir / 't.db'}", "--no-auth") as running:
        yield running


def get(server: Server, target: bytes) -> tuple[int, dict]:
    """GET ``target`` exactly as given (no encoding): the status and the JSON answer,
    read as UTF-8."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: cardseq\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body.decode("utf-8")) if body else {}


def error(answer: tuple[int, dict]) -> tuple[int, int, str]:
    status, body = answer
    [problem] = body["errors"]
    return status, problem["code"], problem["message"]


def spellings(text: str) -> list[bytes]:
    """``text`` percent-encoded (RFC 3986) and as raw UTF-8."""
    return [quote(text, safe="").encode("ascii"), text.encode("utf-8")]


@pytest.mark.parametrize("text", TEXTS)
def test_query_and_path_values_come_back_as_sent(server: Server, text: str) -> None:
    for sent in spellings(text):
        answer = get(server, b"/v2/card?number=" + sent)
        assert error(answer) == (404, 3010, f"cardNumber {text!r} is not a number of any series")
        status, code, message = error(get(server, b"/v2/card/generation/logs?seriesId=" + sent))
        assert (status, code) == (400, 3000) and message.startswith(f"seriesId {text!r} must")
        status, code, message = error(get(server, b"/v2/card/statusLog?number=1&limit=" + sent))
        assert (status, code) == (400, 701) and message.startswith(f"limit {text!r} must")
        status, code, message = error(get(server, b"/v2/card/series/" + sent))
        assert (status, code) == (404, 3000) and message.startswith(f"id {text!r} must")


def test_a_plus_is_a_space_in_a_query_value(server: Server) -> None:
    answer = get(server, b"/v2/card?number=%C3%A9+" + "中".encode())
    assert error(answer)[2] == "cardNumber 'é 中' is not a number of any series"


def shown(sent: bytes) -> str:
    """How a message shows bytes: as sent, those above ASCII percent-encoded."""
    return "".join(chr(b) if b < 0x80 else f"%{b:02X}" for b in sent)


@pytest.mark.parametrize("sent", [s.encode("ascii") for s in NOT_UTF8])
def test_escapes_that_are_not_utf8_are_a_400_naming_the_parameter(server: Server, sent: bytes):
    status, code, message = error(get(server, b"/v2/card?number=A1&number2=" + sent))
    assert (status, code) == (400, 400)
    assert message == (
        f"the value {shown(sent)!r} of query parameter 'number2' is not UTF-8 text"
        " (raw or percent-encoded, RFC 3986)"
    )
    status, code, message = error(get(server, b"/v2/card?" + sent + b"=1"))
    assert (status, code) == (400, 400)
    assert message.startswith(f"the name of query parameter {shown(sent)!r} is not UTF-8")
    status, code, message = error(get(server, b"/v2/card/series/" + sent))
    assert (status, code) == (400, 400)
    assert message.startswith(f"the path '/v2/card/series/{shown(sent)}' is not UTF-8")


@pytest.mark.parametrize("sent", RAW_NOT_UTF8)
def test_raw_bytes_that_are_not_utf8_are_a_400(server: Server, sent: bytes) -> None:
    """Granian refuses them itself (a 400 without a body) before the app sees them; an
    ASGI server that passes them on gets the app's coded 400 (below)."""
    for target in (b"/v2/card?number=" + sent, b"/v2/card?" + sent, b"/v2/card/series/" + sent):
        assert get(server, target)[0] == 400


@pytest.mark.parametrize("sent", [s.encode("ascii") for s in NOT_UTF8] + RAW_NOT_UTF8)
def test_the_guard_names_the_part_of_the_target_that_is_not_utf8(sent: bytes) -> None:
    message = read_target({"raw_path": b"/p", "query_string": b"a=%C3%A9&b=" + sent})
    assert message == (
        f"the value {shown(sent)!r} of query parameter 'b' is not UTF-8 text"
        " (raw or percent-encoded, RFC 3986)"
    )
    message = read_target({"raw_path": b"/p", "query_string": b"a=1&" + sent})
    assert message is not None and message.startswith(
        f"the name of query parameter {shown(sent)!r}"
    )
    message = read_target({"raw_path": b"/p/" + sent, "query_string": b""})
    assert message is not None and message.startswith(f"the path '/p/{shown(sent)}'")


@pytest.mark.parametrize("text", TEXTS)
def test_the_guard_leaves_a_query_in_ascii_for_every_reader(text: str) -> None:
    """Raw UTF-8 is percent-encoded in the scope, which Starlette then reads as UTF-8."""
    for sent in spellings(text):
        scope = {"type": "http", "query_string": b"x=" + sent + b"&y=%41"}
        assert read_target(scope) is None
        assert scope["query_string"] == b"x=" + spellings(text)[0] + b"&y=%41"
        assert dict(Request(scope).query_params) == {"x": text, "y": "A"}
