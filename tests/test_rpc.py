"""Exported methods and plugin events through pyhost.rpc.DCRpc, on the host (no server):
the compiled sample rpc_demo and Python plugins written here, calls, failures, time-outs,
concurrent calls, the hook bus next to a slow method, and unloading while a call runs."""
from __future__ import annotations

import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from pyhost.abi import rpc as spec
from pyhost.host.host import Host
from pyhost.host.loader import PluginError
from pyhost.host.services.rpc import (CallError, PluginEvent, RpcMethodAdded,
                                      RpcMethodRemoved)
from pyhost.host.services.rpc_workers import DaemonPool

C_GUID = "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee0000c1}"
PY_GUID = "{7a3f0d52-rpc0-4e2b-8d1c-0000000000a1}"


def write_plugin(tmp_path, body: str, name: str = "calc.py", guid: str = PY_GUID,
                 plugin_name: str = "Calc") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(f'''
        import threading, time
        from pyhost.plugin import (ADMIN, NONE, NORMAL, READONLY, Plugin, RpcError,
                                   export)
        plugin = Plugin(guid="{guid}", name="{plugin_name}", version=1.0,
                        settings={{"factor": 2}})
    ''') + textwrap.dedent(body))
    return str(path)


CALC = '''
    gate = threading.Event()

    @export
    def add(a, b):
        "Adds two numbers."
        plugin.emit("added", {"sum": a + b})
        return a + b

    @export(level=READONLY)
    def scaled(x, factor=None):
        return x * (factor or plugin.settings["factor"])

    @export(level=ADMIN, name="reset_all")
    def reset():
        return None

    @export(level=NONE)
    def ping():
        return "pong"

    @export
    def refuse(x):
        raise RpcError(f"{x} is not acceptable")

    @export
    def crash():
        raise ZeroDivisionError("division by zero in the plugin")

    @export
    def not_json():
        return {1, 2}

    @export
    def wait():
        gate.wait(30)
        return "released"

    @export
    def nap(seconds):
        time.sleep(seconds)
        return seconds

    @export
    def emit_bad():
        return [plugin.emit("bad name!", 1), plugin.emit("fine", {"x": 1})]
'''


def events_of(host, cls):
    return [e for e in host.events.poll() if isinstance(e, cls)]


def method(host, name):
    found = host.rpc.lookup(name)
    assert found is not None, name
    return found


# -- the compiled plugin --------------------------------------------------------------------------

def test_c_plugin_exports_methods_that_appear_at_load_and_go_at_unload(host, sample):
    record = host.install(sample("rpc_demo"))
    added = events_of(host, RpcMethodAdded)
    assert {e.method for e in added} == {"rpc_demo.add", "rpc_demo.echo", "rpc_demo.count",
                                        "rpc_demo.reset", "rpc_demo.sleep", "rpc_demo.fail"}
    listed = {m.name: m.to_dict() for m in host.rpc.methods()}
    assert listed["rpc_demo.add"]["level"] == spec.NORMAL
    assert listed["rpc_demo.count"]["level_name"] == "NONE"
    assert listed["rpc_demo.reset"]["level_name"] == "ADMIN"
    assert listed["rpc_demo.echo"]["description"] == "Returns its arguments"
    assert listed["rpc_demo.add"]["plugin"] == C_GUID
    assert listed["rpc_demo.add"]["plugin_name"] == "RPC demo"

    host.disable(record.guid)
    assert host.rpc.methods() == []
    assert {e.method for e in events_of(host, RpcMethodRemoved)} == set(listed)
    host.enable(record.guid)
    assert len(host.rpc.methods()) == 6


