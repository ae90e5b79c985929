"""The host: loading compiled plugins, lifecycle, dependencies, updates, settings, events."""
import logging
import os
import time
from pathlib import Path

import pytest

from pyhost import __version__
from pyhost.abi._ffi import ffi, lib
from pyhost.abi.interfaces import Interface, function
from pyhost.host.events import Category
from pyhost.host.host import Host, default_home
from pyhost.host.loader import PluginError
from pyhost.host.registry import PluginRecord

# Every test here runs with compiled plugins in the host's process and again isolated.
pytestmark = pytest.mark.usefixtures("isolation")


class Greeter(Interface, guid="sample.depbase.Greeter", version=1):
    """dep_base's table (sample_plugins/depbase_greeter.h). Described, as an application
    would, so that it can cross between an isolated dep_base and dep_child."""

    @function("int(int a, int b)")
    def add(self, a, b): ...


DEV = "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000002}"
REFUSES_UNLOAD = "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000004}"
DEP_BASE = "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000005}"
DEP_CHILD = "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000006}"
CYCLE_A = "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000012}"
CYCLE_B = "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000013}"
DEP_MISSING = "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000014}"


def chat(host, text: str) -> bool:
    return host.hooks["dcpp.chat.onIncomingChat"].run(None, ffi.new("char[]", text.encode()))


from isolation_helpers import mapped  # noqa: E402  (the host's process or its runners)


def kinds(host, categories=Category.ALL):
    return [e.kind for e in host.events.poll(categories)]


# -- the host itself --------------------------------------------------------------------

def test_host_name_reports_pyhost_and_version(host):
    assert host.host_name == f"pyhost {__version__}"
    assert ffi.string(host.bus.core.host_name()).decode() == f"pyhost {__version__}"


def test_home_comes_from_pyhost_home(monkeypatch, tmp_path):
    monkeypatch.setenv("PYHOST_HOME", str(tmp_path / "env-home"))
    assert default_home() == tmp_path / "env-home"
    with Host(timers=False) as h:
        assert h.home == tmp_path / "env-home"
        assert (tmp_path / "env-home" / "registry.sqlite3").is_file()


def test_standard_hooks_exist_for_plugins_to_bind(host):
    for guid in ("dcpp.chat.onIncomingChat", "dcpp.timer.onSecond", "dcpp.ui.onChatDisplay",
                 "dcpp.dataaccessor.onHTTPResourceStream"):
        assert host.bus.hook(guid) is not None


# -- refusing files before and after pluginInit ------------------------------------------

@pytest.mark.parametrize("name, reason", [
    ("no_init", "does not export pluginInit"),
    ("wrong_api", "API version 7; this host speaks version 8, and must be rebuilt against "
                  "the API 8 SDK"),
    ("null_main", "returned no main function"),
    ("no_guid", "did not set a guid"),
])
def test_invalid_plugins_are_refused_with_one_sentence(host, sample, name, reason):
    path = sample(name)
    with pytest.raises(PluginError, match=reason) as err:
        host.install(path)
    assert name in str(err.value)
    assert str(err.value).count(".") >= 1 and "\n" not in str(err.value)
    assert host.plugins() == [] and host.loaded() == []
    assert not mapped(path)
    failed = host.events.poll(Category.ERROR)
    assert failed and reason in failed[-1].reason


def test_not_a_binary_and_wrong_class_are_refused_before_dlopen(host, tmp_path):
    text = tmp_path / "notes.so"
    text.write_text("not a library")
    with pytest.raises(PluginError, match="notes.so"):
        host.install(text)
    with pytest.raises(PluginError, match="no such plugin file"):
        host.install(tmp_path / "missing.so")
    assert host.plugins() == []


def test_32bit_elf_is_refused_naming_file_and_reason(host, tmp_path):
    src = tmp_path / "p.c"
    src.write_text('__attribute__((visibility("default"))) void* pluginInit(void* i)'
                   '{ (void)i; return 0; }\n')
    lib32 = tmp_path / "p32.so"
    import subprocess
    built = subprocess.run(["gcc", "-m32", "-shared", "-fPIC", str(src), "-o", str(lib32)],
                           capture_output=True)
    if built.returncode != 0:
        pytest.skip("gcc -m32 (gcc-multilib) is not installed")
    with pytest.raises(PluginError, match=r"p32\.so.*32-bit"):
        host.install(lib32)
    assert not mapped(lib32)


