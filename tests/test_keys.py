"""Keys of the keyed methods (issue 11): never in a store, supplied by the operator,
checked on every use; older stores migrated by `cardseq keys export`."""

from __future__ import annotations

import base64
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import cardseq
from cardseq import CardSeries
from cardseq.cli import main
from cardseq.keys import KeyRing, fingerprint, read_keys_file, write_keys_file
from cardseq.store import open_store

from .stores import store_url

KEY = bytes(range(100, 132))
OTHER = bytes(range(200, 232))


def gift(key_id: str | None = "gift", **more) -> CardSeries:
    return CardSeries("GIFT", prefix="6", length=14, method="RANDOM_LUHN", key_id=key_id, **more)


def keys_file(tmp_path: Path, keys: dict[str, bytes], mode: int = 0o600) -> str:
    path = str(tmp_path / "keys")
    write_keys_file(path, keys)
    os.chmod(path, mode)
    return path


def mode(path: str) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def clean_env(monkeypatch):
    for name in [n for n in os.environ if n.startswith("CARDSEQ_KEY")]:
        monkeypatch.delenv(name)


# ---- no key at rest ------------------------------------------------------------------


def test_sqlite_files_hold_no_key_and_are_private(tmp_path, clean_env):
    path = tmp_path / "cards.db"
    old = os.umask(0)  # the mode must not depend on the umask
    try:
        with open_store(f"sqlite:///{path}", keys={"gift": KEY}) as store:
            store.create_series(gift())
            store.reserve("GIFT", 10)
            files = [str(path), f"{path}-wal", f"{path}-shm"]
            assert all(os.path.exists(f) for f in files)
            assert [mode(f) for f in files] == [0o600] * 3
            data = b"".join(Path(f).read_bytes() for f in files)
    finally:
        os.umask(old)
    assert KEY not in data and KEY.hex().encode() not in data
    assert fingerprint(KEY).encode() in data  # what it keeps instead


def test_postgres_tables_hold_no_key(postgres_url, clean_env):
    import psycopg

    with open_store(postgres_url, keys={"gift": KEY}) as store:
        store.create_series(gift())
        store.reserve("GIFT", 10)
    with psycopg.connect(postgres_url) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_name LIKE 'cardseq%'"
            )
        ]
        assert "cardseq_series" in tables
        cells = [
            cell
            for table in tables
            for row in conn.execute(f"SELECT * FROM {table}")  # every column
            for cell in row
        ]
    text = " ".join(map(str, cells))
    assert KEY not in cells and KEY.hex() not in text and repr(KEY) not in text
    assert fingerprint(KEY) in text


# ---- key sources, checked on every use ------------------------------------------------


def _generate_in_another_process(url: str, *args: str, env: dict[str, str]) -> list[str]:
    run = subprocess.run(
        [sys.executable, "-m", "cardseq", "generate", "GIFT", "-n", "10", "--db", url, *args],
        capture_output=True,
        text=True,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("CARDSEQ_KEY")}, **env},
        check=False,
    )
    assert run.returncode == 0, run.stderr
    return run.stdout.split()


@pytest.mark.parametrize("source", ["env-hex", "env-base64", "keys-file", "keys-file-env"])
def test_another_process_given_the_key_generates_the_same_numbers(tmp_path, source, clean_env):
    url = f"sqlite:///{tmp_path}/cards.db"
    with open_store(url, keys={"gift": KEY}) as store:
        store.create_series(gift())
        expected = store.series_definition("GIFT").block(0, 10).to_list()
    args: list[str] = []
    env: dict[str, str] = {}
    if source == "env-hex":
        env["CARDSEQ_KEY_GIFT"] = KEY.hex()
    elif source == "env-base64":
        env["CARDSEQ_KEY_GIFT"] = base64.b64encode(KEY).decode()
    elif source == "keys-file":
        args = ["--keys-file", keys_file(tmp_path, {"gift": KEY})]
    else:
        env["CARDSEQ_KEYS_FILE"] = keys_file(tmp_path, {"gift": KEY})
    assert _generate_in_another_process(url, *args, env=env) == expected


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_without_the_key_or_with_another_nothing_is_reserved(kind, tmp_path, request, clean_env):
    url = store_url(kind, tmp_path, request)
    with open_store(url, keys={"gift": KEY}) as store:
        store.create_series(gift())
    for keys, code in [(None, 706), ({"gift": OTHER}, 707)]:
        with open_store(url, keys=keys) as store:
            with pytest.raises(cardseq.CardSeqError) as info:
                store.reserve("GIFT", 5)
            assert info.value.code == code
            message = str(info.value)
            assert "'GIFT'" in message and "'gift'" in message
            assert KEY.hex() not in message and OTHER.hex() not in message
            assert store.series("GIFT").next_index == 0 and store.ledger("GIFT") == []
            assert store.series("GIFT").series.key_id == "gift"  # listing needs no key


