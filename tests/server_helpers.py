"""A real ``cardseq serve`` process on 127.0.0.1 for the HTTP tests and the benchmark.

The server's output goes to a log file, not a pipe: a pipe nobody reads fills up and
stalls the server. The log is shown when the server fails to start.
"""

from __future__ import annotations

import os
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Self

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cardseq(
    *args: str, input: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m cardseq ARGS...``; fail with its output if it fails (``check``)."""
    result = subprocess.run(
        [sys.executable, "-m", "cardseq", *args],
        input=input,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0 or not check, (args, result.stdout, result.stderr)
    return result


def add_user(users_file: Path, name: str, password: str) -> None:
    cardseq(
        "users",
        "add",
        name,
        "--users-file",
        str(users_file),
        "--password-stdin",
        input=password + "\n",
    )


def _limit_files(count: int) -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (count, count))


class Server:
    """``cardseq serve`` with ``options`` in a subprocess; ``stop()`` ends it.

    ``max_files`` caps the server's file descriptors (soft and hard limit, so that it
    cannot raise it again); ``env`` adds to its environment.
    """

    def __init__(
        self,
        workdir: Path,
        db: str,
        *options: str,
        auth: tuple[str, str] | None = None,
        max_files: int | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.db = db
        self.auth = auth
        self.workers = int(options[options.index("--workers") + 1]) if "--workers" in options else 1
        self.log_path = workdir / f"server-{self.port}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 (open while the server runs)
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "cardseq",
                "serve",
                "--port",
                str(self.port),
                "--db",
                db,
                *options,
            ],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            env=env,
            preexec_fn=None if max_files is None else lambda: _limit_files(max_files),
        )
        try:
            self._wait()
        except BaseException:
            self.stop()
            raise

    def _wait(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        answered = False
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.log()}")
            if not answered:  # asked once only: a test's tight rate limit counts each
                try:
                    answered = httpx.get(f"{self.url}/openapi.json", timeout=1).status_code == 200
                except httpx.TransportError:
                    pass
            # every worker started: one stopped while starting would be left behind
            if answered and self._started():
                return
            time.sleep(0.05)
        raise RuntimeError(f"server did not answer within {timeout} s:\n{self.log()}")

    def _started(self) -> bool:
        if self.workers == 1:
            return True
        log = self.log()
        return all(f"Started worker-{i}" in log for i in range(1, self.workers + 1))

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def client(self, auth: tuple[str, str] | None = None, **options: object) -> httpx.Client:
        return httpx.Client(base_url=self.url, auth=auth or self.auth, timeout=60, **options)  # type: ignore[arg-type]

    def stop(self) -> None:
        """Terminate (the server shuts down gracefully), then kill if it lingers."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
