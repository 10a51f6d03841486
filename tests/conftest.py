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
    """Slow tests are deselected (not skipped: nothing is counted as passed) unless
    --run-slow, and always inside the suite a slow test started itself."""
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


@pytest.fixture
def postgres_url(request) -> str:
    """The URL of a new, empty database for this test alone.

    It lives in the session's throwaway cluster, or, if CARDSEQ_TEST_POSTGRES_URL names a
    server, on that server (no cluster is started), and is then dropped after the test.
    """
    # The pid keeps concurrent sessions (pytest-xdist, two checkouts) apart on a shared server.
    name = f"cardseq_test_{os.getpid()}_{next(_db_numbers)}"
    server = os.environ.get("CARDSEQ_TEST_POSTGRES_URL")
    if not server:
        yield request.getfixturevalue("postgres_cluster").create_database(name)
        return
    yield create_database(server, name)
    try:
        drop_database(server, name)
    except psycopg.Error:
        pass


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
