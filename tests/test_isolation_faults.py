"""Crash isolation against a hostile plugin (sample_plugins/hostile.c) in a runner process.

For each way of breaking -- a segfault in a hook or in ON_LOAD, abort, an endless loop,
exit(3), a double free, a bogus handle -- the host and its other plugins keep working,
the current hook counts as not handled, a PluginCrashed event names the plugin, the signal
and the hook, the replay file holds the calls that led there, and the plugin comes back
(re-binding its hooks and re-registering its interface) unless it crashes too often in a
row. The replay file, replayed in the host's own process, brings the host down the same
way: proof that it reproduces the crash.
"""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import weakref
from pathlib import Path

import pytest

from pyhost.abi._ffi import ffi
from pyhost.host.events import Category
from pyhost.host.host import Host
from pyhost.host.isolation import IsolationOptions
from pyhost.abi.paths import sample_plugin

from isolation_helpers import mapped, runner_pids

HOSTILE = "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000bad}"
DEV = "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000002}"
GUARD = "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000001}"
HUB = "adc://hub.example.org:1511"
FAST = IsolationOptions(deadlines={"dcpp.chat.": 0.3}, restart_delay=0.02, max_crashes=3)


_pending: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # polled, not waited for


def wait_for(host, kind, timeout=10.0):
    """The next host event of `kind` (waiting for it); returns (it, the events before it)."""
    backlog = _pending.setdefault(host, [])
    seen = []
    deadline = time.monotonic() + timeout
    while True:
        while backlog:
            event = backlog.pop(0)
            seen.append(event)
            if event.kind == kind:
                return event, seen
        if time.monotonic() > deadline:
            raise AssertionError(f"no {kind} event in {timeout}s; saw {[e.kind for e in seen]}")
        backlog.extend(host.events.poll())
        if not backlog:
            time.sleep(0.01)


@pytest.fixture
def trio(home):
    """Hostile (isolated), Dev plugin (in the host's process), Chat guard (isolated)."""
    with Host(home, timers=False, isolation=FAST) as host:
        host.install(sample_plugin("hostile"), isolated=True)
        host.install(sample_plugin("dev_plugin"))
        host.install(sample_plugin("chat_guard"), isolated=True)
        host.events.poll()
        yield host


def others_work(host):
    assert host.fire.incoming_chat(HUB, "!version") is True       # Dev plugin, in process
    assert host.fire.incoming_chat(HUB, "buy spam now") is True   # Chat guard, isolated


@pytest.mark.parametrize("message, signal_name, exit_code, deadline", [
    ("!segv", "SIGSEGV", None, False),
    ("!abort", "SIGABRT", None, False),
    ("!loop", "SIGKILL", None, True),
    ("!exit3", None, 3, False),
    ("!double-free", "SIGABRT", None, False),
    ("!bad-handle", "SIGSEGV", None, False),
])
def test_a_crash_in_a_hook_ends_only_its_runner(trio, message, signal_name, exit_code,
                                                deadline):
    host = trio
    assert host.fire.incoming_chat(HUB, "!ok") is True
    pid = host._loaded[HOSTILE].plugin.pid
    started = time.monotonic()
    assert host.fire.incoming_chat(HUB, message) is False  # the current hook: not handled
    if deadline:
        assert time.monotonic() - started < 2.0  # the 0.3 s deadline, not forever
    crashed, _ = wait_for(host, "plugin_crashed")
    assert (crashed.guid, crashed.name) == (HOSTILE, "Hostile")
    assert (crashed.signal, crashed.exit_code, crashed.deadline) == (signal_name, exit_code,
                                                                     deadline)
    assert crashed.hook == "dcpp.chat.onIncomingChat"
    assert crashed.action == "restarting" and crashed.crashes == 1
    assert Category.ERROR in crashed.category
    others_work(host)
    replay = Path(crashed.replay).read_text().splitlines()
    assert json.loads(replay[0]) == {"pyhost_replay": 1}
    events = [json.loads(line) for line in replay if not line.startswith("#")][1:]
    assert events[-1] == {"hook": "chat.onIncomingChat", "object": {
        "url": HUB, "ip": "192.0.2.161", "port": 1511, "protocol": "adc", "is_op": False,
        "is_secure": False}, "data": message}
    assert events[-2]["data"] == "!ok"
    restarted, _ = wait_for(host, "plugin_restarted")
    assert restarted.guid == HOSTILE and restarted.attempt == 1
    new_pid = host._loaded[HOSTILE].plugin.pid
    assert new_pid not in (None, pid) and pid not in runner_pids()
    assert host.fire.incoming_chat(HUB, "!ok") is True  # bound again in the new runner
    others_work(host)
    assert host.registry.get(HOSTILE).enabled and not host.registry.get(HOSTILE).crashed


