"""The isolation transport and the runner under sanitizers.

- The lanes and the ring (native/isolation/iso_lane.c) driven by tests/native/
  iso_lane_driver.c from both ends at once -- nested calls back and forth, fragmented
  messages, fire-and-forget records, teardown -- built with ThreadSanitizer, and with
  AddressSanitizer + UndefinedBehaviorSanitizer.
- pyhost-runner itself built with ASan + UBSan (LeakSanitizer at its exit), running the
  every-hook replay of tests/replay/ with the three compiled samples isolated, and the
  interop trio: no report, and the same output as in the host's process. The build has
  teeth: a plugin's double free is reported by ASan in the runner, and the host goes on.
"""
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pyhost.abi.paths import sample_plugin

ROOT = Path(__file__).resolve().parents[1]
REPORTS = ("WARNING: ThreadSanitizer", "ERROR: AddressSanitizer", "runtime error:",
           "ERROR: LeakSanitizer")
SANITIZER_ENV = {
    "TSAN_OPTIONS": "halt_on_error=1 exitcode=66 second_deadlock_stack=1",
    "ASAN_OPTIONS": "detect_leaks=1 halt_on_error=1 exitcode=67",
    "UBSAN_OPTIONS": "halt_on_error=1 print_stacktrace=1 exitcode=68",
}
RUNNER_SOURCES = [*sorted((ROOT / "native/isolation/runner").glob("*.c")),
                  *(ROOT / "native/isolation" / n for n in ("iso_lane.c", "iso_marshal.c",
                                                            "iso_ffi.c")),
                  *(ROOT / "native" / n for n in ("utils.c", "config_values.c", "app_data.c",
                                                  "handle_set.c"))]

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")


def gcc(out: Path, sanitize: str, sources, libs=()) -> Path:
    cmd = ["gcc", "-std=gnu11", "-Wall", "-Wextra", "-Werror", "-O1", "-g",
           f"-fsanitize={sanitize}", "-fno-omit-frame-pointer", "-pthread",
           "-I", str(ROOT / "native"), "-I", str(ROOT / "sdk_headers"),
           *map(str, sources), "-o", str(out), *libs]
    built = subprocess.run(cmd, capture_output=True, text=True)
    if built.returncode != 0 and "ffi" in built.stderr and "cannot find" in built.stderr:
        pytest.skip("libffi development files are not installed")
    assert built.returncode == 0, built.stderr
    return out


@pytest.mark.parametrize("sanitize", ["thread", "address,undefined"])
def test_lanes_and_ring_are_clean_under_sanitizers(tmp_path, sanitize):
    exe = gcc(tmp_path / "driver", sanitize,
              [ROOT / "native/isolation/iso_lane.c", ROOT / "tests/native/iso_lane_driver.c"])
    result = subprocess.run([str(exe), "1500"], capture_output=True, text=True, timeout=600,
                            env={**os.environ, **SANITIZER_ENV})
    output = result.stdout + result.stderr
    assert not any(report in output for report in REPORTS), output
    assert result.returncode == 0, output
    assert "calls: 7500" in result.stdout and "ring: 4500" in result.stdout
    assert "nested: 3" in result.stdout  # thousands of nested calls went back and forth
    assert "failures: 0" in result.stdout


@pytest.fixture(scope="module")
def asan_runner(tmp_path_factory):
    return gcc(tmp_path_factory.mktemp("runner") / "pyhost-runner", "address,undefined",
               RUNNER_SOURCES, ["-lffi", "-ldl"])


def pyhost(home: Path, *args, runner: Path, check=True) -> subprocess.CompletedProcess:
    env = {**os.environ, **SANITIZER_ENV, "PYHOST_RUNNER": str(runner),
           "PYTHONWARNINGS": "ignore"}
    result = subprocess.run([sys.executable, "-m", "pyhost", "--home", str(home), *args],
                            cwd=home.parent, capture_output=True, text=True, timeout=300,
                            env=env)
    if check:
        assert result.returncode == 0, result.stderr[-4000:]
    return result


def test_the_runner_is_clean_under_asan_and_ubsan_through_every_hook(tmp_path, asan_runner):
    home = tmp_path / "home"
    for name in ("app_demo", "chat_guard", "dev_plugin"):
        pyhost(home, "install", "--isolated", str(sample_plugin(name)), runner=asan_runner)
    pyhost(home, "config", "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000a00}", "trace", "true",
           runner=asan_runner)
    result = pyhost(home, "run", "--replay", str(ROOT / "tests/replay/every_hook.jsonl"),
                    "--json", runner=asan_runner)
    assert not any(report in result.stderr for report in REPORTS), result.stderr[-4000:]
    got = [json.loads(line) for line in result.stdout.splitlines()]
    got = [r for r in got if "host_event" not in r and "summary" not in r]
    want = [json.loads(line) for line in
            (ROOT / "tests/replay/every_hook.expected.jsonl").read_text().splitlines()]
    assert got == want