def test_refused_load_closes_the_library_and_changes_nothing(host, sample):
    path = sample("refuses_load")
    with pytest.raises(PluginError, match="refused to install"):
        host.install(path)
    assert host.plugins() == []
    assert not mapped(path)
    assert host.registry.settings("{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000003}") == {}
    assert "plugin_failed" in kinds(host)


# -- lifecycle ---------------------------------------------------------------------------

def test_install_sends_on_install_and_records_the_plugin(host, sample):
    record = host.install(sample("dev_plugin"))
    assert record.guid == DEV and record.version == 1.0 and record.enabled
    assert host.loaded() == [DEV]
    assert host.registry.get_setting(DEV, "last_state") == ("string", "install")
    assert host.bus.has_plugin(DEV)
    assert kinds(host, Category.PLUGIN) == ["plugin_loaded", "plugin_installed"]


def test_restart_sends_on_load_and_settings_persist(home, sample):
    with Host(home, timers=False) as h:
        h.install(sample("dev_plugin"))
        assert chat(h, "hello") is False
    with Host(home, timers=False) as h:
        assert h.loaded() == [DEV]
        assert h.registry.get_setting(DEV, "last_state") == ("string", "load")
        assert h.registry.get_setting(DEV, "loads") == ("int64", 2)
        assert h.registry.get_setting(DEV, "chat_seen") == ("int", 1)
        assert chat(h, "!version") is True


def test_disable_unloads_and_enable_loads_at_runtime(host, sample):
    host.install(sample("dev_plugin"))
    host.disable(DEV)
    assert host.loaded() == [] and host.plugin(DEV).enabled is False
    assert chat(host, "!version") is False
    assert not host.bus.has_plugin(DEV)
    host.enable(DEV)
    assert host.loaded() == [DEV]
    assert host.registry.get_setting(DEV, "last_state") == ("string", "load_runtime")
    assert chat(host, "!version") is True


def test_disabled_plugins_do_not_load_at_start(home, sample):
    with Host(home, timers=False) as h:
        h.install(sample("dev_plugin"))
        h.disable(DEV)
    with Host(home, timers=False) as h:
        assert h.loaded() == []
        assert h.plugin(DEV).enabled is False


def test_configure_sends_on_configure(host, sample):
    host.install(sample("dev_plugin"))
    assert host.configure(DEV) is True
    assert host.registry.get_setting(DEV, "configured") == ("bool", True)
    host.disable(DEV)
    with pytest.raises(PluginError, match="not loaded"):
        host.configure(DEV)


def test_remove_sends_on_uninstall_and_drops_settings(host, sample, caplog):
    path = sample("dev_plugin")
    host.install(path)
    with caplog.at_level(logging.INFO, logger="pyhost.plugin"):
        host.remove(DEV)
    assert any(r.getMessage() == "uninstalling" for r in caplog.records)
    assert host.plugins() == [] and host.registry.settings(DEV) == {}
    assert not mapped(path)


def test_remove_can_keep_settings(host, sample):
    host.install(sample("dev_plugin"))
    host.remove(DEV, keep_settings=True)
    assert host.registry.get_setting(DEV, "loads") == ("int64", 1)
    host.install(sample("dev_plugin"))  # a reinstall finds its settings again
    assert host.registry.get_setting(DEV, "loads") == ("int64", 2)


def test_shutdown_unloads_in_reverse_load_order(home, sample):
    with Host(home, timers=False) as h:
        h.install(sample("dep_base"))
        h.install(sample("dep_child"))
        h.install(sample("dev_plugin"))
    with Host(home, timers=False) as h:
        assert h.loaded() == [DEP_BASE, DEP_CHILD, DEV]
        h.events.poll()
    events = h.events.poll(Category.PLUGIN)
    assert [e.guid for e in events if e.kind == "plugin_unloaded"] == [DEV, DEP_CHILD, DEP_BASE]


