"""Runs fuzz targets, each in a process of its own, and says what each did.

``python -m fuzz [TARGET...] [--seconds N | --runs N] [--seed N] [--findings DIR]``: every
target (or those named) in turn, for ``N`` seconds or ``N`` inputs; then, per target,
the inputs run, their rate and the findings, whose inputs and tracebacks are in
``DIR/TARGET/`` (default ``fuzz/findings/``). Exit status 1 when anything was found.

The child process runs the target under atheris (libFuzzer, coverage of cardseq's Python
code) where atheris is installed, else under Hypothesis (random bytes, no coverage).
Either way it starts from the seed corpus ``fuzz/corpus/TARGET/``; atheris adds what it
learns to ``DIR/corpus/TARGET/``, which a later run starts from too.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from . import TARGETS

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
DEFAULT_FINDINGS = HERE / "findings"
#: bytes of one input at most
MAX_LEN = 4096
#: seconds one input may take before libFuzzer calls it a finding (a hang)
INPUT_TIMEOUT = 20
#: libFuzzer's own finding files (an input that hung, ran out of memory, or crashed)
ARTIFACTS = ("crash-", "timeout-", "oom-", "leak-", "slow-unit-")
_STAT = re.compile(r"stat::(number_of_executed_units|average_exec_per_sec):\s*(\d+)")
#: where the child writes its findings
FINDINGS_ENV = "CARDSEQ_FUZZ_FINDINGS"


@dataclass
class Result:
    target: str
    engine: str
    runs: int
    per_second: int
    seconds: float
    status: int
    findings: list[Path] = field(default_factory=list)
    log: Path | None = None


def run_target(
    target: str,
    *,
    seconds: float | None = None,
    runs: int | None = None,
    seed: int | None = None,
    findings: Path = DEFAULT_FINDINGS,
) -> Result:
    """Fuzz ``target`` in a child process; its findings are the files it wrote."""
    if target not in TARGETS:
        raise SystemExit(f"no fuzz target {target!r}; there are: {', '.join(TARGETS)}")
    out = findings / target
    learned = findings / "corpus" / target
    for directory in (out, learned):
        directory.mkdir(parents=True, exist_ok=True)
    log = findings / f"{target}.log"
    command = [sys.executable, "-m", "fuzz.run", "--child", target]
    for flag, value in (("--seconds", seconds), ("--runs", runs), ("--seed", seed)):
        if value is not None:
            command += [flag, str(value)]
    env = {**os.environ, FINDINGS_ENV: str(out)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE.parent), env.get("PYTHONPATH")]))
    if seed is not None:
        env["PYTHONHASHSEED"] = str(seed)
    started = time.time()
    with log.open("wb") as sink:
        status = subprocess.run(command, stdout=sink, stderr=subprocess.STDOUT, env=env).returncode
    took = time.time() - started
    text = log.read_text("utf-8", "replace")
    stats = {name: int(value) for name, value in _STAT.findall(text)}
    found = sorted(
        path
        for path in out.iterdir()
        if path.stat().st_mtime >= started - 1
        and (path.suffix == ".txt" or path.name.startswith(ARTIFACTS))
    )
    engine = "hypothesis" if "engine: hypothesis" in text else "atheris"
    count = stats.get("number_of_executed_units", 0)
    rate = stats.get("average_exec_per_sec", 0)
    if status != 0 and not found:
        found = [log]  # the child failed before it could record anything: its log says why
    return Result(target, engine, count, rate, took, status, found, log)


def _child(target: str, seconds: float | None, runs: int | None, seed: int | None) -> None:
    """Fuzz ``target`` in this process (the runner's child): atheris if it is installed,
    with cardseq instrumented for coverage; else Hypothesis."""
    out = Path(os.environ[FINDINGS_ENV])
    learned = out.parent / "corpus" / target
    try:
        import atheris
    except ImportError:
        atheris = None
    if atheris is not None:
        # cardseq must load inside this block (nothing imported it yet): coverage
        # comes from its instrumented bytecode; the compiled engine runs uninstrumented
        with atheris.instrument_imports(include=["cardseq"]):
            module = importlib.import_module(f"fuzz.{target}")
    else:
        module = importlib.import_module(f"fuzz.{target}")
    from . import harness

    run = harness.guarded(module.one_input, harness.Record(out))
    seeds = [CORPUS / target] if (CORPUS / target).is_dir() else []
    if atheris is None:
        _hypothesis(run, seeds, seconds, runs, seed)
        return
    args = [
        sys.argv[0],
        f"-max_len={MAX_LEN}",
        f"-timeout={INPUT_TIMEOUT}",
        # an input slower than libFuzzer's 10 s but under the timeout is the machine
        # stalling (two 16 s "slow units" of this kind replayed in 5 ms): only a timeout
        # is a hang
        f"-report_slow_units={INPUT_TIMEOUT}",
        "-print_final_stats=1",
        f"-artifact_prefix={out}/",
    ]
    if runs is not None:
        args.append(f"-runs={runs}")
    if seconds is not None:
        args.append(f"-max_total_time={max(1, round(seconds))}")
    if seed is not None:
        args.append(f"-seed={seed}")
    # new inputs go to the first directory: the learned corpus, never the seeds
    atheris.Setup([*args, str(learned), *map(str, seeds)], run)
    atheris.Fuzz()


def _hypothesis(
    run: object, seeds: list[Path], seconds: float | None, runs: int | None, seed: int | None
) -> None:
    """Random bytes from Hypothesis, where atheris has no wheel; the seed corpus first.
    Prints libFuzzer's final statistics lines, which the runner reads."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as seeded
    from hypothesis import strategies as st

    assert callable(run)
    started = time.monotonic()
    count = 0

    def one(raw: bytes) -> None:
        nonlocal count
        count += 1
        run(raw)

    for directory in seeds:
        for path in sorted(directory.iterdir()):
            one(path.read_bytes())
    deadline = started + (seconds or 0)
    rounds = 0
    while runs is None or count < runs:
        todo = 1000 if runs is None else runs - count

        @settings(
            max_examples=todo,
            database=None,
            deadline=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @seeded((seed or 0) + rounds)
        @given(st.binary(max_size=MAX_LEN))
        def fuzz(raw: bytes) -> None:
            one(raw)

        fuzz()
        rounds += 1
        if runs is None and time.monotonic() >= deadline:
            break
    took = max(time.monotonic() - started, 1e-9)
    print("engine: hypothesis")
    print(f"stat::number_of_executed_units: {count}")
    print(f"stat::average_exec_per_sec: {int(count / took)}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fuzz", description=__doc__.split("\n")[0])
    parser.add_argument("targets", nargs="*", metavar="TARGET", help="default: all of them")
    parser.add_argument("--seconds", type=float, help="time per target (default 60)")
    parser.add_argument("--runs", type=int, help="inputs per target, instead of a time")
    parser.add_argument("--seed", type=int, help="the fuzzer's random seed (repeatable runs)")
    parser.add_argument("--findings", type=Path, default=DEFAULT_FINDINGS, metavar="DIR")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child, args.seconds, args.runs, args.seed)
        return 0
    seconds = args.seconds if args.seconds is not None or args.runs is not None else 60.0
    results = []
    print(f"{'target':<12} {'engine':<10} {'runs':>9} {'exec/s':>7} {'findings':>8}", flush=True)
    for target in args.targets or TARGETS:
        result = run_target(
            target, seconds=seconds, runs=args.runs, seed=args.seed, findings=args.findings
        )
        results.append(result)
        print(
            f"{target:<12} {result.engine:<10} {result.runs:>9} {result.per_second:>7}"
            f" {len(result.findings):>8}",
            flush=True,
        )
    for result in results:
        for path in result.findings:
            print(f"{result.target}: {path}")
    return 1 if any(result.findings for result in results) else 0


if __name__ == "__main__":
    sys.exit(main())
