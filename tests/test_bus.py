"""The hook bus's semantics (docs/abi.md, "Hooks"), through the bridge."""
import logging

import pytest

from pyhost import BREAK, HANDLED, Bus, BusError, EventBatch
from pyhost.abi._ffi import ffi, lib
from pyhost.abi.paths import sample_plugin
from pyhost.abi.trampoline import PYTHON_SUBSCRIBER


@pytest.fixture
def bus():
    with Bus() as b:
        yield b


def recorder(calls, name, result=False):
    def subscriber(obj, data, common):
        calls.append(name)
        return result
    return subscriber


def test_subscribers_run_in_bind_order(bus):
    calls = []
    hook = bus.create_hook("t.order")
    for name in "abcd":
        bus.bind("t.order", recorder(calls, name))
    hook.run()
    assert calls == list("abcd")


def test_result_is_or_of_subscriber_results(bus):
    hook = bus.create_hook("t.or")
    bus.bind("t.or", lambda o, d, c: False)
    assert hook.run() is False
    bus.bind("t.or", lambda o, d, c: True)
    bus.bind("t.or", lambda o, d, c: False)
    assert hook.run() is True


def test_break_stops_dispatch_at_once(bus):
    calls = []
    hook = bus.create_hook("t.break")
    bus.bind("t.break", recorder(calls, "first"))
    bus.bind("t.break", recorder(calls, "stopper", BREAK))
    bus.bind("t.break", recorder(calls, "never", True))
    assert hook.run() is False  # the stopper did not handle it and "never" never ran
    assert calls == ["first", "stopper"]
    calls.clear()
    bus.create_hook("t.break2")
    bus.bind("t.break2", recorder(calls, "stopper", HANDLED | BREAK))
    bus.bind("t.break2", recorder(calls, "never"))
    assert bus.run("t.break2") is True
    assert calls == ["stopper"]


def test_default_procedure_runs_only_without_subscribers(bus):
    calls = []
    hook = bus.create_hook("t.default", default=recorder(calls, "default", True))
    assert hook.run() is True
    assert calls == ["default"]
    sub = bus.bind("t.default", recorder(calls, "subscriber", False))
    assert hook.run() is False
    assert calls == ["default", "subscriber"]
    sub.release()
    assert hook.run() is True
    assert calls[-1] == "default"


def test_create_existing_guid_returns_null(bus):
    bus.create_hook("t.dup")
    with pytest.raises(BusError, match="already exists"):
        bus.create_hook("t.dup")
    assert bus.hooks_table.create_hook(b"t.dup", ffi.NULL) == ffi.NULL


def test_bind_unknown_guid_returns_null(bus):
    with pytest.raises(BusError, match="no such hook"):
        bus.bind("t.unknown", lambda o, d, c: False)
    table = bus.hooks_table
    assert table.bind_hook(b"t.unknown", PYTHON_SUBSCRIBER, ffi.NULL) == ffi.NULL


def test_release_null_returns_zero(bus):
    assert bus.hooks_table.release_hook(ffi.NULL) == 0


def test_release_returns_subscribers_left(bus):
    bus.create_hook("t.count")
    subs = [bus.bind("t.count", lambda o, d, c: False) for _ in range(3)]
    assert bus.hook("t.count").subscribers == 3
    assert [s.release() for s in subs] == [2, 1, 0]
    assert subs[0].release() == 0  # releasing twice is harmless from Python


def test_destroyed_hook_orphans_its_subscriptions(bus):
    calls = []
    hook = bus.create_hook("t.destroy")
    sub = bus.bind("t.destroy", recorder(calls, "a"))
    assert hook.destroy() is True
    assert bus.hook("t.destroy") is None
    with pytest.raises(BusError):
        bus.bind("t.destroy", recorder(calls, "b"))
    assert sub.release() == 0
    bus.create_hook("t.destroy")  # the guid is free again
    assert bus.run("t.destroy") is False
    assert calls == []


