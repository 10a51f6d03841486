"""Define a series, then write a million Luhn card numbers to a file: the main job, in small.

Run: python examples/quickstart.py [OUT] [COUNT]
"""

import sys
import time

import cardseq

out = sys.argv[1] if len(sys.argv) > 1 else "cards.txt"
count = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000

series = cardseq.CardSeries("GIFT", prefix="600000", length=16, method="LUHN")
block = series.block(0, count)
began = time.perf_counter()
with open(out, "wb") as fp:
    block.write(fp)
took = time.perf_counter() - began
engine = "compiled" if cardseq.COMPILED else "pure Python"
print(f"wrote {count:,} numbers of series {series.code} to {out} in {took:.2f} s ({engine} engine)")
print(f"first {series.format(0)}, last {series.format(count - 1)}")
