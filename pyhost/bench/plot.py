"""``pyhost bench --plot FILE.svg|FILE.png``: the run as a picture.

Left: ns per event against the number of subscribers (1, 4, 16, 64), log-log, for pyhost's
C -> C path and every baseline, each point the median with the repetitions' range as an
error bar. Right: the crossings (Python <-> C) as bars, with pluggy and a plain list for
scale. matplotlib is the optional extra ``pyhost[plot]``.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

FORMATS = (".svg", ".png")
MISSING = ("pyhost bench --plot needs matplotlib, the optional extra pyhost[plot]: "
           "pip install 'pyhost[plot]'")

# Left panel: (figure key prefix, legend, style).
SERIES = (
    ("c_c", "pyhost: C plugin -> bus -> C", dict(color="#d62728", marker="o", lw=2.5)),
    ("nosync", "bus path without sync", dict(color="#ff7f0e", marker="s", ls="--")),
    ("floor", "floor: bare indirect calls", dict(color="#7f7f7f", marker="v", ls=":")),
    ("lock", "lock-per-dispatch (reference host)", dict(color="#1f77b4", marker="^")),
    ("list", "Python: plain list", dict(color="#2ca02c", marker="D")),
    ("pluggy", "Python: pluggy", dict(color="#9467bd", marker="P")),
)
# Right panel: the crossings, then the references.
CROSSINGS = ("py_c_call", "py_c_raw", "py_c_batch", "c_py", "c_py_bus", "c_py_text", "py_py")
REFERENCES = ("list_1", "pluggy_1")


class PlotError(ValueError):
    """--plot cannot be honoured: matplotlib missing or a file name it cannot write."""


def have_matplotlib() -> bool:
    return importlib.util.find_spec("matplotlib") is not None


def check(path: str | Path) -> Path:
    """Refuses what would fail after a minute of measuring: a wrong suffix, a missing
    directory, no matplotlib."""
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise PlotError(f"--plot {path}: the file name must end in .svg or .png")
    if not path.parent.is_dir():
        raise PlotError(f"--plot {path}: the directory {path.parent} does not exist")
    if not have_matplotlib():
        raise PlotError(MISSING)
    return path


def _figures(doc: dict) -> dict:
    out = {r["key"]: r for r in doc["rows"]}
    out.update(doc["baselines"])
    return out


def plot(doc: dict, path: str | Path) -> Path:
    path = check(path)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plt.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "pyhost-bench",
                         "font.size": 9})
    figs = _figures(doc)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5.2),
                                      gridspec_kw={"width_ratios": [1.15, 1]})
    for prefix, legend, style in SERIES:
        points = [(f["subscribers"], f) for k, f in figs.items()
                  if k.startswith(prefix + "_") and k.rsplit("_", 1)[1].isdigit()
                  and f.get("ns_per_event")]
        if not points:
            continue
        points.sort(key=lambda p: p[0])
        xs = [x for x, _ in points]
        ys = [f["ns_per_event"] for _, f in points]
        low = [max(y - (f.get("ns_min") or y), 0) for y, (_, f) in zip(ys, points)]
        high = [max((f.get("ns_max") or y) - y, 0) for y, (_, f) in zip(ys, points)]
        left.errorbar(xs, ys, yerr=[low, high], label=legend, capsize=3, **style)
    left.set_xscale("log", base=2)
    left.set_yscale("log")
    left.set_xticks([1, 4, 16, 64], labels=["1", "4", "16", "64"])
    left.set_xlabel("subscribers per hook")
    left.set_ylabel("ns per event (log scale)")
    left.set_title("Dispatch: one event to k subscribers")
    left.grid(True, which="both", alpha=0.3)
    left.legend(fontsize=8)

    bars = [(figs[k]["label"], figs[k]["ns_per_event"], "#d62728" if k in CROSSINGS
             else "#9467bd", figs[k]) for k in (*CROSSINGS, *REFERENCES) if k in figs]
    ys = range(len(bars))
    right.barh(list(ys), [b[1] for b in bars], color=[b[2] for b in bars],
               xerr=[[b[1] - (b[3].get("ns_min") or b[1]) for b in bars],
                     [(b[3].get("ns_max") or b[1]) - b[1] for b in bars]], capsize=3)
    right.set_yticks(list(ys), labels=[b[0] for b in bars])
    right.invert_yaxis()
    right.set_xscale("log")
    right.set_xlabel("ns per event (log scale)")
    right.set_title("Python <-> C crossings (1 subscriber)")
    right.grid(True, axis="x", which="both", alpha=0.3)
    for y, (_, ns, _, fig_) in zip(ys, bars):   # the median, right of the range's end
        right.annotate(f"{ns:.0f} ns" if ns >= 10 else f"{ns:.1f} ns",
                       (max(ns, fig_.get("ns_max") or ns), y), xytext=(6, -3),
                       textcoords="offset points", fontsize=8)

    m = doc["machine"]
    fig.suptitle(f"pyhost bench{' --quick' if doc.get('quick') else ''}: {m['cpu']}, "
                 f"{m['cores']} cores, {m['python']} — median and range of "
                 f"{doc['settings']['repetitions']} repetitions", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, format=path.suffix[1:].lower(), metadata={"Date": None}
                if path.suffix.lower() == ".svg" else None)
    plt.close(fig)
    return path
