"""Schemathesis against the HTTP server in process: the ASGI app that ``cardseq serve``
runs, called directly (no port, no subprocess, no worker threads of the fuzzer).

Every operation of the server's OpenAPI document is a test item of its own
(``test_operation[POST /v2/card/generate]``), fuzzed from a fixed seed with
derandomized Hypothesis; ``test_links`` chains operations along the document's links
(create a series, generate its numbers, read a card and its status log). Checks: no 5xx, and every
answer (status, headers, content type, body) is one the document describes; an error in
the server's log fails too. The ``fuzz`` marker (tests/fuzzguard.py) turns a crash of
the fuzzer itself into one clear line.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections import Counter
from pathlib import Path
from typing import Any

import hypothesis
import jsonschema_rs
import pytest
import schemathesis
from hypothesis import HealthCheck
from schemathesis.python import asgi

from cardseq.server import create_app
from cardseq.server.auth import add_user
from cardseq.server.openapi import build_openapi
from cardseq.server.wire import COMBINATION_CODES, STATE_CODES, VALID_REQUEST_CODES

ROOT = Path(__file__).resolve().parent.parent
USER = ("alice", "correct horse battery staple")
MAX_COUNT = 2000


@schemathesis.check
def valid_data_refused_only_for_state(ctx: Any, response: Any, case: Any) -> bool | None:
    """Schema-valid data reaches the route logic: if such a request is answered 400, the
    reason is what the store holds or fields that do not fit together (a code in
    ``VALID_REQUEST_CODES``), never the request's form.
    Schemathesis' own ``positive_data_acceptance`` would count those state refusals too."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return None
    if response.status_code != 400:
        return None
    codes = {problem["code"] for problem in response.json()["errors"]}
    assert codes <= VALID_REQUEST_CODES, (
        f"a schema-valid request was refused for its form: {response.text}"
    )
    return True


CHECKS = [
    "valid_data_refused_only_for_state",
    "not_a_server_error",
    "response_schema_conformance",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
]
CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 1,
        "auth": {"basic": {"username": USER[0], "password": USER[1]}},
        # exactly these checks, whatever the defaults of the installed version
        "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
    }
)
DOCUMENT = build_openapi(max_count=MAX_COUNT)
SCHEMA = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG)
#: cases per operation, and link scenarios: about 30 s for the module on a busy 2-core box
SETTINGS = hypothesis.settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=100,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
SCENARIOS = hypothesis.settings(SETTINGS, max_examples=100, stateful_step_count=8)


