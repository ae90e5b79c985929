"""The benchmark behind ``pyhost bench``: hook throughput against the floor and the peers.

Everything is measured in one process run, interleaved: each repetition measures every
figure once, in a fixed order that puts each pyhost figure beside its baselines, and a
figure is the median of its repetitions. A ratio is the median of the per-repetition
ratios, so a slow spell of a shared machine divides out. docs/benchmark.md has the method,
the results and what they mean.

pyhost figures (the real paths, through a :class:`~pyhost.host.Host`):

- ``c_c_<k>``: the bench plugin (sample_plugins/bench_firer.c) fires a hook with k C
  subscribers from a C loop over its DCHooks ``run_hook``; no Python on the path;
  ``c_c_chat``: the same with one subscriber doing chat_guard's work;
- ``py_c_call``: Python fires with :meth:`Hook.run`, one event per call, 1 C subscriber;
  ``py_c_raw``: the compiled call Hook.run wraps; ``py_c_batch``: a prepared
  :class:`EventBatch` fired with :meth:`Hook.run_many`;
- ``c_py``: the plugin fires from C; the subscriber is a Python plugin's ``@hook``
  function (pyhost.plugin), or a Bus.bind callable without the plugin API; ``c_py_bus``:
  the Bus.bind callable beside it;
- ``py_py``: Python fires with :meth:`Hook.run` into that Python subscriber;
- ``threads_2``: two native threads run the plugin's firing loop on the same hook (1 C
  subscriber), against ``threads_1``, the same runner with one thread;
- ``load_100``: :meth:`Host.start` loading 100 plugins (ELF check, dlopen, pluginInit,
  ON_LOAD), copies of sample_plugins/bench_load.c under 100 names;
- ``dcext``: inspect + install of a multi-platform .dcext package, when pyhost has the
  package modules; otherwise reported as not measured, with the reason.

Baselines, with the same work per subscriber:

- ``floor_<k>``: a bare C loop of indirect calls to the very same subscriber function;
- ``lock_<k>``: lock-per-dispatch, the reference host's design in C (a pthread mutex per
  dispatch over a vector of subscriber records), fired from a C loop through a table;
- ``pluggy_<k>``: pluggy with k hook implementations, called as ``hook(obj=..., data=...)``;
- ``list_<k>``: a plain Python loop over a list of k callables.

The work per subscriber: C subscribers add a 64-bit weight (read through ``common``) into
a 64-bit accumulator (written through the event's ``data``) and return False, so all k run
for every event; Python subscribers add 1 to a counter in a list. Every sample checks
afterwards that exactly n x k subscriber calls happened.
"""
from __future__ import annotations

import contextlib
import gc
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import cffi

from pyhost import __version__
from pyhost.abi._ffi import ffi, lib
from pyhost.abi.paths import INSTALL_DIR

SCHEMA = 1
SUBSCRIBER_COUNTS = (1, 4, 16, 64)
BATCH_SIZE = 1000
LOAD_PLUGINS = 100
FIRER_GUID = "pyhost.bench.Firer"
FIRER_VERSION = 1
WORK_C = ("C subscriber: *(uint64_t*)data += *(const uint64_t*)common; return False "
          "(every subscriber runs for every event)")
WORK_PY = "Python subscriber: counter[0] += 1 (returns None: not handled)"
WORK_CHAT = ("chat filter row: strstr(data, \"spam\") over a 70-byte chat line that ends "
             "with it; handled + break")


_CDEF = r"""
typedef int Bool;
typedef Bool (*DCHOOK)(void* object, void* data, void* common, Bool* bBreak);
typedef uint64_t (*phb_fire_fn)(void* hook, void* object, void* data, uint64_t n);

typedef struct BenchFirer {
    uint32_t apiVersion;
    void* (*create)(const char* guid);
    Bool (*destroy)(void* hook);
    uint64_t (*fire)(void* hook, void* object, void* data, uint64_t n);
    DCHOOK subscriber;
    DCHOOK chat_subscriber;
} BenchFirer;

uint64_t phb_floor(const DCHOOK* procs, void* const* commons, size_t k, void* object,
                   void* data, uint64_t n);
typedef struct phb_floor_set { const DCHOOK* procs; void* const* commons; size_t k; }
    phb_floor_set;
uint64_t phb_floor_fire(void* set, void* object, void* data, uint64_t n);
typedef struct phb_lock_hook phb_lock_hook;
phb_lock_hook* phb_lock_hook_new(DCHOOK def_proc);
void phb_lock_hook_free(phb_lock_hook* hook);
int phb_lock_bind(phb_lock_hook* hook, DCHOOK proc, void* common);
uint64_t phb_lock_fire(void* hook, void* object, void* data, uint64_t n);
uint64_t phb_run_threads(phb_fire_fn fire, void* hook, void* object, void* const* datas,
                         uint64_t n, int threads, uint64_t* handled);
"""


# The order figures are measured in, each repetition: pyhost figures beside their baselines.
MEASURE_ORDER = tuple(
    [key for k in SUBSCRIBER_COUNTS for key in (f"c_c_{k}", f"floor_{k}", f"lock_{k}")]
    + ["c_c_chat", "floor_chat", "lock_chat"]
    + ["py_c_call", "py_c_raw", "py_c_batch", "c_py", "c_py_bus", "py_py", "pluggy_1",
       "list_1", "threads_1", "threads_2", "floor_threads_1", "floor_threads_2", "lock_threads_1",
       "lock_threads_2"]
    + [key for k in SUBSCRIBER_COUNTS[1:] for key in (f"pluggy_{k}", f"list_{k}")])


class BenchError(RuntimeError):
    """The benchmark could not run, or a path did not do the work it was timed for."""


# -- settings and results -----------------------------------------------------------------

@dataclass(frozen=True)
class Settings:
    """How long to measure: ``quick`` runs in well under a minute."""

    repetitions: int
    sample_seconds: float      # target wall time of one sample of one figure
    load_repetitions: int

    @classmethod
    def for_mode(cls, quick: bool) -> "Settings":
        if quick:
            return cls(repetitions=5, sample_seconds=0.02, load_repetitions=3)
        return cls(repetitions=9, sample_seconds=0.1, load_repetitions=7)


