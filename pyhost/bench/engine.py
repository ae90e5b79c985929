"""Runs the benchmark: sets up each group of rows, calibrates, measures every figure in
interleaved repetitions, runs the one-off measurements, and returns :class:`Results`.

A group is one module with a ``GROUP`` (see :class:`Group`): its ``setup(ctx)`` registers
the figures it measures (``ctx.measure``), the rows of the table (``ctx.row``), one-off
measurements (``ctx.after``), derived values (``ctx.derive``) and what its paths do
(``ctx.note``). Adding a group is adding a module and naming it in GROUP_MODULES; a module
named there that does not exist (yet), or has no GROUP, is skipped. docs/benchmark.md,
"Adding a group of rows", has an example.

Method (docs/benchmark.md): each repetition measures every figure once, group by group;
within a group, ``bursts`` short runs go round all its figures in registration order, and a
figure's sample is its fastest burst (the garbage collector off, as timeit does). Another
process's time slice stays out of the figure, and the figures of a group (a pyhost path and
its baselines) are sampled over the same stretch of time. After each burst a check verifies
that exactly n x k subscriber calls happened.
"""
from __future__ import annotations

import gc
import importlib
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

from pyhost.bench import native
from pyhost.bench.results import BenchError, Figure, Results, Row, Settings, machine

# The groups, in table order. isolation belongs to a later issue: measured once its module
# exists (and defines GROUP).
GROUP_MODULES = ("pyhost.bench.c_dispatch", "pyhost.bench.crossings",
                 "pyhost.bench.python_baselines", "pyhost.bench.threads",
                 "pyhost.bench.load", "pyhost.bench.web_api", "pyhost.bench.rpc_calls",
                 "pyhost.bench.isolation")

Progress = Callable[[str, bool], None]   # (message, fine): fine messages are the frequent ones


@dataclass(frozen=True)
class Group:
    key: str                              # e.g. "crossings"
    title: str                            # what progress shows, e.g. "Python <-> C crossings"
    setup: Callable[["Context"], None]
    # Lines the text report prints after the tables, from the document (a group whose
    # figures are not rows, such as the Web API's); None: nothing.
    lines: Optional[Callable[[dict], list[str]]] = None


class Rotation:
    """Values taken in turn, one per burst (``next()``): a path's event data in several
    copies at different places in memory.

    Whether a store and a later load of a path happen to sit at the same offset in their
    4 KiB pages (which depends on where malloc put things) can slow a path down by a
    factor (the CPU's 4K aliasing). With the bursts spread over copies at different page
    offsets, the fastest burst is one without it, so the figure does not depend on luck.
    """

    def __init__(self, values: list):
        self.values, self._i = list(values), 0

    def next(self):
        value = self.values[self._i]
        self._i = (self._i + 1) % len(self.values)
        return value


class Sink(Rotation):
    """Where a path's C subscribers add up their work: uint64_t accumulators (the event
    data), each on its own cache line at its own page offset, taken in turn (Rotation)."""

    def __init__(self, pointers: list, readers: list[Callable[[], int]]):
        super().__init__(pointers)
        self.pointers, self.readers = pointers, readers

    def total(self) -> int:
        return sum(read() for read in self.readers)


class Check:
    """Counts subscriber calls around a burst: exactly n x per_event must have happened."""

    def __init__(self, read: Callable[[], int], per_event: int, what: str):
        self.read, self.per_event, self.what = read, per_event, what

    def __call__(self, before: int, n: int) -> None:
        done = self.read() - before
        if done != n * self.per_event:
            raise BenchError(f"{self.what}: expected {n * self.per_event} subscriber calls, "
                             f"counted {done}")


def timed(fn: Callable[[int], Any]) -> Callable[[int], int]:
    """Wraps a firing loop: ns for n events, with the garbage collector off (as timeit)."""
    def run(n: int) -> int:
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            t0 = time.perf_counter_ns()
            fn(n)
            return time.perf_counter_ns() - t0
        finally:
            if was_enabled:
                gc.enable()
    return run


@dataclass
class Measure:
    figure: Figure
    run: Callable[[int], int]           # fires n events, returns elapsed ns
    check: Check
    granularity: int = 1                # n is a multiple of this
    min_n: int = 1                      # never fewer events per burst
    n: int = 0


