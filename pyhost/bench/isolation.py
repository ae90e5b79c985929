"""Isolated dispatch for ``pyhost bench``: what a hook costs when its subscriber is a plugin
in a runner process (pyhost.host.isolation).

- ``sync``: dcpp.chat.onIncomingChat fired from a C loop (the DCHooks run_hook a plugin
  calls) into Chat guard installed isolated -- one C subscriber doing a ``strstr`` in its own
  process -- each call timed on its own: p50, p99, mean. The object is the hub's HubData
  (its strings travel too) and the data a 40-byte message. Beside it ``in_process``: the
  same with Chat guard in the host's process.
- ``async``: the same hook declared fire-and-forget (IsolationOptions.async_hooks): events
  posted from a C loop, counted until the runner has processed every one: events/s.

Targets (issue 16): p50 of a synchronous hook within 5 us; p99 no more than 10 x the p50.
"""
from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable, Optional

import cffi

from pyhost.abi._ffi import ffi, lib
from pyhost.abi.paths import INSTALL_DIR, sample_plugin
from pyhost.bench.engine import Context, Group
from pyhost.host.host import Host
from pyhost.host.isolation import IsolationOptions

HUB = "adc://hub.example.org:1511"
MESSAGE = b"hello there, nothing to see in this line"
P50_LIMIT_US = 5.0
P99_LIMIT_RATIO = 10.0

_CDEF = """
typedef int Bool;
typedef Bool (*phb_run_fn)(void* hook, void* object, void* data);
uint64_t phb_time_calls(phb_run_fn run, void* hook, void* object, void* data, uint64_t n,
                        uint64_t* ns);
"""


def _bench_library():
    bffi = cffi.FFI()
    bffi.cdef(_CDEF)
    return bffi, bffi.dlopen(str(INSTALL_DIR / "libpyhost_bench.so"))


def _addr(cdata) -> int:
    return int(ffi.cast("uintptr_t", cdata))


class _Target:
    def __init__(self, host: Host):
        self.host = host
        self.hook = host.hooks["dcpp.chat.onIncomingChat"].handle
        self.obj = host.app_services.managed(host.fire.hub(HUB))
        self.data = ffi.new("char[]", MESSAGE)
        self.run = _addr(host.bus.hooks_table.run_hook)


def _time_calls(bffi, blib, target: _Target, n: int) -> list[int]:
    ns = bffi.new("uint64_t[]", n)
    blib.phb_time_calls(bffi.cast("phb_run_fn", target.run), bffi.cast("void*", _addr(target.hook)),
                        bffi.cast("void*", _addr(target.obj)), bffi.cast("void*", _addr(target.data)),
                        n, ns)
    return sorted(bffi.unpack(ns, n))


def _percentiles(samples: list[list[int]]) -> dict:
    """Median over repetitions of each repetition's p50 / p99 / mean."""
    def pick(q: float) -> float:
        return statistics.median(s[min(int(len(s) * q), len(s) - 1)] for s in samples)
    return {"n": sum(len(s) for s in samples), "repetitions": len(samples),
            "p50_ns": pick(0.5), "p99_ns": pick(0.99),
            "mean_ns": statistics.median(statistics.fmean(s) for s in samples)}


def _sync(home: Path, isolated: bool, n: int, repetitions: int, bffi, blib) -> dict:
    with Host(home, timers=False) as host:
        host.install(sample_plugin("chat_guard"), isolated=isolated)
        target = _Target(host)
        _time_calls(bffi, blib, target, min(n, 5000))  # warm up: caches, spin budgets
        return _percentiles([_time_calls(bffi, blib, target, n) for _ in range(repetitions)])


def _async(home: Path, n: int, bffi, blib) -> dict:
    options = IsolationOptions(async_hooks=("dcpp.chat.",))
    with Host(home, timers=False, isolation=options) as host:
        record = host.install(sample_plugin("chat_guard"), isolated=True)
        channel = host._loaded[record.guid].plugin.runner.channel
        target = _Target(host)
        run = bffi.cast("phb_run_fn", target.run)
        args = [bffi.cast("void*", _addr(p)) for p in (target.hook, target.obj, target.data)]
        blib.phb_time_calls(run, *args, min(n, 5000), bffi.NULL)
        lib.phn_iso_drain(channel, 60 * 10**9)
        started = time.perf_counter_ns()
        blib.phb_time_calls(run, *args, n, bffi.NULL)
        if lib.phn_iso_drain(channel, 60 * 10**9) != 0:
            raise RuntimeError("the runner did not process the fire-and-forget events")
        elapsed = time.perf_counter_ns() - started
    return {"n": n, "ns_per_event": elapsed / n, "events_per_s": n / (elapsed / 1e9)}


