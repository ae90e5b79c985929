"""The text report of a run: the results table (a markdown table that also reads as plain
text), the baselines, and the targets. Everything here reads the JSON document
(``Results.as_dict()`` or a saved ``pyhost bench --json``), so a saved run reports the same.
"""
from __future__ import annotations

from typing import Optional

from pyhost.bench.results import COLUMNS


def fmt_ns(ns: Optional[float]) -> str:
    if ns is None or ns != ns:  # None or nan
        return "-"
    if ns >= 1e6:
        return f"{ns / 1e6:.1f} ms"
    if ns >= 1e4:
        return f"{ns / 1e3:.1f} us"
    if ns >= 100:
        return f"{ns:.0f} ns"
    return f"{ns:.2f} ns"


def _number(ns: float) -> str:
    """ns without its unit, at the precision fmt_ns would use."""
    return fmt_ns(ns).split()[0]


def fmt_spread_ns(median: Optional[float], low: Optional[float], high: Optional[float]) -> str:
    """"3.51 ns (3.34–3.90)": the median and, in brackets, the range of the repetitions."""
    if median is None or median != median:
        return "-"
    text = fmt_ns(median)
    if low is None or high is None:
        return text
    unit = text.split()[1]
    if fmt_ns(low).split()[1] == unit == fmt_ns(high).split()[1]:
        return f"{text} ({_number(low)}–{_number(high)})"
    return f"{text} ({fmt_ns(low)}–{fmt_ns(high)})"


def fmt_rate(per_s: Optional[float]) -> str:
    if per_s is None or per_s != per_s:
        return "-"
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if per_s >= scale:
            return f"{per_s / scale:.2f} {suffix}/s"
    return f"{per_s:.1f} /s"


def fmt_factor(x: float) -> str:
    return f"{x:.2f}" if x < 10 else f"{x:.1f}" if x < 100 else f"{x:.0f}"


def fmt_ratio(r: Optional[float]) -> str:
    """pyhost time / baseline time, in words: "2.1x slower", "12x faster"."""
    if r is None:
        return ""
    return f"{fmt_factor(r)}x slower" if r >= 1 else f"{fmt_factor(1 / r)}x faster"


def fmt_target(t: dict) -> str:
    """"<= 1.15x ...: met (1.02–1.09x)"; speed-up targets show the spread as speed-ups."""
    state = {"met": "met", "missed": "MISSED", "unclear": "UNCLEAR"}.get(t["status"], "n/a")
    s = t.get("spread")
    if not s:
        return f"{t['target']}: {state}"
    if t["baseline"] is None:
        detail = f"{s['min']:.1f}–{s['max']:.1f} ms"
    elif t["limit"] < 1:
        detail = f"{fmt_factor(1 / s['max'])}–{fmt_factor(1 / s['min'])}x faster"
    else:
        detail = f"{fmt_factor(s['min'])}–{fmt_factor(s['max'])}x"
    return f"{t['target']}: {state} ({detail})"


def table(doc: dict) -> list[list[str]]:
    """The results table: one line per pyhost row, as text cells."""
    columns = list(doc.get("columns", COLUMNS))
    head = ["figure", "ns/event (min–max)", "events/s", *[f"vs {c}" for c in columns],
            "targets"]
    lines = [head]
    for row in doc["rows"]:
        if row["unit"] != "event":
            cells = [row["label"], fmt_spread_ns(row["ns_per_event"], row["ns_min"],
                                                 row["ns_max"]) + " total",
                     f"{row['ns_per_event'] / 1e3 / max(row['events_per_sample'], 1):.0f} "
                     "us/plugin", *[""] * len(columns)]
        else:
            cells = [row["label"], fmt_spread_ns(row["ns_per_event"], row["ns_min"],
                                                 row["ns_max"]),
                     fmt_rate(row["events_per_s"])]
            cells += [fmt_ratio(row["ratios"][c]["time_ratio"]) if c in row["ratios"] else ""
                      for c in columns]
        marks = [fmt_target(t) for t in row["targets"]]
        marks += _row_notes(doc, row["key"])
        cells.append("; ".join(m for m in marks if m))
        lines.append(cells)
    dc = doc.get("dcext")
    if isinstance(dc, dict):
        blank = [""] * len(columns)
        if dc.get("measured"):
            lines.append([".dcext inspect + install", f"{dc['ms_total']:.1f} ms total",
                          f"inspect {dc['ms_inspect']:.1f} ms", *blank,
                          f"{len(dc['platforms'])} platforms: {', '.join(dc['platforms'])}"])
        else:
            lines.append([".dcext inspect + install", "not measured", "", *blank,
                          dc.get("reason", "")])
    return lines


