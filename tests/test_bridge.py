"""The bridge's own C entry points (pyhost/abi/_bridge.c): the trampoline behind every Python
subscriber, the run() builtin of each Hook, and when the GIL is kept or released."""
import logging
import threading

import time

import pytest

from pyhost import BREAK, HANDLED, Bus
from pyhost.abi._ffi import ffi, lib
from pyhost.abi.trampoline import POINTER, PYTHON_SUBSCRIBER, RAW, TEXT, U64, SubscriberCall
from pyhost.bench import native


@pytest.fixture
def bus():
    with Bus("bridge-test") as b:
        yield b


class GilCounter:
    """phn_gil_ops whose release/reacquire only count their calls (the test calls the bus
    through cffi, which has released the GIL already)."""

    def __init__(self):
        self.calls = []

        def release():
            self.calls.append("release")
            return ffi.NULL

        def reacquire(state):
            self.calls.append("reacquire")

        self._keep = (ffi.callback("void*(void)", release),
                      ffi.callback("void(void*)", reacquire))
        self.ops = ffi.new("phn_gil_ops*", {"release": self._keep[0],
                                            "reacquire": self._keep[1]})

    def run(self, hook) -> bool:
        self.calls.clear()
        return lib.phn_run_hook_gil(hook.handle, ffi.NULL, ffi.NULL, self.ops) == 1


def test_the_gil_is_kept_only_when_every_subscriber_takes_it_itself(bus):
    """Python subscribers only: kept (each would take it back at once). A C subscriber, a
    default procedure of unknown kind, or a mix: released around the dispatch."""
    gil = GilCounter()
    python_only = bus.create_hook("t.py")
    bus.bind("t.py", lambda o, d, c: True)
    bus.bind("t.py", lambda o, d, c: False)
    assert gil.run(python_only) is True
    assert gil.calls == []

    empty = bus.create_hook("t.empty")
    assert gil.run(empty) is False
    assert gil.calls == []   # nothing to call, nothing to release for

    with_default = bus.create_hook("t.default", default=lambda o, d, c: True)
    assert gil.run(with_default) is True
    assert gil.calls == ["release", "reacquire"]

    c_sub = ffi.callback("DCHOOK", lambda o, d, c, b: 1)
    mixed = bus.create_hook("t.mixed")
    bus.bind("t.mixed", lambda o, d, c: False)
    sub = bus.bind("t.mixed", c_sub)
    assert gil.run(mixed) is True
    assert gil.calls == ["release", "reacquire"]
    sub.release()            # the snapshot is Python-only again
    assert gil.run(mixed) is False
    assert gil.calls == []


def test_run_builtin_accepts_keywords_and_refuses_bad_arguments(bus):
    hook = bus.create_hook("t.args")
    got = []
    bus.bind("t.args", lambda o, d, c: got.append((o, d)) or True)
    buf = ffi.new("char[]", b"x")
    assert hook.run(data=buf) is True
    assert hook.run(obj=None, data=None) is True
    assert got[0][1] == ffi.cast("void*", buf) and got[0][0] == ffi.NULL
    with pytest.raises(TypeError):
        hook.run(None, None, None)
    with pytest.raises(TypeError):
        hook.run(None, object=buf)
    with pytest.raises(TypeError):
        hook.run(1.5)
    assert "Fires one event" in hook.run.__doc__


@pytest.mark.parametrize("result, handled, broke", [
    (None, False, False), (0, False, False), (True, True, False), (HANDLED, True, False),
    (BREAK, False, True), (HANDLED | BREAK, True, True), (3.0, True, True), (-1, True, True),
    (2**70 + 1, True, False)])
def test_results_map_to_handled_and_break_as_in_python(bus, result, handled, broke):
    hook = bus.create_hook("t.result")
    calls = []
    bus.bind("t.result", lambda o, d, c: result)
    bus.bind("t.result", lambda o, d, c: calls.append("second"))
    assert hook.run() is handled
    assert calls == ([] if broke else ["second"])


