"""A throwaway PostgreSQL server for the tests, so they need no shared or pre-configured one."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from typing import Self
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
from psycopg import sql


def _bindir() -> str | None:
    """Where initdb lives: pg_config's answer first, else the newest /usr/lib/postgresql/N/bin."""
    candidates = []
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], check=False, capture_output=True, text=True)
        candidates.append(out.stdout.strip())
    by_version = glob.glob("/usr/lib/postgresql/*/bin")
    by_version.sort(
        key=lambda d: [int(p) for p in d.split("/")[-2].split(".") if p.isdigit()], reverse=True
    )
    candidates += by_version
    return next(
        (d for d in candidates if d and os.access(os.path.join(d, "initdb"), os.X_OK)), None
    )


def database_url(server_url: str, name: str) -> str:
    """The URL of database `name` on the server that `server_url` points to."""
    parts = urlsplit(server_url)
    return urlunsplit(parts._replace(path="/" + quote(name)))


def create_database(server_url: str, name: str, template: str | None = None) -> str:
    """CREATE DATABASE `name`, a copy of database `template` if one is named (it cannot
    run in a transaction, hence autocommit); return its URL."""
    create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template is not None:
        create += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(create)
    return database_url(server_url, name)


def drop_database(server_url: str, name: str) -> None:
    """DROP DATABASE ... WITH (FORCE), so connections a test leaked do not block it."""
    with psycopg.connect(server_url, autocommit=True) as conn:
        drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
        conn.execute(drop.format(sql.Identifier(name)))