def test_subscriber_gets_object_data_and_common(bus):
    seen = []
    hook = bus.create_hook("t.args")
    marker = object()
    bus.bind("t.args", lambda o, d, c: seen.append((o, d, c)), common=marker)
    obj = ffi.new("int*", 7)
    data = ffi.new("char[]", b"hello")
    hook.run(obj, data)
    (o, d, c), = seen
    assert ffi.cast("int*", o)[0] == 7
    assert ffi.string(ffi.cast("char*", d)) == b"hello"
    assert c is marker


def test_subscriber_releasing_itself_during_dispatch(bus):
    calls = []
    hook = bus.create_hook("t.self_release")
    holder = {}

    def once(o, d, c):
        calls.append("once")
        holder["sub"].release()
        return False

    holder["sub"] = bus.bind("t.self_release", once)
    bus.bind("t.self_release", recorder(calls, "after"))
    hook.run()
    hook.run()
    # The releasing event still reaches later subscribers; the released one is gone after.
    assert calls == ["once", "after", "after"]
    assert hook.subscribers == 1


def test_subscriber_binding_another_during_dispatch(bus):
    """Documented: a subscriber bound during a dispatch first sees the next event."""
    calls = []
    hook = bus.create_hook("t.bind_inside")

    def binder(o, d, c):
        calls.append("binder")
        if not any(x == "late" for x in calls) and hook.subscribers == 1:
            bus.bind("t.bind_inside", recorder(calls, "late"))
        return False

    bus.bind("t.bind_inside", binder)
    hook.run()
    assert calls == ["binder"]
    hook.run()
    assert calls == ["binder", "binder", "late"]


def test_raising_subscriber_is_reported_and_not_handled(bus, caplog):
    calls = []
    errors = []
    bus.on_subscriber_error = errors.append
    hook = bus.create_hook("t.raise")

    def broken(o, d, c):
        raise RuntimeError("boom")

    bus.bind("t.raise", broken)
    bus.bind("t.raise", recorder(calls, "next"))
    with caplog.at_level(logging.ERROR, logger="pyhost.bus"):
        assert hook.run() is False
    assert calls == ["next"]
    assert len(errors) == 1 and isinstance(errors[0].exception, RuntimeError)
    assert errors[0].hook == "t.raise" and "boom" in errors[0].traceback
    assert list(bus.subscriber_errors) == errors
    assert any("boom" in r.getMessage() for r in caplog.records)


def test_run_many_fires_a_batch_in_one_call(bus):
    hook = bus.create_hook("t.many")
    seen = []

    def handle_odd(o, d, c):
        value = ffi.cast("int*", d)[0]
        seen.append(value)
        return value % 2 == 1

    bus.bind("t.many", handle_odd)
    values = [ffi.new("int*", i) for i in range(10)]
    batch = EventBatch([(None, v) for v in values])
    assert hook.run_many(batch) == 5
    assert batch.results == [i % 2 == 1 for i in range(10)]
    assert hook.run_many([(None, values[1]), (None, values[2])]) == 1
    assert seen == list(range(10)) + [1, 2]


def test_interface_registry_first_registration_wins(bus):
    first = ffi.new("DCLog*", {"apiVersion": 1})
    second = ffi.new("DCLog*", {"apiVersion": 1})
    handle = bus.register_interface("t.intf", first)
    assert handle is not None
    assert bus.register_interface("t.intf", second) is None
    assert bus.query_interface("t.intf", 1) == ffi.cast("DCInterface*", first)


def test_query_unknown_interface_returns_null(bus):
    assert bus.query_interface("t.nothing", 1) is None
    assert bus.core.query_interface(b"t.nothing", 1) == ffi.NULL


def test_query_newer_version_than_registered_is_refused(bus):
    table = ffi.new("DCLog*", {"apiVersion": 2})
    bus.register_interface("t.versioned", table)
    assert bus.query_interface("t.versioned", 1) is not None
    assert bus.query_interface("t.versioned", 2) is not None
    assert bus.query_interface("t.versioned", 3) is None


