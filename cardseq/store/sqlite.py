"""The embedded default: a SQLite file (or an in-memory database for ``memory://``).

Which of the two a store is, and which file it lives in, is what SQLite says once it has
opened the path (``PRAGMA database_list``), not what the path looks like: SQLite
resolves symbolic links and ``..``, and reads ``file:`` names as URIs when built to, so
``file::memory:`` can be a private database as much as ``:memory:``.

Writers serialise on ``BEGIN IMMEDIATE`` (one writer at a time, across threads and
processes); readers take no lock and never wait for them. The journal is WAL with full
sync, so a reservation is on disk when it returns. Indexes can exceed 64 bits, so they
are kept as decimal text and advanced in Python inside the write lock.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sqlite3
import stat
import threading
from collections.abc import Iterator

from ..errors import InvalidArgument
from ..files import same_file
from ..keys import KeySource
from .base import Store, check_schema, schema, translate
from .base import migrate as migrate_schema
from .ops import Body
from .options import option_int, take_options
from .schema import store_not_found

BUSY_TIMEOUT_MS = 60_000

#: what SQLite appends to the database file's name, as it resolved it, for the files it
#: keeps beside it: write-ahead log, shared memory, rollback journal
COMPANIONS = ("-wal", "-shm", "-journal")

_SCHEMA = schema(
    id_column="INTEGER PRIMARY KEY AUTOINCREMENT",
    ref="INTEGER",
    big="TEXT",
    blob="BLOB",
    flag="INTEGER",
    time="TEXT",
    start_key="CAST(start AS INTEGER)",
)

sqlite3.register_adapter(bool, int)
sqlite3.register_adapter(dt.datetime, dt.datetime.isoformat)


class SQLiteStore(Store):
    """A store in the SQLite file ``path`` (``":memory:"``, or any name SQLite opens in
    memory: private to this object; see ``private`` and ``file``).

    ``migrate``: create the tables and migrate them to this cardseq's version (the
    default); False runs no DDL and refuses a database that is not at that version, or
    a file that does not exist, which it leaves uncreated (``StoreNotFound``, a
    ``SchemaMismatch``).
    ``busy_timeout``: milliseconds a writer waits for another process's write lock
    before failing. A new file, and its ``-wal`` and ``-shm``, are made readable by
    their owner only (0600), whatever the umask; ``keys`` is the key source
    (``cardseq.keys``).
    """

    def __init__(
        self,
        path: str,
        *,
        migrate: bool = True,
        busy_timeout: int = BUSY_TIMEOUT_MS,
        keys: KeySource = None,
    ) -> None:
        super().__init__(keys)
        self.path = path
        self.url = "memory://" if path == ":memory:" else f"sqlite:///{path}"
        self.busy_timeout = busy_timeout
        self._local = threading.local()
        self._shared: sqlite3.Connection | None = None
        self._lock = threading.RLock()  # one transaction at a time in this process
        self._all: list[sqlite3.Connection] = []
        #: the database file as SQLite resolved it; None for a database in memory
        self.file: str | None = None
        try:
            created = False
            if path != ":memory:":
                if not migrate and not os.path.exists(path):
                    raise store_not_found(self.url, path)  # (and no empty file made for it)
                created = _create_private(path)
            first = self._connect()
            self.file = _main_file(first)
            if created and (self.file is None or not same_file(path, self.file)):
                os.unlink(path)  # a URI to SQLite: the file made for it is not the database
            if self.file is None:
                self._shared = first  # every thread must see this one database
            else:
                self._local.conn, self._local.pid = first, os.getpid()
            self._open(migrate)
            if self.file is not None:
                _private_companions(self.file)
        except BaseException:
            self.close()  # a store that fails to open leaves no connection behind
            raise

    def _connect(self) -> sqlite3.Connection:
        with translate(sqlite3.Error):
            conn = sqlite3.connect(
                self.path,
                isolation_level=None,
                check_same_thread=False,
                timeout=self.busy_timeout / 1000,
            )
            self._all.append(conn)
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout)}")
            if _main_file(conn) is not None:
                conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA secure_delete = ON")  # wiped keys leave no trace
        return conn

    @property
    def private(self) -> bool:
        return self.file is None

    @property
    def files(self) -> tuple[str, ...]:
        """The database file, as SQLite resolved it, and the companions SQLite names
        after it (whether or not they exist now)."""
        if self.file is None:
            return ()
        return (self.file, *(self.file + companion for companion in COMPANIONS))

    def _connection(self) -> sqlite3.Connection:
        if self.private:
            if self._shared is None:
                self._shared = self._connect()
            return self._shared
        # One connection per thread, and per process: a forked child opens its own.
        conn = getattr(self._local, "conn", None)
        if conn is None or self._local.pid != os.getpid():
            conn = self._connect()
            self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Cursor]:
        # Threads of one process queue here rather than in SQLite's busy handler, which
        # waits by sleeping: the lock hands over at once. Processes still meet at
        # BEGIN IMMEDIATE.
        with self._lock, self._begin("BEGIN IMMEDIATE") as cur:
            yield cur

    @contextlib.contextmanager
    def _reading(self) -> Iterator[sqlite3.Cursor]:
        # A deferred BEGIN takes no write lock: in WAL mode a reader sees the last
        # commit and never waits for a writer. Only the in-memory database, one
        # connection shared by all threads, has to wait its turn.
        shared = self._lock if self.private else contextlib.nullcontext()
        with shared, self._begin("BEGIN") as cur:
            yield cur

    @contextlib.contextmanager
    def _begin(self, statement: str) -> Iterator[sqlite3.Cursor]:
        conn = self._connection()
        with translate(sqlite3.Error, duplicate_request=_duplicate_request):
            cur = conn.execute(statement)
            try:
                yield cur
            except BaseException:
                conn.rollback()
                raise
            conn.commit()

    def _open(self, migrate: bool) -> None:
        if not migrate:
            with self._reading() as cur:
                self.schema_found = check_schema(self, cur)
            return
        with self._transaction() as cur:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    cur.execute(statement)
            self.schema_found = migrate_schema(self, cur)

    def _table_exists(self, name: str) -> Body[bool]:
        query = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
        return (yield self._fetch_one(query, (name,))) is not None

    def _to_db(self, value: int) -> str:
        return str(value)

    # Indexes are text here; as SQLite integers they compare exactly below 2**63 (a
    # larger text saturates there, still above any smaller index).
    sql_index_limit = 2**63

    def _number(self, column: str) -> str:
        return f"CAST({column} AS INTEGER)"

    def _take(self, series_id: int, count: int) -> Body[int | None]:
        row = yield self._fetch_one(
            "SELECT enabled, next_index, capacity FROM cardseq_series WHERE id = ?", (series_id,)
        )
        if row is None or not row[0]:
            return None
        start = int(row[1])
        if start + count > int(row[2]):
            return None
        yield self._do(
            "UPDATE cardseq_series SET next_index = ? WHERE id = ?", (str(start + count), series_id)
        )
        return start

    def _forget_wiped(self) -> None:
        if not self.private:
            with self._lock, translate(sqlite3.Error):
                self._connection().execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        for conn in self._all:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
        self._all.clear()
        self._shared = None
        self._local = threading.local()


def sqlite_store(url: str, *, migrate: bool = True, keys: KeySource = None) -> SQLiteStore:
    """The store at ``sqlite:///PATH[?busy_timeout=MS]``."""
    path, options = take_options(url[len("sqlite:///") :], ("busy_timeout",))
    path, _, unknown = path.partition("?")
    if unknown:
        raise InvalidArgument.bad(
            "db", url, f"has {unknown}: SQLite takes one option, busy_timeout (milliseconds)"
        )
    if not path:
        raise InvalidArgument.bad("db", url, "names no file (sqlite:///PATH)")
    if os.path.isdir(path):
        raise InvalidArgument.bad("db", url, "is a directory, not a database file")
    if not os.path.isdir(os.path.dirname(os.path.abspath(path))):
        raise InvalidArgument.bad("db", url, "is in a directory that does not exist")
    busy = options.get("busy_timeout")
    timeout = (
        BUSY_TIMEOUT_MS
        if busy is None
        else option_int(url, "busy_timeout", busy, minimum=0, unit="milliseconds")
    )
    return SQLiteStore(path, migrate=migrate, busy_timeout=timeout, keys=keys)


