"""``pyhost bench``: hook throughput against the floor and the peers, in one run.

Prints the results table (markdown) with each pyhost figure's ratio to every baseline and
whether each target is met; ``--json`` prints the same as one JSON document. ``--quick``
measures fewer, shorter repetitions (well under a minute). The benchmark works in a
temporary directory: it never touches ``--home``.
"""
from __future__ import annotations

import json
import math
import sys

from pyhost.bench import bench, web_api


def register(subparsers, common) -> None:
    p = subparsers.add_parser(
        "bench", parents=[common], help="measure hook throughput against baselines",
        description="Measure hook throughput (C and Python firing and subscribing, two "
                    "threads, plugin load) against a bare C loop, a lock-per-dispatch host, "
                    "pluggy and a plain list, all in one run.")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--quick", action="store_true",
                   help="fewer, shorter repetitions (under a minute)")
    p.set_defaults(handler=cmd_bench)


def _progress(message: str) -> None:
    print(f"pyhost bench: {message}", file=sys.stderr, flush=True)


def _finite(value):
    """JSON has no NaN or infinity: they become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def cmd_bench(args) -> int:
    progress = _progress if sys.stderr.isatty() else None
    try:
        results = bench.run(quick=args.quick, progress=progress)
    except bench.BenchError as exc:
        print(f"pyhost: the benchmark failed: {exc}", file=sys.stderr)
        return 1
    web = _web_api(args.quick, progress)
    if args.json:
        print(json.dumps(_finite({**results.as_dict(), "web_api": web}), indent=2))
    else:
        print(bench.report(results))
        print()
        print(web_api.report(web) if web.get("measured") else
              f"| Web API | not measured: {web['reason']} |")
    return 0


def _web_api(quick: bool, progress) -> dict:
    """The Web API row (pyhost/bench/web_api.py), measured after the hook benchmark."""
    if progress:
        progress("Web API: clients x chat events, hook round trip")
    try:
        return {"measured": True, **web_api.measure(quick=quick)}
    except Exception as exc:  # the row says why; the rest of the bench stands
        return {"measured": False, "reason": f"{type(exc).__name__}: {exc}"}