def test_a_result_that_is_not_a_number_is_reported_not_raised(bus, caplog):
    errors = []
    bus.on_subscriber_error = errors.append
    hook = bus.create_hook("t.bad")
    bus.bind("t.bad", lambda o, d, c: "yes")
    with caplog.at_level(logging.ERROR, logger="pyhost.bus"):
        assert hook.run() is False
    assert len(errors) == 1 and isinstance(errors[0].exception, ValueError)
    assert "int()" in errors[0].traceback or "invalid literal" in errors[0].traceback


def test_keyboard_interrupt_in_a_subscriber_is_raised_again_not_reported(bus):
    """Never unwound into C, and never swallowed: it reaches the main thread once control is
    back in Python (a real SIGINT, so even a sleep there is cut short); it is not a
    subscriber error."""
    errors = []
    bus.on_subscriber_error = errors.append
    hook = bus.create_hook("t.interrupt")

    def interrupted(o, d, c):
        raise KeyboardInterrupt

    bus.bind("t.interrupt", interrupted)
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        hook.run()
        time.sleep(10)  # cut short by the redelivered interrupt
    assert time.monotonic() - started < 5
    assert errors == []


def test_subscriber_call_conversions():
    """What the trampoline hands over for each kind, NULL and not."""
    with Bus("conv") as bus:
        hook = bus.create_hook("t.conv")
        got = []
        text = ffi.new("char[]", b"caf\xc3\xa9 \xff")
        number = ffi.new("uint64_t*", 2**63 + 7)
        for okind, dkind in ((RAW, RAW), (POINTER, POINTER), (POINTER, TEXT), (RAW, U64)):
            call = SubscriberCall(lambda o, d: got.append((o, d)), None, object_kind=okind,
                                  data_kind=dkind)
            sub = lib.phn_bind_hook(bus.native, b"t.conv", PYTHON_SUBSCRIBER, call.common)
            data = {RAW: text, POINTER: text, TEXT: text, U64: number}[dkind]
            hook.run(None, data)
            hook.run(None, None)
            lib.phn_release_hook(sub)
        assert got[0][0] == ffi.NULL and got[0][1] == ffi.cast("void*", text)
        assert got[1] == (ffi.NULL, ffi.NULL)                    # RAW: NULL cdata
        assert got[2][0] is None and got[2][1] == ffi.cast("void*", text)
        assert got[3] == (None, None)                             # POINTER: None for NULL
        assert got[4] == (None, "caf\u00e9 \ufffd")               # TEXT: invalid byte replaced
        assert got[5] == (None, None)
        assert got[6] == (ffi.NULL, 2**63 + 7)                    # U64
        assert got[7] == (ffi.NULL, None)


def test_subscriber_call_refuses_bad_shapes():
    with pytest.raises(ValueError):
        SubscriberCall(print, None, nargs=4)
    with pytest.raises(ValueError):
        SubscriberCall(print, None, data_kind=99)
    with pytest.raises(ValueError):
        SubscriberCall(print, None, data_kind=lib.PHPY_VIEW)   # a view needs its factory


def test_native_threads_fire_into_python_subscribers(bus):
    """Threads Python never saw call a Python subscriber: the first event gives each thread
    a lasting thread state (through cffi), every event after it takes the GIL and counts."""
    bffi, blib = native.open_library()
    firer_path = native.sample_plugin("bench_firer")
    from pyhost.host.host import Host
    import tempfile
    from pathlib import Path
    with tempfile.TemporaryDirectory() as home:
        host = Host(Path(home), timers=False)
        try:
            host.install(firer_path)
            firer = native.firer_table(bffi, host)
            handle = firer.create(b"t.threads")
            counts: dict[int, int] = {}
            lock = threading.Lock()

            def subscriber(o, d, c):
                ident = threading.get_ident()
                with lock:
                    counts[ident] = counts.get(ident, 0) + 1

            host.bus.bind("t.threads", subscriber)
            fire = bffi.cast("phb_fire_fn", firer.fire)
            datas = bffi.new("void*[]", 2)
            for _ in range(3):   # new native threads each round
                assert blib.phb_run_threads(fire, handle, bffi.NULL, datas, 500, 2,
                                            bffi.NULL) > 0
            assert sum(counts.values()) == 3 * 2 * 500
            assert len(counts) >= 2
        finally:
            host.shutdown()


