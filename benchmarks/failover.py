"""Failover downtime: a store on a two-host URL, its primary stopped, its synchronous
standby promoted; the time until the next reservation commits on the new primary.

    python benchmarks/failover.py [--rounds 5]

Each round starts a primary and a synchronous standby (``pg_basebackup -R``) on this
machine, reserves through ``postgresql://...@primary,standby/...?target_session_attrs=
read-write``, stops the primary with ``-m immediate`` (a crash), promotes the standby
(``pg_ctl promote -w``, as a failover manager would at once), and retries a reservation
every 10 ms. Printed: the promotion's time, the downtime (stop to the first committed
reservation), and that the reservation continued the numbering (none handed out twice).
"""

from __future__ import annotations

import argparse
import pathlib
import statistics
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cardseq import CardSeries  # noqa: E402
from cardseq.errors import StoreError  # noqa: E402
from cardseq.store import open_store  # noqa: E402
from tests.pgcluster import failover_pair  # noqa: E402


def one_round() -> tuple[float, float]:
    """(seconds to promote, seconds from the primary's stop to a committed reservation)."""
    with failover_pair(connect_timeout=1) as (primary, standby, url), open_store(url) as store:
        store.create_series(CardSeries("GIFT", prefix="6", length=12))
        before = store.reserve("GIFT", 100)
        stopped = time.perf_counter()
        primary.stop("immediate")
        standby.promote()
        promoted = time.perf_counter()
        while True:
            try:
                after = store.reserve("GIFT", 100)
                break
            except StoreError:
                time.sleep(0.01)
        done = time.perf_counter()
        if after.start != before.stop:
            raise SystemExit(f"numbering broke: {before.stop} then {after.start}")
    return promoted - stopped, done - stopped


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    promotions, downtimes = [], []
    for k in range(args.rounds):
        promote, down = one_round()
        promotions.append(promote)
        downtimes.append(down)
        print(f"round {k + 1}: promoted in {promote:.2f} s, reserving again after {down:.2f} s")
    print(
        f"median over {args.rounds} rounds: promotion {statistics.median(promotions):.2f} s,"
        f" downtime {statistics.median(downtimes):.2f} s (max {max(downtimes):.2f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
