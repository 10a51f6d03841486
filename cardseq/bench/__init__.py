"""cardseq against what a Python user would otherwise reach for, on the same work.

``run(QUICK)`` measures four tasks (sequential Luhn numbers, unguessable numbers,
reservations on PostgreSQL, validation) and the sequential task at growing batch sizes;
``report.write`` turns the result into a table, Markdown, JSON and plots. ``cardseq
bench`` and ``benchmarks/compare.py`` are shells over these two calls.

Timings on a shared machine are noisy: the cases of a task run in turn, once per round,
so a noisy neighbour slows all of them alike, and each figure is the median of the rounds.
"""

from __future__ import annotations

import gc
import math
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from . import cases, postgres
from .cases import Case, Task


@dataclass(frozen=True)
class Settings:
    """How much work: ``n`` numbers per call for the fast tools (the slow ones get 1/10
    or 1/100 and are compared per number), ``rounds`` medians, ``min_seconds`` per timed
    measurement (short calls repeat until they last that long)."""

    n: int
    rounds: int
    batch_sizes: tuple[int, ...]
    min_seconds: float


QUICK = Settings(100_000, 3, tuple(10**k for k in range(1, 6)), 0.05)
FULL = Settings(1_000_000, 5, tuple(10**k for k in range(1, 7)), 0.2)


@dataclass(frozen=True)
class Row:
    """A case's outcome: its rates (numbers per second) of each round."""

    task: str
    case: Case
    rates: list[float]

    @property
    def rate(self) -> float | None:
        return statistics.median(self.rates) if self.rates else None


@dataclass
class Results:
    settings: Settings
    tasks: list[Task]
    rows: list[Row]
    batches: dict[str, list[float]]
    postgres: str = ""

    def reference(self, task: str) -> float | None:
        """The median rate of the task's cardseq reference case."""
        return next(
            (row.rate for row in self.rows if row.task == task and row.case.reference), None
        )


def measure(
    runs: Mapping[str, tuple[Callable[[], object], int]], rounds: int, min_seconds: float
) -> dict[str, list[float]]:
    """Numbers per second of each ``(run, count)``, one figure per round.

    A warm-up call sets how many calls one measurement makes (enough to last
    ``min_seconds``); then the runs take turns, ``rounds`` times, the garbage collector
    paused while each is timed.
    """
    repeats = {}
    for name, (run, _) in runs.items():
        began = time.perf_counter()
        run()
        took = time.perf_counter() - began
        repeats[name] = max(1, math.ceil(min_seconds / took)) if took > 0 else 1000
    rates: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        gc.collect()
        for name, (run, count) in runs.items():
            gc.disable()  # as timeit does: no collection pause lands on one case alone
            try:
                began = time.perf_counter()
                for _ in range(repeats[name]):
                    run()
                took = time.perf_counter() - began
            finally:
                gc.enable()
            rates[name].append(repeats[name] * count / took)
    return rates


def measure_task(task: Task, settings: Settings) -> list[Row]:
    runnable = {c.tool: (c.run, c.count) for c in task.cases if c.run is not None}
    rates = measure(runnable, settings.rounds, settings.min_seconds)
    return [Row(task.slug, c, rates.get(c.tool, [])) for c in task.cases]


def run(
    settings: Settings,
    *,
    postgres_url: str | None = None,
    start_postgres: bool = True,
    progress: Callable[[str], object] = lambda line: None,
) -> Results:
    """Measure every task; PostgreSQL as :mod:`cardseq.bench.postgres` says."""
    postgres.check_url(postgres_url)
    n = settings.n
    rows: list[Row] = []
    tasks = []
    for build in (cases.sequential, cases.unguessable, cases.codes):
        tasks.append(build(n))
        progress(f"measuring: {tasks[-1].title}")
        rows += measure_task(tasks[-1], settings)
    with postgres.reserving(n, postgres_url, start_postgres) as (task, server):
        tasks.append(task)
        progress(f"measuring: {task.title}")
        rows += measure_task(task, settings)
    tasks.append(cases.validation(n))
    progress(f"measuring: {tasks[-1].title}")
    rows += measure_task(tasks[-1], settings)
    progress("measuring: throughput against batch size")
    batches: dict[str, list[float]] = {}
    for size in settings.batch_sizes:
        runs = {name: (call, size) for name, call in cases.batch_cases(size).items()}
        for name, rates in measure(runs, settings.rounds, settings.min_seconds).items():
            batches.setdefault(name, []).append(statistics.median(rates))
    return Results(settings, tasks, rows, batches, server)


__all__ = ["FULL", "QUICK", "Results", "Row", "Settings", "measure", "run"]