def test_the_bridge_c_compiles_clean_with_wall_wextra(tmp_path):
    """pyhost/abi/_bridge.c is compiled inside the generated cffi module: regenerate that
    source and compile it with -Wall -Wextra; nothing may point into _bridge.c."""
    import shutil
    import subprocess
    import sys
    import sysconfig
    from pathlib import Path

    if shutil.which("gcc") is None:
        pytest.skip("needs gcc")
    root = Path(__file__).resolve().parents[1]
    source = tmp_path / "_ffi.c"
    subprocess.run([sys.executable, str(root / "pyhost/abi/_ffi_build.py"), str(source)],
                   check=True)
    done = subprocess.run(
        ["gcc", "-c", "-O2", "-Wall", "-Wextra", "-fPIC", "-D_CFFI_NO_LIMITED_API",
         f"-I{sysconfig.get_paths()['include']}", f"-I{root / 'native'}",
         f"-I{root / 'sdk_headers'}", f"-I{root / 'pyhost/abi'}", str(source),
         "-o", str(tmp_path / "_ffi.o")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "_bridge.c" not in done.stderr, done.stderr


def test_run_takes_every_kind_of_pointer_cdata(bus):
    """run() takes every kind of pointer cdata (pointer, array, owned struct, ffi.gc), call
    after call, and refuses what is not a pointer."""
    hook = bus.create_hook("t.kinds")
    got = []
    bus.bind("t.kinds", lambda o, d, c: got.append(int(ffi.cast("uintptr_t", d))))
    struct = ffi.new("HubData*")
    array = ffi.new("char[]", b"abc")
    values = [ffi.cast("void*", 0x1234), ffi.cast("char*", 0x5678), array, struct,
              ffi.cast("uint64_t*", struct), ffi.new("uint64_t*", 7), ffi.gc(
                  ffi.cast("void*", 0x9abc), lambda p: None)]
    expected = [int(ffi.cast("uintptr_t", v)) for v in values]
    for _ in range(3):
        for v in values:
            hook.run(None, v)
    assert got == expected * 3
    for bad in (ffi.cast("int", 5), ffi.new("HubData*")[0], "text", 1.5, b"bytes"):
        with pytest.raises(TypeError):
            hook.run(None, bad)
    assert got == expected * 3


def test_a_thread_started_before_the_library_was_loaded_fires_safely(tmp_path):
    """Threads get the read side's starting record from the library's TLS image, also
    threads that existed before pyhost was imported (dlopen): fire from one, in a fresh
    process, with a subscriber that releases itself and binds another mid-dispatch."""
    import subprocess
    import sys
    import textwrap

    script = tmp_path / "early_thread.py"
    script.write_text(textwrap.dedent("""
        import threading
        go, done, result = threading.Event(), threading.Event(), []

        def worker():
            go.wait()
            from pyhost import Bus
            bus = Bus()
            hook = bus.create_hook("t.early")
            calls = []
            def releasing(o, d, c):
                calls.append("r")
                sub.release()
                bus.bind("t.early", lambda o, d, c: calls.append("late"))
            sub = bus.bind("t.early", releasing)
            for _ in range(3):
                hook.run()
            result.append(calls)
            done.set()

        t = threading.Thread(target=worker)
        t.start()               # before the native library is loaded
        import pyhost.abi._ffi  # loads it (dlopen) while the thread exists
        go.set()
        done.wait(30)
        t.join(30)
        print(result)
    """))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[['r', 'late', 'late']]"   # late: from the next event on