class Context:
    """What a group's setup works with: settings, a temporary directory, a host with the
    bench plugin installed (made on first use), the bench FFI, and the registrations."""

    ACCUMULATORS = 1024

    def __init__(self, engine: "Engine", group: Group):
        self._engine = engine
        self.group = group
        self.settings = engine.settings
        self.quick = engine.quick
        self.tmp: Path = engine.tmp
        self.bffi, self.blib = engine.bffi, engine.blib

    # -- shared resources -----------------------------------------------------------------
    @property
    def host(self):
        """A Host (not started, temporary home) with the firer plugin installed."""
        return self._engine.shared_host()

    @property
    def firer(self):
        """The firer plugin's BenchFirer* (bench FFI)."""
        return self._engine.firer()

    def sink(self) -> Sink:
        """Fresh accumulators for one path's event data, one per burst (see Sink)."""
        slots = [self._engine.accumulator() for _ in range(max(self.settings.bursts, 2))]
        return Sink([p for p, _ in slots], [r for _, r in slots])

    def copies(self, ctype: str, init: Any) -> Rotation:
        """Copies of a bench-FFI value, one per burst, each allocated on its own (see
        Rotation)."""
        return Rotation([self.new(ctype, init) for _ in range(max(self.settings.bursts, 2))])

    def keep(self, value: Any) -> Any:
        """Keeps a value (cdata, callback...) alive until the run ends; returns it."""
        self._engine.kept.append(value)
        return value

    def new(self, ctype: str, init: Any = None) -> Any:
        """A bench-FFI cdata that lives as long as the run."""
        return self.keep(self.bffi.new(ctype, init))

    def on_close(self, fn: Callable[[], Any]) -> None:
        """Runs fn when the interleaved phase ends (before the one-off measurements)."""
        self._engine.closers.append(fn)

    def progress(self, message: str, fine: bool = False) -> None:
        self._engine.say(f"{self.group.title}: {message}", fine)

    # -- registrations --------------------------------------------------------------------
    def measure(self, figure: Figure, run: Callable[[int], int], check: Check,
                granularity: int = 1, min_n: int = 1) -> None:
        """A figure measured in every repetition: run(n) fires n events, returns ns."""
        figure.group = self.group.key
        self._engine.measures.append(Measure(figure, run, check, granularity, min_n))

    def add_figure(self, figure: Figure) -> None:
        """A figure measured by a one-off step (``after``)."""
        figure.group = self.group.key
        self._engine.extra_figures.append(figure)

    def row(self, row: Row) -> None:
        self._engine.rows.append(row)

    def after(self, name: str, fn: Callable[["Context"], dict]) -> None:
        """A one-off measurement after the repetitions: its dict is the document's `name`."""
        self._engine.afters.append((self, name, fn))

    def derive(self, name: str, fn: Callable[[Results], Any]) -> None:
        """A value computed from the results (the document's `name`)."""
        self._engine.derived.append((name, fn))

    def note(self, name: str, value: Any) -> None:
        """A top-level document key describing the run (work per subscriber, paths...);
        dicts given by several groups under one name are merged."""
        known = self._engine.extra.get(name)
        if isinstance(known, dict) and isinstance(value, dict):
            value = {**known, **value}
        self._engine.extra[name] = value


