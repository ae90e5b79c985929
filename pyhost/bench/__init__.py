"""``pyhost bench``: throughput and latency of the hook bus and the Python <-> C crossings,
against baselines measured in the same run (a floor, lock-per-dispatch, pluggy, a list)."""
from pyhost.bench.bench import Bench, BenchError, Results, Settings, report, run  # noqa: F401