class PostgresCluster:
    """initdb + pg_ctl in a temp directory, on a free loopback port.

    ``settings``: extra postgresql.conf lines (name -> value), e.g. ``{"fsync": "off"}``
    for a server without crash safety.

    PostgreSQL refuses to run as root, so as root every server command runs as the
    `postgres` user (who then owns the directory); otherwise as the current user.
    """

    def __init__(self, settings: dict[str, str] | None = None) -> None:
        self.settings = {"fsync": "on", **(settings or {})}
        self.bindir = _bindir()
        if self.bindir is None:
            raise RuntimeError("PostgreSQL server binaries (initdb) not found")
        self._as_root = os.geteuid() == 0
        self.dir = tempfile.mkdtemp(prefix="cardseq-pg-")
        if self._as_root:
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)  # empty dir: no need for chown -R
            # mkdtemp's parent may be closed to postgres (e.g. TMPDIR under /root): fail clearly.
            if subprocess.run(
                ["runuser", "-u", "postgres", "--", "test", "-w", self.dir], check=False
            ).returncode:
                shutil.rmtree(self.dir)
                raise RuntimeError(f"user postgres cannot reach {self.dir}; set TMPDIR=/tmp")
        self.datadir = os.path.join(self.dir, "data")
        self.logfile = os.path.join(self.dir, "server.log")
        with socket.socket() as s:  # a free port, released for the server to take
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self._initialised = False

    @staticmethod
    def available() -> bool:
        """Whether a cluster can be made here: binaries found (and, as root, a postgres user)."""
        if _bindir() is None:
            return False
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                return False
        return True

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        cmd = [os.path.join(self.bindir, tool), *args]
        if self._as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        # cwd: the server user may not be able to enter the caller's working directory.
        out = subprocess.run(cmd, cwd=self.dir, check=False, capture_output=True, text=True)
        if out.returncode:
            raise RuntimeError(
                f"{' '.join(cmd)} failed ({out.returncode}):\n{out.stdout}"
                f"{out.stderr}\n--- server log tail:\n{self._log_tail()}"
            )

    def _log_tail(self, lines: int = 30) -> str:
        try:
            with open(self.logfile, errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return "(no server log)"

    def start(self) -> None:
        """initdb on the first call; then start the server and wait until it accepts connections."""
        if not self._initialised:
            self._run(
                "initdb",
                "-D",
                self.datadir,
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
            )
            # fsync stays on (the default) unless `settings` say otherwise: tests measure
            # durability across crash-stops.
            with open(os.path.join(self.datadir, "postgresql.conf"), "a") as f:
                f.write(
                    f"\nlisten_addresses = '127.0.0.1'\nport = {self.port}\n"
                    f"unix_socket_directories = '{self.dir}'\nmax_connections = 200\n"
                )
                f.writelines(f"{name} = {value}\n" for name, value in self.settings.items())
            self._initialised = True
        # The server's stderr (its log) goes to logfile in the temp dir.
        self._run("pg_ctl", "-D", self.datadir, "-l", self.logfile, "-w", "-t", "60", "start")

    def standby(self, name: str, via: int | None = None) -> PostgresCluster:
        """A streaming standby of this (running) server, made with ``pg_basebackup -R``
        and started on a port of its own; it reports itself as ``name``
        (``application_name``, what ``synchronous_standby_names`` lists). ``via``: a
        port that relays to this server, which the standby then streams through."""
        other = PostgresCluster(self.settings)
        port = self.port if via is None else via
        source = f"host=127.0.0.1 port={port} user=postgres application_name={name}"
        other._run("pg_basebackup", "-D", other.datadir, "-R", "-X", "stream", "-d", source)
        with open(os.path.join(other.datadir, "postgresql.conf"), "a") as f:
            f.write(f"\nport = {other.port}\nunix_socket_directories = '{other.dir}'\n")
        other._initialised = True
        other.start()
        return other

    def set(self, **settings: str) -> None:
        """Change server settings now (ALTER SYSTEM, then a reload), and wait until the
        server's processes have them: a reload signals them, and returns before they
        act on it."""
        with psycopg.connect(self.url, autocommit=True) as conn:
            for name, value in settings.items():
                conn.execute(
                    sql.SQL("ALTER SYSTEM SET {} = {}").format(
                        sql.Identifier(name), sql.Literal(value)
                    )
                )
            conn.execute("SELECT pg_reload_conf()")
        for _ in range(100):
            with psycopg.connect(self.url, autocommit=True) as conn:
                seen = [
                    conn.execute(sql.SQL("SHOW {}").format(sql.Identifier(n))).fetchone()
                    for n in settings
                ]
            if seen == [(v,) for v in settings.values()]:
                break
            time.sleep(0.02)
        time.sleep(0.3)  # the idle backends of other connections act on it too

    def promote(self) -> None:
        """Make this standby a primary (a new timeline), and wait until it is."""
        self._run("pg_ctl", "-D", self.datadir, "-w", "promote")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server; mode "immediate" is a crash: the next start does crash recovery."""
        self._run("pg_ctl", "-D", self.datadir, "-w", "-m", mode, "stop")

    def create_database(self, name: str) -> str:
        return create_database(self.url, name)

    def cleanup(self) -> None:
        """Stop (as a crash: nothing here is worth a clean shutdown) and delete everything."""
        if self._initialised:
            try:
                self.stop("immediate")
            except RuntimeError:
                pass  # already stopped
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()


def streaming(primary: PostgresCluster, name: str) -> None:
    """Wait until standby ``name`` streams from ``primary``."""
    for _ in range(200):
        with psycopg.connect(primary.url, autocommit=True) as conn:
            found = conn.execute(
                "SELECT 1 FROM pg_stat_replication WHERE application_name = %s"
                " AND state = 'streaming'",
                (name,),
            ).fetchone()
        if found:
            return
        time.sleep(0.05)
    raise AssertionError(f"standby {name} never streamed")


@contextlib.contextmanager
def failover_pair(
    connect_timeout: int = 2,
) -> Iterator[tuple[PostgresCluster, PostgresCluster, str]]:
    """A primary and its synchronous standby ``s1``, started here, with the two-host URL
    (``target_session_attrs=read-write``) that follows a failover; removed at the end."""
    primary = PostgresCluster()
    primary.start()
    standby = None
    try:
        standby = primary.standby("s1")
        streaming(primary, "s1")
        primary.set(synchronous_standby_names="s1")
        yield (
            primary,
            standby,
            (
                f"postgresql://postgres@127.0.0.1:{primary.port},127.0.0.1:{standby.port}"
                f"/postgres?target_session_attrs=read-write&connect_timeout={connect_timeout}"
            ),
        )
    finally:
        if standby is not None:
            standby.cleanup()
        primary.cleanup()