def test_release_interface_only_with_providers_handle(bus):
    table = ffi.new("DCLog*", {"apiVersion": 1})
    handle = bus.register_interface("t.owned", table)
    bogus = ffi.new("int*")
    assert bus.release_interface(ffi.cast("void*", bogus)) is False
    assert bus.core.release_interface(ffi.NULL) == 0
    assert bus.release_interface(handle) is True
    assert bus.query_interface("t.owned", 1) is None
    assert bus.release_interface(handle) is False


def test_a_released_interface_handle_stays_dead_when_its_memory_is_reused(bus):
    """The reference's handle is derived from the table: a stale one matches no other
    registration. Registrations of same-sized guids reuse freed memory at once here."""
    tables = [ffi.new("DCLog*", {"apiVersion": 1}) for _ in range(20)]
    stale = bus.register_interface("t.stale.00", tables[0])
    assert bus.release_interface(stale) is True
    for n in range(1, 20):
        handle = bus.register_interface(f"t.stale.{n:02}", tables[n])
        assert handle is not None and handle != stale
        assert bus.core.release_interface(stale) == 0        # refused, every time
        assert bus.query_interface(f"t.stale.{n:02}", 1) is not None
        assert bus.release_interface(handle) is True
    # tokens are not table pointers, and no live subscription shares one
    bus.create_hook("t.stale.hook")
    sub = bus.hooks_table.bind_hook(b"t.stale.hook", PYTHON_SUBSCRIBER, ffi.NULL)
    handle = bus.register_interface("t.stale.last", tables[0])
    assert handle not in (sub, ffi.cast("void*", tables[0]))
    assert bus.core.release_interface(sub) == 0
    assert bus.query_interface("t.stale.last", 1) is not None
    assert bus.hooks_table.release_hook(sub) == 0


def test_hooks_interface_is_registered_and_core_version_is_8(bus):
    assert bus.core.apiVersion == 8
    hooks = bus.core.query_interface(b"generic.plugins.DCHooks", 8)
    assert hooks == ffi.cast("DCInterface*", bus.hooks_table)
    assert bus.hooks_table.apiVersion == 8


def test_has_plugin_and_host_name_come_from_the_host():
    with Bus(host_name="pyhost 9.9") as bus:
        assert ffi.string(bus.core.host_name()) == b"pyhost 9.9"
        assert bus.core.has_plugin(b"{guid}") == 0
        bus.set_plugin_present("{guid}", True)
        assert bus.core.has_plugin(b"{guid}") == 1
        bus.set_plugin_present("{guid}", False)
        assert bus.has_plugin("{guid}") is False


def test_each_bus_has_its_own_tables():
    with Bus() as a, Bus() as b:
        a.create_hook("t.mine")
        assert a.core.query_interface(b"generic.plugins.DCHooks", 8) != \
            b.core.query_interface(b"generic.plugins.DCHooks", 8)
        assert b.hook("t.mine") is None
        assert b.hooks_table.bind_hook(b"t.mine", PYTHON_SUBSCRIBER, ffi.NULL) == ffi.NULL


def test_bus_slots_are_bounded_and_reused():
    buses = [Bus() for _ in range(Bus.MAX_BUSES)]
    try:
        with pytest.raises(BusError, match="at most"):
            Bus()
        buses.pop().close()
        buses.append(Bus())
    finally:
        for b in buses:
            b.close()


def test_run_through_the_abi_table_matches_the_bridge(bus):
    hook = bus.create_hook("t.table")
    bus.bind("t.table", lambda o, d, c: True)
    assert bus.hooks_table.run_hook(hook.handle, ffi.NULL, ffi.NULL) == 1


