"""Shared fixtures: the engine twins, Hypothesis settings for CI and for developers, a
throwaway PostgreSQL server with a fresh database per test, a new store on each backend,
and the fuzz guard plugin."""

from __future__ import annotations

import importlib
import itertools
import os

import psycopg
import pytest
from hypothesis import HealthCheck, settings

from cardseq import _engine
from cardseq.store import open_store

from .pgcluster import PostgresCluster, create_database, drop_database
from .stores import APIS, BACKENDS, SHARED_BACKENDS, store_url

# pytester runs pytest on made-up test files (tests/test_fuzz.py checks the fuzz guard)
pytest_plugins = ("pytester", "tests.fuzzguard")

#: set in the environment of the suite that tests/test_newcomer.py runs from README, so
#: that the suite it starts does not start it again
NEWCOMER_INNER = "CARDSEQ_NEWCOMER_INNER"


def pytest_addoption(parser):
    parser.addoption(
        "--run-slow",
        action="store_true",
        help="also run the tests marked slow (README's commands in a fresh venv)",
    )


def pytest_collection_modifyitems(config, items):
    """Marks what the CI stages select by: ``engine`` on every test that takes the
    ``engine`` fixture (the pure-engine stage runs those and the doctests, marked
    ``doctest``). Slow tests are deselected (not skipped: nothing is counted as passed)
    unless --run-slow, and always inside the suite a slow test started itself."""
    for item in items:
        if isinstance(item, pytest.DoctestItem):
            item.add_marker(pytest.mark.doctest)
        elif "engine" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.engine)
    if config.getoption("--run-slow") and not os.environ.get(NEWCOMER_INNER):
        return
    slow = [item for item in items if item.get_closest_marker("slow")]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if not item.get_closest_marker("slow")]


settings.register_profile(
    "default", deadline=None, max_examples=100, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "ci",
    deadline=None,
    max_examples=200,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("ci" if os.environ.get("CI") else "default")


def _engines() -> list[str]:
    """The twins to test: the pure one, and the compiled one when it is built and not
    switched off (a CARDSEQ_NO_EXTENSIONS=1 run is the pure engine's run)."""
    names = ["py"]
    if _engine.NO_EXTENSIONS:
        return names
    try:
        importlib.import_module("cardseq._engine_c")
    except ImportError:
        pass
    else:
        names.append("c")
    return names


@pytest.fixture(scope="session", params=_engines())
def engine(request):
    """Each engine twin that this installation has: every test using it runs on both,
    and so do the ``CardSeries`` and ``Block`` calls it makes (see ``_engine_in_use``).

    Session-scoped, so that Hypothesis tests may take it."""
    return importlib.import_module(f"cardseq._engine_{request.param}")


@pytest.fixture(autouse=True)
def _engine_in_use(request):
    """For a test that takes ``engine``, the library formats with that engine, until the
    test ends. (Autouse: Hypothesis only checks the fixtures a test names for their scope.)"""
    if "engine" in request.fixturenames:
        monkeypatch = request.getfixturevalue("monkeypatch")
        monkeypatch.setattr(_engine, "engine", request.getfixturevalue("engine"))


_db_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def postgres_cluster():
    """One throwaway PostgreSQL server for the session; removed, data and all, at the end.

    Missing binaries skip the PostgreSQL tests on a developer's machine, but fail them in
    CI (CI=true): there a skip would silently hide that nothing was tested.
    """
    if not PostgresCluster.available():
        msg = (
            "PostgreSQL server binaries (initdb, pg_ctl) not found in `pg_config --bindir` "
            "or /usr/lib/postgresql/*/bin; install them with: apt-get install postgresql"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(msg + " (CI=true: PostgreSQL tests must not skip in CI)")
        pytest.skip(msg)
    cluster = PostgresCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.cleanup()


@pytest.fixture(scope="session")
def postgres_server(request) -> str:
    """The URL of the server the PostgreSQL tests make their databases on: the one
    CARDSEQ_TEST_POSTGRES_URL names (no cluster is started), or the session's cluster."""
    return (
        os.environ.get("CARDSEQ_TEST_POSTGRES_URL")
        or request.getfixturevalue("postgres_cluster").url
    )


@pytest.fixture(scope="session")
def postgres_template(postgres_server):
    """A database that cardseq has migrated, once for the session: each test's database
    is a copy of it (CREATE DATABASE ... TEMPLATE), which is cheaper than migrating."""
    # The pid keeps concurrent sessions (pytest-xdist, two checkouts) apart on a shared server.
    name = f"cardseq_template_{os.getpid()}"
    open_store(create_database(postgres_server, name)).close()
    yield name
    _drop(postgres_server, name)


def _drop(server: str, name: str) -> None:
    """Drop a test's database; a server that a test left stopped keeps it (a throwaway
    cluster goes whole at the end of the session)."""
    try:
        drop_database(server, name)
    except psycopg.OperationalError:
        pass


def _database(request, template: str | None):
    server = request.getfixturevalue("postgres_server")
    name = f"cardseq_test_{os.getpid()}_{next(_db_numbers)}"
    yield create_database(server, name, template)
    _drop(server, name)


@pytest.fixture
def postgres_url(request, postgres_template):
    """The URL of a new database for this test alone, holding cardseq's tables and
    nothing else (a new store); dropped after the test."""
    yield from _database(request, postgres_template)


@pytest.fixture
def empty_postgres_url(request):
    """The URL of a new database without cardseq's tables (for the migrations' own
    tests); dropped after the test."""
    yield from _database(request, None)


def _new_store(request, tmp_path):
    """A new, empty store on each backend (memory, a SQLite file, PostgreSQL), closed
    after the test."""
    opened = open_store(store_url(request.param, tmp_path, request))
    yield opened
    opened.close()


store = pytest.fixture(params=BACKENDS, name="store")(_new_store)
#: the same, where a module's ``store`` runs through both APIs (tests/test_store.py)
sync_store = pytest.fixture(params=BACKENDS, name="sync_store")(_new_store)


@pytest.fixture(params=APIS)
def api(request) -> str:
    """The API a test goes through: ``sync`` (``Store``) or ``async``
    (``cardseq.aio.AsyncStore``, awaited through ``tests.stores.AwaitedStore``)."""
    return request.param


@pytest.fixture(params=SHARED_BACKENDS)
def shared_url(request, tmp_path) -> str:
    """The URL of a new store that other threads and processes can open too (a SQLite
    file, PostgreSQL)."""
    return store_url(request.param, tmp_path, request)


@pytest.fixture
def cli(tmp_path, monkeypatch):
    """``cardseq`` run in ``tmp_path`` on a SQLite store there: ``cli(*args, code=0)``
    asserts the exit status and returns click's result."""
    from click.testing import CliRunner

    from cardseq.cli import main

    monkeypatch.chdir(tmp_path)
    runner = CliRunner(env={"CARDSEQ_DB": f"sqlite:///{tmp_path}/cards.db"})

    def run(*args: str, code: int = 0):
        result = runner.invoke(main, list(args))
        assert result.exit_code == code, result.output
        return result

    return run