def test_c_plugin_calls_results_failures_and_events(host, sample):
    host.install(sample("rpc_demo"))
    host.events.poll()
    assert host.rpc.call(method(host, "rpc_demo.add"), [2, 40]) == 42
    assert host.rpc.call(method(host, "rpc_demo.echo"), {"a": ["é", 1.5, None]}) == \
        {"a": ["é", 1.5, None]}
    assert host.rpc.call(method(host, "rpc_demo.reset")) is None       # NULL result: null
    host.fire.incoming_chat("adc://hub.example:1511", "hello")
    assert host.rpc.call(method(host, "rpc_demo.count")) == {"chat": 1, "calls": 0}
    with pytest.raises(CallError) as failed:                            # a literal, release NULL
        host.rpc.call(method(host, "rpc_demo.fail"))
    assert (failed.value.kind, failed.value.message) == ("failed", "rpc_demo failed on purpose")
    with pytest.raises(CallError) as bad:                               # malloc'ed message
        host.rpc.call(method(host, "rpc_demo.add"), ["two", 3])
    assert bad.value.kind == "failed" and "two integers" in bad.value.message
    emitted = [(e.guid, e.name, e.event, e.data) for e in events_of(host, PluginEvent)]
    assert emitted == [(C_GUID, "RPC demo", "added", {"a": 2, "b": 40, "sum": 42}),
                       (C_GUID, "RPC demo", "chat_seen", {"count": 1})]


def test_arguments_must_be_an_array_or_object_of_json(host, sample):
    host.install(sample("rpc_demo"))
    for params in ("2", 3, {"a": {1, 2}}):
        with pytest.raises(CallError) as refused:
            host.rpc.call(method(host, "rpc_demo.echo"), params)
        assert refused.value.kind == "bad_params"


# -- Python plugins ----------------------------------------------------------------------------------

def test_python_plugin_exports_through_the_abi(host, tmp_path):
    host.install(write_plugin(tmp_path, CALC), kind="python")
    names = {m.name: m for m in host.rpc.methods()}
    assert set(names) == {f"calc.{n}" for n in ("add", "scaled", "reset_all", "ping",
                                                 "refuse", "crash", "not_json", "wait",
                                                 "nap", "emit_bad")}
    assert names["calc.add"].description == "Adds two numbers."
    assert (names["calc.scaled"].level, names["calc.reset_all"].level,
            names["calc.ping"].level) == (spec.READONLY, spec.ADMIN, spec.NONE)
    host.events.poll()
    assert host.rpc.call(names["calc.add"], [2, 3]) == 5
    assert host.rpc.call(names["calc.add"], {"b": 1, "a": 2}) == 3
    assert host.rpc.call(names["calc.scaled"], [21]) == 42          # reads its settings
    assert host.rpc.call(names["calc.scaled"], {"x": 2, "factor": 5}) == 10
    assert host.rpc.call(names["calc.ping"]) == "pong"
    assert host.rpc.call(names["calc.emit_bad"]) == [False, True]
    assert [(e.event, e.data) for e in events_of(host, PluginEvent)] == \
        [("added", {"sum": 5}), ("added", {"sum": 3}), ("fine", {"x": 1})]


def test_python_method_failures_are_clean_errors(host, tmp_path):
    host.install(write_plugin(tmp_path, CALC), kind="python")
    host.events.poll()
    cases = [("calc.refuse", [7], "7 is not acceptable"),
             ("calc.crash", [], "ZeroDivisionError: division by zero in the plugin"),
             ("calc.not_json", [], "TypeError: Object of type set is not JSON serializable"),
             ("calc.add", [1], "Invalid arguments for add: missing a required argument: 'b'."),
             ("calc.add", {"a": 1, "c": 2}, "Invalid arguments for add")]
    for name, params, message in cases:
        with pytest.raises(CallError) as failed:
            host.rpc.call(method(host, name), params)
        assert failed.value.kind == "failed"
        assert failed.value.message.startswith(message), failed.value.message
    # Only the plugin's own bugs are reported, with their traceback; RpcError and bad
    # arguments are answers, not errors.
    reported = [e for e in host.events.poll() if e.kind == "subscriber_exception"]
    assert [(e.plugin, e.subscriber) for e in reported] == \
        [("Calc", "exported method crash"), ("Calc", "exported method not_json")]
    assert "ZeroDivisionError" in reported[0].traceback
    assert host.rpc.call(method(host, "calc.add"), [1, 1]) == 2  # still serving


def test_export_declarations_are_checked(tmp_path):
    from pyhost.plugin import PluginDeclarationError, export
    with pytest.raises(PluginDeclarationError, match="level"):
        export(level=11)
    with pytest.raises(PluginDeclarationError, match="level"):
        export(level=True)
    with pytest.raises(PluginDeclarationError, match="method name"):
        export(name="no-dashes")(lambda: 1)