class Engine:
    def __init__(self, quick: bool, settings: Settings, progress: Optional[Progress]):
        self.quick = quick
        self.settings = settings
        self._progress = progress
        self.bffi, self.blib = native.open_library()
        self.tmp = Path(".")
        self.kept: list[Any] = []
        self.closers: list[Callable[[], Any]] = []
        self.measures: list[Measure] = []
        self.extra_figures: list[Figure] = []
        self.rows: list[Row] = []
        self.afters: list[tuple[Context, str, Callable[[Context], dict]]] = []
        self.derived: list[tuple[str, Callable[[Results], Any]]] = []
        self.extra: dict[str, Any] = {}
        self.titles: dict[str, str] = {}
        self._host = None
        self._firer = None
        self._accs = None
        self._next_acc = 0

    def say(self, message: str, fine: bool = False) -> None:
        if self._progress is not None:
            self._progress(message, fine)

    # -- shared resources -------------------------------------------------------------------
    def shared_host(self):
        if self._host is None:
            from pyhost.host.host import Host
            host = Host(self.tmp / "hook-home", timers=False)
            self._host = host
            # Not started: a fresh home has no enabled plugins to load; the firer plugin is
            # installed (ON_INSTALL) like any plugin added to a running host.
            host.install(native.sample_plugin("bench_firer"))
        return self._host

    def firer(self):
        if self._firer is None:
            self._firer = native.firer_table(self.bffi, self.shared_host())
        return self._firer

    def accumulator(self):
        """A uint64_t on a cache line of its own. Lines are handed out 37 apart (2368
        bytes), so the accumulators of one sink sit at different offsets in their pages."""
        if self._accs is None:
            self._accs = self.bffi.new("uint64_t[]", 8 * Context.ACCUMULATORS)
        if self._next_acc >= Context.ACCUMULATORS:
            raise BenchError("out of benchmark accumulators")
        slot, accs = (self._next_acc * 37) % Context.ACCUMULATORS, self._accs
        self._next_acc += 1
        return self.bffi.addressof(accs, slot * 8), lambda: accs[slot * 8]

    # -- the run ----------------------------------------------------------------------------
    def run(self, groups: list[Group]) -> Results:
        start = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="pyhost-bench-") as tmp:
            self.tmp = Path(tmp)
            try:
                for i, group in enumerate(groups):
                    self.say(f"[{i + 1}/{len(groups)}] {group.title}: setting up")
                    self.titles[group.key] = group.title
                    group.setup(Context(self, group))
                self._calibrate()
                self._repeat()
            finally:
                self._close()
            for ctx, name, fn in self.afters:
                self.extra[name] = fn(ctx)
        figures = {m.figure.key: m.figure for m in self.measures}
        figures.update({f.key: f for f in self.extra_figures})
        rows = [row for row in self.rows if row.figure in figures]
        results = Results(machine=machine(), settings=self.settings, quick=self.quick,
                          figures=figures, rows=rows, extra=self.extra)
        for name, fn in self.derived:
            results.extra[name] = fn(results)
        results.elapsed_s = time.perf_counter() - start
        return results

    def _close(self) -> None:
        for fn in reversed(self.closers):
            fn()
        if self._host is not None:
            self._host.shutdown()
            self._host = None

    def _calibrate(self) -> None:
        """Picks each figure's events per burst so one sample (all bursts) takes about
        sample_seconds."""
        target_ns = self.settings.sample_seconds * 1e9 / self.settings.bursts
        for i, m in enumerate(self.measures):
            self.say(f"calibrating {i + 1}/{len(self.measures)}: {m.figure.label}", True)
            g = m.granularity
            n = g * max(1, 1000 // g)
            while True:
                elapsed = self._burst(m, n)
                # A quarter of a burst: enough for fixed costs (starting threads, a first
                # call) to fade from the estimate.
                if elapsed >= target_ns / 4 or n >= 1 << 34:
                    break
                n *= 4
            # Once more at that size: a single slow run must not set the size for good.
            elapsed = min(elapsed, self._burst(m, n))
            per_event = max(elapsed / n, 0.01)
            n = max(int(target_ns / per_event), m.min_n)
            m.n = max(g, n - n % g)
            m.figure.events = m.n

    def _repeat(self) -> None:
        """Each repetition measures the groups one after the other; within a group, burst
        after burst goes round all its figures, so every figure of a group is sampled over
        the same stretch of time and their ratios see the same machine."""
        reps = self.settings.repetitions
        groups: list[list[Measure]] = []
        for m in self.measures:
            if not groups or groups[-1][0].figure.group != m.figure.group:
                groups.append([])
            groups[-1].append(m)
        for r in range(reps):
            self.say(f"repetition {r + 1}/{reps}")
            for members in groups:
                key = members[0].figure.group
                self.say(f"repetition {r + 1}/{reps}: {self.titles.get(key, key)}", True)
                best = [float("inf")] * len(members)
                for _ in range(self.settings.bursts):
                    for i, m in enumerate(members):
                        best[i] = min(best[i], self._burst(m, m.n) / m.n)
                for m, value in zip(members, best):
                    m.figure.samples.append(value)

    @staticmethod
    def _burst(m: Measure, n: int) -> int:
        before = m.check.read()
        elapsed = m.run(n)
        m.check(before, n)
        return elapsed


def load_groups() -> list[Group]:
    groups = []
    for name in GROUP_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue   # a group of a later issue, not in this pyhost yet
            raise
        group = getattr(module, "GROUP", None)
        if group is not None:   # a module without GROUP is not a group (yet)
            groups.append(group)
    return groups


def run(quick: bool = False, progress: Optional[Progress] = None,
        settings: Optional[Settings] = None, groups: Optional[list[Group]] = None) -> Results:
    """Runs the whole benchmark in this process (``settings`` overrides the mode's)."""
    engine = Engine(quick, settings or Settings.for_mode(quick), progress)
    return engine.run(groups if groups is not None else load_groups())
