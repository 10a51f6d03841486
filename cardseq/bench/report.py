"""The comparison's results as a text table, Markdown, JSON and PNG plots.

Every output names the machine, Python and the versions of the packages compared, as
a benchmark that people can trust does.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from .. import COMPILED
from ..errors import InvalidArgument
from . import Results, Row
from .cases import optional

PACKAGES = (
    "cardseq",
    "numpy",
    "luhn",
    "python-stdnum",
    "faker",
    "ff3",
    "pyffx",
    "cryptography",
    "sqids",
    "base32-crockford",
    "psycopg",
    "matplotlib",
)
HEADER = (
    "tool",
    "numbers/call",
    "numbers/s",
    "x cardseq",
    "unique",
    "durable",
    "fixed length",
    "unguessable",
    "note",
)


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
    except OSError:
        names = []
    return names[0] if names else platform.processor() or "unknown"


def environment(results: Results) -> dict[str, Any]:
    """Where and with what the figures were measured."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {_cpu()}, {cores} usable core(s)",
        "system": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "cardseq engine": "compiled" if COMPILED else "pure Python",
        "postgresql": results.postgres or "not used",
        "packages": {name: _version(name) for name in PACKAGES},
    }


def _rate(rate: float | None) -> str:
    return f"{rate:,.0f}" if rate is not None else "-"


def cells(results: Results, row: Row) -> list[str]:
    """A row's table cells, in ``HEADER`` order."""
    case, base = row.case, results.reference(row.task)
    ratio = f"{row.rate / base:.3g}x" if row.rate is not None and base else "-"
    g = case.guarantees
    note = f"skipped: {case.skipped}" if case.skipped else case.note
    count = f"{case.count:,}" if case.run is not None else "-"
    return [case.tool, count, _rate(row.rate), ratio, g.unique, g.durable, g.fixed_length,
            g.unguessable, note]  # fmt: skip


def _sections(results: Results) -> list[tuple[str, str, list[list[str]]]]:
    return [
        (task.title, task.work, [cells(results, r) for r in results.rows if r.task == task.slug])
        for task in results.tasks
    ]


def table(results: Results) -> str:
    """A plain-text table per task, for a terminal."""
    lines = []
    for title, work, rows in _sections(results):
        widths = [max(len(c) for c in column) for column in zip(HEADER, *rows, strict=True)]
        lines += [f"{title}: {work}"]
        for cells_ in (HEADER, *rows):
            lines.append("  ".join(c.ljust(w) for c, w in zip(cells_, widths, strict=True)))
        lines.append("")
    s = results.settings
    lines.append(
        f"median of {s.rounds} rounds, cases interleaved; x cardseq: throughput as a"
        " multiple of the task's first cardseq row"
    )
    return "\n".join(lines)


def markdown(results: Results) -> str:
    env = environment(results)
    packages = ", ".join(f"{name} {v}" for name, v in env["packages"].items())
    s = results.settings
    out = [
        "# cardseq against the alternatives",
        "",
        f"- machine: {env['machine']}; {env['system']}",
        f"- {env['python']}; cardseq engine: {env['cardseq engine']};"
        f" PostgreSQL: {env['postgresql']}",
        f"- packages: {packages}",
        f"- {env['date']}; n = {s.n:,}; median of {s.rounds} rounds, the cases of a task"
        " interleaved; x cardseq: throughput as a multiple of the task's first cardseq row",
    ]
    for title, work, rows in _sections(results):
        out += ["", f"## {title}", "", f"{work}.", ""]
        out.append("| " + " | ".join(HEADER) + " |")
        out.append("|" + "|".join(" --- " for _ in HEADER) + "|")
        out += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(out) + "\n"


def as_json(results: Results) -> dict[str, Any]:
    s = results.settings
    return {
        "environment": environment(results),
        "settings": {"n": s.n, "rounds": s.rounds, "min_seconds": s.min_seconds},
        "tasks": [
            {
                "slug": task.slug,
                "title": task.title,
                "work": task.work,
                "rows": [
                    {
                        "tool": row.case.tool,
                        "package": row.case.package,
                        "count": row.case.count,
                        "rate": row.rate,
                        "rates": row.rates,
                        "ratio": row.rate / base if row.rate is not None and base else None,
                        "reference": row.case.reference,
                        "guarantees": vars(row.case.guarantees),
                        "note": row.case.note,
                        "skipped": row.case.skipped or None,
                    }
                    for row in results.rows
                    if row.task == task.slug
                    for base in [results.reference(task.slug)]
                ],
            }
            for task in results.tasks
        ],
        "batch_sizes": list(s.batch_sizes),
        "batches": results.batches,
    }


def plots(results: Results, out: Path) -> list[Path]:
    """One bar chart per task and throughput against batch size (log-log), as PNG;
    none when matplotlib is not installed."""
    if optional("matplotlib") is None:
        return []
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    written = []
    for task in results.tasks:
        rows = [r for r in results.rows if r.task == task.slug and r.rate is not None]
        if not rows:
            continue
        fig, ax = pyplot.subplots(figsize=(8, 0.5 * len(rows) + 1.5))
        names = [r.case.tool for r in rows][::-1]
        rates = [r.rate or 0.0 for r in rows][::-1]
        colours = ["tab:blue" if r.case.tool.startswith("cardseq") else "tab:gray" for r in rows]
        colours.reverse()
        ax.barh(names, rates, color=colours)
        ax.set_xscale("log")
        ax.set_xlabel("numbers per second (log scale)")
        ax.set_title(task.title)
        fig.tight_layout()
        written.append(out / f"{task.slug}.png")
        fig.savefig(written[-1], dpi=100)
        pyplot.close(fig)
    fig, ax = pyplot.subplots(figsize=(7, 4.5))
    for name, rates in results.batches.items():
        ax.plot(results.settings.batch_sizes[: len(rates)], rates, marker="o", label=name)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("numbers per call (batch size)")
    ax.set_ylabel("numbers per second")
    ax.set_title("Sequential Luhn numbers: throughput against batch size")
    ax.legend()
    fig.tight_layout()
    written.append(out / "batch-size.png")
    fig.savefig(written[-1], dpi=100)
    pyplot.close(fig)
    return written


def folder(out: str | os.PathLike[str]) -> Path:
    """``out`` as a directory that exists (created if missing), or 701: callers check
    before measuring, so a bad ``--out`` costs no run."""
    path = Path(out)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InvalidArgument.bad("out", str(out), f"cannot be created: {error.strerror}") from None
    return path


def write(results: Results, out: str | os.PathLike[str]) -> list[Path]:
    """Write ``compare.md``, ``compare.json`` and the plots into ``out`` (created if
    missing); return the paths written."""
    path = folder(out)
    try:
        written = [path / "compare.md", path / "compare.json"]
        written[0].write_text(markdown(results))
        written[1].write_text(json.dumps(as_json(results), indent=2) + "\n")
        return written + plots(results, path)
    except OSError as error:
        raise InvalidArgument.bad("out", str(out), f"cannot be written: {error.strerror}") from None