@dataclass
class Figure:
    """One measured quantity: its samples (ns per event) and their median."""

    key: str
    label: str
    kind: str                   # "pyhost" | "baseline"
    path: str                   # who fires -> who subscribes
    subscribers: int
    events: int = 0             # events per sample
    samples: list[float] = field(default_factory=list)
    unit: str = "event"         # what one sample's ns are per: "event", or "100 plugins"

    @property
    def ns(self) -> float:
        return statistics.median(self.samples) if self.samples else float("nan")

    @property
    def per_second(self) -> float:
        return 1e9 / self.ns if self.samples and self.ns > 0 else float("nan")

    def as_dict(self) -> dict:
        return {"key": self.key, "label": self.label, "kind": self.kind, "path": self.path,
                "subscribers": self.subscribers, "events_per_sample": self.events,
                "ns_per_event": self.ns, "events_per_s": self.per_second,
                "unit": self.unit, "samples_ns_per_event": list(self.samples)}


@dataclass(frozen=True)
class Target:
    """A ratio (or absolute) target of issue 7 on one row."""

    text: str
    baseline: Optional[str]     # figure key; None for an absolute limit
    limit: float                # time ratio pyhost/baseline must be <= limit (or ms <= limit)


@dataclass(frozen=True)
class Row:
    """A pyhost figure in the table, with the baselines it is compared with."""

    figure: str
    baselines: dict[str, str]   # column ("floor", "lock", "pluggy", "list") -> figure key
    targets: tuple[Target, ...] = ()
    note: str = ""


COLUMNS = ("floor", "lock", "pluggy", "list")


@dataclass
class Results:
    machine: dict
    settings: Settings
    quick: bool
    figures: dict[str, Figure]
    rows: list[Row]
    load: dict
    dcext: dict
    python_plugin_api: str
    elapsed_s: float = 0.0

    def ratio(self, figure: str, baseline: str) -> Optional[float]:
        """pyhost time / baseline time (below 1: pyhost is faster).

        The median of the per-repetition ratios: each repetition measures both figures a
        moment apart, so a slow spell of a shared machine divides out."""
        a, b = self.figures.get(figure), self.figures.get(baseline)
        if a is None or b is None or not a.samples or not b.samples or b.ns <= 0:
            return None
        if len(a.samples) == len(b.samples):
            return statistics.median(x / y for x, y in zip(a.samples, b.samples))
        return a.ns / b.ns

    def target_results(self) -> list[dict]:
        out = []
        for row in self.rows:
            for t in row.targets:
                if t.baseline is None:
                    value = self.figures[row.figure].ns / 1e6 if row.figure in self.figures \
                        else None
                else:
                    value = self.ratio(row.figure, t.baseline)
                out.append({"row": row.figure, "target": t.text, "baseline": t.baseline,
                            "limit": t.limit, "value": value,
                            "met": None if value is None else value <= t.limit})
        if not self.dcext.get("measured"):
            out.append({"row": "dcext", "target": "measured", "baseline": None,
                        "limit": None, "value": None, "met": None})
        return out

    def as_dict(self) -> dict:
        rows = []
        for row in self.rows:
            fig = self.figures[row.figure]
            ratios = {}
            for col, key in row.baselines.items():
                r = self.ratio(row.figure, key)
                ratios[col] = {"baseline": key, "time_ratio": r,
                               "speedup": None if not r else 1 / r}
            rows.append({**fig.as_dict(), "ratios": ratios, "note": row.note,
                         "targets": [t for t in self.target_results()
                                     if t["row"] == row.figure]})
        return {
            "schema": SCHEMA,
            "pyhost_version": __version__,
            "quick": self.quick,
            "machine": self.machine,
            "settings": {"repetitions": self.settings.repetitions,
                         "sample_seconds": self.settings.sample_seconds,
                         "load_repetitions": self.settings.load_repetitions,
                         "batch_size": BATCH_SIZE},
            "work": {"c": WORK_C, "python": WORK_PY, "chat": WORK_CHAT},
            "python_subscriber_api": self.python_plugin_api,
            "rows": rows,
            "baselines": {k: f.as_dict() for k, f in self.figures.items()
                          if f.kind == "baseline"},
            "load": self.load,
            "dcext": self.dcext,
            "targets": self.target_results(),
            "thread_scaling": scaling(self),
            "elapsed_s": self.elapsed_s,
        }


