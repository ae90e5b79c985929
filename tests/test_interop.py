"""The interop matrix: C and Python plugins firing, binding, providing and depending on each
other, with the real samples (sample_plugins/interop*.c, sample_plugins/python/interop_py/).

Subscribers of sample.interop.onPing, in bind order: the C owner's own (C1), interop_py's
(Py), interop_c_user's (C2). The owner fires it on chat "!ping TEXT" and records the result
and StringData.out as the host of that event.
"""
import gc
import threading
from pathlib import Path

import pytest

from pyhost.abi._ffi import ffi
from pyhost.host.events import Category
from pyhost.host.loader import PluginError

ROOT = Path(__file__).resolve().parents[1]
INTEROP_PY = ROOT / "sample_plugins" / "python" / "interop_py"

# Every test here runs with the C plugins in the host's process and again isolated (each
# in its own runner: C -> Python -> C across three processes).
pytestmark = pytest.mark.usefixtures("isolation")

OWNER = "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000504}"
PY = "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000503}"
USER = "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000505}"


def chat(host, text: str) -> bool:
    return host.hooks["dcpp.chat.onIncomingChat"].run(None, ffi.new("char[]", text.encode()))


def setting(host, guid, key):
    stored = host.registry.get_setting(guid, key)
    return None if stored is None else stored[1]


def python_plugin(host):
    """The pyhost.plugin.Plugin object of the loaded interop_py."""
    return host._loaded[PY].plugin.plugin


@pytest.fixture
def trio(host, sample):
    host.install(sample("interop_c_owner"))
    host.install(INTEROP_PY, kind="python")
    host.install(sample("interop_c_user"))
    assert host.loaded() == [OWNER, PY, USER]
    host.events.poll()
    return host


def ping(host, text):
    chat(host, f"!ping {text}")
    return {
        "handled": setting(host, OWNER, "ping_handled"),
        "out": setting(host, OWNER, "ping_out"),
        "c1": setting(host, OWNER, "c_calls"),
        "py": setting(host, PY, "py_calls"),
        "c2": setting(host, USER, "tail_calls"),
    }


# -- hooks across the boundary ---------------------------------------------------------------

def test_c_fires_python_subscriber_and_c_creates_python_binds(trio):
    first = ping(trio, "hello")
    assert first == {"handled": False, "out": "(null)", "c1": 1, "py": 1, "c2": 1}
    assert ping(trio, "again")["py"] == 2


def test_python_fires_c_subscriber_and_python_creates_c_binds(trio):
    assert chat(trio, "!greet ada") is True
    assert setting(trio, USER, "greetings") == 1
    assert setting(trio, USER, "last_greeting") == "ada"
    assert setting(trio, PY, "greet_handled") is False
    # the hook is the Python plugin's: it shows among its created hooks, C is subscribed
    hook = python_plugin(trio).hooks["sample.python.onGreeting"]
    assert trio.bus.hook("sample.python.onGreeting").subscribers == 1
    assert hook.run(None, "direct") is False and setting(trio, USER, "last_greeting") == "direct"


def test_c_subscriber_result_reaches_the_python_firer(trio):
    chat(trio, "!greet handle")
    assert setting(trio, PY, "greet_handled") is True
    chat(trio, "!greet stop")  # break without handled: not handled
    assert setting(trio, PY, "greet_handled") is False


def test_c_break_stops_before_the_python_subscriber(trio):
    result = ping(trio, "c-break")
    assert result == {"handled": True, "out": "(null)", "c1": 1, "py": None, "c2": None}


def test_python_break_stops_before_the_next_c_subscriber(trio):
    result = ping(trio, "py-break")
    assert result["handled"] is True and result["c1"] == 1 and result["py"] == 1
    assert result["c2"] is None


def test_python_handled_without_break_lets_c_run_and_or_s_the_result(trio):
    assert ping(trio, "shout x")["handled"] is True      # Py handled
    result = ping(trio, "tail-handles")                   # only C2 handled
    assert result["handled"] is True and result["c2"] == 2
    assert ping(trio, "nobody")["handled"] is False


