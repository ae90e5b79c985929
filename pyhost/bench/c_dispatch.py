"""C -> C dispatch: a C plugin fires a hook with k C subscribers, against three C baselines.

- ``c_c_<k>`` (k = 1, 4, 16, 64): the firer plugin (sample_plugins/bench_firer.c) calls
  ``DCHooks::run_hook`` of its own DCCore in a C loop; no Python on the path.
- ``nosync_<k>``: the same path without synchronisation (native/bench/nosync.c): a C loop
  calls run_hook through a table, run_hook loads the subscriber snapshot and runs the bus's
  own dispatch code (native/dispatch.h). No epoch read section, no atomics. What the bus
  costs over this is the price of its lock-free safety.
- ``floor_<k>``: a bare C loop of indirect calls to the very same subscriber function
  (native/bench/floor.c): what "call k subscribers per event" costs with nothing else.
- ``lock_<k>``: lock-per-dispatch, the reference host's design (native/bench/lock_dispatch.c):
  a pthread mutex per dispatch over a vector of subscriber records, fired through a table.
- ``c_c_chat`` and its baselines: one subscriber doing chat_guard's work.
"""
from __future__ import annotations

from pyhost.abi._ffi import ffi
from pyhost.bench.engine import Check, Context, Group, timed
from pyhost.bench.native import addr
from pyhost.bench.results import BenchError, Figure, Row, Target

SUBSCRIBER_COUNTS = (1, 4, 16, 64)
WORK_C = ("C subscriber: *(uint64_t*)data += *(const uint64_t*)common; return False "
          "(every subscriber runs for every event)")
WORK_CHAT = ("chat filter row: strstr(data, \"spam\") over a 70-byte chat line that ends "
             "with it; handled + break")
# The chat filter row's event: a hub chat line with the banned word at its very end, so the
# subscriber reads all of it and handles every event (the count the check verifies).
CHAT_LINE = "<Hubbot> welcome back everyone, the share check runs at nine, no spam"

NOSYNC_PATH = "C loop -> table -> snapshot -> C, no epoch, no atomics"
LOCK_PATH = "C loop -> mutex + vector -> C"
FLOOR_PATH = "C loop of indirect calls"


def create_hook(ctx: Context, guid: str):
    """A hook created by the firer plugin through its own DCHooks."""
    handle = ctx.firer.create(guid.encode())
    if handle == ctx.bffi.NULL:
        raise BenchError(f"the bench plugin could not create hook {guid}")
    return handle


def nosync_hook(ctx: Context, procs_commons: list) -> object:
    blib = ctx.blib
    hook = blib.phb_nosync_hook_new(ctx.bffi.NULL)
    if hook == ctx.bffi.NULL:
        raise BenchError("could not create the no-sync hook")
    ctx.on_close(lambda: blib.phb_nosync_hook_free(hook))
    for proc, common in procs_commons:
        if blib.phb_nosync_bind(hook, proc, common) != 0:
            raise BenchError("could not bind to the no-sync hook")
    return hook


def lock_hook(ctx: Context, procs_commons: list) -> object:
    blib = ctx.blib
    hook = blib.phb_lock_hook_new(ctx.bffi.NULL)
    if hook == ctx.bffi.NULL:
        raise BenchError("could not create the lock-per-dispatch hook")
    ctx.on_close(lambda: blib.phb_lock_hook_free(hook))
    for proc, common in procs_commons:
        if blib.phb_lock_bind(hook, proc, common) != 0:
            raise BenchError("could not bind to the lock-per-dispatch hook")
    return hook


