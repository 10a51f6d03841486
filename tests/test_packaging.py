"""The package's metadata and build: one version, and a failed compile that says what to do."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path

import cardseq

SOURCE = Path(__file__).resolve().parents[1]


def test_one_version_read_from_metadata() -> None:
    """pyproject.toml holds the version; the package and the command report that one."""
    declared = tomllib.loads((SOURCE / "pyproject.toml").read_text())["project"]["version"]
    assert cardseq.__version__ == version("cardseq") == declared
    out = subprocess.run(
        [sys.executable, "-m", "cardseq", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == f"cardseq {declared}"


def test_failed_compile_ends_naming_the_pure_switch(tmp_path: Path) -> None:
    """With no working compiler, the build fails, and its last line says how to go pure."""
    env = {k: v for k, v in os.environ.items() if k != "CARDSEQ_NO_EXTENSIONS"}
    env["CC"] = env["LDSHARED"] = "false"  # a compiler that always fails
    result = subprocess.run(
        [
            sys.executable,
            "setup.py",
            "-q",
            "build_ext",
            "--build-temp",
            str(tmp_path / "t"),
            "--build-lib",
            str(tmp_path / "lib"),
            "--force",
        ],
        cwd=SOURCE,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert "CARDSEQ_NO_EXTENSIONS=1" in last, result.stderr[-2000:]
