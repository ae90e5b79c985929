"""Running plugins isolated: the registry flag, the CLI and the Python API, interfaces and
hooks across processes, nested calls, fire-and-forget hooks, and the documented defaults.
(The fault cases are in test_isolation_faults.py, sanitizers in test_isolation_native.py;
test_host, test_interop, test_replay, test_world and test_replay_e2e run isolated too.)"""
import json
import os
import sqlite3
import subprocess
import sys
import time

import pytest

from pyhost.abi._ffi import ffi, lib
from pyhost.abi.hook_types import HookTypeError, declare_hook, hook_kinds
from pyhost.abi.interfaces import Interface, InterfaceError, function, signature_codes
from pyhost.abi.paths import sample_plugin, sample_plugins
from pyhost.abi.runtime import HostRuntime
from pyhost.host import registry as R
from pyhost.host.host import Host
from pyhost.host.isolation import DEFAULT_DEADLINES, IsolatedPlugin, IsolationOptions
from pyhost.host.loader import NativePlugin, PluginError

from isolation_helpers import mapped, runner_pids

DEV = "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000002}"
DEP_BASE = "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000005}"
DEP_CHILD = "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000006}"
APP_DEMO = "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000a00}"
HUB = "adc://hub.example.org:1511"


class Greeter(Interface, guid="sample.depbase.Greeter", version=1):
    """dep_base's table, described so it can cross processes."""

    @function("int(int a, int b)")
    def add(self, a, b): ...


def kind_of(host, guid):
    return type(host._loaded[guid].plugin)


# -- the registry ------------------------------------------------------------------------

def test_a_registry_of_the_previous_schema_is_migrated_keeping_its_plugins(tmp_path):
    class Previous(R.Registry):  # the schema before crash isolation
        migrations = R.MIGRATIONS[:-1]

    db = tmp_path / "registry.sqlite3"
    Previous(db).close()
    raw = sqlite3.connect(db)
    with raw:
        raw.execute("INSERT INTO plugins (guid, name, version, path, kind, position, "
                    "installed_at) VALUES ('g', 'n', 1.0, '/p.so', 'native', 0, 't')")
    raw.close()
    with R.Registry(db) as registry:
        record = registry.get("g")
        assert (record.isolated, record.crashed, record.enabled) == (False, False, True)
        assert registry.set_isolated("g", True) is True
        assert registry.set_isolated("g", True) is False
        assert registry.set_crashed("g") is True
        record = registry.get("g")
        assert record.isolated and record.crashed  # skipped at start until enabled again
        registry.set_enabled("g", True)
        assert not registry.get("g").crashed and registry.get("g").isolated
        with pytest.raises(R.UnknownPluginError):
            registry.set_isolated("nope", True)
        assert registry.check_integrity() == []
    raw = sqlite3.connect(db)
    with pytest.raises(sqlite3.IntegrityError):
        raw.execute("UPDATE plugins SET isolated = 2")
    raw.close()


# -- the command line ----------------------------------------------------------------------

def cli(home, *args):
    return subprocess.run([sys.executable, "-m", "pyhost", "--home", str(home), *args],
                          cwd=home.parent, capture_output=True, text=True, timeout=120)


def test_install_isolated_list_isolate_and_unisolate_from_the_command_line(tmp_path):
    home = tmp_path / "home"
    done = cli(home, "install", "--isolated", "--json", str(sample_plugin("dev_plugin")))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["isolated"] is True
    assert "native, isolated" in cli(home, "list").stdout
    moved = cli(home, "unisolate", DEV)
    assert moved.returncode == 0 and "Dev plugin runs in the host's process" in moved.stdout
    assert "native, isolated" not in cli(home, "list").stdout
    assert "runs in a process of its own" in cli(home, "isolate", DEV).stdout
    assert "already" in cli(home, "isolate", DEV).stdout
    listed = json.loads(cli(home, "list", "--json").stdout)
    assert listed[0]["isolated"] is True and listed[0]["crashed"] is False
    refused = cli(home, "install", "--isolated",
                  str(sample_plugins()["dev_plugin.py"]))
    assert refused.returncode == 2 and "only compiled plugins" in refused.stderr
    unknown = cli(home, "isolate", "{nope}")
    assert unknown.returncode == 2 and "nope" in unknown.stderr


# -- the Python API ------------------------------------------------------------------------