def test_a_double_release_is_refused_and_the_plugin_goes_on(trio):
    pid = trio._loaded[HOSTILE].plugin.pid
    assert trio.fire.incoming_chat(HUB, "!double-release") is True
    assert trio.fire.incoming_chat(HUB, "!ok") is True
    assert trio._loaded[HOSTILE].plugin.pid == pid
    assert [e.kind for e in trio.events.poll() if e.kind == "plugin_crashed"] == []


def test_its_interface_is_taken_over_by_the_restarted_runner(trio):
    from pyhost.abi.interfaces import Interface, function

    class Echo(Interface, guid="sample.hostile.Echo", version=1):
        @function("int(int n)")
        def twice(self, n): ...

        @function("const char*(void)")
        def name(self): ...

    from pyhost.abi.interfaces import bind_table
    # Registered while undescribed, it was not on the bus; an in-process plugin's query
    # finds it once described (Echo above), as a table forwarding to the runner.
    assert trio.bus.query_interface("sample.hostile.Echo", 1) is None
    core = trio._loaded[DEV].core.core  # an in-process plugin's DCCore
    pointer = core.query_interface(b"sample.hostile.Echo", 1)
    echo = bind_table(Echo, pointer)
    assert echo is not None and echo.twice(21) == 42 and echo.name() == "hostile echo"
    trio.fire.incoming_chat(HUB, "!segv")
    wait_for(trio, "plugin_restarted")
    assert echo.twice(5) == 10  # the same table, served by the new runner
    assert core.query_interface(b"sample.hostile.Echo", 2) == ffi.NULL


def test_too_many_crashes_in_a_row_mark_it_crashed_until_enabled(home):
    options = IsolationOptions(restart_delay=0.01, max_crashes=2)
    with Host(home, timers=False, isolation=options) as host:
        host.install(sample_plugin("hostile"), isolated=True)
        host.install(sample_plugin("dev_plugin"))
        host.fire.incoming_chat(HUB, "!abort")
        first, _ = wait_for(host, "plugin_crashed")
        wait_for(host, "plugin_restarted")
        host.fire.incoming_chat(HUB, "!segv")
        second, seen = wait_for(host, "plugin_crashed")
        assert (first.crashes, first.action) == (1, "restarting")
        assert (second.crashes, second.action) == (2, "disabled")
        failed, _ = wait_for(host, "plugin_failed")
        assert "crashed 2 times in a row" in failed.reason
        record = host.registry.get(HOSTILE)
        assert record.crashed
        assert HOSTILE not in host.loaded() and not host.bus.has_plugin(HOSTILE)
        assert host.fire.incoming_chat(HUB, "!ok") is False
        assert host.fire.incoming_chat(HUB, "!version") is True
        host.enable(HOSTILE)
        assert not host.registry.get(HOSTILE).crashed and HOSTILE in host.loaded()
        assert host.fire.incoming_chat(HUB, "!ok") is True
    with Host(home, timers=False) as host:  # enabled again for good
        assert HOSTILE in host.loaded()


def test_a_successful_call_between_crashes_starts_a_new_series(home):
    options = IsolationOptions(restart_delay=0.01, max_crashes=2)
    with Host(home, timers=False, isolation=options) as host:
        host.install(sample_plugin("hostile"), isolated=True)
        for _ in range(3):
            host.fire.incoming_chat(HUB, "!abort")
            crashed, _ = wait_for(host, "plugin_crashed")
            assert crashed.crashes == 1 and crashed.action == "restarting"
            wait_for(host, "plugin_restarted")
            assert host.fire.incoming_chat(HUB, "!ok") is True


def test_a_segfault_in_on_load_fails_the_load_and_nothing_else(home):
    with Host(home, timers=False, isolation=FAST) as host:
        host.install(sample_plugin("dev_plugin"))
        host.install(sample_plugin("hostile"), isolated=True)
        host.registry.set_setting(HOSTILE, "crash_on_load", "int", 1)
    with Host(home, timers=False, isolation=FAST) as host:
        assert host.loaded() == [DEV]
        failed, _ = wait_for(host, "plugin_failed")
        assert failed.guid == HOSTILE and "crashed in ON_LOAD (SIGSEGV)" in failed.reason
        crashed, _ = wait_for(host, "plugin_crashed")
        assert (crashed.hook, crashed.signal, crashed.action) == ("ON_LOAD", "SIGSEGV", "none")
        assert host.fire.incoming_chat(HUB, "!version") is True
        assert runner_pids() == []
        assert not mapped(sample_plugin("hostile"))


