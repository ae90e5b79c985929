"""``pyhost bench``: throughput of the hook bus and the Python <-> C crossings, against
baselines measured in the same run (a bare C loop, the bus's path without synchronisation,
lock-per-dispatch, pluggy, a plain list).

- results: settings, figures, rows, targets, the JSON document;
- native: the C baselines library and the bench plugins;
- engine: set-up, calibration, interleaved repetitions; the groups of rows it runs:
  c_dispatch (C -> C), crossings (Python <-> C), python_baselines (pluggy, list),
  threads, load (plugin load, .dcext install), web_api (the Web API under load);
- report (the text table), plot (--plot), compare (--compare).
"""
from pyhost.bench.engine import Group, run  # noqa: F401
from pyhost.bench.report import report as _report_doc
from pyhost.bench.results import BenchError, Results, Settings  # noqa: F401


def report(results: "Results | dict") -> str:
    """The text report of a run (Results, or a saved --json document)."""
    return _report_doc(results.as_dict() if isinstance(results, Results) else results)
