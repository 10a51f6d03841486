"""The newcomer's path: README's two commands, as README writes them, each in a fresh
copy of the repository (the files git tracks, and new ones it does not ignore).

Slow (installs from the locks, compiles, and the whole suite): deselected unless
``pytest --run-slow``. The suite that README's test command starts runs with
CARDSEQ_NEWCOMER_INNER set, so there these tests are deselected rather than started
again. .ci/run runs the test command as written in a fresh copy as its main stage, and
the main job through this file.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from .conftest import NEWCOMER_INNER

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
TEST_TAIL = " && .venv/bin/python -m pytest"


def readme_commands() -> tuple[str, str]:
    """The first line of each of README's ```sh blocks: the main job comes first, the
    test command (which ends by running pytest) second; .ci/run reads them alike."""
    lines = (ROOT / "README.md").read_text().splitlines()
    found = [lines[i + 1] for i, line in enumerate(lines[:-1]) if line.strip() == "```sh"]
    assert len(found) >= 2, "README.md must hold the main job and the test command"
    main_job, test_command = found[0], found[1]
    assert test_command.endswith(TEST_TAIL), test_command
    assert "cards.txt" in main_job, main_job
    return main_job, test_command


def copy_repository(destination: Path) -> None:
    """What a clone holds, from $CARDSEQ_NEWCOMER_SOURCE (a git checkout; .ci/run names
    its clone, since its own tree is a copy without .git) or this checkout."""
    source = Path(os.environ.get("CARDSEQ_NEWCOMER_SOURCE") or ROOT)
    listed = subprocess.run(
        ["git", "-C", str(source), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        check=False,
    )
    if listed.returncode != 0:
        pytest.fail(
            f"{source} is not a git checkout: set CARDSEQ_NEWCOMER_SOURCE to one "
            f"({listed.stderr.decode().strip()})"
        )
    for name in filter(None, listed.stdout.decode().split("\0")):
        path = source / name
        if path.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, destination / name)


def newcomer_env() -> dict[str, str]:
    """A shell with no cardseq settings, no active venv and no pytest options: only
    PATH's directories outside any virtual environment."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CARDSEQ_", "PYTEST_"))
        and k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")
    }
    path = [p for p in env.get("PATH", "").split(os.pathsep) if p]
    env["PATH"] = os.pathsep.join(p for p in path if not (Path(p).parent / "pyvenv.cfg").exists())
    env[NEWCOMER_INNER] = "1"
    return env


def run(command: str, cwd: Path, log: Path, env: dict[str, str]) -> tuple[int, str]:
    """``command`` through bash, as typed at a prompt; its output kept in ``log``."""
    with log.open("w") as out:
        done = subprocess.run(
            ["bash", "-c", command],
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=3600,
            check=False,
        )
    return done.returncode, log.read_text()


def luhn_valid(numbers: np.ndarray) -> np.ndarray:
    """The Luhn check of equal-length digit strings, vectorised, written here rather
    than taken from cardseq."""
    digits = numbers.view(np.uint8).reshape(len(numbers), -1).astype(np.int64) - ord("0")
    doubled = digits[:, -2::-2] * 2
    total = digits[:, -1::-2].sum(axis=1) + (doubled - 9 * (doubled > 9)).sum(axis=1)
    return total % 10 == 0


@pytest.fixture
def fresh_copy(tmp_path) -> Path:
    """A new directory holding what a clone holds."""
    clone = tmp_path / "cardseq"
    clone.mkdir()
    copy_repository(clone)
    return clone


def test_readme_main_job_in_a_fresh_copy(fresh_copy, tmp_path):
    main_job, _ = readme_commands()
    status, output = run(main_job, fresh_copy, tmp_path / "main-job.log", newcomer_env())
    assert status == 0, output[-5000:]
    lines = (fresh_copy / "cards.txt").read_bytes().splitlines()
    assert len(lines) == 1_000_000
    numbers = np.array(lines, dtype="S16")
    assert {len(line) for line in lines} == {16}
    assert np.char.startswith(numbers, b"600000").all()
    assert luhn_valid(numbers).all()
    assert len(np.unique(numbers)) == 1_000_000


def test_readme_test_command_in_a_fresh_copy(fresh_copy, tmp_path):
    """(.ci/run runs this command as written in a fresh copy of its own, as its main
    stage, and so runs only the main job through this file.)"""
    _, test_command = readme_commands()
    status, output = run(test_command, fresh_copy, tmp_path / "tests.log", newcomer_env())
    summary = output.rstrip().splitlines()[-1]
    assert status == 0, output[-5000:]
    assert re.fullmatch(r"=+ \d+ passed.* in .+ =+", summary), summary
    assert not re.search(r"\d+ (failed|errors?)\b", summary), summary
    # the slow tests were deselected in there, not run again
    assert "deselected" in summary, summary
