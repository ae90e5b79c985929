"""The Python baselines: pluggy and a plain list, with k implementations doing the Python
work (one counter update each).

- ``pluggy_<k>``: a pluggy HookCaller with k hook implementations, called as
  ``hook(obj=..., data=...)``. Each implementation is registered as a module, pluggy's
  cheapest call (a plain function, no bound method).
- ``list_<k>``: ``for fn in subs: fn(obj, data, common)``.
"""
from __future__ import annotations

import types

from pyhost.bench.c_dispatch import SUBSCRIBER_COUNTS
from pyhost.bench.engine import Check, Context, Group, timed
from pyhost.bench.results import Figure


def python_subscriber(counter: list):
    """A subscriber with the Python work, called as fn(obj, data, common)."""
    def subscriber(obj, data, common):
        counter[0] += 1
    return subscriber


def pluggy_hook(k: int, counter: list):
    """A pluggy HookCaller with k implementations doing the Python work."""
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


def measure(ctx: Context, k: int) -> None:
    """pluggy_<k> and list_<k>, registered in the calling group."""
    tally = [0]
    hook_caller = pluggy_hook(k, tally)

    def pluggy_loop(n: int, call=hook_caller) -> None:
        for _ in range(n):
            call(obj=None, data=None)
    ctx.measure(Figure(f"pluggy_{k}", f"pluggy, {k} impl", "baseline",
                       "Python -> pluggy HookCaller -> Python", k),
                timed(pluggy_loop), Check(lambda: tally[0], k, f"pluggy ({k})"))

    ltally = [0]
    callables = [python_subscriber(ltally) for _ in range(k)]

    def list_loop(n: int, subs=callables) -> None:
        for _ in range(n):
            for fn in subs:
                fn(None, None, None)
    ctx.measure(Figure(f"list_{k}", f"plain list, {k} callable{'s' if k > 1 else ''}",
                       "baseline", "Python loop over a list -> Python", k),
                timed(list_loop), Check(lambda: ltally[0], k, f"plain list ({k})"))


def setup(ctx: Context) -> None:
    # k = 1 is measured with the crossings, beside the rows it is the baseline of.
    for k in SUBSCRIBER_COUNTS[1:]:
        measure(ctx, k)


GROUP = Group("python_baselines", "pluggy and plain-list baselines", setup)
