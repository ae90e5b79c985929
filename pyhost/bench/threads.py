"""Several threads firing: one and two native threads run the firer plugin's loop on the
same hook (1 C subscriber), through the same thread runner (native/bench/threads.c), with
the floor and the lock-per-dispatch baseline run the same way.

``threads_2`` is the aggregate time per event of two threads; ``thread_scaling`` in the
document is each path's 2-thread throughput over its 1-thread throughput (the floor shows
what two threads can gain on the machine at that moment).
"""
from __future__ import annotations

from pyhost.abi._ffi import ffi
from pyhost.bench.c_dispatch import create_hook, lock_hook
from pyhost.bench.engine import Check, Context, Group
from pyhost.bench.native import addr
from pyhost.bench.results import BenchError, Figure, Results, Row

NAMES = ("threads", "floor_threads", "lock_threads")


def scaling(results: Results) -> dict:
    """Throughput of 2 threads over 1, for the bus and for the baselines."""
    out = {}
    for name in NAMES:
        one, two = results.figures.get(f"{name}_1"), results.figures.get(f"{name}_2")
        out[name] = None if not one or not two or not two.samples else one.ns / two.ns
    return out


def _runner(ctx: Context, fire_fn, hook, sinks, threads: int):
    blib, null = ctx.blib, ctx.bffi.NULL
    datas = ctx.new("void*[]", threads)

    def run(n: int) -> int:
        for t, sink in enumerate(sinks):    # each thread its own event data
            datas[t] = sink.next()
        elapsed = blib.phb_run_threads(fire_fn, hook, null, datas, n // threads, threads, null)
        if elapsed == 0:
            raise BenchError(f"could not start {threads} threads")
        return elapsed
    return run


def setup(ctx: Context) -> None:
    bffi, blib, firer = ctx.bffi, ctx.blib, ctx.firer
    subscriber = firer.subscriber
    weight = ctx.new("uint64_t*", 1)
    guid = "pyhost.bench.threads"
    handle = create_hook(ctx, guid)
    ctx.host.bus.bind(guid, ffi.cast("DCHOOK", addr(subscriber)), addr(weight))
    lock = lock_hook(ctx, [(subscriber, weight)])
    floor_set = ctx.new("phb_floor_set*")
    floor_set.procs = ctx.new("DCHOOK[]", [subscriber])
    floor_set.commons = ctx.new("void*[]", [weight])
    floor_set.k = 1
    paths = (("threads", ctx.keep(bffi.cast("phb_fire_fn", firer.fire)), handle, "pyhost",
              "C -> C, 1 sub", "native threads -> bus -> C"),
             ("lock_threads", ctx.keep(bffi.cast("phb_fire_fn", blib.phb_lock_fire)), lock,
              "baseline", "lock-per-dispatch, 1 sub", "native threads -> lock-per-dispatch -> C"),
             ("floor_threads", ctx.keep(bffi.cast("phb_fire_fn", blib.phb_floor_fire)),
              floor_set, "baseline", "floor, 1 sub", "native threads -> floor -> C"))
    for threads in (1, 2):
        for name, fire_fn, hook, kind, what, path in paths:
            sinks = [ctx.sink() for _ in range(threads)]
            text = f"{what}, {threads} thread{'s' if threads > 1 else ''}"
            ctx.measure(Figure(f"{name}_{threads}", text, kind, path, 1),
                        _runner(ctx, fire_fn, hook, sinks, threads),
                        Check(lambda ss=sinks: sum(s.total() for s in ss), 1, text),
                        granularity=threads,
                        # Starting and waking threads costs up to milliseconds on a busy
                        # machine: every burst is long enough to make that noise.
                        min_n=threads * int(ctx.settings.sample_seconds * 2e7 /
                                            ctx.settings.bursts))
    ctx.row(Row("threads_1", {"floor": "floor_threads_1", "lock": "lock_threads_1"},
                note="the thread runner with one thread"))
    ctx.row(Row("threads_2", {"floor": "floor_threads_2", "lock": "lock_threads_2"},
                note="two threads, same hook: aggregate time per event"))
    ctx.derive("thread_scaling", scaling)


GROUP = Group("threads", "native threads firing", setup)