def machine() -> dict:
    """CPU model, cores, Python and OS, for the README's results table."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(),
            "python": f"{platform.python_implementation()} {platform.python_version()}",
            "platform": platform.platform(), "machine": platform.machine()}


# -- the native pieces --------------------------------------------------------------------

def _open_bench_library():
    bffi = cffi.FFI()
    bffi.cdef(_CDEF)
    path = INSTALL_DIR / "libpyhost_bench.so"
    if not path.is_file():
        raise BenchError(f"the native benchmark library is missing ({path}); "
                         "rebuild pyhost (pip install -e .)")
    return bffi, bffi.dlopen(str(path))


def _sample_plugin(name: str) -> Path:
    path = INSTALL_DIR / "sample_plugins" / f"{name}.so"
    if not path.is_file():
        raise BenchError(f"the bench plugin {name}.so is missing ({path}); rebuild pyhost")
    return path


def _addr(cdata) -> int:
    """Address of a pointer cdata of either FFI (pyhost's compiled one or the bench one),
    for handing a pointer from one FFI to the other."""
    return int(ffi.cast("uintptr_t", cdata))


def _timed(fn: Callable[[int], Any]) -> Callable[[int], int]:
    """Wraps a Python firing loop: ns for n events, with the garbage collector off (timeit)."""
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
class _Measure:
    figure: Figure
    run: Callable[[int], int]           # fires n events, returns elapsed ns
    check: _Check                       # after a sample: raises if the work is off
    granularity: int = 1                # n is a multiple of this
    min_n: int = 1                      # never fewer events per sample
    n: int = 0


@dataclass
class _Check:
    """Counts subscriber calls around a sample: exactly n x per_event must have happened."""

    read: Callable[[], int]
    per_event: int
    what: str

    def __call__(self, before: int, n: int) -> None:
        done = self.read() - before
        if done != n * self.per_event:
            raise BenchError(f"{self.what}: expected {n * self.per_event} subscriber calls, "
                             f"counted {done}")


@dataclass
class _Env:
    """What the setup steps share: the host, the bench plugin's table, the event data."""

    bffi: Any                   # the bench FFI
    host: Any
    tmp: Path
    lock_hooks: list
    firer: Any                  # BenchFirer* (bench FFI)
    fire: Any
    subscriber: Any             # the C subscriber (DCHOOK, bench FFI)
    accs: Any                   # uint64_t[32 * 8]: one 64-byte line per event-data user
    weight_ptrs: list
    c_hooks: dict = field(default_factory=dict)   # k -> the bus hook with k C subscribers
    c_locks: dict = field(default_factory=dict)   # k -> the lock baseline's hook

    def acc(self, slot: int):
        """The event data of one user: an accumulator on its own cache line."""
        return self.bffi.addressof(self.accs, slot * 8)

    def reader(self, slot: int) -> Callable[[], int]:
        return lambda: self.accs[slot * 8]


# -- the benchmark ------------------------------------------------------------------------

class Bench:
    """Sets up every path, runs the interleaved repetitions, and returns :class:`Results`."""

    def __init__(self, quick: bool = False, progress: Optional[Callable[[str], None]] = None,
                 settings: Optional[Settings] = None):
        self.quick = quick
        self.settings = settings or Settings.for_mode(quick)
        self.progress = progress or (lambda message: None)
        self.bffi, self.blib = _open_bench_library()
        self._keep: list[Any] = []
        self._measures: list[_Measure] = []
        self.python_plugin_api = "pyhost.bus.Bus.bind (a Python callable)"

    # Public entry point.
    def run(self) -> Results:
        start = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="pyhost-bench-") as tmp:
            tmp_path = Path(tmp)
            from pyhost.host.host import Host
            host = Host(tmp_path / "hook-home", timers=False)
            lock_hooks: list[Any] = []
            try:
                # Not started: a fresh home has no enabled plugins to load; the bench plugin
                # is installed (ON_INSTALL) like any plugin added to a running host.
                self._setup_hooks(host, lock_hooks, tmp_path)
                self._order()
                self._calibrate()
                self._repeat()
            finally:
                for h in lock_hooks:
                    self.blib.phb_lock_hook_free(h)
                host.shutdown()
            load = self._measure_load(tmp_path)
            dcext = self._measure_dcext(tmp_path)
        figures = {m.figure.key: m.figure for m in self._measures}
        load_figure = load.pop("figure")
        figures[load_figure.key] = load_figure
        rows = [row for row in _rows() if row.figure in figures]
        results = Results(machine=machine(), settings=self.settings, quick=self.quick,
                          figures=figures, rows=rows, load=load, dcext=dcext,
                          python_plugin_api=self.python_plugin_api)
        results.elapsed_s = time.perf_counter() - start
        return results

    # -- setup ----------------------------------------------------------------------------
    def _add(self, figure: Figure, run, check, granularity: int = 1, min_n: int = 1) -> None:
        self._measures.append(_Measure(figure, run, check, granularity, min_n))

    def _setup_hooks(self, host, lock_hooks: list, tmp: Path) -> None:
        """Installs the bench plugin and sets up every figure's path and baselines."""
        bffi = self.bffi
        self.progress("setting up the bench plugin and the baselines")
        host.install(_sample_plugin("bench_firer"))
        table = host.bus.query_interface(FIRER_GUID, FIRER_VERSION)
        if table is None:
            raise BenchError(f"the bench plugin did not register {FIRER_GUID}")
        firer = bffi.cast("BenchFirer*", _addr(table))
        max_k = max(SUBSCRIBER_COUNTS)
        weights = bffi.new("uint64_t[]", [1] * max_k)     # read-only, shared
        accs = bffi.new("uint64_t[]", 32 * 8)             # event data: one 64-byte line per user
        self._keep += [firer, weights, accs]
        env = _Env(bffi=bffi, host=host, tmp=tmp, lock_hooks=lock_hooks, firer=firer,
                   fire=firer.fire, subscriber=firer.subscriber, accs=accs,
                   weight_ptrs=[bffi.addressof(weights, j) for j in range(max_k)])
        self._setup_c_to_c(env)
        self._setup_chat(env)
        self._setup_python_paths(env)
        self._setup_threads(env)
        self._setup_python_baselines()

    def _setup_c_to_c(self, env: "_Env") -> None:
        """C -> C with k subscribers, with its floor and lock baseline."""
        bffi, blib = self.bffi, self.blib
        host, firer, fire, subscriber = env.host, env.firer, env.fire, env.subscriber
        acc, reader, weight_ptrs, lock_hooks = env.acc, env.reader, env.weight_ptrs, \
            env.lock_hooks
        sub_for_bus = ffi.cast("DCHOOK", _addr(subscriber))

        # C -> C through the bus, its floor and its lock baseline, per subscriber count.
        for k in SUBSCRIBER_COUNTS:
            guid = f"pyhost.bench.c{k}"
            handle = firer.create(guid.encode())
            if handle == bffi.NULL:
                raise BenchError(f"the bench plugin could not create hook {guid}")
            for j in range(k):
                host.bus.bind(guid, sub_for_bus, _addr(weight_ptrs[j]))
            env.c_hooks[k] = handle
            slot = {1: 0, 4: 1, 16: 2, 64: 3}[k]
            data = acc(slot)
            self._add(Figure(f"c_c_{k}", f"C -> C, {k} sub", "pyhost", "C plugin -> bus -> C",
                             k),
                      self._c_loop(lambda n, h=handle, d=data: fire(h, bffi.NULL, d, n)),
                      _Check(reader(slot), k, f"C -> C ({k})"))

            procs = bffi.new("DCHOOK[]", [subscriber] * k)
            commons = bffi.new("void*[]", weight_ptrs[:k])
            self._keep += [procs, commons]
            fdata = acc(4 + slot)
            self._add(Figure(f"floor_{k}", f"floor, {k} sub", "baseline",
                             "C loop of indirect calls", k),
                      self._c_loop(lambda n, p=procs, c=commons, k=k, d=fdata:
                                   blib.phb_floor(p, c, k, bffi.NULL, d, n)),
                      _Check(reader(4 + slot), k, f"floor ({k})"))

            lock = blib.phb_lock_hook_new(bffi.NULL)
            if lock == bffi.NULL:
                raise BenchError("could not create the lock-per-dispatch hook")
            lock_hooks.append(lock)
            env.c_locks[k] = lock
            for j in range(k):
                if blib.phb_lock_bind(lock, subscriber, weight_ptrs[j]) != 0:
                    raise BenchError("could not bind to the lock-per-dispatch hook")
            ldata = acc(8 + slot)
            self._add(Figure(f"lock_{k}", f"lock-per-dispatch, {k} sub", "baseline",
                             "C loop -> mutex + vector -> C", k),
                      self._c_loop(lambda n, h=lock, d=ldata: blib.phb_lock_fire(h, bffi.NULL,
                                                                                 d, n)),
                      _Check(reader(8 + slot), k, f"lock ({k})"))

    def _setup_chat(self, env: "_Env") -> None:
        """One subscriber doing a chat filter's work, with its own baselines."""
        bffi, blib = self.bffi, self.blib
        host, firer, fire, lock_hooks = env.host, env.firer, env.fire, env.lock_hooks

        # One subscriber doing a chat filter's work (chat_guard's strstr over a chat line),
        # through the bus, the floor and the lock baseline: the same comparison with a
        # subscriber that does something.
        chat_guid = "pyhost.bench.chat"
        chat_hook = firer.create(chat_guid.encode())
        if chat_hook == bffi.NULL:
            raise BenchError(f"the bench plugin could not create hook {chat_guid}")
        chat = firer.chat_subscriber
        message = self._keep_new("char[]", CHAT_LINE.encode())
        banned = self._keep_new("char[]", b"spam")
        host.bus.bind(chat_guid, ffi.cast("DCHOOK", _addr(chat)), _addr(banned))
        chat_procs = self._keep_new("DCHOOK[]", [chat])
        chat_commons = self._keep_new("void*[]", [banned])
        chat_lock = blib.phb_lock_hook_new(bffi.NULL)
        if chat_lock == bffi.NULL or blib.phb_lock_bind(chat_lock, chat, banned) != 0:
            raise BenchError("could not set up the lock-per-dispatch chat hook")
        lock_hooks.append(chat_lock)
        for key, label, kind, path, fire_n in (
                ("c_c_chat", "C -> C, 1 sub, chat filter", "pyhost", "C plugin -> bus -> C",
                 lambda n: fire(chat_hook, bffi.NULL, message, n)),
                ("floor_chat", "floor, 1 sub, chat filter", "baseline",
                 "C loop of indirect calls",
                 lambda n: blib.phb_floor(chat_procs, chat_commons, 1, bffi.NULL, message, n)),
                ("lock_chat", "lock-per-dispatch, 1 sub, chat filter", "baseline",
                 "C loop -> mutex + vector -> C",
                 lambda n: blib.phb_lock_fire(chat_lock, bffi.NULL, message, n))):
            handled = [0]

            def counted(n, fire_n=fire_n, handled=handled):
                handled[0] += fire_n(n)
            self._add(Figure(key, label, kind, path, 1), self._c_loop(counted),
                      _Check(lambda h=handled: h[0], 1, label))

    def _setup_python_paths(self, env: "_Env") -> None:
        """Python -> C, C -> Python and Python -> Python."""
        bffi = self.bffi
        host, firer, fire, accs, acc = env.host, env.firer, env.fire, env.accs, env.acc

        # Python -> C: one event per call, and batched.
        hook1 = host.bus.hook("pyhost.bench.c1")
        py_data = ffi.cast("void*", _addr(acc(12)))
        run_one = hook1.run

        def py_c_call(n: int) -> None:
            for _ in range(n):
                run_one(None, py_data)
        self._add(Figure("py_c_call", "Python -> C, per call", "pyhost",
                         "Python Hook.run -> bus -> C", 1),
                  _timed(py_c_call), _Check(lambda: accs[12 * 8], 1, "Python -> C"))

        def py_c_raw(n: int, run=lib.phn_run_hook, handle=hook1.handle, null=ffi.NULL,
                     data=py_data) -> None:
            for _ in range(n):
                run(handle, null, data)
        self._add(Figure("py_c_raw", "Python -> C, raw compiled call", "pyhost",
                         "Python lib.phn_run_hook (no Hook.run wrapper) -> bus -> C", 1),
                  _timed(py_c_raw), _Check(lambda: accs[12 * 8], 1, "Python -> C (raw)"))

        from pyhost.abi.bus import EventBatch
        batch = EventBatch([(None, _addr(acc(13)))] * BATCH_SIZE)
        run_many = hook1.run_many
        self._keep.append(batch)

        def py_c_batch(n: int) -> None:
            for _ in range(n // BATCH_SIZE):
                run_many(batch)
        self._add(Figure("py_c_batch", f"Python -> C, batched ({BATCH_SIZE})", "pyhost",
                         "Python Hook.run_many(EventBatch) -> bus -> C", 1),
                  _timed(py_c_batch),
                  _Check(lambda: accs[13 * 8], 1, "Python -> C batched"),
                  granularity=BATCH_SIZE)

        # C -> Python and Python -> Python: one Python subscriber on a hook the plugin made.
        py_guid = "pyhost.bench.py1"
        py_handle = firer.create(py_guid.encode())
        if py_handle == bffi.NULL:
            raise BenchError(f"the bench plugin could not create hook {py_guid}")
        counter = self._bind_python(host, py_guid, env.tmp)
        self._add(Figure("c_py", "C -> Python", "pyhost", "C plugin -> bus -> Python", 1),
                  self._c_loop(lambda n: fire(py_handle, bffi.NULL, bffi.NULL, n)),
                  _Check(lambda: counter[0], 1, "C -> Python"))
        if self.python_plugin_api.startswith("pyhost.plugin"):
            # The bus's own Python subscriber path, under the plugin API, for comparison.
            raw_guid = "pyhost.bench.py1.bus"
            raw_handle = firer.create(raw_guid.encode())
            if raw_handle == bffi.NULL:
                raise BenchError(f"the bench plugin could not create hook {raw_guid}")
            raw_counter = [0]
            self._keep.append(host.bus.bind(raw_guid, _python_subscriber(raw_counter)))
            self._add(Figure("c_py_bus", "C -> Python (Bus.bind)", "pyhost",
                             "C plugin -> bus -> Python callable (Bus.bind)", 1),
                      self._c_loop(lambda n: fire(raw_handle, bffi.NULL, bffi.NULL, n)),
                      _Check(lambda: raw_counter[0], 1, "C -> Python (Bus.bind)"))
        py_hook = host.bus.hook(py_guid)
        run_py = py_hook.run

        def py_py(n: int) -> None:
            for _ in range(n):
                run_py(None, None)
        self._add(Figure("py_py", "Python -> Python", "pyhost",
                         "Python Hook.run -> bus -> Python", 1),
                  _timed(py_py), _Check(lambda: counter[0], 1, "Python -> Python"))

    def _setup_threads(self, env: "_Env") -> None:
        """One and two native threads on the same hook, with the baselines."""
        bffi, blib = self.bffi, self.blib
        fire, subscriber, accs, acc = env.fire, env.subscriber, env.accs, env.acc
        weight_ptrs = env.weight_ptrs

        # Two threads firing the same hook (1 C subscriber) against one, through the same
        # runner; the lock baseline the same way; and the floor on 1 and 2 threads, which is
        # what two threads can gain on this machine right now (a busy machine gives less).
        fire_fn = bffi.cast("phb_fire_fn", fire)
        lock_fire_fn = bffi.cast("phb_fire_fn", blib.phb_lock_fire)
        floor_fire_fn = bffi.cast("phb_fire_fn", blib.phb_floor_fire)
        floor_set = bffi.new("phb_floor_set*")
        floor_set.procs = self._keep_new("DCHOOK[]", [subscriber])
        floor_set.commons = self._keep_new("void*[]", [weight_ptrs[0]])
        floor_set.k = 1
        self._keep += [fire_fn, lock_fire_fn, floor_fire_fn, floor_set]
        for name, fn, hook, base, kind, what in (
                ("threads", fire_fn, env.c_hooks[1], 16, "pyhost", "C -> C, 1 sub"),
                ("lock_threads", lock_fire_fn, env.c_locks[1], 20, "baseline",
                 "lock-per-dispatch, 1 sub"),
                ("floor_threads", floor_fire_fn, floor_set, 24, "baseline", "floor, 1 sub")):
            for threads in (1, 2):
                slots = [base + t for t in range(threads)]
                datas = self._keep_new("void*[]", [acc(s) for s in slots])
                text = f"{what}, {threads} thread{'s' if threads > 1 else ''}"
                path = {"pyhost": "native threads -> bus -> C",
                        "baseline": "native threads -> " + what.split(",")[0] + " -> C"}[kind]
                self._add(Figure(f"{name}_{threads}", text, kind, path, 1),
                          self._threads(fn, hook, datas, threads),
                          _Check(lambda s=slots: sum(accs[x * 8] for x in s), 1, text),
                          granularity=threads,
                          # Starting and waking threads costs up to milliseconds on a busy
                          # machine: every sample is long enough to make that noise.
                          min_n=threads * int(self.settings.sample_seconds * 2e7))

    def _setup_python_baselines(self) -> None:
        """pluggy and a plain list with k implementations doing the Python work."""
        for k in SUBSCRIBER_COUNTS:
            tally = [0]
            hook_caller = _pluggy_hook(k, tally)

            def pluggy_loop(n: int, call=hook_caller) -> None:
                for _ in range(n):
                    call(obj=None, data=None)
            self._add(Figure(f"pluggy_{k}", f"pluggy, {k} impl", "baseline",
                             "Python -> pluggy HookCaller -> Python", k),
                      _timed(pluggy_loop),
                      _Check(lambda t=tally: t[0], k, f"pluggy ({k})"))

            ltally = [0]
            callables = [_python_subscriber(ltally) for _ in range(k)]

            def list_loop(n: int, subs=callables) -> None:
                for _ in range(n):
                    for fn in subs:
                        fn(None, None, None)
            self._add(Figure(f"list_{k}", f"plain list, {k} callables", "baseline",
                             "Python loop over a list -> Python", k),
                      _timed(list_loop),
                      _Check(lambda t=ltally: t[0], k, f"plain list ({k})"))

    def _keep_new(self, ctype: str, init):
        """A bench-FFI array that lives as long as the benchmark."""
        value = self.bffi.new(ctype, init)
        self._keep.append(value)
        return value

    def _bind_python(self, host, guid: str, tmp: Path) -> list:
        """Subscribes the Python subscriber to ``guid``; returns its call counter.

        With the Python plugin API (pyhost.plugin) it is a Python plugin whose ``@hook``
        function is the subscriber, installed like any plugin; without it, a callable bound
        with Bus.bind.
        """
        if _importable("pyhost.plugin.plugin") and _importable("pyhost.host.python_loader"):
            counter = _PLUGIN_COUNTERS[guid] = [0]
            path = tmp / "bench_python_plugin.py"
            path.write_text(_PYTHON_PLUGIN.format(guid=guid, plugin_guid=PYTHON_PLUGIN_GUID))
            host.install(path, kind="python")
            if not host.is_loaded(PYTHON_PLUGIN_GUID):
                raise BenchError("the bench Python plugin did not load")
            self.python_plugin_api = ("pyhost.plugin: a Python plugin's @hook subscriber "
                                      "(object/data as raw cdata)")
            return counter
        counter = [0]
        self._keep.append(host.bus.bind(guid, _python_subscriber(counter)))
        self.python_plugin_api = "pyhost.bus.Bus.bind (a Python callable)"
        return counter

    def _c_loop(self, call: Callable[[int], Any]) -> Callable[[int], int]:
        # The collector is off here too: a Python subscriber allocates per event.
        return _timed(call)

    def _threads(self, fire_fn, hook, datas, threads: int) -> Callable[[int], int]:
        blib, bffi = self.blib, self.bffi

        def run(n: int) -> int:
            per_thread = n // threads
            elapsed = blib.phb_run_threads(fire_fn, hook, bffi.NULL, datas, per_thread,
                                           threads, bffi.NULL)
            if elapsed == 0:
                raise BenchError(f"could not start {threads} threads")
            return elapsed
        return run

    # -- measuring ------------------------------------------------------------------------
    def _order(self) -> None:
        """Puts each pyhost figure next to its baselines, so a repetition measures them a
        moment apart (see Results.ratio)."""
        rank = {key: i for i, key in enumerate(MEASURE_ORDER)}
        self._measures.sort(key=lambda m: rank.get(m.figure.key, len(rank)))

    def _calibrate(self) -> None:
        """Picks each figure's events per sample so one sample takes about sample_seconds."""
        self.progress("calibrating")
        target_ns = self.settings.sample_seconds * 1e9
        for m in self._measures:
            g = m.granularity
            n = g * max(1, 1000 // g)
            while True:
                elapsed = self._sample(m, n)
                # A quarter of a sample: enough for fixed costs (starting threads, a first
                # call) to fade from the estimate.
                if elapsed >= target_ns / 4 or n >= 1 << 34:
                    break
                n *= 4
            # Once more at that size: a single slow run must not set the size for good.
            elapsed = min(elapsed, self._sample(m, n))
            per_event = max(elapsed / n, 0.01)
            n = max(int(target_ns / per_event), m.min_n)
            m.n = max(g, n - n % g)
            m.figure.events = m.n

    def _repeat(self) -> None:
        reps = self.settings.repetitions
        for r in range(reps):
            self.progress(f"repetition {r + 1}/{reps}")
            for m in self._measures:
                m.figure.samples.append(self._sample(m, m.n) / m.n)

    @staticmethod
    def _sample(m: "_Measure", n: int) -> int:
        before = m.check.read()
        elapsed = m.run(n)
        m.check(before, n)
        return elapsed

    # -- plugin load ----------------------------------------------------------------------
    def _measure_load(self, tmp: Path) -> dict:
        """Host.start() loading 100 installed plugins: ELF check, dlopen, pluginInit, ON_LOAD."""
        from pyhost.host.host import Host
        self.progress(f"installing {LOAD_PLUGINS} plugins for the load figure")
        source = _sample_plugin("bench_load")
        plugin_dir = tmp / "load-plugins"
        plugin_dir.mkdir()
        paths = []
        for i in range(LOAD_PLUGINS):
            path = plugin_dir / f"bench_load_{i:03d}.so"
            shutil.copyfile(source, path)
            paths.append(path)
        home = tmp / "load-home"
        setup = Host(home, timers=False)
        try:
            setup.start()
            t0 = time.perf_counter_ns()
            for path in paths:
                setup.install(path)
            install_ns = time.perf_counter_ns() - t0
        finally:
            setup.shutdown()
        figure = Figure("load_100", f"load {LOAD_PLUGINS} plugins", "pyhost",
                        "Host.start(): ELF check, dlopen, pluginInit, ON_LOAD", 0,
                        events=LOAD_PLUGINS, unit="100 plugins")
        checks: list[int] = []
        for r in range(self.settings.load_repetitions):
            self.progress(f"loading {LOAD_PLUGINS} plugins ({r + 1}/"
                          f"{self.settings.load_repetitions})")
            host = Host(home, timers=False)
            try:
                was_enabled = gc.isenabled()
                gc.disable()
                try:
                    with _timing_elf_checks() as in_checks:
                        t0 = time.perf_counter_ns()
                        host.start()
                        elapsed = time.perf_counter_ns() - t0
                finally:
                    if was_enabled:
                        gc.enable()
                loaded = len(host.loaded())
            finally:
                host.shutdown()
            if loaded != LOAD_PLUGINS:
                raise BenchError(f"the load figure loaded {loaded} plugins, "
                                 f"not {LOAD_PLUGINS}")
            figure.samples.append(float(elapsed))
            checks.append(in_checks[0])
        return {"figure": figure, "plugins": LOAD_PLUGINS,
                "ms_elf_check": statistics.median(checks) / 1e6,
                "ms_without_elf_check": statistics.median(
                    total - check for total, check in zip(figure.samples, checks)) / 1e6,
                "ms_total": figure.ns / 1e6, "us_per_plugin": figure.ns / 1e3 / LOAD_PLUGINS,
                "samples_ms": [s / 1e6 for s in figure.samples],
                "install_ms_total_setup": install_ns / 1e6,
                "what": "Host.start() with 100 enabled plugins in the registry: ELF check, "
                        "dlopen, pluginInit, MetaData checks, per-plugin DCCore, ON_LOAD; "
                        "ms_elf_check is the part spent in pyhost.binary.check_loadable, "
                        "timed inside the same start()"}

    # -- .dcext ---------------------------------------------------------------------------
    def _measure_dcext(self, tmp: Path) -> dict:
        """Inspect + install of a multi-platform .dcext: read_package (ZIP, info.xml, every
        platform's binary checked) then packages.install (extract, identity check, registry,
        ON_INSTALL), into a fresh host home each time."""
        missing = [m for m in ("pyhost.packages.dcext", "pyhost.packages.installer") if not _importable(m)]
        if missing:
            return {"measured": False,
                    "reason": f"{' and '.join(missing)} not in this pyhost (the .dcext "
                              "support of issue 4 has not landed)"}
        from pyhost import packages
        from pyhost.host.binary import host_platform
        from pyhost.host.host import Host
        from pyhost.packages import dcext
        if host_platform() is None:
            return {"measured": False, "reason": "this host is none of the .dcext platforms"}
        self.progress("building a multi-platform .dcext")
        package_path, platforms, skipped = _build_package(tmp, dcext)
        timings: dict[str, list[float]] = {"inspect": [], "install": [], "total": []}
        for r in range(self.settings.load_repetitions):
            self.progress(f"installing the .dcext ({r + 1}/{self.settings.load_repetitions})")
            host = Host(tmp / f"dcext-home-{r}", timers=False)
            try:
                t0 = time.perf_counter_ns()
                package = dcext.read_package(package_path)
                t1 = time.perf_counter_ns()
                result = packages.install(host, package)
                t2 = time.perf_counter_ns()
                if not host.is_loaded(result.record.guid):
                    raise BenchError("the benchmark package installed but did not load")
            finally:
                host.shutdown()
            timings["inspect"].append((t1 - t0) / 1e6)
            timings["install"].append((t2 - t1) / 1e6)
            timings["total"].append((t2 - t0) / 1e6)
        return {"measured": True, "platforms": platforms, "platforms_skipped": skipped,
                "package_bytes": package_path.stat().st_size,
                "ms_inspect": statistics.median(timings["inspect"]),
                "ms_install": statistics.median(timings["install"]),
                "ms_total": statistics.median(timings["total"]),
                "samples_ms_total": timings["total"],
                "what": "dcext.read_package (ZIP + info.xml + every platform's binary) then "
                        "packages.install (extract, identity check, registry, ON_INSTALL)"}


# The .dcext package: this host's plugin is the installed bench_firer; the other platforms
# get this plugin (same guid) compiled with whichever cross toolchains are on the machine.
PACKAGE_GUID = "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee00be7c}"   # sample_plugins/bench_firer.c
_PACKAGE_PLUGIN_C = r"""
#include "dcplugin.h"
static Bool DCAPI plugin_main(PluginState state, DCCorePtr core, dcptr_t data)
{ (void)state; (void)core; (void)data; return True; }
DCEXP DCMAIN DCAPI pluginInit(MetaDataPtr info)
{
    info->name = "Bench firer"; info->author = "pyhost developers";
    info->guid = "%s"; info->apiVersion = DCAPI_CORE_VER; info->version = 1.0;
    return plugin_main;
}
"""
_CROSS = {
    "elf-x64": (["gcc", "-m64", "-shared", "-fPIC"], ".so"),
    "elf-x86": (["gcc", "-m32", "-shared", "-fPIC"], ".so"),
    "pe-x64": (["x86_64-w64-mingw32-gcc", "-shared"], ".dll"),
    "pe-x86": (["i686-w64-mingw32-gcc", "-shared", "-Wl,--add-stdcall-alias"], ".dll"),
}


def _build_package(tmp: Path, dcext) -> tuple[Path, list[str], dict[str, str]]:
    """Packs bench.dcext; returns its path, its platforms and why others were left out."""
    import subprocess

    from pyhost.abi.paths import sdk_include_dir
    from pyhost.host.binary import host_platform
    from pyhost.packages.packer import pack
    here = host_platform()
    root = tmp / "package"
    (root / "data").mkdir(parents=True)
    (root / "data" / "readme.txt").write_text("pyhost bench package\n")
    plugins = {here: f"{here}/bench_firer.so"}
    (root / here).mkdir()
    shutil.copyfile(_sample_plugin("bench_firer"), root / here / "bench_firer.so")
    source = tmp / "package_plugin.c"
    source.write_text(_PACKAGE_PLUGIN_C % PACKAGE_GUID)
    skipped = {}
    for code, (command, suffix) in _CROSS.items():
        if code == here:
            continue
        if shutil.which(command[0]) is None:
            skipped[code] = f"no {command[0]}"
            continue
        out = root / code / f"bench_firer{suffix}"
        out.parent.mkdir()
        try:
            done = subprocess.run([*command, "-O2", "-I", str(sdk_include_dir()), str(source),
                                   "-o", str(out)], capture_output=True, text=True,
                                  timeout=120)
            error = None if done.returncode == 0 else \
                (done.stderr.strip().splitlines() or ["?"])[-1]
        except (OSError, subprocess.TimeoutExpired) as exc:
            error = str(exc)
        if error is not None:
            skipped[code] = f"{command[0]} failed: {error}"
            shutil.rmtree(out.parent)
            continue
        plugins[code] = f"{code}/{out.name}"
    lines = ['<?xml version="1.0" encoding="utf-8"?>', "<dcext>",
             f"  <UUID>{PACKAGE_GUID}</UUID>", "  <Name>Bench firer</Name>",
             "  <Version>1.0</Version>", "  <ApiVersion>8</ApiVersion>",
             "  <Author>pyhost developers</Author>"]
    lines += [f'  <Plugin Platform="{p}">{path}</Plugin>' for p, path in plugins.items()]
    lines += ["  <Files>", "    <File>data/readme.txt</File>", "  </Files>", "</dcext>", ""]
    (root / "info.xml").write_text("\n".join(lines))
    path, _ = pack(root, tmp / "bench.dcext")
    return path, sorted(plugins), skipped


@contextlib.contextmanager
def _timing_elf_checks():
    """Adds up the time the loader spends in pyhost.binary.check_loadable (the ELF/PE
    inspection before dlopen) while the block runs: yields a one-item list of ns."""
    from pyhost.host import binary
    spent = [0]
    original = binary.check_loadable

    def timed(*args, **kwargs):
        t0 = time.perf_counter_ns()
        try:
            return original(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter_ns() - t0
    binary.check_loadable = timed
    try:
        yield spent
    finally:
        binary.check_loadable = original


def _importable(module: str) -> bool:
    import importlib.util
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


# The chat filter row's event: a hub chat line with the banned word at its very end, so the
# subscriber reads all of it and handles every event (the count the check verifies).
CHAT_LINE = "<Hubbot> welcome back everyone, the share check runs at nine, no spam"

PYTHON_PLUGIN_GUID = "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee00be7d}"

# The Python subscriber as a Python plugin: the plugin API's ordinary path (no raw=True).
# Its call counter lives here, where the benchmark reads it.
_PLUGIN_COUNTERS: dict[str, list[int]] = {}
_PYTHON_PLUGIN = """\
from pyhost.bench import bench
from pyhost.plugin.plugin import Plugin, hook

plugin = Plugin(guid="{plugin_guid}", name="Bench Python subscriber", version=1.0,
                author="pyhost developers", description="The subscriber of pyhost bench")
counter = bench._PLUGIN_COUNTERS["{guid}"]


@hook("{guid}")
def on_event(obj, data):
    counter[0] += 1
"""


def _python_subscriber(counter: list):
    """A Python subscriber with the Python work: one counter update."""
    def subscriber(obj, data, common):
        counter[0] += 1
    return subscriber


def _pluggy_hook(k: int, counter: list):
    """A pluggy HookCaller with k implementations doing the Python work, as modules (the
    cheapest way pluggy calls an implementation: a plain function, no bound method)."""
    import types

    import pluggy

    project = "pyhost_bench"
    hookspec = pluggy.HookspecMarker(project)
    hookimpl = pluggy.HookimplMarker(project)

    class Spec:
        @hookspec
        def bench_event(self, obj, data):
            """One event."""

    pm = pluggy.PluginManager(project)
    pm.add_hookspecs(Spec)
    for i in range(k):
        module = types.ModuleType(f"pyhost_bench_impl_{i}")

        def bench_event(obj, data):
            counter[0] += 1
        module.bench_event = hookimpl(bench_event)
        pm.register(module)
    return pm.hook.bench_event


# -- the table ------------------------------------------------------------------------------

def _rows() -> list[Row]:
    def base(k: int) -> dict[str, str]:
        return {"floor": f"floor_{k}", "lock": f"lock_{k}", "pluggy": f"pluggy_{k}",
                "list": f"list_{k}"}

    rows = []
    for k in SUBSCRIBER_COUNTS:
        targets = ()
        if k == 1:
            targets = (Target("<= 1.5x floor", "floor_1", 1.5),
                       Target(">= 3x faster than lock", "lock_1", 1 / 3))
        rows.append(Row(f"c_c_{k}", base(k), targets))
    rows.append(Row("c_c_chat", {"floor": "floor_chat", "lock": "lock_chat"},
                    note="one subscriber with chat_guard's work (strstr over a chat line)"))
    rows.append(Row("py_c_call", base(1),
                    (Target(">= 10x faster than pluggy", "pluggy_1", 1 / 10),)))
    rows.append(Row("py_c_raw", base(1), note="the compiled call alone, what Hook.run wraps"))
    rows.append(Row("py_c_batch", base(1),
                    (Target(">= 50x faster than pluggy", "pluggy_1", 1 / 50),)))
    rows.append(Row("c_py", base(1), (Target(">= 5x faster than pluggy", "pluggy_1", 1 / 5),)))
    rows.append(Row("c_py_bus", base(1), note="the bus's Python subscriber path, without "
                    "the plugin API's layer"))
    rows.append(Row("py_py", base(1)))
    rows.append(Row("threads_1", {"floor": "floor_threads_1", "lock": "lock_threads_1"},
                    note="the thread runner with one thread"))
    rows.append(Row("threads_2", {"floor": "floor_threads_2", "lock": "lock_threads_2"},
                    note="two threads, same hook: aggregate time per event"))
    rows.append(Row("load_100", {}, (Target("< 100 ms", None, 100.0),)))
    return rows


def _fmt_ns(ns: float) -> str:
    if ns != ns:  # nan
        return "-"
    if ns >= 1e6:
        return f"{ns / 1e6:.1f} ms"
    if ns >= 1e4:
        return f"{ns / 1e3:.1f} us"
    if ns >= 100:
        return f"{ns:.0f} ns"
    return f"{ns:.2f} ns"


def _fmt_rate(per_s: float) -> str:
    if per_s != per_s:
        return "-"
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if per_s >= scale:
            return f"{per_s / scale:.2f} {suffix}/s"
    return f"{per_s:.1f} /s"


def _fmt_ratio(r: Optional[float]) -> str:
    """pyhost time / baseline time, in words: "2.1x slower", "12x faster"."""
    if r is None:
        return ""
    if r >= 1:
        return f"{r:.2f}x slower" if r < 10 else f"{r:.1f}x slower"
    s = 1 / r
    return f"{s:.2f}x faster" if s < 10 else f"{s:.1f}x faster" if s < 100 else f"{s:.0f}x faster"


def table(results: Results) -> list[list[str]]:
    """The results table: one line per pyhost figure, then the baselines, as text cells."""
    head = ["figure", "ns/event", "events/s", "vs floor", "vs lock", "vs pluggy", "vs list",
            "target"]
    lines = [head]
    targets = results.target_results()
    for row in results.rows:
        fig = results.figures[row.figure]
        if row.figure == "load_100":
            cells = [fig.label, f"{fig.ns / 1e6:.1f} ms total",
                     f"{fig.ns / 1e3 / LOAD_PLUGINS:.0f} us/plugin", "", "", "", ""]

        else:
            cells = [fig.label, _fmt_ns(fig.ns), _fmt_rate(fig.per_second)]
            for col in COLUMNS:
                key = row.baselines.get(col)
                cells.append(_fmt_ratio(results.ratio(row.figure, key)) if key else "")
        marks = []
        for t in targets:
            if t["row"] == row.figure:
                state = "met" if t["met"] else "MISSED" if t["met"] is False else "n/a"
                marks.append(f"{t['target']}: {state}")
        if row.figure == "threads_2":
            marks.append(_scaling_text(results))
        if row.figure == "load_100" and "ms_elf_check" in results.load:
            marks.append(f"ELF check {results.load['ms_elf_check']:.0f} ms of it, the rest "
                         f"{results.load['ms_without_elf_check']:.0f} ms")
        cells.append("; ".join(marks))
        lines.append(cells)
    dc = results.dcext
    if dc.get("measured"):
        lines.append([".dcext inspect + install", f"{dc['ms_total']:.1f} ms total",
                      f"inspect {dc['ms_inspect']:.1f} ms", "", "", "", "",
                      f"{len(dc['platforms'])} platforms: {', '.join(dc['platforms'])}"])
    else:
        lines.append([".dcext inspect + install", "not measured", "", "", "", "", "",
                      dc.get("reason", "")])
    return lines


def scaling(results: Results) -> dict:
    """Throughput of 2 threads over 1, for the bus and for the baselines."""
    out = {}
    for name in ("threads", "floor_threads", "lock_threads"):
        one, two = results.figures.get(f"{name}_1"), results.figures.get(f"{name}_2")
        out[name] = None if not one or not two or not two.samples else one.ns / two.ns
    return out


def _scaling_text(results: Results) -> str:
    s = scaling(results)
    if s["threads"] is None:
        return ""
    return (f"2 threads = {s['threads']:.2f}x 1-thread throughput "
            f"(floor {s['floor_threads']:.2f}x, lock {s['lock_threads']:.2f}x)")


def baseline_table(results: Results) -> list[list[str]]:
    lines = [["baseline", "subs", "ns/event", "events/s"]]
    for fig in results.figures.values():
        if fig.kind == "baseline":
            lines.append([fig.label, str(fig.subscribers), _fmt_ns(fig.ns),
                          _fmt_rate(fig.per_second)])
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


def report(results: Results) -> str:
    m = results.machine
    mode = " --quick" if results.quick else ""
    parts = [
        f"pyhost bench{mode}: pyhost {__version__}, {m['cpu']}, {m['cores']} cores, "
        f"{m['python']}, {m['platform']}",
        f"median of {results.settings.repetitions} interleaved repetitions "
        f"(~{results.settings.sample_seconds * 1000:.0f} ms per sample); "
        f"load: median of {results.settings.load_repetitions}",
        "",
        markdown(table(results)),
        "",
        "Ratios: pyhost's time per event against the baseline's with the same number of "
        "subscribers, the median of the per-repetition ratios (docs/benchmark.md).",
        f"Work per subscriber: {WORK_C}; {WORK_PY}; {WORK_CHAT}.",
        f"Python subscriber path: {results.python_plugin_api}.",
        "",
        markdown(baseline_table(results)),
        "",
        f"total time {results.elapsed_s:.1f} s",
    ]
    return "\n".join(parts)


def run(quick: bool = False, progress: Optional[Callable[[str], None]] = None,
        settings: Optional[Settings] = None) -> Results:
    """Runs the whole benchmark in this process (``settings`` overrides the mode's)."""
    return Bench(quick=quick, progress=progress, settings=settings).run()


if __name__ == "__main__":
    print(report(run(quick="--quick" in sys.argv[1:],
                     progress=lambda s: print(s, file=sys.stderr))))
