"""The benchmark's table: rows, run counts, notes, and number formatting."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class Row:
    """One line of the table."""

    figure: str
    db: str
    ours: str
    ref: str = ""
    ratio: str = ""
    goal: str = ""
    verdict: str = ""


@dataclass
class Report:
    """What the run found: table rows, run counts and notes."""

    rows: list[Row] = field(default_factory=list)
    counts: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *args: str, **kwargs: str) -> None:
        """Append a row."""
        self.rows.append(Row(*args, **kwargs))

    def print(self, header: str) -> None:
        """Print the table, the run counts and the notes."""
        cols = ("Figure", "DB", "Ours", "Reference", "Ratio", "Goal", "Result")
        data = [
            (r.figure, r.db, r.ours, r.ref, r.ratio, r.goal, r.verdict)
            for r in self.rows
        ]
        widths = [max(len(x) for x in col) for col in zip(cols, *data, strict=True)]
        rule = "  ".join("-" * w for w in widths)
        print(header)
        print(rule)
        print("  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)))
        print(rule)
        for row in data:
            print(
                "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
            )
        print(rule)
        print("Runs per (job, slot), compared with the slots armed:")
        for count in self.counts:
            print("  " + count)
        if self.notes:
            print("Notes:")
            for note in self.notes:
                print("  " + note)


def pct(values: Sequence[float], q: int) -> float:
    """Return the q-th percentile (linear interpolation) of `values`."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def p99(values: Sequence[float]) -> float:
    """Return the 99th percentile, or infinity without values."""
    return pct(values, 99) if values else float("inf")


def ms(value: float) -> str:
    """Format milliseconds."""
    return f"{value:.1f} ms" if abs(value) >= 10 else f"{value:.2f} ms"


def lateness_text(values: Sequence[float]) -> str:
    """Return "p50 / p99 / max" of lateness values in ms."""
    if not values:
        return "no runs"
    return f"{pct(values, 50):.1f} / {pct(values, 99):.1f} / {max(values):.1f} ms"


def ratio(ours: float, ref: float) -> str:
    """Return ours / ref as "1.23x"."""
    return f"{ours / ref:.2f}x" if ref > 0 and ours != float("inf") else "n/a"


def verdict(ok: bool) -> str:
    """Return PASS or MISS."""
    return "PASS" if ok else "MISS"