def test_emit_needs_json_data(host, tmp_path):
    host.install(write_plugin(tmp_path, '''
        @export
        def bad():
            try:
                plugin.emit("x", object())
            except ValueError as exc:
                return str(exc)
    '''), kind="python")
    assert "not JSON-compatible" in host.rpc.call(method(host, "calc.bad"))


def test_plugins_load_in_a_host_without_dcrpc(home, tmp_path, sample, monkeypatch):
    """Hosts of the ABI other than pyhost answer NULL for pyhost.rpc.DCRpc: the compiled
    sample and a Python plugin with exports load anyway, exporting nothing."""
    with Host(home, timers=False) as host:
        monkeypatch.setattr(host.rpc, "own_tables", lambda guid, name: {})
        host.install(sample("rpc_demo"))
        host.install(write_plugin(tmp_path, CALC), kind="python")
        assert host.loaded() == [C_GUID, PY_GUID]
        assert host.rpc.methods() == []
        host.fire.incoming_chat("adc://hub.example:1511", "still counts chat")


def test_a_namespace_belongs_to_one_plugin(host, tmp_path):
    host.install(write_plugin(tmp_path, CALC), kind="python")
    other = write_plugin(tmp_path, CALC, name="calc2.py",
                         guid="{7a3f0d52-rpc0-4e2b-8d1c-0000000000a2}")
    host.events.poll()
    reason = "Calc cannot load: the host refused to export 'add' (the host's log says why)."
    with pytest.raises(PluginError) as refused:
        host.install(other, kind="python")
    assert str(refused.value) == reason
    assert [e.reason for e in host.events.poll() if e.kind == "plugin_failed"] == [reason]
    assert {m.plugin_name for m in host.rpc.methods()} == {"Calc"}
    assert host.loaded() == [PY_GUID]
    reserved = write_plugin(tmp_path, CALC, name="rpc.py", plugin_name="RPC",
                            guid="{7a3f0d52-rpc0-4e2b-8d1c-0000000000a3}")
    with pytest.raises(PluginError, match="refused to export"):
        host.install(reserved, kind="python")
    assert [m.name for m in host.rpc.methods() if m.namespace == "rpc"] == []


# -- time budget, concurrency, the hook bus ---------------------------------------------------------

def test_a_slow_call_times_out_for_its_caller_only(host, sample):
    host.install(sample("rpc_demo"))
    slow = host.rpc.submit(method(host, "rpc_demo.sleep"), [1500])
    with pytest.raises(CallError) as late:
        host.rpc.call(method(host, "rpc_demo.sleep"), [3000], timeout=0.2)
    assert late.value.kind == "timeout"
    assert "did not answer within 0.2 s" in late.value.message
    # Meanwhile other calls and the hook bus go on.
    assert host.rpc.call(method(host, "rpc_demo.add"), [1, 2], timeout=5) == 3
    assert host.fire.incoming_chat("adc://hub.example:1511", "bus still runs") is False
    assert not slow.done()
    assert slow.result(10) == 1500


def test_concurrent_callers_get_their_own_results(host, sample, tmp_path):
    host.install(sample("rpc_demo"))
    host.install(write_plugin(tmp_path, CALC), kind="python")
    add_c, add_py = method(host, "rpc_demo.add"), method(host, "calc.add")

    def one(i):
        target = add_c if i % 2 else add_py
        return host.rpc.call(target, [i, 1000], timeout=30)

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(one, range(400)))
    assert results == [i + 1000 for i in range(400)]
    assert host.rpc.call(method(host, "rpc_demo.count")) == {"chat": 0, "calls": 200}


def test_hooks_fire_while_methods_hang(host, tmp_path):
    host.install(write_plugin(tmp_path, CALC), kind="python")
    waiting = [host.rpc.submit(method(host, "calc.wait")) for _ in range(3)]
    for _ in range(50):
        host.fire.incoming_chat("adc://hub.example:1511", "chat while methods wait")
    host.tick()
    assert not any(f.done() for f in waiting)
    _module_of(host, PY_GUID).gate.set()
    assert [f.result(10) for f in waiting] == ["released"] * 3


def _module_of(host, guid):
    """The module of a loaded Python plugin (its threading.Event gate)."""
    import sys
    return sys.modules[host._loaded[guid].plugin._modules[0]]


