"""The values an operator gives the `cardseq` command (issue 19): every number and time
option, on the command line and from the environment, is in range or a coded error
naming the option and the value, never a traceback or a value that breaks the server
later; and the library refuses the same times with the same code."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner

import cardseq
from cardseq import CardSeries, CardService
from cardseq.cli import main
from cardseq.errors import clip
from cardseq.store import open_store


def fails_with(result, code: int, *said: str) -> None:
    """Error ``code`` on stderr, saying each of ``said``: exit 1, no traceback."""
    assert result.exit_code == 1, (result.stdout, result.stderr, result.exception)
    assert result.stderr.startswith(f"error {code}: "), result.stderr
    for words in said:
        assert words in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert result.exception is None or isinstance(result.exception, SystemExit)


# ---- serve: every number, from the command line and from the environment --------------

#: values no number option of serve takes: not finite, too large for a float, zero,
#: negative, not ASCII digits, empty, or past what the server can use
NOT_NUMBERS = ["nan", "NaN", "inf", "-inf", "Infinity", "1e400", "0", "-1", "1_0", " 5", ""]
NOT_NUMBERS += ["\u0665", "0x10", "1e-400", "9" * 30]

SERVE_NUMBERS = [
    "--port",
    "--rate",
    "--burst",
    "--max-count",
    "--max-body",
    "--header-timeout",
    "--body-timeout",
    "--max-connections",
    "--workers",
]


@pytest.fixture
def served(monkeypatch):
    """What `cardseq serve` would run (nothing may, here)."""
    import cardseq.server.run

    calls: list[object] = []

    def serve(factory, listen, *, workers):
        calls.append({**vars(factory.settings), **vars(listen), "workers": workers})

    monkeypatch.setattr(cardseq.server.run, "serve", serve)
    return calls


@pytest.mark.parametrize("value", NOT_NUMBERS)
@pytest.mark.parametrize("option", SERVE_NUMBERS)
def test_serve_refuses_each_bad_number(served, option, value):
    """On main `--rate nan`, `--header-timeout nan` and `--rate 1e400` passed (and broke
    the rate limiter or the server's start with a traceback); others were click usage
    errors (exit 2) or named no option."""
    result = CliRunner().invoke(main, ["serve", "--no-auth", "--db", "memory://", option, value])
    fails_with(result, 701, f"error 701: {option} {clip(value)} must be")
    assert served == []


@pytest.mark.parametrize("value", ["nan", "inf", "1e400", "0", "1_0", "9" * 30])
@pytest.mark.parametrize("option", SERVE_NUMBERS)
def test_serve_names_the_environment_variable_of_a_bad_number(served, option, value):
    variable = "CARDSEQ_" + option.removeprefix("--").replace("-", "_").upper()
    env = {variable: value, "CARDSEQ_NO_AUTH": "1", "CARDSEQ_DB": "memory://"}
    result = CliRunner().invoke(main, ["serve"], env=env)
    fails_with(result, 701, f"error 701: ${variable} ({option}) {clip(value)} must be")
    assert served == []


@pytest.mark.parametrize(
    ("option", "value", "setting"),
    [
        ("--rate", "0.5", ("rate", 0.5)),
        ("--rate", "2e3", ("rate", 2000.0)),
        ("--rate", ".25", ("rate", 0.25)),
        ("--header-timeout", "0.001", ("header_timeout", 0.001)),
        ("--body-timeout", "3600", ("body_timeout", 3600.0)),
        ("--max-connections", "1000000", ("max_connections", 1_000_000)),
        ("--burst", "1000000000", ("burst", 10**9)),
        ("--max-body", "100", ("max_body", 100)),
    ],
)
def test_serve_takes_numbers_in_range(served, option, value, setting):
    result = CliRunner().invoke(main, ["serve", "--no-auth", "--db", "memory://", option, value])
    assert result.exit_code == 0, result.output
    [settings] = served
    name, expected = setting
    assert settings[name] == expected


#: each setting's option, where it is not the field's name in dashes (a flag that turns
#: a default off, or the keys file) and its value there; any other field whose option is
#: missing fails the walk below
SPECIAL = {
    "users_file": (["--users-file", "{users}"], "{users}"),
    "keys": (["--keys-file", "{keys}"], "{keys}"),
    "migrate": (["--no-migrate"], False),
    "metrics_public": (["--metrics-public"], True),
    "access_log": (["--no-access-log"], False),
    "forwarded_allow_ips": (["--forwarded-allow-ips", "10.0.0.1"], ("10.0.0.1",)),
    "log_level": (["--log-level", "debug"], "debug"),
    "log_format": (["--log-format", "json"], "json"),
    "host": (["--host", "0.0.0.0"], "0.0.0.0"),
}


def test_serve_can_set_every_setting_of_the_app_and_the_listener(served, tmp_path):
    """Each field of ``AppSettings`` and ``ListenSettings`` (what ``serve`` fills) is
    reached by an option, given a value other than its default (``max_body`` was not
    reachable once): a new field without its option fails here."""
    import dataclasses

    from cardseq.keys import write_keys_file
    from cardseq.server.auth import add_user
    from cardseq.server.settings import AppSettings, ListenSettings

    users, keys = str(tmp_path / "users"), str(tmp_path / "keys")
    add_user(users, "ann", "a long enough password")
    write_keys_file(keys, {"k": bytes(32)})
    fields = [*dataclasses.fields(AppSettings), *dataclasses.fields(ListenSettings)]
    for field in fields:
        if field.name in SPECIAL:
            args, value = SPECIAL[field.name]
            args = [a.format(users=users, keys=keys) for a in args]
            if isinstance(value, str):
                value = value.format(users=users, keys=keys)
        else:  # a number: one more than the default, within every range
            value = field.default + 1
            args = ["--" + field.name.replace("_", "-"), str(value)]
        auth = [] if field.name == "users_file" else ["--no-auth"]
        served.clear()
        result = CliRunner().invoke(
            main, ["serve", *auth, "--db", f"sqlite:///{tmp_path / 's.db'}", *args]
        )
        assert result.exit_code == 0, (field.name, result.output)
        [settings] = served
        assert settings[field.name] == value, field.name
        assert value != field.default, field.name


# ---- the other commands' numbers ------------------------------------------------------


@pytest.fixture
def cli(tmp_path):
    db = f"sqlite:///{tmp_path / 'o.db'}"
    runner = CliRunner()

    def run(*args: str, env: dict[str, str] | None = None):
        return runner.invoke(main, [*args, "--db", db], env=env)

    assert run("series", "create", "GOLD", "--prefix", "9", "--length", "12").exit_code == 0
    return run


#: what each integer option refuses: a sign, a float's spelling, digits with `_`,
#: nothing; and past 64 bits, for the ids (--confirm-above is a threshold: any size)
NOT_INTEGERS = ["-1", "nan", "1e3", "1.0", "1_0", ""]
PAST_AN_ID = "9" * 30


@pytest.mark.parametrize(
    ("args", "option", "values"),
    [
        (["series", "log", "GOLD", "--after"], "--after", [*NOT_INTEGERS, PAST_AN_ID]),
        (["ledger", "GOLD", "--after"], "--after", [*NOT_INTEGERS, PAST_AN_ID]),
        (["series", "log", "GOLD", "--limit"], "--limit", [*NOT_INTEGERS, "0", "1001"]),
        (["ledger", "GOLD", "--limit"], "--limit", [*NOT_INTEGERS, "0", PAST_AN_ID]),
        (["export", "GOLD", "--ledger-id"], "--ledger-id", [*NOT_INTEGERS, "0", PAST_AN_ID]),
        (["generate", "GOLD", "-n", "1", "--confirm-above"], "--confirm-above", NOT_INTEGERS),
    ],
)
def test_integer_options_name_themselves(cli, args, option, values):
    """On main a page cursor or ledger id past 64 bits was refused by the library, which
    named `after` or `ledger_id`, not the option."""
    for value in values:
        fails_with(cli(*args, value), 701, f"error 701: {option} {clip(value)} must be")


def test_an_integer_from_the_environment_names_its_variable(cli):
    result = cli("generate", "GOLD", "-n", "1", env={"CARDSEQ_CONFIRM_ABOVE": "1e3"})
    fails_with(result, 701, "$CARDSEQ_CONFIRM_ABOVE (--confirm-above) '1e3'")
    assert "reserved: 0" in cli("series", "show", "GOLD").stdout


# ---- times: --since and --until, on both backends --------------------------------------

#: times ISO 8601 can write but UTC cannot hold (year 0, year 10000 once in UTC)
OUTSIDE_UTC = [
    "0001-01-01T00:00+01:00",
    "0001-01-01T00:59:59+01:00",
    "9999-12-31T23:59-01:00",
    "9999-12-31T23:00:00-23:59",
]
#: the first and last times UTC holds, written in several ways
EDGES = [
    "0001-01-01",
    "0001-01-01T00:00:00+00:00",
    "0001-01-01T00:00-01:00",
    "9999-12-31T23:59:59.999999",
    "9999-12-31T23:59:59.999999+00:00",
    "9999-12-31T23:59+23:00",
]


@pytest.fixture
def ledger(shared_url):
    """`cardseq ledger GOLD ARGS... --db URL` on a SQLite file and on PostgreSQL, with
    one reservation made now."""
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(main, ["ledger", "GOLD", *args, "--db", shared_url])

    create = ["series", "create", "GOLD", "--prefix", "9", "--length", "12"]
    assert runner.invoke(main, [*create, "--db", shared_url]).exit_code == 0
    assert runner.invoke(main, ["generate", "GOLD", "-n", "2", "--db", shared_url]).exit_code == 0
    return run


@pytest.mark.parametrize("option", ["--since", "--until"])
def test_a_time_utc_cannot_hold_is_701(ledger, option):
    """On main each was an OverflowError traceback, on both backends."""
    for value in OUTSIDE_UTC:
        fails_with(ledger(option, value), 701, f"error 701: {option} {value!r} is outside")


@pytest.mark.parametrize("option", ["--since", "--until"])
def test_a_time_that_is_not_one_is_701(ledger, option):
    for value in ["last week", "2026-13-01", "10000-01-01", "", "0000-12-31"]:
        fails_with(ledger(option, value), 701, f"error 701: {option} {value!r} is not")


def test_the_first_and_last_times_utc_holds_work(ledger):
    for value in EDGES:
        since = ledger("--since", value)
        until = ledger("--until", value)
        assert since.exit_code == until.exit_code == 0, (value, since.output, until.output)
        rows = [len(r.stdout.splitlines()) - 1 for r in (since, until)]  # (the header)
        assert rows == ([1, 0] if value.startswith("0001") else [0, 1]), value


def test_the_library_refuses_the_same_times(shared_url):
    """The service and the store raise 701 for them, not OverflowError."""
    with open_store(shared_url) as store:
        service = CardService(store)
        service.create_series(CardSeries("GOLD", prefix="9", length=12))
        for value in OUTSIDE_UTC:
            when = dt.datetime.fromisoformat(value)
            for field in ("since", "until"):
                with pytest.raises(cardseq.InvalidArgument) as info:
                    service.generation_log("GOLD", **{field: when})
                assert info.value.code == 701 and info.value.field == field
                assert info.value.message.startswith(f"{field} {clip(when)} is outside")
                with pytest.raises(cardseq.InvalidArgument):
                    store.ledger_page("GOLD", **{field: when})


BAD_NUMBERS = [float("nan"), float("inf"), -float("inf"), 1e-320, 0, -1, True, "5"]


@pytest.mark.parametrize("value", BAD_NUMBERS, ids=repr)
@pytest.mark.parametrize(
    "setting",
    ["rate", "burst", "max_count", "max_body", "body_timeout", "workers", "max_connections_per_ip"],
)
def test_create_app_refuses_each_bad_setting_with_701(setting, value):
    """The library's way in checks what the command line checks: a bad setting is 701
    naming it, not a ValueError, nor an overflow at the first throttled request."""
    from cardseq.server.app import create_app

    with pytest.raises(cardseq.InvalidArgument) as info:
        create_app("memory://", users_file=None, **{setting: value})
    assert (info.value.code, info.value.field) == (701, setting)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 1e-320, 0])
def test_the_rate_limiter_refuses_a_rate_it_cannot_compute_with(value):
    from cardseq.server.ratelimit import RateLimiter

    with pytest.raises(cardseq.InvalidArgument) as info:
        RateLimiter(value, 10)
    assert info.value.field == "rate"


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("header_timeout", float("nan")),
        ("header_timeout", 1e400),
        ("max_connections", 0),
        ("port", 70000),
        ("log_level", "loud"),
        ("log_format", "xml"),
    ],
)
def test_listen_settings_refuse_a_bad_setting_before_anything_starts(setting, value):
    from cardseq.server.settings import ListenSettings

    with pytest.raises(cardseq.InvalidArgument) as info:
        ListenSettings(**{"host": "127.0.0.1", "port": 0, setting: value})
    assert (info.value.code, info.value.field) == (701, setting)


def test_run_serve_refuses_a_bad_worker_count_before_it_starts():
    from cardseq.server import run
    from cardseq.server.settings import ListenSettings

    def never():
        raise AssertionError("the app was made")

    with pytest.raises(cardseq.InvalidArgument) as info:
        run.serve(never, ListenSettings(port=0), workers=0)
    assert (info.value.code, info.value.field) == (701, "workers")


# ---- text that is not text: store URLs and arguments from undecodable bytes ----------


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///DIR/a\0b",  # a NUL: C strings end there
        "sqlite:///DIR/",  # a directory
        "sqlite:///DIR/" + "x" * 300,  # a name too long (found by a 10-minute run)
        "sqlite:///DIR/x\ud9ff",  # a lone surrogate (bytes that are not UTF-8)
        "postgresql://[",  # too broken to split
        "postgresql://%De",  # percent-escapes that are not UTF-8
        "postgres://.\udddd",
        "postgres://?max_connections=\udfb8",
    ],
)
def test_a_store_url_that_is_not_one_is_701(url, tmp_path):
    """Found by fuzz/store_url.py: each was a ValueError, UnicodeError or
    IsADirectoryError out of ``open_store``."""
    with pytest.raises(cardseq.InvalidArgument) as info:
        open_store(url.replace("DIR", str(tmp_path)))
    assert (info.value.code, info.value.field) == (701, "db")


@pytest.mark.parametrize("command", [["series", "show"], ["series", "log"], ["ledger"]])
def test_an_argument_from_bytes_that_are_not_utf8_is_701(cli, command):
    """Found by fuzz/cli_options.py: ``series log $'\\xfb'`` reached SQLite, whose
    driver failed encoding it (a traceback)."""
    cli("db", "migrate")
    fails_with(cli(*command, "\udcfb"), 701, "is not text")
