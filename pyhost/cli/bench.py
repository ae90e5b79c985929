"""``pyhost bench``: hook throughput against baselines, in one run.

Prints the results table (markdown) with each pyhost figure's spread, its ratio to every
baseline and whether each target is met; ``--json`` prints the same as one JSON document.
``--quick`` measures fewer, shorter repetitions. ``--plot FILE`` draws the run,
``--compare OLD.json`` sets it against an earlier ``--json`` run, ``--from RUN.json``
reports (plots, compares) a saved run instead of measuring. Progress goes to stderr, except
with ``--json``. The benchmark works in a temporary directory: it never touches ``--home``.
"""
from __future__ import annotations

import json
import math
import sys

from pyhost import bench
from pyhost.bench import compare, plot
from pyhost.cli.errors import EXIT_FAILURE, CommandError


def register(subparsers, common) -> None:
    p = subparsers.add_parser(
        "bench", parents=[common], help="measure hook throughput against baselines",
        description="Measure hook throughput (C and Python firing and subscribing, two "
                    "threads, plugin load) against a bare C loop, the bus's path without "
                    "synchronisation, a lock-per-dispatch host, pluggy and a plain list, "
                    "all in one run.")
    p.add_argument("--json", action="store_true", help="machine-readable output, no progress")
    p.add_argument("--quick", action="store_true",
                   help="fewer, shorter repetitions (about 10 s)")
    p.add_argument("--plot", metavar="FILE",
                   help="also draw the results into FILE (.svg or .png; needs pyhost[plot])")
    p.add_argument("--compare", metavar="OLD.json",
                   help="compare each row with an earlier `pyhost bench --json` run")
    p.add_argument("--from", dest="saved", metavar="RUN.json",
                   help="report a saved `pyhost bench --json` run instead of measuring")
    p.set_defaults(handler=cmd_bench)


class _Progress:
    """Progress on stderr: one line rewritten in place on a terminal; elsewhere only the
    coarse steps (each group's set-up, each repetition), one line each."""

    def __init__(self, stream):
        self.stream = stream
        self.tty = stream.isatty()
        self.dirty = False

    def __call__(self, message: str, fine: bool = False) -> None:
        if self.tty:
            self.stream.write(f"\r\033[Kpyhost bench: {message}"[:200])
            self.dirty = True
        elif not fine:
            self.stream.write(f"pyhost bench: {message}\n")
        self.stream.flush()

    def done(self) -> None:
        if self.dirty:
            self.stream.write("\r\033[K")
            self.stream.flush()


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
    # Refuse bad options before a minute of measuring, not after it.
    try:
        if args.plot:
            plot.check(args.plot)
        old = compare.load_saved(args.compare) if args.compare else None
        saved = compare.load_saved(args.saved) if args.saved else None
    except (plot.PlotError, compare.SavedRunError) as exc:
        raise CommandError(str(exc)) from None
    if saved is not None:
        doc = saved
    else:
        progress = None if args.json else _Progress(sys.stderr)
        try:
            results = bench.run(quick=args.quick, progress=progress)
        except bench.BenchError as exc:
            print(f"pyhost: the benchmark failed: {exc}", file=sys.stderr)
            return EXIT_FAILURE
        finally:
            if progress is not None:
                progress.done()
        doc = _finite(results.as_dict())
    comparison = compare.compare(doc, old) if old is not None else None
    if args.plot:
        plot.plot(doc, args.plot)
        if not args.json:
            print(f"pyhost bench: wrote {args.plot}", file=sys.stderr)
    if args.json:
        if comparison is not None:
            doc = {**doc, "compare": comparison}
        print(json.dumps(_finite(doc), indent=2))
    else:
        print(bench.report(doc))
        if comparison is not None:
            print()
            print(compare.compare_report(comparison))
    return 0