def test_plugin_refusing_unload_stays_mapped_until_shutdown(home, sample):
    path = sample("refuses_unload")
    with Host(home, timers=False) as h:
        h.install(path)
        h.disable(REFUSES_UNLOAD)
        assert h.loaded() == []
        assert mapped(path)
        unloaded = [e for e in h.events.poll() if e.kind == "plugin_unloaded"]
        assert unloaded[-1].kept_mapped is True
        assert chat(h, "!sticky") is True  # its code is still there and still bound
    assert not mapped(path)


def test_unknown_guid_is_a_clear_error(host):
    for action in (host.enable, host.disable, host.remove, host.configure):
        with pytest.raises(PluginError, match=r"No plugin with guid \{nope\} is installed\."):
            action("{nope}")
    with pytest.raises(PluginError):
        host.move("{nope}", "up")


def test_move_changes_the_load_order(home, sample):
    with Host(home, timers=False) as h:
        h.install(sample("dev_plugin"))
        h.install(sample("chat_guard"))
        assert h.move(DEV, "down") is True
        assert h.move(DEV, "down") is False
        assert [p.name for p in h.plugins()] == ["Chat guard", "Dev plugin"]
    with Host(home, timers=False) as h:
        assert h.loaded()[1] == DEV


# -- dependencies ------------------------------------------------------------------------

def test_dependency_must_be_loaded_to_install(host, sample):
    with pytest.raises(PluginError, match="depends on .*not loaded"):
        host.install(sample("dep_child"))
    assert host.plugins() == []
    host.install(sample("dep_base"))
    host.install(sample("dep_child"))
    assert host.loaded() == [DEP_BASE, DEP_CHILD]
    assert chat(host, "!child") is True


def test_start_orders_by_dependencies_then_user_order(home, sample):
    with Host(home, timers=False) as h:
        h.install(sample("dev_plugin"))
        h.install(sample("dep_base"))
        h.install(sample("dep_child"))
        h.move(DEP_CHILD, "up")
        h.move(DEP_CHILD, "up")  # child first in the user's order
    with Host(home, timers=False) as h:
        assert h.loaded() == [DEV, DEP_BASE, DEP_CHILD]
        assert h.events.poll(Category.ERROR) == []


def _add_record(home, sample, name, guid):
    """Registers a plugin without loading it (as an older host version could have)."""
    with Host(home, timers=False) as h:
        h.registry.add(PluginRecord(guid=guid, name=name, version=1.0, path=str(sample(name))))


def test_missing_and_cyclic_dependencies_block_exactly_their_plugins(home, sample):
    with Host(home, timers=False) as h:
        h.install(sample("dev_plugin"))
    _add_record(home, sample, "dep_missing", DEP_MISSING)
    _add_record(home, sample, "dep_cycle_a", CYCLE_A)
    _add_record(home, sample, "dep_cycle_b", CYCLE_B)
    with Host(home, timers=False) as h:
        assert h.loaded() == [DEV]
        failed = {e.guid: e.reason for e in h.events.poll(Category.ERROR)}
        assert set(failed) == {DEP_MISSING, CYCLE_A, CYCLE_B}
        assert "{00000000-0000-0000-0000-000000000000}" in failed[DEP_MISSING]
        assert "dependency cycle" in failed[CYCLE_A] and "dependency cycle" in failed[CYCLE_B]
        for name in ("dep_missing", "dep_cycle_a", "dep_cycle_b"):
            assert not mapped(sample(name))


def test_cannot_disable_a_plugin_others_depend_on(host, sample):
    host.install(sample("dep_base"))
    host.install(sample("dep_child"))
    with pytest.raises(PluginError, match="Dependency child"):
        host.disable(DEP_BASE)
    assert host.loaded() == [DEP_BASE, DEP_CHILD]


# -- updates -----------------------------------------------------------------------------

def test_update_to_higher_version_keeps_settings(host, sample):
    host.install(sample("dev_plugin"))
    chat(host, "x")
    record = host.install(sample("dev_plugin_v2"))
    assert record.version == 2.0 and host.plugin(DEV).version == 2.0
    assert host.loaded() == [DEV]
    assert host.registry.get_setting(DEV, "chat_seen") == ("int", 1)
    assert host.registry.get_setting(DEV, "last_state") == ("string", "load_runtime")
    assert not mapped(sample("dev_plugin"))
    seen = kinds(host, Category.PLUGIN)
    assert seen[-3:] == ["plugin_unloaded", "plugin_updated", "plugin_loaded"]