def test_python_subscriber_sets_string_data_out_for_the_c_host(trio):
    result = ping(trio, "shout hello world")
    assert result["out"] == "HELLO WORLD" and result["handled"] is True
    sub = next(s for s in python_plugin(trio).subscriptions if s.guid == "sample.interop.onPing")
    assert len(sub._outs) == 1  # one string alive: the last one this thread set
    ping(trio, "shout again")
    assert setting(trio, OWNER, "ping_out") == "AGAIN" and len(sub._outs) == 1


# -- interfaces across the boundary ----------------------------------------------------------

def test_python_registers_an_interface_c_queries_and_calls_it(trio):
    assert setting(trio, USER, "sum") == 42
    assert setting(trio, USER, "described") == "7 is odd"
    (calculator,) = python_plugin(trio)._provided
    assert calculator.calls == 2  # add and describe, called from C
    assert trio.bus.query_interface("sample.python.Calculator", 1) is not None
    assert trio.bus.query_interface("sample.python.Calculator", 2) is None


def test_c_registers_an_interface_python_calls_it(trio):
    assert setting(trio, PY, "product") == 42
    assert setting(trio, PY, "cmath_name") == "C math"


def test_python_interface_is_released_at_unload(trio):
    trio.disable(USER)
    trio.disable(PY)
    assert trio.bus.query_interface("sample.python.Calculator", 1) is None
    assert trio.bus.hook("sample.python.onGreeting") is None
    trio.enable(PY)
    assert trio.bus.query_interface("sample.python.Calculator", 1) is not None


# -- dependencies both ways -----------------------------------------------------------------

def test_python_plugin_depending_on_a_missing_c_plugin_is_refused(host):
    with pytest.raises(PluginError, match="depends on .*c0ffee000504"):
        host.install(INTEROP_PY, kind="python")
    assert host.plugins() == [] and host.loaded() == []


def test_c_plugin_depending_on_a_missing_python_plugin_is_refused(host, sample):
    host.install(sample("interop_c_owner"))
    with pytest.raises(PluginError, match="depends on .*c0ffee000503"):
        host.install(sample("interop_c_user"))


def test_dependency_order_across_languages_at_startup(home, sample):
    from pyhost.host.host import Host
    with Host(home, timers=False) as h:
        # installed in dependency order, then reordered against it
        h.install(sample("interop_c_owner"))
        h.install(INTEROP_PY, kind="python")
        h.install(sample("interop_c_user"))
        h.move(USER, "up")
        h.move(USER, "up")
        h.move(PY, "up")
        assert [p.guid for p in h.plugins()] == [USER, PY, OWNER]
    with Host(home, timers=False) as h:
        assert h.loaded() == [OWNER, PY, USER]
        assert ping(h, "shout restart")["out"] == "RESTART"
        events = h.events.poll(Category.ERROR)
        assert events == []


def test_disabling_a_python_plugin_with_a_c_dependent_is_refused(trio):
    with pytest.raises(PluginError, match="Interop C user"):
        trio.disable(PY)
    with pytest.raises(PluginError, match="Interop Python"):
        trio.disable(OWNER)


def test_a_c_dependent_blocks_when_its_python_dependency_fails(home, sample, tmp_path):
    import shutil
    from pyhost.host.host import Host
    copy = tmp_path / "interop_py"
    shutil.copytree(INTEROP_PY, copy)
    with Host(home, timers=False) as h:
        h.install(sample("interop_c_owner"))
        h.install(copy, kind="python")
        h.install(sample("interop_c_user"))
    shutil.rmtree(copy)  # the Python plugin's files disappear
    with Host(home, timers=False) as h:
        assert h.loaded() == [OWNER]
        reasons = [e.reason for e in h.events.poll(Category.ERROR)]
        assert any("no such plugin file" in r for r in reasons)
        assert any("Interop C user cannot load" in r for r in reasons)


# -- faults never take the host down ---------------------------------------------------------

def test_python_subscriber_raising_under_a_c_firer_is_reported(trio):
    result = ping(trio, "py-raise")
    assert result["handled"] is False and result["c2"] == 1  # dispatch went on
    (event,) = trio.events.poll(Category.ERROR)
    assert event.kind == "subscriber_exception"
    assert event.plugin == "Interop Python" and event.hook == "sample.interop.onPing"
    assert event.subscriber == "on_ping" and "asked to raise" in event.error
    assert "RuntimeError" in event.traceback
    assert ping(trio, "shout still alive")["out"] == "STILL ALIVE"


