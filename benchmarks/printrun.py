"""A print run with columns beside the single column, side by side: the real
``cardseq generate`` writing a CSV file, its speed and its peak memory.

    python benchmarks/printrun.py [--n 20000000] [--rounds 3]

Each case is the command in a child process of its own (its peak RSS read with
``os.wait4``, for that child alone), writing a file in a temporary directory (removed
after each run). The cases run in turn, once per round, so that a noisy neighbour slows
all of them alike; each figure is the median of the rounds. ``Block.write`` to a sink
that discards the bytes is measured the same way, in this process: the formatting
alone, without the disk. Exits 1 when a target is missed:

- ``--columns number,status_label,request_id`` of N numbers: peak RSS at most 100 MB;
- its speed in bytes/s at least 0.8x the single column's: the same speed class. (Its
  rows are about four times as long, so its numbers/s is about a quarter; both ratios
  are printed.)
- ``--columns number,pin`` (6-digit PINs under a PIN key, issue 24): at most 2x the time
  of the single column, peak RSS at most 100 MB.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cardseq  # noqa: E402
from cardseq import CardSeries  # noqa: E402

CLI = [sys.executable, "-m", "cardseq"]
COLUMNS = "number,status_label,request_id"
PINS = "number,pin"
CASES = {"number (single column)": "number", COLUMNS: COLUMNS, PINS: PINS}
#: the PIN key, from the environment as an operator would give it
ENV = {**os.environ, "CARDSEQ_KEY_GIFT_PIN": bytes(range(32)).hex()}
REQUEST_ID = "c0ffee00-1234-4abc-8def-0123456789ab"  # as long as a generated one


def run_cli(db: str, n: int, columns: str, out: str) -> tuple[float, float, int]:
    """One ``cardseq generate`` to ``out``: (seconds, peak RSS in MB, bytes written)."""
    command = [*CLI, "generate", "GIFT", "-n", str(n), "--yes"]
    command += ["--format", "csv", "--columns", columns, "--out", out, "--db", db]
    command += ["--request-id", f"{REQUEST_ID}-{time.monotonic_ns()}"[:36]]
    began = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV)
    _, status, usage = os.wait4(child.pid, 0)
    took = time.perf_counter() - began
    stderr = child.stderr.read().decode() if child.stderr else ""
    if status != 0:
        raise SystemExit(f"cardseq generate failed: {stderr}")
    size = os.path.getsize(out)
    os.unlink(out)
    return took, usage.ru_maxrss / 1024, size


class Discard:
    """A binary file that drops what it is given."""

    def write(self, data: object) -> int:
        return len(memoryview(data))  # type: ignore[arg-type]


def medians(cases: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    times: dict[str, list[float]] = {name: [] for name in cases}
    for round_ in range(rounds + 1):  # the first round warms up, and is not counted
        for name, run in cases.items():
            began = time.perf_counter()
            run()
            if round_:
                times[name].append(time.perf_counter() - began)
    return {name: statistics.median(t) for name, t in times.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000_000, help="numbers per run")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    n = args.n
    print(
        f"cardseq {cardseq.__version__}, compiled={cardseq.COMPILED},"
        f" Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} cores\n"
    )
    failed = False
    with tempfile.TemporaryDirectory() as folder:
        db = f"sqlite:///{folder}/bench.db"
        subprocess.run(
            [
                *CLI,
                "series",
                "create",
                "GIFT",
                "--prefix",
                "600000",
                "--length",
                "16",
                "--method",
                "LUHN",
                "--pin-length",
                "6",
                "--pin-key-id",
                "gift-pin",
                "--db",
                db,
            ],
            check=True,
            capture_output=True,
            env=ENV,
        )
        times: dict[str, list[float]] = {name: [] for name in CASES}
        peaks: dict[str, list[float]] = {name: [] for name in CASES}
        sizes: dict[str, int] = {}
        for _ in range(args.rounds):
            for name, columns in CASES.items():
                took, peak, size = run_cli(db, n, columns, f"{folder}/cards.csv")
                times[name].append(took)
                peaks[name].append(peak)
                sizes[name] = size
        print(f"cardseq generate -n {n:,} --format csv to a file, {args.rounds} rounds:")
        rate = {}
        for name in CASES:
            seconds = statistics.median(times[name])
            rate[name] = n / seconds
            print(
                f"  --columns {name:<34} median {seconds:6.2f} s  {rate[name] / 1e6:6.2f} M/s"
                f"  {sizes[name] / seconds / 2**20:7.0f} MiB/s  peak RSS {max(peaks[name]):5.1f} MB"
            )
        single = "number (single column)"
        ratio = rate[COLUMNS] / rate[single]
        byte_ratio = (sizes[COLUMNS] / sizes[single]) * ratio
        peak = max(peaks[COLUMNS])
        ok_peak, ok_ratio = peak <= 100, byte_ratio >= 0.8
        failed |= not (ok_peak and ok_ratio)
        print(
            f"  columns / single column: {byte_ratio:.2f}x the bytes/s"
            f" (target >= 0.8x: {'ok' if ok_ratio else 'MISSED'}), {ratio:.2f}x the numbers/s,"
            f" rows {sizes[COLUMNS] / sizes[single]:.2f}x as long;"
            f" peak RSS {peak:.1f} MB (target <= 100: {'ok' if ok_peak else 'MISSED'})"
        )
        slower = rate[single] / rate[PINS]
        pin_peak = max(peaks[PINS])
        ok_pins = slower <= 2 and pin_peak <= 100
        failed |= not ok_pins
        print(
            f"  with PINs / single column: {slower:.2f}x the time (target <= 2x),"
            f" peak RSS {pin_peak:.1f} MB: {'ok' if ok_pins else 'MISSED'}"
        )

    block = CardSeries(
        "GIFT", prefix="600000", length=16, method="LUHN", pin_length=6, pin_key=bytes(range(32))
    ).block(0, n)
    took = medians(
        {
            name: lambda columns=columns: block.write(
                Discard(),
                fmt="csv",
                columns=columns,
                status_label="NOT_ISSUED",
                request_id=REQUEST_ID,
            )
            for name, columns in CASES.items()
        },
        args.rounds,
    )
    print(f"\nBlock.write of {n:,} numbers (csv) to a sink that drops them, {args.rounds} rounds:")
    for name, seconds in took.items():
        print(f"  --columns {name:<34} median {seconds:6.2f} s  {n / seconds / 1e6:6.2f} M/s")
    ratio = took["number (single column)"] / took[COLUMNS]
    byte_ratio = ratio * sizes[COLUMNS] / sizes["number (single column)"]
    print(f"  columns / single column: {byte_ratio:.2f}x the bytes/s, {ratio:.2f}x the numbers/s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