def _load_sample(bus, name):
    """Opens a sample plugin by hand (the loader issue builds the real thing)."""
    handle = lib.dlopen(str(sample_plugin(name)).encode(), lib.RTLD_NOW | lib.RTLD_LOCAL)
    assert handle != ffi.NULL, ffi.string(lib.dlerror())
    init = ffi.cast("DCPLUGIN_INIT", lib.dlsym(handle, b"pluginInit"))
    meta = ffi.new("MetaData*")
    main = init(meta)
    assert main != ffi.NULL and meta.apiVersion == 8
    assert main(lib.ON_LOAD, bus.core, ffi.NULL) == 1
    return handle, main


def test_c_sample_plugin_subscribes_and_python_fires(bus):
    hook = bus.create_hook("dcpp.chat.onIncomingChat")
    handle, main = _load_sample(bus, "chat_guard")
    try:
        calls = []
        bus.bind("dcpp.chat.onIncomingChat", recorder(calls, "python"))
        assert hook.subscribers == 2
        assert hook.run(None, ffi.new("char[]", b"hello there")) is False
        assert calls == ["python"]
        # The C subscriber handles spam and breaks: the Python one after it never runs.
        assert hook.run(None, ffi.new("char[]", b"buy spam now")) is True
        assert calls == ["python"]
        assert main(lib.ON_UNLOAD, ffi.NULL, ffi.NULL) == 1
        assert hook.subscribers == 1
    finally:
        lib.dlclose(handle)


# -- the dispatch fast paths (issue 7: one subscriber inline, nesting without a counter) ----

def test_nested_dispatch_keeps_the_outer_read_section(bus):
    """A subscriber that fires another hook: the inner dispatch must not end the outer's
    read section, so what the outer still iterates is not freed under it."""
    outer = bus.create_hook("t.outer")
    inner = bus.create_hook("t.inner")
    seen = []
    victim = bus.bind("t.outer", lambda o, d, c: seen.append("victim"))

    def fire_inner(o, d, c):
        inner.run()
        victim.release()  # retires the array the outer dispatch is walking
        seen.append(lib.phn_bus_pending_reclaim(bus.native))

    bus.bind("t.outer", fire_inner)
    bus.bind("t.inner", lambda o, d, c: seen.append("inner"))
    outer.run()
    assert seen == ["victim", "inner", 1]   # still inside the outer dispatch: kept
    assert lib.phn_bus_pending_reclaim(bus.native) == 0  # both sections over: freed


@pytest.mark.parametrize("via_table", [False, True])
def test_one_and_many_subscribers_give_the_same_answers(bus, via_table):
    """One subscriber takes the inlined path, several the loop: same results, same break."""
    def fire(hook):
        if via_table:
            return bus.hooks_table.run_hook(hook.handle, ffi.NULL, ffi.NULL) == 1
        return hook.run()

    for n, (result, expected) in enumerate([(False, False), (True, True), (HANDLED, True),
                                            (BREAK, False), (HANDLED | BREAK, True)]):
        calls = []
        one = bus.create_hook(f"t.one{n}")
        bus.bind(one.guid, recorder(calls, "only", result))
        assert fire(one) is expected
        many = bus.create_hook(f"t.many{n}")
        bus.bind(many.guid, recorder(calls, "first", result))
        bus.bind(many.guid, recorder(calls, "second"))
        assert fire(many) is expected
        assert calls == ["only", "first"] + ([] if result & BREAK else ["second"])


def test_run_takes_none_cdata_and_int_addresses(bus):
    hook = bus.create_hook("t.pointers")
    got = []
    bus.bind("t.pointers", lambda o, d, c: got.append(
        (int(ffi.cast("uintptr_t", o)), int(ffi.cast("uintptr_t", d)))))
    buf = ffi.new("char[]", b"x")
    addr = int(ffi.cast("uintptr_t", buf))
    hook.run()
    hook.run(buf, None)
    hook.run(addr, buf)
    hook.run(None, addr)
    assert got == [(0, 0), (addr, 0), (addr, addr), (0, addr)]
    with pytest.raises(TypeError):
        hook.run("not a pointer")