def _create_private(path: str) -> bool:
    """Create the database file with mode 0600 before SQLite opens it (SQLite gives its
    ``-wal`` and ``-shm`` the database file's mode); an existing file is left as it is.
    Whether it was created. A path no file can have (too long, in a directory that may
    not be written, on a read-only file system) is 701 naming it."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        return False
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise InvalidArgument.bad(
            "db", f"sqlite:///{path}", f"cannot be created: {reason}"
        ) from None
    return True


def _main_file(conn: sqlite3.Connection) -> str | None:
    """The file SQLite opened for ``conn``'s database, its full path with links
    resolved; None for a database in memory (or a temporary one: private too)."""
    for _, name, file in conn.execute("PRAGMA database_list"):
        if name == "main":
            return str(file) or None
    return None


def _private_companions(path: str) -> None:
    """Give ``-wal`` and ``-shm`` no more access than the database file has."""
    with contextlib.suppress(OSError):
        mode = stat.S_IMODE(os.stat(path).st_mode)
        for companion in (path + "-wal", path + "-shm"):
            if os.path.exists(companion) and stat.S_IMODE(os.stat(companion).st_mode) & ~mode:
                os.chmod(companion, stat.S_IMODE(os.stat(companion).st_mode) & mode)


def _duplicate_request(error: BaseException) -> bool:
    """A violation of the ledger's unique request ids (SQLite names the column)."""
    return isinstance(error, sqlite3.IntegrityError) and str(error).endswith(
        "cardseq_ledger.request_id"
    )