def measure(quick: bool = False, progress: Optional[Callable[[str], None]] = None,
            sizes: Optional[tuple[int, int, int]] = None) -> dict:
    """The isolation figures (see the module docstring) and their targets, as plain data.
    ``sizes``: (calls per repetition, repetitions, fire-and-forget events), for tests."""
    n, repetitions, n_async = sizes or ((20_000, 3, 50_000) if quick else (100_000, 5, 500_000))
    bffi, blib = _bench_library()
    with tempfile.TemporaryDirectory(prefix="pyhost-bench-iso-") as tmp:
        tmp = Path(tmp)
        if progress:
            progress("isolation: synchronous hook into an isolated C subscriber")
        sync = _sync(tmp / "sync", True, n, repetitions, bffi, blib)
        in_process = _sync(tmp / "inproc", False, n, repetitions, bffi, blib)
        if progress:
            progress("isolation: fire-and-forget hooks")
        fire_and_forget = _async(tmp / "async", n_async, bffi, blib)
    p50_us = sync["p50_ns"] / 1000
    ratio = sync["p99_ns"] / sync["p50_ns"] if sync["p50_ns"] else float("inf")
    return {
        "sync": sync,
        "in_process": in_process,
        "async": fire_and_forget,
        "targets": [
            {"target": f"isolated synchronous hook p50 <= {P50_LIMIT_US:g} us",
             "value": p50_us, "limit": P50_LIMIT_US, "met": p50_us <= P50_LIMIT_US},
            {"target": f"p99 <= {P99_LIMIT_RATIO:g} x p50", "value": ratio,
             "limit": P99_LIMIT_RATIO, "met": ratio <= P99_LIMIT_RATIO},
        ],
    }


def report(figures: dict) -> str:
    """The isolation rows: a markdown table and the targets."""
    s, ip, a = figures["sync"], figures["in_process"], figures["async"]
    lines = [
        "| isolated dispatch (Chat guard, 1 C subscriber) | p50 | p99 | mean |",
        "|---|---|---|---|",
        f"| synchronous hook into the runner | {s['p50_ns'] / 1000:.2f} us | "
        f"{s['p99_ns'] / 1000:.2f} us | {s['mean_ns'] / 1000:.2f} us |",
        f"| the same, plugin in the host's process | {ip['p50_ns']:.0f} ns | "
        f"{ip['p99_ns']:.0f} ns | {ip['mean_ns']:.0f} ns |",
        f"| fire-and-forget hooks into the runner | {a['events_per_s'] / 1e6:.2f} M events/s "
        f"({a['ns_per_event']:.0f} ns each) | | |",
        "",
    ]
    for t in figures["targets"]:
        lines.append(f"target: {t['target']}: {t['value']:.2f} "
                     f"({'met' if t['met'] else 'NOT met'})")
    return "\n".join(lines)


# -- as a group of `pyhost bench` ---------------------------------------------------------

def _measured(ctx: Context) -> dict:
    """The document's `isolation`: measured after the hook benchmark, in hosts of its own."""
    ctx.progress("isolated dispatch: synchronous hooks, fire-and-forget")
    try:
        return {"measured": True, **measure(quick=ctx.quick)}
    except Exception as exc:  # the section says why; the rest of the bench stands
        return {"measured": False, "reason": f"{type(exc).__name__}: {exc}"}


def _lines(doc: dict) -> list[str]:
    figures = doc.get("isolation")
    if not isinstance(figures, dict):
        return []
    if not figures.get("measured"):
        return [f"| isolated dispatch | not measured: {figures.get('reason', '?')} |"]
    return report(figures).splitlines()


GROUP = Group("isolation", "crash isolation", lambda ctx: ctx.after("isolation", _measured),
              _lines)