def test_queued_calls_beyond_the_workers_wait_their_turn():
    pool = DaemonPool(2, "test-pool")
    gate = threading.Event()
    busy = [pool.submit(gate.wait, 10) for _ in range(2)]
    queued = pool.submit(lambda: "ran")
    time.sleep(0.1)
    assert not queued.done() and pool.busy == 2
    gate.set()
    assert queued.result(10) == "ran" and all(f.result(10) for f in busy)
    cancelled = pool.submit(gate.wait, 10)
    pool.close()
    assert cancelled.cancelled() or cancelled.result(10)


# -- unloading while a call runs ------------------------------------------------------------------

def test_disable_waits_for_a_running_c_call(host, sample):
    record = host.install(sample("rpc_demo"))
    running = host.rpc.submit(method(host, "rpc_demo.sleep"), [800])
    time.sleep(0.1)
    host.disable(record.guid)                 # waits for the call, then ON_UNLOAD, dlclose
    assert running.done() and running.result() == 800
    assert not host.is_loaded(record.guid) and host._mapped_until_exit == []
    later = host.rpc.lookup("rpc_demo.sleep")
    assert later is None


def test_a_call_longer_than_the_grace_keeps_the_library_mapped(host, sample):
    record = host.install(sample("rpc_demo"))
    host.rpc.unload_grace = 0.2
    sleeper = method(host, "rpc_demo.sleep")
    running = host.rpc.submit(sleeper, [1500])
    time.sleep(0.1)
    started = time.monotonic()
    host.disable(record.guid)
    assert time.monotonic() - started < 1.2   # did not wait for the whole call
    assert not host.is_loaded(record.guid)
    assert [e.plugin.meta.guid for e in host._mapped_until_exit] == [record.guid]
    assert running.result(10) == 1500         # the code it runs was not unmapped
    with pytest.raises(CallError) as gone:     # no new call reaches it
        host.rpc.invoke(sleeper, "[1]")
    assert gone.value.kind == "not_found"
    host.enable(record.guid)                  # loads again beside the kept mapping
    assert host.rpc.call(method(host, "rpc_demo.add"), [1, 1]) == 2


def test_unloading_a_python_plugin_during_a_hanging_call(host, tmp_path):
    record = host.install(write_plugin(tmp_path, CALC), kind="python")
    host.rpc.unload_grace = 0.2
    module = _module_of(host, PY_GUID)
    running = host.rpc.submit(method(host, "calc.wait"))
    time.sleep(0.1)
    host.disable(record.guid)
    assert host.rpc.methods() == []
    module.gate.set()
    assert running.result(10) == "released"
    host.enable(record.guid)
    assert host.rpc.call(method(host, "calc.add"), [2, 2]) == 4


def test_shutdown_with_a_call_still_running(home, sample):
    host = Host(home, timers=False)
    host.start()
    host.install(sample("rpc_demo"))
    host.rpc.unload_grace = 0.1
    running = host.rpc.submit(method(host, "rpc_demo.sleep"), [700])
    time.sleep(0.1)
    host.shutdown()                            # the library stays mapped under the call
    assert running.result(10) == 700


def test_emit_refuses_bad_names_bad_json_and_big_data(host):
    """The table's emit, as a C plugin calls it."""
    table = host.rpc.table_for("{emit-test}", "Emit test").table
    host.events.poll()
    assert table.emit(b"ok.name:1-2_x", b'{"fine": [1, 2]}') == 1
    assert table.emit(b"null-data", host_ffi().NULL) == 1
    assert table.emit(b"bad name", b"1") == 0
    assert table.emit(b"x" * 101, b"1") == 0
    assert table.emit(b"bad-json", b"{not json") == 0
    assert table.emit(b"too-big", b'"' + b"x" * (64 * 1024) + b'"') == 0
    assert [(e.event, e.data) for e in events_of(host, PluginEvent)] == \
        [("ok.name:1-2_x", {"fine": [1, 2]}), ("null-data", None)]
    assert host.rpc.withdraw("{emit-test}") is False
    assert table.emit(b"after", b"1") == 0             # unloaded: nothing more


def host_ffi():
    from pyhost.abi._ffi import ffi
    return ffi
