"""Python <-> C crossings: Python firing into C, C firing into Python, Python into Python.

- ``py_c_call``: Python fires with :meth:`Hook.run`, one event per call, 1 C subscriber;
  ``py_c_raw``: the same event through cffi's compiled call ``lib.phn_run_hook`` (what
  Hook.run was before the bridge had its own entry point); ``py_c_batch``: a prepared
  :class:`EventBatch` of 1000 events fired with :meth:`Hook.run_many`.
- ``c_py``: the firer plugin fires from C; the subscriber is a Python plugin's ``@hook``
  function (pyhost.plugin), object and data NULL (None); ``c_py_bus``: a callable bound
  with :meth:`Bus.bind` (no plugin API); ``c_py_text``: a ``@hook(data=str)`` subscriber
  receiving a 70-byte chat line as ``str``.
- ``py_py``: Python fires with :meth:`Hook.run` into the ``@hook`` subscriber.

The work per Python subscriber: one counter update, the same as pluggy's implementations
(python_baselines.py). Every burst checks the count.
"""
from __future__ import annotations

import importlib.util

from pyhost.abi._ffi import ffi, lib
from pyhost.abi.bus import EventBatch
from pyhost.bench.c_dispatch import CHAT_LINE, create_hook
from pyhost.bench.engine import Check, Context, Group, timed
from pyhost.bench.native import addr
from pyhost.bench.python_baselines import measure as measure_python_baselines
from pyhost.bench.python_baselines import python_subscriber
from pyhost.bench.results import BenchError, Figure, Row, Target

BATCH_SIZE = 1000
WORK_PY = "Python subscriber: counter[0] += 1 (returns None: not handled)"
PYTHON_PLUGIN_GUID = "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee00be7d}"
BASE_1 = {"floor": "floor_1", "lock": "lock_1", "pluggy": "pluggy_1", "list": "list_1"}
PY_BASE = {"pluggy": "pluggy_1", "list": "list_1"}

# The Python subscribers as a Python plugin: the plugin API's ordinary path (no raw=True).
# Their call counters live here, where the benchmark reads them.
PLUGIN_COUNTERS: dict[str, list[int]] = {}
_PYTHON_PLUGIN = """\
from pyhost.bench import crossings
from pyhost.plugin.plugin import Plugin, hook

plugin = Plugin(guid="{plugin_guid}", name="Bench Python subscriber", version=1.0,
                author="pyhost developers", description="The subscribers of pyhost bench")
counter = crossings.PLUGIN_COUNTERS["{guid}"]
text_counter = crossings.PLUGIN_COUNTERS["{text_guid}"]


@hook("{guid}")
def on_event(obj, data):
    counter[0] += 1


@hook("{text_guid}", data=str)
def on_text(obj, text):
    text_counter[0] += 1
"""


def _have_plugin_api() -> bool:
    try:
        return all(importlib.util.find_spec(m) is not None
                   for m in ("pyhost.plugin.plugin", "pyhost.host.python_loader"))
    except (ImportError, ValueError):
        return False