@pytest.mark.parametrize("second", ["dev_plugin", "dev_plugin_v2"])
def test_same_or_lower_version_is_refused(host, sample, second):
    host.install(sample("dev_plugin_v2"))
    with pytest.raises(PluginError, match="already installed; refusing version"):
        host.install(sample(second))
    assert host.plugin(DEV).version == 2.0
    assert host.loaded() == [DEV]


# -- services ----------------------------------------------------------------------------

def test_plugin_settings_do_not_leak_config_values(home, sample):
    before = lib.phn_cfg_live()
    with Host(home, timers=False) as h:
        h.install(sample("dev_plugin"))
        chat(h, "x")
        h.tick(1000)
        h.configure(DEV)
    assert lib.phn_cfg_live() == before


def test_plugin_log_goes_to_its_logger_and_the_event_stream(host, sample, caplog):
    with caplog.at_level(logging.INFO, logger="pyhost.plugin"):
        host.install(sample("dev_plugin"))
    assert any(r.name == "pyhost.plugin.Dev plugin" and "loaded" in r.getMessage()
               for r in caplog.records)
    logs = host.events.poll(Category.LOG)
    assert logs and logs[0].name == "Dev plugin" and "loaded (install)" in logs[0].message


def test_timer_hooks_fire_with_tick_in_ms(host, sample):
    host.install(sample("dev_plugin"))
    host.tick(424242)
    assert host.registry.get_setting(DEV, "last_tick") == ("int64", 424242)


def test_timer_thread_fires_while_running(home, sample):
    with Host(home, timers=True) as h:
        h.install(sample("dev_plugin"))
        deadline = time.monotonic() + 10
        while h.registry.get_setting(DEV, "last_tick") is None and time.monotonic() < deadline:
            time.sleep(0.05)
        tick = h.registry.get_setting(DEV, "last_tick")
    assert tick is not None and tick[1] > 0


def test_subscriber_exception_becomes_a_host_event(host):
    def broken(obj, data, common):
        raise ValueError("bad subscriber")
    host.bus.bind("dcpp.chat.onIncomingChat", broken)
    assert chat(host, "hi") is False
    errors = host.events.poll(Category.ERROR)
    assert errors[-1].kind == "subscriber_exception" and "bad subscriber" in errors[-1].error


def test_cpp_sample_plugin_runs(host, sample):
    host.install(sample("cpp_greeter"))
    cmd = ffi.new("CommandData*")
    keep = [ffi.new("char[]", b"hello"), ffi.new("char[]", b"")]
    cmd.command, cmd.params = keep
    assert host.hooks["dcpp.ui.onChatCommand"].run(None, cmd) is True
    guid = host.plugins()[0].guid
    assert host.registry.get_setting(guid, "greetings") == ("int", 1)


# -- the inspection cache ----------------------------------------------------------------

def test_unchanged_plugins_are_not_inspected_again_at_start(home, sample, monkeypatch, tmp_path):
    from pyhost.host import binary
    copy = tmp_path / "dev_copy.so"
    copy.write_bytes(sample("dev_plugin").read_bytes())
    with Host(home, timers=False) as h:
        h.install(copy)
    calls = []
    real = binary.check_loadable
    monkeypatch.setattr(binary, "check_loadable", lambda p, **kw: calls.append(p) or real(p, **kw))
    with Host(home, timers=False) as h:
        assert h.loaded() == [DEV]
    assert calls == []


def test_a_changed_plugin_file_is_inspected_again(home, sample, tmp_path):
    copy = tmp_path / "dev_copy.so"
    copy.write_bytes(sample("dev_plugin").read_bytes())
    with Host(home, timers=False) as h:
        h.install(copy)
    copy.write_bytes(b"\x7fELF" + b"\0" * 12)  # replaced in place by something broken
    with Host(home, timers=False) as h:
        assert h.loaded() == []
        failed = h.events.poll(Category.ERROR)
        assert failed and "dev_copy.so" in failed[-1].reason
        assert "corrupt" in failed[-1].reason or "truncated" in failed[-1].reason