def test_c_and_python_fire_from_several_threads(trio):
    errors = []

    def worker(n):
        try:
            for i in range(50):
                chat(trio, f"!greet t{n}-{i}")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    # the C subscriber's count is a read-modify-write: only check it ran and nothing failed
    assert setting(trio, USER, "greetings") > 0
    assert trio.events.poll(Category.ERROR) == []


def test_unload_and_reload_the_whole_chain_leaves_nothing_behind(trio):
    for _ in range(3):
        trio.disable(USER)
        trio.disable(PY)
        trio.disable(OWNER)
        assert trio.loaded() == [] and trio._owners == {}
        trio.enable(OWNER)
        trio.enable(PY)
        trio.enable(USER)
        assert ping(trio, "shout round")["out"] == "ROUND"
    gc.collect()
    assert trio.events.poll(Category.ERROR) == []


# -- StringData.out under AddressSanitizer -----------------------------------------------------

ASAN_SCRIPT = r'''
import gc, sys, tempfile, threading, weakref
import pyhost.plugin.plugin as P
from pyhost.abi._ffi import ffi
from pyhost.host.host import Host
from pyhost.abi.paths import sample_plugin

mode, interop_py = sys.argv[1], sys.argv[2]
born = []
keep_out = P.Subscription.keep_out

def tracking(self, buffer):
    born.append(weakref.ref(buffer))
    if mode != "broken":          # "broken" drops the string at once: the C host then
        keep_out(self, buffer)    # reads freed memory, which ASan must catch

P.Subscription.keep_out = tracking
with Host(tempfile.mkdtemp(), timers=False) as host:
    host.install(sample_plugin("interop_c_owner"))
    host.install(interop_py, kind="python")
    chat = host.hooks["dcpp.chat.onIncomingChat"]

    def fire(tag):
        for i in range(100):
            chat.run(None, ffi.new("char[]", f"!ping shout {tag} {i} {'x' * (i % 40)}".encode()))

    threads = [threading.Thread(target=fire, args=(f"t{n}",)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    gc.collect()
    print("alive while loaded:", sum(r() is not None for r in born))
    host.disable("{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000503}")
    gc.collect()
    print("alive after unload:", sum(r() is not None for r in born))
print("strings set:", len(born))
'''


def run_under_asan(tmp_path, mode):
    import shutil
    import subprocess
    import sys
    if shutil.which("gcc") is None:
        pytest.skip("needs gcc to find libasan")
    libasan = subprocess.run(["gcc", "-print-file-name=libasan.so"], capture_output=True,
                             text=True).stdout.strip()
    if not libasan or not Path(libasan).is_file():
        pytest.skip("libasan.so is not installed")
    script = tmp_path / "asan_out.py"
    script.write_text(ASAN_SCRIPT)
    import os
    env = {**os.environ, "LD_PRELOAD": libasan, "PYTHONMALLOC": "malloc",
           "ASAN_OPTIONS": "detect_leaks=0 halt_on_error=1 exitcode=67"}
    return subprocess.run([sys.executable, str(script), mode, str(INTEROP_PY)],
                          capture_output=True, text=True, env=env, timeout=600)


def test_string_data_out_from_python_is_clean_under_asan(tmp_path):
    """200 strings set by a Python subscriber from two threads and read by a C host: no
    use after free (ASan, with Python's allocator switched to malloc), at most one string
    alive per thread while loaded, none after unload."""
    result = run_under_asan(tmp_path, "ok")
    assert "AddressSanitizer" not in result.stderr, result.stderr[-3000:]
    assert result.returncode == 0, result.stderr[-3000:]
    lines = dict(line.split(": ") for line in result.stdout.splitlines())
    assert lines["strings set"] == "200"
    assert 1 <= int(lines["alive while loaded"]) <= 2
    assert lines["alive after unload"] == "0"


def test_asan_catches_a_string_freed_before_the_host_copied_it(tmp_path):
    """The check above has teeth: dropping the string at once is a heap-use-after-free."""
    result = run_under_asan(tmp_path, "broken")
    assert result.returncode != 0
    assert "heap-use-after-free" in result.stderr