def test_cli_without_the_key_is_706_naming_series_and_key_id(tmp_path, clean_env):
    db = f"sqlite:///{tmp_path}/cards.db"
    with open_store(db, keys={"gift": KEY}) as store:
        store.create_series(gift())
    result = CliRunner().invoke(main, ["generate", "GIFT", "-n", "3", "--db", db])
    assert result.exit_code == 1
    assert result.stderr.startswith("error 706: series 'GIFT' needs key 'gift'")
    assert "CARDSEQ_KEY_GIFT" in result.stderr


def test_keys_file_readable_by_others_is_refused(tmp_path, clean_env):
    path = keys_file(tmp_path, {"gift": KEY}, mode=0o644)
    with pytest.raises(cardseq.InsecureKeysFile) as info:
        open_store("memory://", keys=path)
    assert info.value.code == 709
    assert path in str(info.value) and "0644" in str(info.value)


def test_a_callable_source_is_asked_once(clean_env):
    asked: list[str] = []

    def vault(key_id: str) -> bytes | None:
        asked.append(key_id)
        return KEY if key_id == "gift" else None

    with open_store("memory://", keys=vault) as store:
        store.create_series(gift())
        store.reserve("GIFT", 3)
        store.reserve("GIFT", 3)
    assert asked == ["gift"]


def test_reserve_refuses_another_definition_or_key(clean_env):
    with open_store("memory://", keys={"gift": KEY}) as store:
        store.create_series(gift())
        with pytest.raises(cardseq.KeyMismatch):
            store.reserve(gift(key=OTHER), 3)
        with pytest.raises(cardseq.InvalidSeries):
            store.reserve(gift(key_id="other", key=KEY), 3)
        assert store.ledger("GIFT") == []
        assert store.reserve(gift(key=KEY), 3).to_list() == gift(key=KEY).block(0, 3).to_list()
        assert store.reserve(gift(), 3).start == 3  # unbound: the store binds it


def test_create_needs_a_key_id_and_a_key_source_that_has_it(clean_env):
    with open_store("memory://", keys={"gift": KEY}) as store:
        with pytest.raises(cardseq.InvalidSeries) as info:
            store.create_series(gift(key_id=None))
        assert info.value.field == "key_id"
        with pytest.raises(cardseq.KeyNotFound):
            store.create_series(gift(key_id="nowhere"))
        with pytest.raises(cardseq.KeyMismatch):
            store.create_series(gift(key=OTHER))
        assert store.list_series() == []


def test_an_unbound_series_cannot_format(clean_env):
    series = gift()
    assert not series.bound
    with pytest.raises(cardseq.KeyNotFound):
        series.format(0)
    with pytest.raises(cardseq.KeyNotFound):
        series.block(0, 1)