def _four_paths(ctx: Context, key: str, label: str, k: int, bus_hook, procs_commons,
                data=None) -> None:
    """The bus, nosync, floor and lock figures of one row, measured one after the other.

    Each path fires into its own sink (k calls per event are checked), or, with ``data``
    (the event's bytes), fires its own copies of it, one per burst, and counts the handled
    events (1 per event is checked)."""
    blib, fire, null = ctx.blib, ctx.firer.fire, ctx.bffi.NULL
    nosync = nosync_hook(ctx, procs_commons)
    lock = lock_hook(ctx, procs_commons)
    procs = ctx.new("DCHOOK[]", [p for p, _ in procs_commons])
    commons = ctx.new("void*[]", [c for _, c in procs_commons])
    suffix = label.split(", ", 1)[1]
    paths = [
        (f"c_c_{key}", label, "pyhost", "C plugin -> bus -> C",
         lambda n, d: fire(bus_hook, null, d, n)),
        (f"nosync_{key}", f"bus path without sync, {suffix}", "baseline", NOSYNC_PATH,
         lambda n, d: blib.phb_nosync_fire(nosync, null, d, n)),
        (f"floor_{key}", f"floor, {suffix}", "baseline", FLOOR_PATH,
         lambda n, d: blib.phb_floor(procs, commons, k, null, d, n)),
        (f"lock_{key}", f"lock-per-dispatch, {suffix}", "baseline", LOCK_PATH,
         lambda n, d: blib.phb_lock_fire(lock, null, d, n)),
    ]
    for fkey, flabel, kind, path, fire_at in paths:
        if data is None:
            sink = ctx.sink()
            run = timed(lambda n, f=fire_at, s=sink: f(n, s.next()))
            check = Check(sink.total, k, flabel)
        else:
            handled = [0]

            copies = ctx.copies("char[]", data)

            def counted(n, f=fire_at, h=handled, copies=copies):
                h[0] += f(n, copies.next())
            run = timed(counted)
            check = Check(lambda h=handled: h[0], 1, flabel)
        ctx.measure(Figure(fkey, flabel, kind, path, k), run, check)


def setup(ctx: Context) -> None:
    bffi, host, firer = ctx.bffi, ctx.host, ctx.firer
    subscriber = firer.subscriber
    weights = ctx.new("uint64_t[]", [1] * max(SUBSCRIBER_COUNTS))   # read-only, shared
    weight_ptrs = [bffi.addressof(weights, j) for j in range(max(SUBSCRIBER_COUNTS))]
    bus_subscriber = ffi.cast("DCHOOK", addr(subscriber))
    for k in SUBSCRIBER_COUNTS:
        guid = f"pyhost.bench.c{k}"
        handle = create_hook(ctx, guid)
        for j in range(k):
            host.bus.bind(guid, bus_subscriber, addr(weight_ptrs[j]))
        _four_paths(ctx, str(k), f"C -> C, {k} sub", k, handle,
                    [(subscriber, weight_ptrs[j]) for j in range(k)])
        targets = (Target("<= 1.15x the bus path without sync", f"nosync_{k}", 1.15, 17),
                   Target("never slower than lock-per-dispatch", f"lock_{k}", 1.0, 17))
        if k == 1:
            targets += (Target("<= 1.5x floor", "floor_1", 1.5, 7),
                        Target(">= 3x faster than lock", "lock_1", 1 / 3, 7))
        ctx.row(Row(f"c_c_{k}", {"floor": f"floor_{k}", "nosync": f"nosync_{k}",
                                 "lock": f"lock_{k}", "pluggy": f"pluggy_{k}",
                                 "list": f"list_{k}"}, targets))

    # One subscriber doing a chat filter's work (chat_guard's strstr over a chat line): the
    # same comparison with a subscriber that does something.
    chat_guid = "pyhost.bench.chat"
    chat_hook = create_hook(ctx, chat_guid)
    banned = ctx.new("char[]", b"spam")
    chat = firer.chat_subscriber
    host.bus.bind(chat_guid, ffi.cast("DCHOOK", addr(chat)), addr(banned))
    _four_paths(ctx, "chat", "C -> C, 1 sub, chat filter", 1, chat_hook, [(chat, banned)],
                data=CHAT_LINE.encode())
    ctx.row(Row("c_c_chat", {"floor": "floor_chat", "nosync": "nosync_chat",
                             "lock": "lock_chat"},
                note="one subscriber with chat_guard's work (strstr over a chat line)"))
    ctx.note("work", {"c": WORK_C, "chat": WORK_CHAT})


GROUP = Group("c_dispatch", "C -> C dispatch", setup)
