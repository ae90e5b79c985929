"""What a benchmark run measured: settings, figures, rows, ratios and targets, and the JSON
document (``pyhost bench --json``) that the report, the plot and the comparison read.

A figure's samples are one value per repetition (ns per event; each the fastest of a few
bursts). A ratio is pyhost time / baseline time, taken per repetition (both measured a
moment apart) and summarised as min / median / max. A target is met when even the worst
repetition meets it, missed when even the best one misses it, and unclear otherwise: a
limit inside the spread is not a result.
"""
from __future__ import annotations

import os
import platform
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from pyhost import __version__

SCHEMA = 2
# The ratio columns of the table, in order: column -> what its baseline is.
COLUMNS = {
    "floor": "bare C loop of indirect calls",
    "nosync": "the bus's own path without synchronisation",
    "lock": "lock-per-dispatch (the reference host's design)",
    "pluggy": "pluggy",
    "list": "a plain Python list of callables",
}


class BenchError(RuntimeError):
    """The benchmark could not run, or a path did not do the work it was timed for."""


@dataclass(frozen=True)
class Settings:
    """How long to measure. ``bursts`` short runs make one sample: the fastest counts."""

    repetitions: int
    sample_seconds: float      # target wall time of one sample (all its bursts) of one figure
    load_repetitions: int
    bursts: int = 3

    @classmethod
    def for_mode(cls, quick: bool) -> "Settings":
        if quick:
            return cls(repetitions=5, sample_seconds=0.02, load_repetitions=3, bursts=3)
        return cls(repetitions=9, sample_seconds=0.1, load_repetitions=7, bursts=7)

    def as_dict(self) -> dict:
        return {"repetitions": self.repetitions, "sample_seconds": self.sample_seconds,
                "load_repetitions": self.load_repetitions, "bursts": self.bursts}


@dataclass
class Figure:
    """One measured quantity: its samples (ns per event, one per repetition)."""

    key: str
    label: str
    kind: str                   # "pyhost" | "baseline"
    path: str                   # who fires -> who subscribes
    subscribers: int
    group: str = ""             # the group that measured it
    events: int = 0             # events per burst
    samples: list[float] = field(default_factory=list)
    unit: str = "event"         # what one sample's ns are per: "event", or "100 plugins"

    @property
    def ns(self) -> float:
        return statistics.median(self.samples) if self.samples else float("nan")

    @property
    def per_second(self) -> float:
        return 1e9 / self.ns if self.samples and self.ns > 0 else float("nan")

    def as_dict(self) -> dict:
        low, high = (min(self.samples), max(self.samples)) if self.samples else (None, None)
        return {"key": self.key, "label": self.label, "kind": self.kind, "path": self.path,
                "group": self.group, "subscribers": self.subscribers,
                "events_per_sample": self.events, "ns_per_event": self.ns,
                "ns_min": low, "ns_max": high, "events_per_s": self.per_second,
                "unit": self.unit, "samples_ns_per_event": list(self.samples)}


@dataclass(frozen=True)
class Target:
    """A limit on a row: a time ratio pyhost/baseline (or, without baseline, ms) <= limit."""

    text: str
    baseline: Optional[str]     # figure key; None for an absolute limit
    limit: float
    issue: int = 0              # the issue that set it


@dataclass(frozen=True)
class Row:
    """A pyhost figure in the table, with the baselines it is compared with."""

    figure: str
    baselines: dict[str, str]   # column (see COLUMNS) -> baseline figure key
    targets: tuple[Target, ...] = ()
    note: str = ""


def spread(values: list[float]) -> Optional[dict]:
    """min / median / max of a list, or None when it is empty."""
    if not values:
        return None
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def judge(value: Optional[dict], limit: float) -> str:
    """met / missed / unclear, for a spread that must stay at or below the limit."""
    if value is None:
        return "n/a"
    if value["max"] <= limit:
        return "met"
    if value["min"] > limit:
        return "missed"
    return "unclear"


@dataclass
class Results:
    machine: dict
    settings: Settings
    quick: bool
    figures: dict[str, Figure]
    rows: list[Row]
    # Top-level keys the groups add to the document: one-off measurements ("load",
    # "dcext"), derived figures ("thread_scaling"), what the paths do ("work", ...).
    extra: dict[str, Any] = field(default_factory=dict)
    elapsed_s: float = 0.0

    def ratios(self, figure: str, baseline: str) -> list[float]:
        """pyhost time / baseline time per repetition (below 1: pyhost is faster)."""
        a, b = self.figures.get(figure), self.figures.get(baseline)
        if a is None or b is None or not a.samples or not b.samples:
            return []
        if len(a.samples) == len(b.samples):
            return [x / y for x, y in zip(a.samples, b.samples) if y > 0]
        return [a.ns / b.ns] if b.ns > 0 else []

    def ratio(self, figure: str, baseline: str) -> Optional[float]:
        """The median of the per-repetition ratios: each repetition measures both figures a
        moment apart, so a slow spell of a shared machine divides out."""
        values = self.ratios(figure, baseline)
        return statistics.median(values) if values else None

    def target_results(self) -> list[dict]:
        out = []
        for row in self.rows:
            for t in row.targets:
                if t.baseline is None:
                    fig = self.figures.get(row.figure)
                    value = spread([s / 1e6 for s in fig.samples]) if fig else None
                else:
                    value = spread(self.ratios(row.figure, t.baseline))
                status = judge(value, t.limit)
                out.append({"row": row.figure, "target": t.text, "baseline": t.baseline,
                            "limit": t.limit, "issue": t.issue,
                            "value": None if value is None else value["median"],
                            "spread": value, "status": status,
                            "met": {"met": True, "missed": False}.get(status)})
        for name, section in self.extra.items():
            if isinstance(section, dict) and section.get("measured") is False:
                out.append({"row": name, "target": "measured", "baseline": None,
                            "limit": None, "issue": 0, "value": None, "spread": None,
                            "status": "n/a", "met": None})
        return out

    def as_dict(self) -> dict:
        targets = self.target_results()
        rows = []
        for row in self.rows:
            fig = self.figures[row.figure]
            ratios = {}
            for col, key in row.baselines.items():
                values = self.ratios(row.figure, key)
                r = self.ratio(row.figure, key)
                ratios[col] = {"baseline": key, "time_ratio": r,
                               "speedup": None if not r else 1 / r,
                               "time_ratio_spread": spread(values)}
            rows.append({**fig.as_dict(), "ratios": ratios, "note": row.note,
                         "targets": [t for t in targets if t["row"] == row.figure]})
        doc = {
            "schema": SCHEMA,
            "pyhost_version": __version__,
            "quick": self.quick,
            "machine": self.machine,
            "settings": self.settings.as_dict(),
            "columns": COLUMNS,
            "rows": rows,
            "baselines": {k: f.as_dict() for k, f in self.figures.items()
                          if f.kind == "baseline"},
            "targets": targets,
            "elapsed_s": self.elapsed_s,
        }
        for name, value in self.extra.items():
            doc.setdefault(name, value)
        return doc


def machine() -> dict:
    """CPU model, cores, load, Python and OS, for the results table."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load: Any = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = None
    return {"cpu": cpu, "cores": os.cpu_count(), "load_average": load,
            "python": f"{platform.python_implementation()} {platform.python_version()}",
            "platform": platform.platform(), "machine": platform.machine()}
