"""Timing, percentiles, the results table and results.json."""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).with_name("results.json")


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def best_of(fn: Callable[[], object], repeat: int = 5) -> float:
    """Fastest of `repeat` runs, in seconds: the least noisy figure on a shared machine."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


@dataclass
class Figure:
    section: str
    name: str
    value: float
    unit: str
    baseline: float | None = None  # same quantity for the baseline, same run
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0):
            return None
        return self.value / self.baseline


@dataclass
class Report:
    figures: list[Figure] = field(default_factory=list)
    summary: dict[str, object] = field(default_factory=dict)
    started: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def add(self, *args, **kwargs) -> Figure:
        figure = Figure(*args, **kwargs)
        self.figures.append(figure)
        print(f"  {figure.section:<10} {figure.name:<58} {format_value(figure)}", flush=True)
        return figure

    def table(self) -> str:
        width = max([46, *(len(f.name) for f in self.figures)])
        header = f"{'section':<10} {'figure':<{width}} {'value':>16} {'baseline':>12} {'ratio':>7}"
        lines = [header, "-" * len(header)]
        for f in self.figures:
            base = f"{f.baseline:,.2f}" if f.baseline is not None else ""
            ratio = f"{f.ratio:.2f}x" if f.ratio is not None else ""
            value = f"{f.value:,.2f} {f.unit}"
            lines.append(f"{f.section:<10} {f.name:<{width}} {value:>16} {base:>12} {ratio:>7}")
        return "\n".join(lines)

    def write(self, path: Path = RESULTS) -> None:
        payload = {
            "started": self.started,
            "machine": {"python": platform.python_version(), "cpus": _cpus()},
            "summary": self.summary,
            "figures": [asdict(f) | {"ratio": f.ratio} for f in self.figures],
        }
        path.write_text(json.dumps(payload, indent=2) + "\n")


def format_value(f: Figure) -> str:
    text = f"{f.value:,.2f} {f.unit}"
    if f.ratio is not None:
        text += f"  (baseline {f.baseline:,.2f}, ratio {f.ratio:.2f}x)"
    elif f.baseline is not None:
        text += f"  (baseline {f.baseline:,.2f})"
    return text


def git_commit() -> str:
    """HEAD, with "+dirty" when a file under bot/ differs from it: then the figures are
    not of that commit."""
    import subprocess

    root = Path(__file__).resolve().parent.parent

    def git(*args: str) -> str:
        try:
            done = subprocess.run(
                ["git", *args], cwd=root, capture_output=True, text=True, timeout=30
            )
        except OSError:
            return ""
        return done.stdout.strip() if done.returncode == 0 else ""

    head = git("rev-parse", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--", "bot")
    return head + ("+dirty" if dirty else "")


def _cpus() -> int:
    import os

    return os.cpu_count() or 0
