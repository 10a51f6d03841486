"""Engine throughput against baselines, measured side by side in one process.

    python benchmarks/ratios.py [--n 10000000] [--rounds 5]

Cases compared with each other run in turn, once per round, so that a noisy neighbour
slows all of them alike; a case's figure is its best round, with the median beside it.
The script exits 1 when a ratio misses its target.
"""

from __future__ import annotations

import argparse
import gc
import platform
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np

import cardseq
from cardseq import CardSeries, _engine, _engine_py

LENGTH = 23


def series(method: str) -> CardSeries:
    return CardSeries("Test", prefix="Test09", suffix="end", length=LENGTH, method=method)


def measure(cases: dict[str, Callable[[], object]], rounds: int) -> dict[str, list[float]]:
    """Run the cases in turn, ``rounds`` times after one discarded warm-up round.

    Only cases that are compared with each other share a call: the allocator's state
    (whether a large array gets fresh pages or reuses freed ones) then is the same for
    both sides of a ratio.
    """
    times: dict[str, list[float]] = {name: [] for name in cases}
    for round_ in range(rounds + 1):
        for name, run in cases.items():
            gc.collect()
            began = time.perf_counter()
            result = run()
            took = time.perf_counter() - began
            del result
            if round_:
                times[name].append(took)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000_000, help="numbers per case")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--keyed-n",
        type=int,
        default=2_000_000,
        help="numbers per keyed case (ff3 gets 1/100 of them)",
    )
    args = parser.parse_args()
    n, small = args.n, args.n // 10
    if not cardseq.COMPILED:
        print("warning: the compiled engine is not loaded; the figures are the pure twin's")
    blocks = {m: series(m).block(0, n) for m in ("DEFAULT", "LUHN", "MOD7")}
    layout = series("DEFAULT")._layout

    def pure_twin() -> np.ndarray:
        out = np.empty(small, dtype=f"S{LENGTH}")
        _engine_py.render_into(out.view(np.uint8), LENGTH, layout, 0, small, False)
        return out

    groups: list[dict[str, Callable[[], object]]] = [
        {
            "numpy fill (baseline)": lambda: np.full(n * LENGTH, 48, np.uint8),
            "DEFAULT to_numpy": blocks["DEFAULT"].to_numpy,
            "LUHN to_numpy": blocks["LUHN"].to_numpy,
            "MOD7 to_numpy": blocks["MOD7"].to_numpy,
        },
        {
            "[str(i) for i in range(N)] (baseline)": lambda: [str(i) for i in range(n)],
            "DEFAULT to_list": blocks["DEFAULT"].to_list,
        },
        {
            "f-string loop, N/10 (baseline)": lambda: [f"Test09{i:014d}end" for i in range(small)],
            "DEFAULT to_numpy, N/10": series("DEFAULT").block(0, small).to_numpy,
            "pure twin to_numpy, N/10": pure_twin,
        },
    ]
    # 16-character codes (Crockford base 32) against 16-digit numbers, same count
    codes = CardSeries("Codes", length=16, alphabet="crockford").block(0, n)
    digits16 = CardSeries("Digits", length=16).block(0, n)
    groups.append(
        {
            "16-digit DEFAULT to_numpy": digits16.to_numpy,
            "16-char Crockford to_numpy": codes.to_numpy,
        }
    )
    keyed_n = args.keyed_n
    # RANDOM_LUHN with a 16-digit counter (and a 6-digit issuer prefix)
    keyed = CardSeries(
        "Gift", prefix="600000", length=23, method="RANDOM_LUHN", key=bytes(range(32))
    )
    keyed_block = keyed.block(0, keyed_n)

    def keyed_one_thread() -> np.ndarray:
        out = np.empty(keyed_n, dtype="S23")
        _engine.engine.render_into(out.view(np.uint8), 23, keyed._layout, 0, keyed_n, False)
        return out

    def keyed_pure() -> np.ndarray:
        out = np.empty(keyed_n // 10, dtype="S23")
        _engine_py.render_into(out.view(np.uint8), 23, keyed._layout, 0, keyed_n // 10, False)
        return out

    keyed_codes = CardSeries(
        "KeyedCodes", length=16, alphabet="crockford", method="RANDOM_DAMM", key=bytes(range(32))
    ).block(0, keyed_n)
    keyed_digits16 = CardSeries(
        "KeyedDigits", length=16, method="RANDOM_LUHN", key=bytes(range(32))
    ).block(0, keyed_n)
    keyed_group: dict[str, Callable[[], object]] = {
        "RANDOM_LUHN 16 digits to_numpy": keyed_digits16.to_numpy,
        "RANDOM_DAMM 16 Crockford to_numpy": keyed_codes.to_numpy,
        "RANDOM_LUHN to_numpy, all cores": keyed_block.to_numpy,
        "RANDOM_LUHN render, one thread": keyed_one_thread,
        "RANDOM_LUHN pure twin, N/10": keyed_pure,
    }
    try:  # NIST FF1 for the same kind of numbers: 16 digits, the last a Luhn digit
        ff1_block = CardSeries(
            "Ff1", length=16, method="RANDOM_LUHN", cipher="ff1", key=bytes(range(32))
        ).block(0, keyed_n // 2)
    except cardseq.MissingExtra:
        print("note: the ff1 extra is not installed (pip install -e '.[bench]'): no FF1 case")
    else:
        keyed_group["RANDOM_LUHN cipher=ff1 to_numpy, N/2"] = ff1_block.to_numpy
    try:
        from ff3 import FF3Cipher
    except ImportError:
        print("note: ff3 is not installed (pip install -e '.[bench]'): no FF3-1 comparison")
    else:
        cipher = FF3Cipher("EF4359D8D580AA4F7F036D6F04FC6A94", "D8E7920AFA330A73")
        keyed_group["ff3 FF3-1 encrypt, N/100"] = lambda: [
            cipher.encrypt(f"{i:016d}") for i in range(keyed_n // 100)
        ]
    groups.append(keyed_group)
    counts = {
        "RANDOM_LUHN cipher=ff1 to_numpy, N/2": keyed_n // 2,
        "RANDOM_LUHN pure twin, N/10": keyed_n // 10,
        "ff3 FF3-1 encrypt, N/100": keyed_n // 100,
    }
    counts.update(
        dict.fromkeys(
            (
                "RANDOM_LUHN to_numpy, all cores",
                "RANDOM_LUHN render, one thread",
                "RANDOM_LUHN 16 digits to_numpy",
                "RANDOM_DAMM 16 Crockford to_numpy",
            ),
            keyed_n,
        )
    )
    cases = {name: run for group in groups for name, run in group.items()}
    times = {name: t for group in groups for name, t in measure(group, args.rounds).items()}
    best = {name: min(t) for name, t in times.items()}

    print(
        f"cardseq {cardseq.__version__}, compiled={cardseq.COMPILED}, numpy {np.__version__},"
        f" Python {platform.python_version()}, {platform.machine()}"
    )
    print(f"N = {n:,}, {LENGTH}-character numbers, best and median of {args.rounds} rounds\n")
    width = max(map(len, cases))
    for name in cases:
        count = counts.get(name, small if "N/10" in name else n)
        print(
            f"{name:<{width}}  best {best[name] * 1e3:9.1f} ms"
            f"  median {statistics.median(times[name]) * 1e3:9.1f} ms"
            f"  {count / best[name] / 1e6:8.1f} M/s"
        )

    checks = [
        (
            "DEFAULT to_numpy / numpy fill",
            best["DEFAULT to_numpy"] / best["numpy fill (baseline)"],
            2.0,
        ),
        ("LUHN to_numpy / DEFAULT to_numpy", best["LUHN to_numpy"] / best["DEFAULT to_numpy"], 1.5),
        ("MOD7 to_numpy / DEFAULT to_numpy", best["MOD7 to_numpy"] / best["DEFAULT to_numpy"], 1.5),
        (
            "to_list / [str(i) ...]",
            best["DEFAULT to_list"] / best["[str(i) for i in range(N)] (baseline)"],
            1.5,
        ),
    ]
    print()
    failed = False
    for label, ratio, target in checks:
        ok = ratio <= target
        failed |= not ok
        print(f"{label:<36} {ratio:5.2f}x  (target <= {target}x)  {'ok' if ok else 'MISSED'}")
    code_checks = [  # issue 23's targets: reported, not yet met by the sequential codes
        (
            "Crockford codes / 16-digit numbers",
            best["16-char Crockford to_numpy"] / best["16-digit DEFAULT to_numpy"],
            "(target <= 1.5x)",
        ),
        (
            "keyed codes rate / keyed digits rate",
            best["RANDOM_LUHN 16 digits to_numpy"] / best["RANDOM_DAMM 16 Crockford to_numpy"],
            "(target >= 0.7x)",
        ),
    ]
    for label, ratio, target in code_checks:
        print(f"{label:<36} {ratio:5.2f}x  {target}")
    fstring = best["f-string loop, N/10 (baseline)"]
    for name, case in [
        ("compiled speedup over f-string loop", "DEFAULT to_numpy, N/10"),
        ("pure twin speedup over f-string loop", "pure twin to_numpy, N/10"),
    ]:
        print(f"{name:<36} {fstring / best[case]:5.1f}x")
    rate = {name: counts[name] / best[name] for name in keyed_group}
    for label, name in (
        ("RANDOM_LUHN, all cores", "RANDOM_LUHN to_numpy, all cores"),
        ("RANDOM_LUHN, one thread", "RANDOM_LUHN render, one thread"),
    ):
        ok = rate[name] >= 5e6
        failed |= not ok
        print(
            f"{label + ' (M numbers/s)':<36} {rate[name] / 1e6:5.2f}   (target >= 5)"
            f"      {'ok' if ok else 'MISSED'}"
        )
    if "ff3 FF3-1 encrypt, N/100" in rate:
        ff3_rate = rate["ff3 FF3-1 encrypt, N/100"]
        print(
            f"{'RANDOM_LUHN speedup over ff3 FF3-1':<36} "
            f"{rate['RANDOM_LUHN render, one thread'] / ff3_rate:5.0f}x one thread, "
            f"{rate['RANDOM_LUHN to_numpy, all cores'] / ff3_rate:.0f}x all cores"
        )
    ff1 = "RANDOM_LUHN cipher=ff1 to_numpy, N/2"
    if ff1 in rate:
        ok = rate[ff1] >= 1e6
        failed |= not ok
        print(
            f"{'FF1 RANDOM_LUHN (M numbers/s)':<36} {rate[ff1] / 1e6:5.2f}   (target >= 1)"
            f"      {'ok' if ok else 'MISSED'}"
        )
    if ff1 in rate and "ff3 FF3-1 encrypt, N/100" in rate:
        speedup = rate[ff1] / rate["ff3 FF3-1 encrypt, N/100"]
        ok = speedup >= 80
        failed |= not ok
        print(
            f"{'FF1 speedup over ff3 FF3-1':<36} {speedup:5.0f}x  (target >= 80x)"
            f"  {'ok' if ok else 'MISSED'}"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