class ErrorLog(logging.Handler):
    """What the server logs at ERROR and above (a fault's traceback goes there)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(self.format(record))


@pytest.fixture(scope="module")
def server_log():
    handler = ErrorLog()
    logger = logging.getLogger("cardseq")
    logger.addHandler(handler)
    yield handler.messages
    logger.removeHandler(handler)


@pytest.fixture(scope="module")
def users_file(tmp_path_factory) -> str:
    path = str(tmp_path_factory.mktemp("fuzz") / "users")
    add_user(path, *USER)
    return path


def new_app(store_url: str, users_file: str) -> Any:
    """The app as ``cardseq serve`` builds it (authentication on)."""
    return create_app(
        store_url,
        users_file=users_file,
        rate=100_000,
        burst=100_000,
        max_count=MAX_COUNT,
        keys=fuzz_key,  # every RANDOM series the fuzzer makes has its key
    )


def fuzz_key(key_id: str) -> bytes:
    """A key for any key id (a test's stand-in for a secrets manager)."""
    return hashlib.blake2b(key_id.encode(), digest_size=32).digest()


@pytest.fixture(scope="module")
def app(tmp_path_factory, users_file, server_log):
    """One app and store for every operation's test; it must serve the very document
    being fuzzed."""
    app = new_app(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'fuzz.db'}", users_file)
    served = schemathesis.openapi.from_asgi("/openapi.json", app, config=CONFIG)
    assert served.raw_schema == DOCUMENT
    return app  # schemathesis runs its lifespan (the store opens) and ends it after each test


def call(case: Any, app: Any, server_log: list[str]) -> None:
    """One generated request: the checks pass, and the server logged no error."""
    case.call_and_validate(app=app)
    assert server_log == [], "the server logged an error:\n" + "\n".join(server_log)


@pytest.mark.heavy
@pytest.mark.fuzz
@SCHEMA.parametrize()
@SETTINGS
def test_operation(case, app, server_log) -> None:
    call(case, app, server_log)


@pytest.mark.heavy
@pytest.mark.fuzz
def test_links(users_file, server_log) -> None:
    """Each scenario gets a new, empty store: Hypothesis replays scenarios, and a replay
    must meet the same answers (a series code taken by the first run would change them)."""

    class Links(SCHEMA.as_state_machine()):
        def setup(self) -> None:
            self.app = new_app("memory://", users_file)

        def teardown(self) -> None:
            asgi.shutdown_lifespans()  # one store per scenario: close each

        def get_call_kwargs(self, case):
            return {"app": self.app}

        def after_call(self, response, case):
            super().after_call(response, case)
            answered[case.operation.label, response.status_code] += 1
            assert server_log == [], "the server logged an error:\n" + "\n".join(server_log)

    answered: Counter[tuple[str, int]] = Counter()
    Links.run(settings=SCENARIOS)
    # not vacuous: chains went from a new series to its numbers and on to one of its cards
    # (which card route a chain takes depends on the document's shape; either will do)
    served = {operation for operation, status in answered if status == 200}
    assert {"POST /v2/card/series", "POST /v2/card/generate"} <= served, sorted(answered.items())
    card_routes = {"GET /v2/card", "GET /v2/card/statusLog", "PUT /v2/card"}
    assert served & card_routes, sorted(answered.items())


# ---- the document refuses what the server refuses -----------------------------------


def _validator(schema: dict[str, Any]) -> jsonschema_rs.Validator:
    """A validator for one schema of the document (its $refs resolved in the document)."""
    return jsonschema_rs.Draft4Validator({**schema, "components": DOCUMENT["components"]})


def _body_schema(route: str, method: str) -> dict[str, Any]:
    return DOCUMENT["paths"][route][method.lower()]["requestBody"]["content"]["application/json"]


def _query_schema(route: str, name: str) -> dict[str, Any]:
    parameters = DOCUMENT["paths"][route]["get"]["parameters"]
    return next(p["schema"] for p in parameters if p["name"] == name)


SERIES = {"code": "DOC", "cardGenerationConfiguration": {"prefix": "DOC", "length": 9}}
REFUSED_BODIES = [
    ("/v2/card/series", "POST", {**SERIES, "code": "12345"}),
    ("/v2/card/generate", "POST", {"count": 1}),
    ("/v2/card/generate", "POST", {"seriesId": 1, "count": 1, "requestId": "tab\there"}),
    ("/v2/card/generate", "POST", {"seriesId": 1, "count": 1, "requestId": "\u00a0"}),
    ("/v2/card", "PUT", {"cardNumber": "DOC000001", "statusLabel": "ACTIVE", "customerId": "\x01"}),
]


@pytest.mark.parametrize(("route", "method", "body"), REFUSED_BODIES)
def test_document_refuses_bodies_the_server_refuses(app, route, method, body) -> None:
    """Schema-valid data must reach the route logic: a body the server refuses for its
    form alone (no state involved) is one the document refuses too."""
    response = SCHEMA[route][method].Case(body=body).call(app=app, auth=USER)
    assert response.status_code == 400, response.text
    content = _body_schema(route, method)
    assert _validator(content["schema"]).is_valid(content["example"])
    assert not _validator(content["schema"]).is_valid(body)


@pytest.mark.parametrize("route", ["/v2/card", "/v2/card/statusLog"])
def test_document_refuses_an_empty_card_number(app, route) -> None:
    response = SCHEMA[route]["GET"].Case(query={"number": ""}).call(app=app, auth=USER)
    assert response.status_code == 400, response.text
    schema = _query_schema(route, "number")
    assert _validator(schema).is_valid("Test09000000000037end")
    assert not _validator(schema).is_valid("")


def test_a_form_refusal_of_valid_data_fails_the_check() -> None:
    """Not vacuous: a server that refuses schema-valid data with a form code (3025, count
    invalid) fails ``valid_data_refused_only_for_state``; a state code (702) passes it."""
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    def refusing(code: int) -> Starlette:
        async def generate(request: Any) -> JSONResponse:
            problem = {"code": code, "message": "refused"}
            return JSONResponse({"data": [], "warnings": [], "errors": [problem]}, 400)

        return Starlette(routes=[Route("/v2/card/generate", generate, methods=["POST"])])

    operation = SCHEMA["/v2/card/generate"]["POST"]
    checks = [valid_data_refused_only_for_state]

    @hypothesis.given(case=operation.as_strategy())
    @hypothesis.settings(SETTINGS, max_examples=1)
    def with_code(case: Any, code: int) -> None:
        assert case.meta.generation.mode.is_positive
        case.call_and_validate(app=refusing(code), checks=checks)

    with_code(code=702)
    with pytest.raises(BaseExceptionGroup) as failed:
        with_code(code=3025)
    assert "refused for its form" in str(failed.value.exceptions[0])


# ---- the fuzz guard -----------------------------------------------------------------

GUARDED = """
import copy

import pytest
import schemathesis
from hypothesis import strategies as st

from cardseq.aio import AsyncCardService
from cardseq.server import create_app
from tests.test_fuzz import CONFIG, DOCUMENT, SETTINGS, call


def explode(value):
    raise SystemError("AST constructor recursion depth mismatch")


schemathesis.openapi.format("explodes", st.just("x").map(explode))


def card_route(number_format=None):
    document = copy.deepcopy(DOCUMENT)
    document["paths"] = {"/v2/card": {"get": document["paths"]["/v2/card"]["get"]}}
    if number_format:
        document["paths"]["/v2/card"]["get"]["parameters"][0]["schema"]["format"] = number_format
    return document


NO_COVERAGE = schemathesis.Config.from_dict({"phases": {"coverage": {"enabled": False}}})
FINE = schemathesis.openapi.from_dict(card_route(), config=CONFIG)
CRASH_COLLECTING = schemathesis.openapi.from_dict(card_route("explodes"), config=CONFIG)
CRASH_RUNNING = schemathesis.openapi.from_dict(card_route("explodes"), config=NO_COVERAGE)


@pytest.fixture(scope="module")
def buggy_app():
    async def bug(self, number):
        raise RuntimeError("a bug in a route")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(AsyncCardService, "card", bug)
        yield create_app("memory://", users_file=None)


@pytest.mark.heavy
@pytest.mark.fuzz
@CRASH_COLLECTING.parametrize()
@SETTINGS
def test_crash_collecting(case, buggy_app):
    call(case, buggy_app, [])


@pytest.mark.heavy
@pytest.mark.fuzz
@CRASH_RUNNING.parametrize()
@SETTINGS
def test_crash_running(case, buggy_app):
    call(case, buggy_app, [])


@pytest.mark.heavy
@pytest.mark.fuzz
@FINE.parametrize()
@SETTINGS
def test_route_bug(case, buggy_app):
    call(case, buggy_app, [])
"""


@pytest.mark.heavy
def test_fuzz_guard(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """A crash inside the fuzzer, while collecting or while running, fails with one line
    naming it and its version; an unhandled exception in a route is a 500: a failed
    check, not a crash."""
    paths = [str(ROOT), os.environ.get("PYTHONPATH", "")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(path for path in paths if path))
    pytester.makepyfile(test_guarded=GUARDED)
    result = pytester.runpytest_subprocess(
        "-p", "tests.fuzzguard", "-p", "no:cacheprovider", "--continue-on-collection-errors"
    )
    result.assert_outcomes(failed=2, errors=1)
    crashed = (
        f"the fuzzer crashed (schemathesis {schemathesis.__version__}, hypothesis"
        f" {hypothesis.__version__}): SystemError: AST constructor recursion depth mismatch"
    )
    # each crash is reported with its one line, and nothing else
    result.stdout.fnmatch_lines(
        ["*ERROR collecting test_guarded.py*", f"{crashed}*", "*= FAILURES =*"], consecutive=True
    )
    result.stdout.fnmatch_lines(
        [
            "*_ test_crash_running[[]GET /v2/card[]] _*",
            f"{crashed}, raised at *",
            "*_ test_route_bug[[]GET /v2/card[]] _*",
        ],
        consecutive=True,
    )
    # the route's bug: a 500, so the check not_a_server_error failed (ST101)
    result.stdout.fnmatch_lines(["*_ test_route_bug[[]GET /v2/card[]] _*", "*ST101 Server error*"])
    summary = [line for line in result.outlines if "test_route_bug" in line]
    assert summary and not any("crashed" in line for line in summary), summary


def test_the_http_docs_list_the_codes_a_valid_request_can_meet() -> None:
    """docs/http.md names the same codes as the document (both from ``wire``)."""
    text = " ".join((ROOT / "docs" / "http.md").read_text().split())
    for codes in (STATE_CODES, COMBINATION_CODES):
        listed = ", ".join(map(str, sorted(codes)))
        assert re.search(rf": {listed}\)", text), listed
