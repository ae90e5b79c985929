"""``pyhost bench --compare OLD.json``: each row and baseline of this run against an earlier
one (a saved ``pyhost bench --json``).

The change is new median / old median. It is flagged only when it is outside the noise:
when the two runs' ranges of repetitions (min–max) do not overlap. Two runs on a shared
machine move together when the machine's load changed: the baselines' line says so.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

from pyhost.bench.report import fmt_ns, markdown


class SavedRunError(ValueError):
    """A file that is not a readable ``pyhost bench --json`` document."""


def load_saved(path: str | Path) -> dict:
    """A saved run, checked enough to compare or report it."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise SavedRunError(f"cannot read {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise SavedRunError(f"{path} is not JSON (expected the output of "
                            "`pyhost bench --json`)") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("rows"), list) or \
            not isinstance(doc.get("baselines"), dict):
        raise SavedRunError(f"{path} is not the output of `pyhost bench --json`")
    return doc


def _range(fig: dict) -> tuple[Optional[float], Optional[float], Optional[float]]:
    samples = [s for s in fig.get("samples_ns_per_event") or [] if isinstance(s, (int, float))]
    median = fig.get("ns_per_event")
    low = fig.get("ns_min", min(samples) if samples else None)
    high = fig.get("ns_max", max(samples) if samples else None)
    return median, low, high


def _one(key: str, label: str, new: Optional[dict], old: Optional[dict]) -> dict:
    entry = {"key": key, "label": label, "new_ns": None, "old_ns": None, "ratio": None,
             "verdict": "new" if old is None else "gone"}
    if new is None or old is None:
        if new is not None:
            entry["new_ns"] = new.get("ns_per_event")
        if old is not None:
            entry["old_ns"] = old.get("ns_per_event")
        return entry
    (nm, nlo, nhi), (om, olo, ohi) = _range(new), _range(old)
    entry.update(new_ns=nm, old_ns=om)
    if not nm or not om:
        entry["verdict"] = "not measured"
        return entry
    entry["ratio"] = nm / om
    if None in (nlo, nhi, olo, ohi):
        entry["verdict"] = "no spread"
    elif nlo > ohi:
        entry["verdict"] = "slower"
    elif nhi < olo:
        entry["verdict"] = "faster"
    else:
        entry["verdict"] = "within noise"
    return entry


def compare(new: dict, old: dict) -> dict:
    """Row by row and baseline by baseline: new / old, and whether it is outside the noise."""
    new_rows = {r["key"]: r for r in new["rows"]}
    old_rows = {r["key"]: r for r in old["rows"] if isinstance(r, dict) and "key" in r}
    rows = [_one(k, (new_rows.get(k) or old_rows[k]).get("label", k), new_rows.get(k),
                 old_rows.get(k)) for k in [*new_rows, *[k for k in old_rows
                                                          if k not in new_rows]]]
    nb, ob = new["baselines"], old["baselines"]
    baselines = [_one(k, (nb.get(k) or ob[k]).get("label", k), nb.get(k), ob.get(k))
                 for k in [*nb, *[k for k in ob if k not in nb]]]
    om = old.get("machine", {})
    return {"old": {"pyhost_version": old.get("pyhost_version"), "quick": old.get("quick"),
                    "cpu": om.get("cpu"), "load_average": om.get("load_average")},
            "rows": rows, "baselines": baselines}


def _cells(entry: dict) -> list[str]:
    ratio = entry["ratio"]
    change = "" if ratio is None else f"{ratio:.2f}x"
    verdict = entry["verdict"]
    if verdict in ("slower", "faster"):
        verdict = verdict.upper()
    return [entry["label"], fmt_ns(entry["old_ns"]), fmt_ns(entry["new_ns"]), change, verdict]


def compare_report(comparison: dict) -> str:
    head = ["figure", "old ns/event", "new ns/event", "new/old", "outside the noise?"]
    old = comparison["old"]
    moved = [e for e in comparison["rows"] if e["verdict"] in ("slower", "faster")]
    base_moved = [e for e in comparison["baselines"] if e["verdict"] in ("slower", "faster")]
    lines = [f"Compared with an earlier run (pyhost {old['pyhost_version']}, {old['cpu']}"
             f"{', --quick' if old['quick'] else ''}): new/old of the medians; SLOWER or "
             "FASTER when the two runs' ranges (min–max) do not overlap.",
             "",
             markdown([head, *[_cells(e) for e in comparison["rows"]]]),
             "",
             f"{len(moved)} of {len(comparison['rows'])} rows and {len(base_moved)} of "
             f"{len(comparison['baselines'])} baselines moved outside the noise"
             + (" (the baselines moved too: the machine itself was faster or slower)"
                if base_moved else "") + ".",
             "",
             markdown([["baseline", *head[1:]], *[_cells(e) for e in comparison["baselines"]]])]
    return "\n".join(lines)