def test_a_segfault_during_install_leaves_nothing_behind(home):
    with Host(home, timers=False, isolation=FAST) as host:
        host.registry.set_setting(HOSTILE, "crash_on_load", "int", 1)
        from pyhost.host.loader import PluginError
        with pytest.raises(PluginError, match=r"Hostile crashed in ON_INSTALL \(SIGSEGV\)"):
            host.install(sample_plugin("hostile"), isolated=True)
        assert host.plugins() == [] and host.loaded() == []
        crashed, _ = wait_for(host, "plugin_crashed")
        assert crashed.hook == "ON_INSTALL" and crashed.action == "none"


def test_the_replay_file_reproduces_the_crash_in_process(tmp_path):
    """pyhost run --replay FILE: isolated, the host survives and reports the crash; with
    --in-process the host itself dies of the same signal -- the file reproduces it."""
    home = tmp_path / "home"

    def pyhost(*args):
        return subprocess.run([sys.executable, "-m", "pyhost", "--home", str(home), *args],
                              cwd=tmp_path, capture_output=True, text=True, timeout=120)

    assert pyhost("install", "--isolated", str(sample_plugin("hostile"))).returncode == 0
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(json.dumps(e) for e in [
        {"hook": "hubs.onOnline", "object": HUB},
        {"hook": "chat.onIncomingChat", "object": HUB, "data": "!ok"},
        {"hook": "chat.onIncomingChat", "object": HUB, "data": "!segv"},
    ]) + "\n")
    isolated = pyhost("run", "--json", "--replay", str(events))
    assert isolated.returncode == 0, isolated.stderr
    records = [json.loads(line) for line in isolated.stdout.splitlines()]
    handled = [r["handled"] for r in records if "hook" in r]
    assert handled == [False, True, False]
    crashes = [r["host_event"] for r in records
               if r.get("host_event", {}).get("kind") == "plugin_crashed"]
    assert crashes and crashes[0]["signal"] == "SIGSEGV"
    replay = crashes[0]["replay"]
    in_process = pyhost("run", "--in-process", "--json", "--replay", replay)
    assert in_process.returncode == -signal.SIGSEGV
    assert '"handled": true' in in_process.stdout  # the !ok before it ran


RUNNER_DIES_WITH_HOST = textwrap.dedent("""
    import sys, time
    from pyhost.host.host import Host
    from pyhost.abi.paths import sample_plugin
    host = Host(sys.argv[1], timers=False)
    host.start()
    host.install(sample_plugin("dev_plugin"), isolated=True)
    print(host._loaded["%s"].plugin.pid, flush=True)
    time.sleep(60)
""" % DEV)


def test_the_runner_never_outlives_the_host(tmp_path):
    script = tmp_path / "host.py"
    script.write_text(RUNNER_DIES_WITH_HOST)
    child = subprocess.Popen([sys.executable, str(script), str(tmp_path / "home")],
                             stdout=subprocess.PIPE, text=True)
    runner = int(child.stdout.readline())
    os.kill(runner, 0)  # alive
    child.send_signal(signal.SIGKILL)
    child.wait()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(runner, 0)
        except ProcessLookupError:
            return
        time.sleep(0.02)
    raise AssertionError(f"runner {runner} outlived its host")


def test_ctrl_c_stops_the_host_cleanly_and_its_runners_with_it(tmp_path):
    """A Ctrl-C goes to the terminal's foreground process group: the host's. Its runners
    are in groups of their own, so they do not die of it; the host unloads them cleanly."""
    home = tmp_path / "home"
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    subprocess.run([sys.executable, "-m", "pyhost", "--home", str(home), "install",
                    "--isolated", str(sample_plugin("dev_plugin"))], check=True, env=env,
                   capture_output=True, cwd=tmp_path)
    host = subprocess.Popen([sys.executable, "-m", "pyhost", "--home", str(home), "run",
                             "--json", "--seconds", "60"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)  # its own group, as at a terminal
    deadline = time.monotonic() + 30
    while not runners_of(host.pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    (runner,) = runners_of(host.pid)
    time.sleep(0.3)  # into its timer loop
    os.killpg(host.pid, signal.SIGINT)
    out, err = host.communicate(timeout=30)
    assert host.returncode == 0, err
    kinds = [json.loads(line).get("host_event", {}).get("kind") for line in out.splitlines()]
    assert "plugin_crashed" not in kinds and "plugin_unloaded" in kinds
    assert "Dev plugin: unloading" in err and "stopped after" not in out
    assert not Path(f"/proc/{runner}").exists() or runners_of(host.pid) == []


def runners_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
        except (OSError, ValueError):
            continue
        if "(pyhost-runner)" in stat and int(stat[stat.rindex(")") + 2:].split()[1]) == pid:
            found.append(int(entry.name))
    return found