def test_cli_keys_new_and_series_create_with_key_id(tmp_path, monkeypatch, clean_env):
    runner = CliRunner()
    hex_key = runner.invoke(main, ["keys", "new"]).stdout.strip()
    b64_key = runner.invoke(main, ["keys", "new", "--encoding", "base64"]).stdout.strip()
    assert len(bytes.fromhex(hex_key)) == 32 and len(base64.b64decode(b64_key)) == 32
    db = f"sqlite:///{tmp_path}/cards.db"
    create = ["series", "create", "R", "--prefix", "9", "--length", "12", "--method", "RANDOM"]
    result = runner.invoke(main, [*create, "--key-id", "r1", "--db", db])
    assert result.exit_code == 1 and "error 706" in result.stderr
    monkeypatch.setenv("CARDSEQ_KEY_R1", b64_key)
    assert runner.invoke(main, [*create, "--key-id", "r1", "--db", db]).exit_code == 0
    shown = runner.invoke(main, ["series", "show", "R", "--db", db]).stdout
    assert "key id: r1" in shown
    assert f"key fingerprint: {fingerprint(base64.b64decode(b64_key))}" in shown


# ---- migration of stores that kept keys -------------------------------------------------


def old_store(tmp_path: Path) -> str:
    """A version-2 SQLite store with a RANDOM series whose key is in clear."""
    path = tmp_path / "old.db"
    with open_store(f"sqlite:///{path}", keys={"GIFT": KEY}) as store:
        store.create_series(gift(key_id="GIFT"))
        store.reserve("GIFT", 4)
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE cardseq_series SET key = ?", (KEY,))
        conn.execute("ALTER TABLE cardseq_series DROP COLUMN key_id")
        conn.execute("ALTER TABLE cardseq_series DROP COLUMN key_fingerprint")
        conn.execute("UPDATE cardseq_schema SET version = 2")
    conn.close()
    return f"sqlite:///{path}"


def test_old_store_is_migrated_by_keys_export(tmp_path, clean_env):
    url = old_store(tmp_path)
    path = url.removeprefix("sqlite:///")
    expected = gift(key_id="GIFT", key=KEY).block(4, 3).to_list()
    with open_store(url) as store:
        with pytest.raises(cardseq.KeysInStore) as info:
            store.reserve("GIFT", 3)
        assert info.value.code == 708 and "cardseq keys export" in str(info.value)
        assert store.series("GIFT").key_fingerprint == fingerprint(KEY)
    exported = str(tmp_path / "exported-keys")
    result = CliRunner().invoke(main, ["keys", "export", "--keys-file", exported, "--db", url])
    assert result.exit_code == 0, result.stderr
    assert mode(exported) == 0o600 and read_keys_file(exported) == {"GIFT": KEY}
    data = b"".join(Path(path + s).read_bytes() for s in ("", "-wal") if os.path.exists(path + s))
    assert KEY not in data
    with open_store(url, keys=exported) as store:
        assert store.reserve("GIFT", 3).to_list() == expected
    # again: nothing left to move, nothing lost
    result = CliRunner().invoke(main, ["keys", "export", "--keys-file", exported, "--db", url])
    assert result.exit_code == 0 and "nothing to export" in result.stderr
    assert read_keys_file(exported) == {"GIFT": KEY}


def test_export_interrupted_after_the_file_finishes_on_a_second_run(tmp_path, clean_env):
    url = old_store(tmp_path)
    exported = str(tmp_path / "keys")
    write_keys_file(exported, {"GIFT": KEY})  # as if the wipe never ran
    with open_store(url) as store:
        assert store.export_keys(exported) == 1
        assert store.reserve("GIFT", 1).start == 4


def test_export_refuses_an_existing_file_without_the_keys(tmp_path, clean_env):
    url = old_store(tmp_path)
    exported = keys_file(tmp_path, {"GIFT": OTHER})
    with open_store(url) as store:
        with pytest.raises(cardseq.InvalidArgument):
            store.export_keys(exported)
        with pytest.raises(cardseq.KeysInStore):  # still in the store: nothing lost
            store.reserve("GIFT", 1)


def test_keyring_reads_the_environment(monkeypatch):
    monkeypatch.setenv("CARDSEQ_KEY_A_1", KEY.hex())
    assert KeyRing().find("a-1") == KEY
    assert KeyRing().find("missing") is None