def test_isolate_moves_a_loaded_plugin_into_a_runner_and_back(host, sample):
    path = sample("dev_plugin")
    host.install(path)
    assert kind_of(host, DEV) is NativePlugin and mapped(path) and runner_pids() == []
    assert host.isolate(DEV) is True
    assert kind_of(host, DEV) is IsolatedPlugin and host.plugin(DEV).isolated
    pid = host._loaded[DEV].plugin.pid
    assert pid in runner_pids()
    assert str(path.resolve()) not in open("/proc/self/maps").read()
    assert str(path.resolve()) in open(f"/proc/{pid}/maps").read()
    assert host.registry.get_setting(DEV, "last_state") == ("string", "load_runtime")
    assert host.fire.incoming_chat(HUB, "!version") is True
    assert host.unisolate(DEV) is True
    assert kind_of(host, DEV) is NativePlugin and not host.plugin(DEV).isolated
    assert runner_pids() == []
    assert host.registry.get_setting(DEV, "loads") == ("int64", 3)  # settings carried over


def test_isolating_a_plugin_others_depend_on_is_refused(host, sample):
    host.install(sample("dep_base"))
    host.install(sample("dep_child"))
    with pytest.raises(PluginError, match="Cannot isolate Dependency base.*Dependency child"):
        host.isolate(DEP_BASE)
    assert not host.plugin(DEP_BASE).isolated and kind_of(host, DEP_BASE) is NativePlugin


def test_a_python_plugin_cannot_be_isolated(host):
    record = host.install(sample_plugins()["dev_plugin.py"], kind="python")
    with pytest.raises(PluginError, match="only compiled plugins"):
        host.isolate(record.guid)


def test_an_update_of_an_isolated_plugin_runs_isolated(host, sample):
    host.install(sample("dev_plugin"), isolated=True)
    host.install(sample("dev_plugin_v2"))
    assert host.plugin(DEV).version == 2.0 and host.plugin(DEV).isolated
    assert kind_of(host, DEV) is IsolatedPlugin
    assert not mapped(sample("dev_plugin"))


def test_mode_none_loads_isolated_plugins_in_the_hosts_process(home, sample):
    with Host(home, timers=False) as host:
        host.install(sample("dev_plugin"), isolated=True)
    with Host(home, timers=False, isolation=IsolationOptions(mode="none")) as host:
        assert host.plugin(DEV).isolated and kind_of(host, DEV) is NativePlugin


@pytest.mark.parametrize("isolated", [("dep_base",), ("dep_child",), ("dep_base", "dep_child")])
def test_a_described_interface_crosses_processes_either_way(host, sample, isolated):
    for name in ("dep_base", "dep_child"):
        host.install(sample(name), isolated=name in isolated)
    assert host.loaded() == [DEP_BASE, DEP_CHILD]  # dep_child's load called add(2, 3)
    assert host.fire.incoming_chat(HUB, "!child") is True


def test_nested_calls_go_back_and_forth_across_processes(host, sample):
    """Chat command (host -> runner) -> DCHub.add_hub (runner -> host) -> hubs.onOnline
    fired by the world (host -> runner) -> DCHub.local_message (runner -> host)."""
    host.install(sample("app_demo"), isolated=True)
    host.effects.drain()
    assert host.fire.chat_command(HUB, "/join adc://other.example.org:2780") is True
    calls = [(e.interface, e.function) for e in host.effects.drain()]
    assert calls[:3] == [("DCHub", "add_hub"), ("world", "fire"), ("DCHub", "local_message")]
    status = host.app.hubs["adc://other.example.org:2780"].status
    assert [text for text, _ in status] == ["App demo greets adc://other.example.org:2780"]


def test_fire_and_forget_hooks_do_not_wait_and_keep_their_order(home, sample):
    options = IsolationOptions(async_hooks=("dcpp.timer.",))
    with Host(home, timers=False, isolation=options) as host:
        host.install(sample("dev_plugin"), isolated=True)
        for tick in range(1, 200):
            host.tick(tick)  # posted to the runner's ring, not waited for
        # A synchronous call is served after every record posted before it.
        assert host.fire.incoming_chat(HUB, "!version") is True
        assert host.registry.get_setting(DEV, "last_tick") == ("int64", 199)
        assert lib.phn_iso_drain(host._loaded[DEV].plugin.runner.channel, 10**10) == 0