def _python_to_c(ctx: Context) -> None:
    host = ctx.host
    guid = "pyhost.bench.py_c"
    create_hook(ctx, guid)
    weight = ctx.new("uint64_t*", 1)
    host.bus.bind(guid, ffi.cast("DCHOOK", addr(ctx.firer.subscriber)), addr(weight))
    hook = host.bus.hook(guid)
    run_one = hook.run
    sink = ctx.sink()
    datas = {addr(p): ffi.cast("void*", addr(p)) for p in sink.pointers}

    def py_c_call(n: int) -> None:
        data = datas[addr(sink.next())]
        for _ in range(n):
            run_one(None, data)
    ctx.measure(Figure("py_c_call", "Python -> C, per call", "pyhost",
                       "Python Hook.run -> bus -> C", 1),
                timed(py_c_call), Check(sink.total, 1, "Python -> C"))

    raw_sink = ctx.sink()
    raw_datas = {addr(p): ffi.cast("void*", addr(p)) for p in raw_sink.pointers}

    def py_c_raw(n: int, run=lib.phn_run_hook, handle=hook.handle, null=ffi.NULL) -> None:
        data = raw_datas[addr(raw_sink.next())]
        for _ in range(n):
            run(handle, null, data)
    ctx.measure(Figure("py_c_raw", "Python -> C, cffi compiled call", "pyhost",
                       "Python lib.phn_run_hook (cffi's own call) -> bus -> C", 1),
                timed(py_c_raw), Check(raw_sink.total, 1, "Python -> C (cffi)"))

    batch_sink = ctx.sink()
    batches = {addr(p): ctx.keep(EventBatch([(None, addr(p))] * BATCH_SIZE))
               for p in batch_sink.pointers}
    run_many = hook.run_many

    def py_c_batch(n: int) -> None:
        batch = batches[addr(batch_sink.next())]
        for _ in range(n // BATCH_SIZE):
            run_many(batch)
    ctx.measure(Figure("py_c_batch", f"Python -> C, batched ({BATCH_SIZE})", "pyhost",
                       "Python Hook.run_many(EventBatch) -> bus -> C", 1),
                timed(py_c_batch), Check(batch_sink.total, 1, "Python -> C batched"),
                granularity=BATCH_SIZE)
    ctx.row(Row("py_c_call", BASE_1, (Target(">= 20x faster than pluggy", "pluggy_1",
                                             1 / 20, 17),)))
    ctx.row(Row("py_c_raw", BASE_1, note="cffi's compiled call, for comparison"))
    ctx.row(Row("py_c_batch", BASE_1, (Target(">= 50x faster than pluggy", "pluggy_1",
                                              1 / 50, 7),)))


def _install_plugin(ctx: Context, guid: str, text_guid: str) -> tuple[list, list]:
    PLUGIN_COUNTERS[guid] = [0]
    PLUGIN_COUNTERS[text_guid] = [0]
    path = ctx.tmp / "bench_python_plugin.py"
    path.write_text(_PYTHON_PLUGIN.format(guid=guid, text_guid=text_guid,
                                          plugin_guid=PYTHON_PLUGIN_GUID))
    ctx.host.install(path, kind="python")
    if not ctx.host.is_loaded(PYTHON_PLUGIN_GUID):
        raise BenchError("the bench Python plugin did not load")
    return PLUGIN_COUNTERS[guid], PLUGIN_COUNTERS[text_guid]


def _c_to_python(ctx: Context) -> None:
    host, fire, null = ctx.host, ctx.firer.fire, ctx.bffi.NULL
    guid, text_guid = "pyhost.bench.py1", "pyhost.bench.py_text"
    handle = create_hook(ctx, guid)
    text_handle = create_hook(ctx, text_guid)
    plugin_api = _have_plugin_api()
    if plugin_api:
        counter, text_counter = _install_plugin(ctx, guid, text_guid)
        ctx.note("python_subscriber_api", "pyhost.plugin: a Python plugin's @hook "
                 "subscriber (NULL object/data as None)")
    else:
        counter = [0]
        ctx.keep(host.bus.bind(guid, python_subscriber(counter)))
        ctx.note("python_subscriber_api", "pyhost.bus.Bus.bind (a Python callable)")
    ctx.measure(Figure("c_py", "C -> Python", "pyhost", "C plugin -> bus -> Python", 1),
                timed(lambda n: fire(handle, null, null, n)), Check(lambda: counter[0], 1,
                                                                     "C -> Python"))
    ctx.row(Row("c_py", BASE_1, (Target(">= 12x faster than pluggy", "pluggy_1", 1 / 12, 17),)))
    if plugin_api:
        bus_guid = "pyhost.bench.py1.bus"
        bus_handle = create_hook(ctx, bus_guid)
        bus_counter = [0]
        ctx.keep(host.bus.bind(bus_guid, python_subscriber(bus_counter)))
        ctx.measure(Figure("c_py_bus", "C -> Python (Bus.bind)", "pyhost",
                           "C plugin -> bus -> Python callable (Bus.bind)", 1),
                    timed(lambda n: fire(bus_handle, null, null, n)),
                    Check(lambda: bus_counter[0], 1, "C -> Python (Bus.bind)"))
        ctx.row(Row("c_py_bus", BASE_1, note="the bus's Python subscriber path, without "
                    "the plugin API's layer"))
        messages = ctx.copies("char[]", CHAT_LINE.encode())
        ctx.measure(Figure("c_py_text", "C -> Python, @hook(data=str)", "pyhost",
                           "C plugin -> bus -> Python, a 70-byte chat line as str", 1),
                    timed(lambda n: fire(text_handle, null, messages.next(), n)),
                    Check(lambda: text_counter[0], 1, "C -> Python (str)"))
        ctx.row(Row("c_py_text", PY_BASE, note="the data decoded from UTF-8 for each event"))
    run_py = host.bus.hook(guid).run

    def py_py(n: int) -> None:
        for _ in range(n):
            run_py(None, None)
    ctx.measure(Figure("py_py", "Python -> Python", "pyhost",
                       "Python Hook.run -> bus -> Python", 1),
                timed(py_py), Check(lambda: counter[0], 1, "Python -> Python"))
    ctx.row(Row("py_py", BASE_1))


def setup(ctx: Context) -> None:
    _python_to_c(ctx)
    _c_to_python(ctx)
    measure_python_baselines(ctx, 1)   # pluggy_1 and list_1, sampled beside these rows
    ctx.note("work", {"python": WORK_PY})


GROUP = Group("crossings", "Python <-> C crossings", setup)