def _row_notes(doc: dict, key: str) -> list[str]:
    if key == "threads_2":
        s = doc.get("thread_scaling") or {}
        if s.get("threads") is not None:
            return [f"2 threads = {s['threads']:.2f}x 1-thread throughput "
                    f"(floor {s['floor_threads']:.2f}x, lock {s['lock_threads']:.2f}x)"]
    load = doc.get("load")
    if key == "load_100" and isinstance(load, dict) and "ms_elf_check" in load:
        return [f"ELF check {load['ms_elf_check']:.0f} ms of it, the rest "
                f"{load['ms_without_elf_check']:.0f} ms"]
    return []


def baseline_table(doc: dict) -> list[list[str]]:
    lines = [["baseline", "subs", "ns/event (min–max)", "events/s"]]
    for fig in doc["baselines"].values():
        lines.append([fig["label"], str(fig["subscribers"]),
                      fmt_spread_ns(fig["ns_per_event"], fig["ns_min"], fig["ns_max"]),
                      fmt_rate(fig["events_per_s"])])
    return lines


def markdown(lines: list[list[str]]) -> str:
    """A GitHub markdown table, columns padded so it also reads as plain text."""
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    out = []
    for n, line in enumerate(lines):
        out.append("| " + " | ".join(c.ljust(w) for c, w in zip(line, widths)) + " |")
        if n == 0:
            out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(out)


def target_summary(doc: dict) -> str:
    judged = [t for t in doc["targets"] if t["status"] != "n/a"]
    counts = {s: sum(t["status"] == s for t in judged) for s in ("met", "unclear", "missed")}
    return (f"Targets: {counts['met']} met, {counts['unclear']} unclear, "
            f"{counts['missed']} missed (met: every repetition within the limit; missed: "
            "none; unclear: the limit falls inside the spread).")


def report(doc: dict) -> str:
    m, s = doc["machine"], doc["settings"]
    mode = " --quick" if doc.get("quick") else ""
    load = m.get("load_average")
    load_text = f" (load {' '.join(str(x) for x in load)})" if load else ""
    work = doc.get("work", {})
    parts = [
        f"pyhost bench{mode}: pyhost {doc['pyhost_version']}, {m['cpu']}, {m['cores']} cores"
        f"{load_text}, {m['python']}, {m['platform']}",
        f"{s['repetitions']} interleaved repetitions; a sample is the fastest of "
        f"{s.get('bursts', 1)} bursts (~{s['sample_seconds'] * 1000:.0f} ms per sample); "
        f"figures: median (min–max) of the repetitions; load: {s['load_repetitions']} "
        "repetitions",
        "",
        markdown(table(doc)),
        "",
        "Ratios: pyhost's time per event against the baseline's with the same number of "
        "subscribers, the median of the per-repetition ratios (docs/benchmark.md).",
        target_summary(doc),
        "Work per subscriber: " + "; ".join(work.values()) + ".",
        f"Python subscriber path: {doc.get('python_subscriber_api', '-')}.",
        "",
        markdown(baseline_table(doc)),
        "",
        *group_lines(doc),
        f"total time {doc['elapsed_s']:.1f} s",
    ]
    return "\n".join(parts)


def group_lines(doc: dict) -> list[str]:
    """What the groups with their own report lines (Group.lines) say about this document."""
    from pyhost.bench.engine import load_groups
    out = []
    for group in load_groups():
        if group.lines is not None:
            out += [*group.lines(doc), ""]
    return out