INTEROP = textwrap.dedent("""
    import sys, threading
    from pyhost.abi._ffi import ffi
    from pyhost.host.host import Host
    from pyhost.abi.paths import sample_plugin
    with Host(sys.argv[1], timers=False) as host:
        host.install(sample_plugin("interop_c_owner"), isolated=True)
        host.install(sys.argv[2], kind="python")
        host.install(sample_plugin("interop_c_user"), isolated=True)
        chat = host.hooks["dcpp.chat.onIncomingChat"]
        def fire(n):
            for i in range(100):
                chat.run(None, ffi.new("char[]", f"!ping shout t{n} {i}".encode()))
                chat.run(None, ffi.new("char[]", f"!greet t{n}-{i}".encode()))
        threads = [threading.Thread(target=fire, args=(n,)) for n in range(3)]
        for t in threads: t.start()
        for t in threads: t.join()
        print("sum", host.registry.get_setting("{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000505}", "sum"))
        print("pings", host.registry.get_setting("{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000504}", "pings"))
""")


def test_the_runner_is_clean_under_asan_across_three_processes(tmp_path, asan_runner):
    """C owner (runner) -> Python plugin (host) -> C user (runner), from three threads."""
    script = tmp_path / "interop.py"
    script.write_text(INTEROP)
    env = {**os.environ, **SANITIZER_ENV, "PYHOST_RUNNER": str(asan_runner)}
    result = subprocess.run([sys.executable, str(script), str(tmp_path / "home"),
                             str(ROOT / "sample_plugins/python/interop_py")],
                            capture_output=True, text=True, timeout=300, env=env)
    assert not any(report in result.stderr for report in REPORTS), result.stderr[-4000:]
    assert result.returncode == 0, result.stderr[-4000:]
    assert "sum ('int', 42)" in result.stdout
    # the owner counts with a read-modify-write of a setting from three threads at once: it
    # ran, and some updates may overwrite each other (as in one process)
    pings = int(result.stdout.split("pings ('int', ")[1].split(")")[0])
    assert 100 <= pings <= 300


def test_the_asan_runner_reports_a_plugins_double_free_and_the_host_goes_on(tmp_path,
                                                                              asan_runner):
    home = tmp_path / "home"
    pyhost(home, "install", "--isolated", str(sample_plugin("hostile")), runner=asan_runner)
    events = tmp_path / "events.jsonl"
    events.write_text('{"hook": "chat.onIncomingChat", "object": "adc://h", "data": "!double-free"}\n'
                      '{"hook": "chat.onIncomingChat", "object": "adc://h", "data": "!ok"}\n')
    result = pyhost(home, "run", "--json", "--replay", str(events), runner=asan_runner)
    assert "attempting double-free" in result.stderr
    crashed = [json.loads(line)["host_event"] for line in result.stdout.splitlines()
               if '"plugin_crashed"' in line]
    assert crashed and crashed[0]["exit_code"] == 67  # ASan's exit code, in the runner


CONFORMANCE = textwrap.dedent("""
    import sys
    from pyhost.abi._ffi import ffi
    from pyhost.abi.hook_types import declare_hook
    from pyhost.host.host import Host
    home, plugins, facts = sys.argv[1], sys.argv[2:4], sys.argv[4:]
    declare_hook("pyhost.test.conformance.display", data="display")
    with Host(home, timers=False) as host:
        host.bus.create_hook("pyhost.test.conformance")
        hook = host.bus.create_hook("pyhost.test.conformance.display")
        for plugin in plugins:
            host.install(plugin, isolated=True)
        for fact in facts:
            text, data = ffi.new("char[]", fact.encode()), ffi.new("StringData*")
            setattr(data, "in", text)
            handled = hook.run(None, data)
            answer = ffi.string(data.out).decode() if handled and data.out else "no answer"
            print(fact, answer)
""")


def test_the_runner_is_clean_under_asan_through_the_conformance_facts(tmp_path, asan_runner):
    """The reference facts and the survivable misuses (tests/test_conformance.py), from the
    C++ and C conformance plugins isolated in the ASan + UBSan runner."""
    from test_conformance import BUILDS, C_FACTS, CPP_FACTS, SOURCES
    if shutil.which("g++") is None:
        pytest.skip("needs g++")
    plugins = []
    for name in ("conformance_cpp.so", "conformance_c.so"):
        cmd, sources = BUILDS[name]
        built = subprocess.run([*cmd, "-I", str(ROOT / "sdk_headers"), "-o",
                                str(tmp_path / name), *(str(SOURCES / s) for s in sources)],
                               capture_output=True, text=True)
        assert built.returncode == 0, built.stderr
        plugins.append(str(tmp_path / name))
    script = tmp_path / "conformance.py"
    script.write_text(CONFORMANCE)
    env = {**os.environ, **SANITIZER_ENV, "PYHOST_RUNNER": str(asan_runner)}
    result = subprocess.run([sys.executable, str(script), str(tmp_path / "home"), *plugins,
                             *CPP_FACTS, *C_FACTS],
                            capture_output=True, text=True, timeout=300, env=env)
    assert not any(report in result.stderr for report in REPORTS), result.stderr[-4000:]
    assert result.returncode == 0, result.stderr[-4000:]
    answers = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    assert answers == {fact: "ok" for fact in CPP_FACTS + C_FACTS}