def test_a_plugins_own_hook_data_cross_once_declared():
    declare_hook("test.isolation.onThing", data="display")
    assert hook_kinds("test.isolation.onThing") == (None, "display")
    declare_hook("test.isolation.onThing", data="display")  # the same again: fine
    with pytest.raises(HookTypeError, match="already declared"):
        declare_hook("test.isolation.onThing", object="hub", data="text")
    with pytest.raises(HookTypeError, match="not one of"):
        declare_hook("test.isolation.other", data="StringData")
    assert hook_kinds("test.isolation.never") is None
    assert hook_kinds("dcpp.chat.onIncomingChat") == ("hub", "text")
    # pyhost.plugin declares what a Python plugin's own hooks carry
    assert hook_kinds("sample.python.onGreeting") in (None, (None, "text"))


def test_interface_signatures_that_can_and_cannot_cross():
    class Mixed(Interface, guid="test.isolation.Mixed", version=2):
        @function("double(float x, unsigned short y, long long z)")
        def f(self, x, y, z): ...

        @function("void(const char* s)")
        def g(self, s): ...

    class Pointers(Interface, guid="test.isolation.Pointers", version=1):
        @function("int(void* p)")
        def h(self, p): ...

    assert signature_codes(Mixed) == "d:fHq;v:s"
    assert signature_codes(HostRuntime) == "v:ssssss;Q:"
    assert ffi.string(lib.phn_iso_interface_codes(b"test.isolation.Mixed")) == b"d:fHq;v:s"
    with pytest.raises(InterfaceError, match="parameter 1 .* cannot cross processes"):
        signature_codes(Pointers)
    assert "cannot cross" in Pointers.not_forwardable
    assert lib.phn_iso_interface_codes(b"test.isolation.Pointers") == ffi.NULL


def test_the_documented_defaults():
    options = IsolationOptions(mode="registry")
    assert dict(options.deadlines) == dict(DEFAULT_DEADLINES) == {
        "dcpp.network.": 0.5, "dcpp.chat.": 2.0, "dcpp.ui.": 2.0}
    assert (options.default_deadline, options.lifecycle_deadline, options.call_deadline) == (
        5.0, 10.0, 2.0)
    assert (options.max_crashes, options.history, options.async_hooks) == (3, 32, ())
    assert [options.restart_backoff(n) for n in (1, 2, 3, 10)] == [0.1, 0.2, 0.4, 5.0]
    with pytest.raises(ValueError, match="mode"):
        IsolationOptions(mode="sometimes")


def test_the_environment_picks_the_mode(monkeypatch):
    monkeypatch.setenv("PYHOST_ISOLATION", "all")
    assert IsolationOptions().mode == "all"
    monkeypatch.setenv("PYHOST_ISOLATION", "bogus")
    with pytest.raises(ValueError):
        IsolationOptions()


def test_a_missing_runner_is_a_clear_refusal(host, sample, tmp_path):
    options = IsolationOptions(runner=str(tmp_path / "no-such-runner"))
    with Host(tmp_path / "h2", timers=False, isolation=options) as other:
        with pytest.raises(PluginError, match="cannot start the runner .*no-such-runner"):
            other.install(sample("dev_plugin"), isolated=True)
        assert other.plugins() == []


def test_unloading_leaves_no_runner_and_nothing_behind(host, sample):
    host.install(sample("app_demo"), isolated=True)
    host.install(sample("chat_guard"), isolated=True)
    assert len(runner_pids()) == 2
    for guid in list(host.loaded()):
        host.disable(guid)
    deadline = time.monotonic() + 5
    while runner_pids() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert runner_pids() == [] and host._owners == {}
    assert host.app_services.commands() == []


@pytest.mark.parametrize("make", ["directory", "fifo", "missing"])
def test_both_loaders_refuse_what_is_not_a_plugin_file_alike(tmp_path, make):
    """In a runner or in the host's process, the same check runs before anything opens the
    file, and says the same sentence."""
    path = tmp_path / "plugin.so"
    if make == "directory":
        path.mkdir()
    elif make == "fifo":
        os.mkfifo(path)  # opening it would block a reader for ever
    messages = []
    for opener in (NativePlugin.open,
                   lambda p: IsolatedPlugin.open(p, options=IsolationOptions(), bus=None,
                                                 on_crash=lambda *a: None)):
        with pytest.raises(PluginError) as caught:
            opener(path)
        messages.append(str(caught.value))
    assert messages[0] == messages[1]
    expected = {"directory": "is a directory, not a file", "fifo": "is a FIFO",
                "missing": "no such plugin file"}[make]
    assert expected in messages[0], messages[0]
