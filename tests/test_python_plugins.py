"""Python plugins: opening (file, package, entry point), lifecycle, the authoring API
(hooks, views, settings, logger, interfaces, raw ABI), the samples, and faults."""
import inspect
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from pyhost.abi._ffi import ffi, lib
from pyhost.host.events import Category
from pyhost.host.host import Host
from pyhost.abi.interfaces import Interface, bind_table, export, function
from pyhost.host.loader import PluginError
from pyhost.host.python_loader import ENTRY_POINT_PREFIX, kind_of, open_plugin
from pyhost.packages.python_package import PythonEntryError, installed_entry, python_entry

ROOT = Path(__file__).resolve().parents[1]
PY_SAMPLES = ROOT / "sample_plugins" / "python"
GUID = "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee0005f0}"
DEV_C = "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000002}"
DEV_PY = "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000502}"
CHAT_COMMANDS = "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000501}"

HEADER = '''
from pyhost.plugin.plugin import *
plugin = Plugin(guid="{guid}", name="Test plugin", version={version}, author="tests")
'''


def write(tmp_path, body: str, name: str = "plugin.py", header: bool = True,
          version: float = 1.0) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    head = HEADER.format(guid=GUID, version=version) if header else ""
    path.write_text(head + textwrap.dedent(body))
    return path


def chat(host, text, hub=None) -> bool:
    return host.hooks["dcpp.chat.onIncomingChat"].run(hub, ffi.new("char[]", text.encode()))


def plugin_of(host, guid=GUID):
    return host._loaded[guid].plugin.plugin


def errors(host):
    return host.events.poll(Category.ERROR)


def logs(host, guid=GUID):
    return [e.message for e in host.events.poll(Category.LOG) if e.guid == guid]


class FakeHub(Interface, guid="dcpp.network.DCHub", version=1):
    """A DCHub implemented in Python (pyhost.interfaces), recording what plugins ask."""

    def __init__(self):
        self.local, self.sent, self.copies = [], [], []

    @function("HubData*(const char* url, const char* nick, const char* password)")
    def add_hub(self, url, nick, password): ...

    @function("HubData*(const char* url)")
    def find_hub(self, url): ...

    @function("void(HubData* hub)")
    def remove_hub(self, hub): ...

    @function("void(HubData* hub, const char* cmd)")
    def emulate_protocol_cmd(self, hub, cmd): ...

    @function("void(HubData* hub, const char* cmd)")
    def send_protocol_cmd(self, hub, cmd): ...

    @function("void(HubData* hub, const char* msg, Bool thirdPerson)")
    def send_message(self, hub, msg, third_person):
        self.sent.append((ffi.string(hub.url).decode(), msg, third_person))

    @function("void(HubData* hub, const char* msg, MsgType type)")
    def local_message(self, hub, msg, type):
        self.local.append((ffi.string(hub.url).decode(), msg, type))

    @function("Bool(UserData* user, const char* msg, Bool thirdPerson)")
    def send_private_message(self, user, msg, third_person):
        return 1

    @function("UserData*(const char* cid, const char* hubUrl)")
    def find_user(self, cid, hub_url): ...

    @function("UserData*(const UserData* user)")
    def copy_user(self, user): ...

    @function("void(UserData* user)")
    def release_user(self, user): ...

    @function("HubData*(const HubData* hub)")
    def copy(self, hub):
        url = ffi.new("char[]", ffi.string(hub.url))
        block = ffi.new("HubData*", {"url": url, "port": hub.port, "isManaged": 0})
        self.copies.append((block, url))
        return block

    @function("void(HubData* hub)")
    def release(self, hub):
        self.copies = [c for c in self.copies if c[0] != hub]


def no_application() -> dict:
    """Host kwargs for a host without the application's interfaces (when it has app=)."""
    class Nothing:
        pass
    return {"app": Nothing()} if "app" in inspect.signature(Host).parameters else {}


@pytest.fixture
def hub_host(home):
    """A host whose DCHub is a FakeHub (no other application interface)."""
    with Host(home, timers=False, **no_application()) as h:
        fake = FakeHub()
        table = export(fake)
        assert h.bus.register_interface("dcpp.network.DCHub", table.pointer) is not None
        h.fake_hub, h._fake_table = fake, table
        yield h


def hub_data(url="adc://hub.example:1511", port=1511, is_op=True):
    url_c = ffi.new("char[]", url.encode())
    hub = ffi.new("HubData*", {"url": url_c, "port": port, "isOp": int(is_op),
                               "protocol": lib.PROTOCOL_ADC, "isManaged": 1})
    return hub, url_c


# -- opening -------------------------------------------------------------------------------------

def test_single_file_plugin_installs_like_any_other(host, tmp_path):
    path = write(tmp_path, "")
    record = host.install(path, kind="python")
    assert (record.guid, record.name, record.version, record.kind) == (GUID, "Test plugin", 1.0,
                                                                        "python")
    assert record.path == str(path) and record.author == "tests"
    assert host.loaded() == [GUID] and host.bus.has_plugin(GUID)
    assert [p.guid for p in host.plugins()] == [GUID]
    assert [e.kind for e in host.events.poll(Category.PLUGIN)] == ["plugin_loaded",
                                                                   "plugin_installed"]


def test_package_directory_plugin_with_relative_imports(host, tmp_path):
    package = tmp_path / "pkg_plugin"
    write(package, "VALUE = 41\n", name="helper.py", header=False)
    write(package, """
        from .helper import VALUE
        ANSWER = VALUE + 1
        """, name="__init__.py")
    record = host.install(package / "__init__.py", kind="python")
    assert record.path == str(package)  # the package directory is what gets reopened
    module = sys.modules[next(k for k in sys.modules if k.endswith("_pkg_plugin"))]
    assert module.ANSWER == 42
    host.disable(GUID)
    assert not any(k.endswith("_pkg_plugin") or "_pkg_plugin." in k for k in sys.modules)
    host.enable(GUID)
    assert host.loaded() == [GUID]


@pytest.mark.parametrize("body, reason", [
    ("def broken(:\n", "SyntaxError"),
    ("raise ImportError('no such thing')\n", "ImportError: no such thing"),
    ("import sys\nsys.exit(3)\n", "SystemExit: 3"),
])
def test_a_module_that_does_not_import_is_refused_in_one_sentence(host, tmp_path, body, reason):
    path = write(tmp_path, body, name="bad.py", header=False)
    with pytest.raises(PluginError, match=reason) as err:
        host.install(path, kind="python")
    assert str(err.value).startswith("bad.py could not be imported") and "\n" not in str(err.value)
    assert host.plugins() == []
    assert not [k for k in sys.modules if k.endswith("_bad")]
    (event,) = errors(host)
    assert event.kind == "plugin_failed" and reason in event.reason


@pytest.mark.parametrize("body, reason", [
    ("X = 1\n", "declares no plugin"),
    (f"from pyhost.plugin.plugin import Plugin\na = Plugin(guid='{GUID}', name='A', version=1)\n"
     f"b = Plugin(guid='{GUID}x', name='B', version=1)\n", "declares 2 plugins"),
    ("from pyhost.plugin.plugin import Plugin\np = Plugin(guid='', name='A', version=1)\n",
     "needs a non-empty guid"),
    (f"from pyhost.plugin.plugin import Plugin\np = Plugin(guid='{GUID}', name='A', version=1, "
     "api_version=7)\n", "API version 7"),
    (f"from pyhost.plugin.plugin import Plugin\np = Plugin(guid='{GUID}', name='A', version='1')\n",
     "version must be a number"),
])
def test_bad_declarations_are_refused(host, tmp_path, body, reason):
    with pytest.raises(PluginError, match=reason):
        host.install(write(tmp_path, body, name="decl.py", header=False), kind="python")
    assert host.plugins() == []


def test_files_that_are_not_python_plugins_are_refused(host, tmp_path):
    with pytest.raises(PluginError, match="no such plugin file"):
        host.install(tmp_path / "missing.py", kind="python")
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(PluginError, match="not a Python plugin"):
        host.install(tmp_path / "notes.txt", kind="python")
    (tmp_path / "empty_dir").mkdir()
    with pytest.raises(PluginError, match="needs an __init__.py"):
        host.install(tmp_path / "empty_dir", kind="python")
    assert host.plugins() == []


def test_module_runs_afresh_at_each_open_and_leaves_sys_modules(host, tmp_path):
    marker = tmp_path / "runs.txt"
    path = write(tmp_path, f"""
        with open({str(marker)!r}, "a") as f:
            f.write("run\\n")
        """)
    host.install(path, kind="python")
    host.disable(GUID)
    host.enable(GUID)
    assert marker.read_text().count("run") == 2
    host.remove(GUID)
    assert not [k for k in sys.modules if k.startswith("_pyhost_plugin_") and k.endswith("_plugin")]


def test_one_file_in_two_hosts_runs_as_two_independent_plugins(tmp_path):
    path = write(tmp_path, """
        @hook("dcpp.chat.onIncomingChat")
        def on_chat(hub, message):
            plugin.settings["seen"] = message
            plugin.log.info("saw %s", message)
        """)
    with Host(tmp_path / "a", timers=False) as a, Host(tmp_path / "b", timers=False) as b:
        a.install(path, kind="python")
        b.install(path, kind="python")
        assert plugin_of(a) is not plugin_of(b)
        chat(a, "for a")
        chat(b, "for b")
        assert a.registry.get_setting(GUID, "seen") == ("string", "for a")
        assert b.registry.get_setting(GUID, "seen") == ("string", "for b")
        assert logs(a) == ["saw for a"] and logs(b) == ["saw for b"]


def test_kind_of_recognises_python_plugins(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    assert kind_of(tmp_path / "x.py") == "python"
    assert kind_of(tmp_path / "pkg") == "python"
    assert kind_of("entry-point:foo") == "python"
    assert kind_of(tmp_path / "x.so") is None


# -- lifecycle ---------------------------------------------------------------------------------

LIFECYCLE = """
    import json
    seen = []

    @plugin.main
    def main(state, core, data):
        seen.append((state, None if core is None else ffi.typeof(core).cname))
        return plugin.settings.get("refuse") != state
    """


def test_main_gets_every_state_with_the_plugins_own_dccore(host, tmp_path):
    host.install(write(tmp_path, LIFECYCLE), kind="python")
    plugin = plugin_of(host)
    seen = plugin._main_fn.__globals__["seen"]
    assert plugin.core == host._loaded[GUID].core.core  # the same table a C plugin gets
    host.configure(GUID)
    host.disable(GUID)
    host.enable(GUID)
    host.remove(GUID)
    core = "struct DCCore *"
    assert seen == [(lib.ON_INSTALL, core), (lib.ON_CONFIGURE, core), (lib.ON_UNLOAD, None)]
    # enable re-imports the module: the second run has its own `seen`


def test_restart_loads_python_plugins_with_on_load(home, tmp_path):
    path = write(tmp_path, """
        @plugin.main
        def main(state, core, data):
            plugin.settings["last"] = state
        """)
    with Host(home, timers=False) as h:
        h.install(path, kind="python")
    with Host(home, timers=False) as h:
        assert h.loaded() == [GUID]
        assert h.registry.get_setting(GUID, "last") == ("int", lib.ON_LOAD)


def test_main_returning_false_refuses_and_undoes_everything(host, tmp_path):
    path = write(tmp_path, """
        plugin.create_hook("test.python.created")

        class Calc(Interface, guid="test.python.Calc", version=1):
            @function("int(int)")
            def twice(self, n):
                return 2 * n

        plugin.provide(Calc())

        @hook("dcpp.chat.onIncomingChat")
        def on_chat(hub, message):
            return True

        @plugin.main
        def main(state, core, data):
            return False
        """)
    with pytest.raises(PluginError, match="refused to install"):
        host.install(path, kind="python")
    assert host.plugins() == [] and host.loaded() == [] and host._owners == {}
    assert host.bus.hook("test.python.created") is None
    assert host.bus.query_interface("test.python.Calc", 1) is None
    assert host.hooks["dcpp.chat.onIncomingChat"].subscribers == 0
    assert chat(host, "x") is False


def test_main_raising_fails_the_load_and_is_reported(host, tmp_path):
    path = write(tmp_path, """
        @hook("dcpp.chat.onIncomingChat")
        def on_chat(hub, message):
            return True

        @plugin.main
        def main(state, core, data):
            raise KeyError("missing piece")
        """)
    with pytest.raises(PluginError, match="refused|raised"):
        host.install(path, kind="python")
    (event,) = errors(host)
    assert "raised KeyError('missing piece') in ON_INSTALL" in event.reason
    assert host.hooks["dcpp.chat.onIncomingChat"].subscribers == 0
    assert host.loaded() == []


def test_sys_exit_in_main_does_not_end_the_host(host, tmp_path):
    path = write(tmp_path, """
        import sys

        @plugin.main
        def main(state, core, data):
            sys.exit(0)
        """)
    with pytest.raises(PluginError):
        host.install(path, kind="python")
    assert "SystemExit" in errors(host)[0].reason


def test_main_raising_in_configure_is_reported_and_answers_false(host, tmp_path):
    host.install(write(tmp_path, """
        @plugin.main
        def main(state, core, data):
            if state == ON_CONFIGURE:
                raise RuntimeError("no dialog here")
        """), kind="python")
    assert host.configure(GUID) is False
    (event,) = errors(host)
    assert event.reason == "Test plugin raised RuntimeError('no dialog here') in ON_CONFIGURE."


def test_refusing_to_unload_keeps_subscriptions_until_shutdown(home, tmp_path):
    path = write(tmp_path, """
        calls = []

        @hook("dcpp.chat.onIncomingChat")
        def on_chat(hub, message):
            calls.append(message)

        @plugin.main
        def main(state, core, data):
            return state not in (ON_UNLOAD, ON_UNINSTALL)
        """)
    with Host(home, timers=False) as h:
        h.install(path, kind="python")
        plugin = plugin_of(h)
        calls = plugin._main_fn.__globals__["calls"]
        h.disable(GUID)
        assert h.loaded() == [] and h.events.poll(Category.PLUGIN)[-1].kept_mapped
        chat(h, "still here")
        assert calls == ["still here"]
    # shutdown released what the plugin held, then closed it
    assert h._owners == {} and plugin.loaded is False and plugin.core is None


def test_update_to_a_higher_version_keeps_settings(host, tmp_path):
    v1 = write(tmp_path, """
        @plugin.main
        def main(state, core, data):
            plugin.settings["v1_was_here"] = True
        """, name="v1/plugin.py")
    v2 = write(tmp_path, """
        @hook("dcpp.chat.onIncomingChat")
        def on_chat(hub, message):
            return message == "v2?"

        @plugin.main
        def main(state, core, data):
            plugin.settings["v2_state"] = state
        """, name="v2/plugin.py", version=2.0)
    host.install(v1, kind="python")
    record = host.install(v2, kind="python")
    assert record.version == 2.0 and record.path == str(v2)
    assert host.registry.get_setting(GUID, "v1_was_here") == ("bool", True)
    assert host.registry.get_setting(GUID, "v2_state") == ("int", lib.ON_LOAD_RUNTIME)
    assert chat(host, "v2?") is True
    with pytest.raises(PluginError, match="needs a higher version"):
        host.install(v1, kind="python")


# -- hooks and views -------------------------------------------------------------------------

def test_chat_subscriber_gets_a_hub_view_and_the_message(host, tmp_path):
    host.install(write(tmp_path, """
        got = []

        @hook("dcpp.chat.onIncomingChat")
        def on_chat(hub, message):
            got.append((type(hub).__name__, hub.url, hub.port, hub.is_op, hub.is_secure,
                        hub.protocol, message))
            return message == "mine"
        """), kind="python")
    got = plugin_of(host)._specs[0].fn.__globals__["got"]
    hub, keep = hub_data()
    assert chat(host, "mine", hub) is True
    assert chat(host, "héllo", hub) is False
    assert got == [("HubData", "adc://hub.example:1511", 1511, True, False, lib.PROTOCOL_ADC,
                    "mine"),
                   ("HubData", "adc://hub.example:1511", 1511, True, False, lib.PROTOCOL_ADC,
                    "héllo")]


def test_timer_tick_reaches_a_subscriber_as_int(host, tmp_path):
    host.install(write(tmp_path, """
        @hook("dcpp.timer.onSecond")
        def tick(obj, now):
            plugin.settings["tick"] = now
            plugin.settings["obj"] = repr(obj)
        """), kind="python")
    host.tick(now_ms=2**40 + 5)
    assert host.registry.get_setting(GUID, "tick") == ("int64", 2**40 + 5)
    assert host.registry.get_setting(GUID, "obj") == ("string", "None")


def test_raw_subscriber_gets_the_two_pointers(host, tmp_path):
    host.install(write(tmp_path, """
        got = []

        @hook("dcpp.chat.onIncomingChat", raw=True)
        def on_chat(obj, data):
            got.append((ffi.typeof(obj).cname, ffi.string(ffi.cast("char*", data))))
        """), kind="python")
    chat(host, "raw")
    assert plugin_of(host)._specs[0].fn.__globals__["got"] == [("void *", b"raw")]


def test_python_to_python_hooks_with_break_and_handled(host, tmp_path):
    owner = write(tmp_path, """
        shout = plugin.create_hook("test.python.onShout",
                                   default=lambda obj, data: plugin.settings.__setitem__(
                                       "default_ran", True) or True)

        @hook("dcpp.chat.onIncomingChat")
        def on_chat(hub, message):
            plugin.settings["result"] = shout.run(None, message)
        """, name="owner/plugin.py")
    binder = write(tmp_path, f"""
        from pyhost.plugin.plugin import Plugin, hook, HANDLED, BREAK
        plugin = Plugin(guid="{GUID}b", name="Binder", version=1.0, dependencies=["{GUID}"])
        seen = []

        @hook("test.python.onShout", data=str)
        def first(obj, text):
            seen.append(("first", text))
            return {{"stop": BREAK, "both": HANDLED | BREAK, "yes": True}}.get(text)

        @hook("test.python.onShout", data=str)
        def second(obj, text):
            seen.append(("second", text))
        """, name="binder/plugin.py", header=False)
    host.install(owner, kind="python")
    chat(host, "lonely")  # no subscribers: the default procedure answers
    assert host.registry.get_setting(GUID, "default_ran") == ("bool", True)
    assert host.registry.get_setting(GUID, "result") == ("bool", True)
    host.install(binder, kind="python")
    seen = plugin_of(host, GUID + "b")._specs[0].fn.__globals__["seen"]
    expected = {"plain": (False, ["first", "second"]), "yes": (True, ["first", "second"]),
                "stop": (False, ["first"]), "both": (True, ["first"])}
    for text, (result, order) in expected.items():
        seen.clear()
        chat(host, text)
        assert host.registry.get_setting(GUID, "result") == ("bool", result), text
        assert [s[0] for s in seen] == order, text


def test_binding_an_unknown_hook_fails_the_load_naming_it(host, tmp_path):
    with pytest.raises(PluginError):
        host.install(write(tmp_path, """
            @hook("no.such.hook")
            def never(obj, data):
                pass
            """), kind="python")
    (event,) = errors(host)
    assert "cannot bind never to hook 'no.such.hook': no such hook" in event.reason


def test_creating_an_existing_hook_fails_the_load(host, tmp_path):
    with pytest.raises(PluginError):
        host.install(write(tmp_path, 'plugin.create_hook("dcpp.chat.onIncomingChat")\n'),
                     kind="python")
    assert "already exists" in errors(host)[0].reason


def test_bind_and_release_at_runtime(host, tmp_path):
    host.install(write(tmp_path, ""), kind="python")
    plugin = plugin_of(host)
    calls = []
    sub = plugin.bind("dcpp.chat.onIncomingChat", lambda hub, msg: calls.append(msg) or True)
    assert chat(host, "a") is True and calls == ["a"]
    assert sub.release() == 0 and not sub.active and sub.release() == 0
    assert chat(host, "b") is False and calls == ["a"]
    plugin.bind("dcpp.chat.onIncomingChat", lambda hub, msg: calls.append(msg))
    host.disable(GUID)  # released at unload
    assert host.hooks["dcpp.chat.onIncomingChat"].subscribers == 0


def test_a_subscriber_may_release_itself_during_dispatch(host, tmp_path):
    host.install(write(tmp_path, ""), kind="python")
    plugin = plugin_of(host)
    calls = []

    def once(hub, message):
        calls.append(message)
        subs.pop().release()
        return True

    for _ in range(100):  # enough releases to sweep the retired handles on the way
        subs = [plugin.bind("dcpp.chat.onIncomingChat", once)]
        assert chat(host, "x") is True and chat(host, "y") is False
    assert calls == ["x"] * 100 and len(plugin._retired) < 64
    assert errors(host) == []


def test_subscriber_exception_is_a_host_event_and_not_handled(host, tmp_path):
    host.install(write(tmp_path, """
        @hook("dcpp.chat.onIncomingChat")
        def on_chat(hub, message):
            return 1 / 0
        """), kind="python")
    assert chat(host, "x") is False
    (event,) = errors(host)
    assert (event.kind, event.hook, event.subscriber, event.plugin) == (
        "subscriber_exception", "dcpp.chat.onIncomingChat", "on_chat", "Test plugin")
    assert "ZeroDivisionError" in event.error and "1 / 0" in event.traceback


def test_string_data_out_set_by_python_is_owned_per_thread_and_freed(host, tmp_path):
    host.install(write(tmp_path, """
        @hook("dcpp.ui.onChatDisplay")
        def display(user, text):
            text.out = f"<{text.text}>"
            return True
        """), kind="python")
    plugin = plugin_of(host)
    (sub,) = plugin.subscriptions
    display = host.hooks["dcpp.ui.onChatDisplay"]
    copies = []

    def fire(n, tag):
        for i in range(n):
            in_ = ffi.new("char[]", f"{tag}{i}".encode())
            data = ffi.new("StringData*", {"in": in_})
            assert display.run(None, data) is True
            copies.append(ffi.string(data.out).decode())  # the host copies right away

    threads = [threading.Thread(target=fire, args=(200, f"t{n}-")) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    fire(3, "main-")
    assert len(copies) == 803 and "<t3-199>" in copies and copies[-1] == "<main-2>"
    # at most one string alive per thread that fired; none after unload
    assert 1 <= len(sub._outs) <= 5
    host.disable(GUID)
    assert sub._outs == {}


def test_string_data_made_by_a_plugin_to_fire_its_own_hook(host, tmp_path):
    host.install(write(tmp_path, """
        h = plugin.create_hook("test.python.onText")

        @hook("test.python.onText", data=StringData)
        def upper(obj, text):
            text.out = text.text.upper()
        """), kind="python")
    plugin = plugin_of(host)
    from pyhost.plugin.plugin import StringData
    data = StringData.new("quiet")
    assert plugin.hooks["test.python.onText"].run(None, data) is False
    assert data.out == "QUIET" and data.text == "quiet"


# -- settings and log ----------------------------------------------------------------------

def test_settings_are_typed_persisted_and_visible_to_dcconfig(home, tmp_path):
    path = write(tmp_path, """
        plugin.settings.defaults.update(count=0, big=Int64(0), flag=False, name="anon")
        """)
    with Host(home, timers=False) as h:
        h.install(path, kind="python")
        s = plugin_of(h).settings
        assert (s["count"], s["big"], s["flag"], s["name"]) == (0, 0, False, "anon")
        s["count"] += 5
        s["big"] = 7
        s["flag"] = True
        s["name"] = "ada"
        s["free"] = 2**40  # undeclared, too big for INT: INT64
        assert s["free"] == str(2**40)  # undeclared: the text DCConfig keeps
        assert "free" in s and "nothing" not in s
        with pytest.raises(KeyError):
            s["nothing"]
        assert s.get("nothing", "dflt") == "dflt"
        with pytest.raises(TypeError, match="DCConfig stores str, int and bool"):
            s["bad"] = 1.5
        assert sorted(s) == ["big", "count", "flag", "name"]
    with Host(home, timers=False) as h:
        settings = h.registry.settings(GUID)
        assert settings["count"] == ("int", 5) and settings["big"] == ("int64", 7)
        assert settings["flag"] == ("bool", True) and settings["name"] == ("string", "ada")
        assert settings["free"] == ("int64", 2**40)
        s = plugin_of(h).settings
        assert s["count"] == 5 and s["free"] == "1099511627776"
        s["count"] = 2**40  # a declared int takes INT64 when it must, and reads back whole
        assert s["count"] == 2**40 and h.registry.get_setting(GUID, "count")[0] == "int64"
        del s["flag"]  # unset again: the declared default, not DCConfig's missing BOOL (True)
        assert s["flag"] is False
        del s["free"]
        assert "free" not in s and h.registry.get_setting(GUID, "free") is None
        with pytest.raises(KeyError):
            del s["free"]


def test_settings_need_a_loaded_plugin(tmp_path):
    opened = open_plugin(write(tmp_path, ""))
    with pytest.raises(RuntimeError, match="only available while the plugin is loaded"):
        opened.plugin.settings["x"]
    opened.close()


def test_logger_writes_through_dclog_with_the_plugins_name(host, tmp_path):
    host.install(write(tmp_path, """
        @plugin.main
        def main(state, core, data):
            plugin.log.info("hello %s", "there")
            plugin.log.warning("careful")
            plugin.log.debug("not shown")
        """), kind="python")
    events = [e for e in host.events.poll(Category.LOG)]
    assert [(e.name, e.message) for e in events] == [("Test plugin", "hello there"),
                                                     ("Test plugin", "warning: careful")]


# -- the raw ABI and the interfaces -----------------------------------------------------------

def test_raw_abi_access_is_exactly_the_c_one(host, tmp_path):
    host.install(write(tmp_path, ""), kind="python")
    plugin = plugin_of(host)
    core = plugin.core
    config = ffi.cast("DCConfig*", core.query_interface(b"generic.plugins.DCConfig", 1))
    value = ffi.new("ConfigInt*", {"type": lib.CFG_TYPE_INT, "value": 9})
    config.set_cfg(GUID.encode(), b"raw", ffi.cast("ConfigValue*", value))
    got = config.get_cfg(GUID.encode(), b"raw", lib.CFG_TYPE_INT)
    assert ffi.cast("ConfigInt*", got).value == 9
    config.release(got)
    assert plugin.settings["raw"] == "9"  # undeclared: DCConfig's text
    plugin.settings.defaults["raw"] = 0
    assert plugin.settings["raw"] == 9    # declared int: DCConfig's own conversion
    assert plugin.query_interface("no.such.thing", 1) == ffi.NULL
    assert plugin.has_plugin(GUID) and not plugin.has_plugin("{nobody}")
    assert plugin.host_name.startswith("pyhost ")


def test_standard_tables_as_objects(host, tmp_path):
    host.install(write(tmp_path, ""), kind="python")
    plugin = plugin_of(host)
    utils = plugin.utils  # DCUtils, written in C
    buffer = ffi.new("char[]", 64)
    assert utils.to_base32(buffer, b"hello", 5) == 8  # the length only, as the reference
    assert ffi.string(buffer) == b""
    decoded = ffi.new("uint8_t[]", 5)
    assert utils.from_base32(decoded, b"nbswy3dp", 5) == 5
    assert bytes(decoded) == b"hello"
    assert plugin.interface("dcpp.utils.DCUtils").name == "DCUtils"
    assert plugin.interface("DCUtils", 2) is None  # newer than registered


def test_missing_interface_raises_a_clear_error(home, tmp_path):
    with Host(home, timers=False, **no_application()) as h:
        h.install(write(tmp_path, ""), kind="python")
        from pyhost.abi.views import InterfaceUnavailable
        with pytest.raises(InterfaceUnavailable, match="dcpp.queue.DCQueue"):
            plugin_of(h).queue
        assert plugin_of(h).interface("DCQueue") is None


def test_hub_view_methods_go_through_dchub(hub_host, tmp_path):
    hub_host.install(write(tmp_path, """
        @hook("dcpp.chat.onIncomingChat")
        def on_chat(hub, message):
            hub.send_message("echo: " + message)
            hub.local_message("seen", MSG_STATUS)
            with hub.copy() as copy:
                plugin.settings["copy"] = f"{copy.url} {copy.is_managed}"
        """), kind="python")
    hub, keep = hub_data()
    chat(hub_host, "ping", hub)
    fake = hub_host.fake_hub
    assert fake.sent == [("adc://hub.example:1511", "echo: ping", 0)]
    assert fake.local == [("adc://hub.example:1511", "seen", lib.MSG_STATUS)]
    assert hub_host.registry.get_setting(GUID, "copy") == ("string",
                                                           "adc://hub.example:1511 False")
    assert fake.copies == []  # the copy was released


def test_python_interface_called_from_python_through_the_c_table(host, tmp_path):
    path = write(tmp_path, """
        class Greeter(Interface, guid="test.python.Greeter", version=2):
            @function("const char*(const char* name)")
            def greet(self, name):
                return f"hello {name}"

            @function("int(int a, int b)")
            def add(self, a, b):
                if a < 0:
                    raise ValueError("negative")
                return a + b

        plugin.provide(Greeter())
        """)
    host.install(path, kind="python")
    spec = type(plugin_of(host)._provided[0])
    table = bind_table(spec, host.bus.query_interface("test.python.Greeter", 2))
    assert table.version == 2
    assert table.greet("ada") == "hello ada" and table.add(2, 3) == 5
    assert table.add(-1, 3) == 0  # the exception is reported, C gets 0
    (event,) = errors(host)
    assert event.hook == "test.python.Greeter" and event.subscriber == "Greeter.add"
    assert host.bus.query_interface("test.python.Greeter", 3) is None


def test_interface_of_a_c_plugin_from_python(host, sample, tmp_path):
    host.install(sample("dep_base"))
    host.install(write(tmp_path, """
        class DepBaseGreeter(Interface, guid="sample.depbase.Greeter", version=1):
            @function("int(int a, int b)")
            def add(self, a, b): ...

        @plugin.main
        def main(state, core, data):
            if state in LOAD_STATES:
                greeter = plugin.interface(DepBaseGreeter)
                plugin.settings["sum"] = greeter.add(20, 22)
        """), kind="python")
    assert host.registry.get_setting(GUID, "sum") == ("int", 42)


# -- the samples ---------------------------------------------------------------------------

def test_chat_commands_answers_commands_and_counts_in_settings(home):
    path = PY_SAMPLES / "chat_commands.py"
    for round_ in (1, 2):
        with Host(home, timers=False, **no_application()) as h:
            fake = FakeHub()
            table = export(fake)
            h.bus.register_interface("dcpp.network.DCHub", table.pointer)
            if round_ == 1:
                h.install(path, kind="python")
            hub, keep = hub_data("adc://chat.example")
            hook = h.hooks["dcpp.ui.onChatCommand"]

            def command(name, params=""):
                c, p = ffi.new("char[]", name.encode()), ffi.new("char[]", params.encode())
                return hook.run(hub, ffi.new("CommandData*", {"command": c, "params": p}))

            assert command("commands") is True
            assert command("hello", "ada") is True
            assert command("unknown") is False
            asked = h.registry.get_setting(CHAT_COMMANDS, "commands_asked")
            assert asked == ("int", round_)  # the counter survives the restart
            (url, first, kind), (_, second, _) = fake.local
            assert url == "adc://chat.example" and kind == lib.MSG_SYSTEM
            assert first.startswith("Commands: /commands - lists these commands")
            assert first.endswith(f"(asked {round_} times)")
            assert second == "Hello, ada!"


def test_chat_commands_with_the_applications_dchub(host):
    """The same sample against the host's own DCHub (the simulated world) and host.fire."""
    if not hasattr(host, "fire"):
        pytest.skip("this host has no application interfaces")
    host.install(PY_SAMPLES / "chat_commands.py", kind="python")
    hub = host.app.hub_for("adc://hub.example")
    assert host.fire.chat_command(hub, "/commands") is True
    assert host.fire.chat_command(hub, "/hello bob") is True
    assert host.fire.chat_command(hub, "/other") is False
    status = host.app.snapshot()["hubs"]["adc://hub.example"]["status"]
    assert status[0].endswith("(asked 1 times)") and status[1] == "Hello, bob!"


def test_chat_display_out_is_copied_by_the_host(host, tmp_path):
    if not hasattr(host, "fire"):
        pytest.skip("this host has no application interfaces")
    host.install(write(tmp_path, """
        @hook("dcpp.ui.onChatDisplay")
        def display(user, text):
            if text.text.startswith("!"):
                return False
            text.out = f"{user.nick}: <{text.text}>"
            return True
        """), kind="python")
    assert host.fire.chat_display("alice", "hi") == (True, "alice: <hi>")
    assert host.fire.chat_display("alice", "!raw") == (False, None)


def test_ui_commands_live_as_long_as_the_plugin(host, tmp_path):
    if not hasattr(host, "app"):
        pytest.skip("this host has no application interfaces")
    host.install(write(tmp_path, """
        @plugin.main
        def main(state, core, data):
            if state in LOAD_STATES:
                plugin.add_command("Say hi", lambda name: plugin.log.info("picked %s", name))
                plugin.add_command("Fail", lambda name: 1 / 0)
        """), kind="python")
    host.app.click(GUID, "Say hi")
    assert logs(host) == ["picked Say hi"]
    host.app.click(GUID, "Fail")
    (event,) = errors(host)
    assert event.hook == "dcpp.ui.DCUI" and "ZeroDivisionError" in event.error
    host.disable(GUID)
    with pytest.raises(LookupError):
        host.app.click(GUID, "Say hi")


@pytest.fixture(params=["C", "Python"])
def dev(request, sample):
    """dev_plugin.c and its port dev_plugin.py: the same checks for both."""
    if request.param == "C":
        return DEV_C, sample("dev_plugin"), "native", "Dev plugin"
    return DEV_PY, PY_SAMPLES / "dev_plugin.py", "python", "Dev plugin (Python)"


def test_dev_plugin_c_and_python_behave_the_same(home, dev):
    guid, path, kind, name = dev
    with Host(home, timers=False) as h:
        h.install(path, kind=kind)
        get = lambda key: h.registry.get_setting(guid, key)  # noqa: E731
        assert get("last_state") == ("string", "install") and get("loads") == ("int64", 1)
        assert get("config_path") == ("string", str(h.home / "config") + "/")
        assert chat(h, "!version") is True and chat(h, "hello") is False
        assert get("chat_seen") == ("int", 2)
        h.tick(now_ms=123456)
        assert get("last_tick") == ("int64", 123456)
        assert h.configure(guid) is True and get("configured") == ("bool", True)
        h.disable(guid)
        h.enable(guid)
        assert get("last_state") == ("string", "load_runtime") and get("loads") == ("int64", 2)
        messages = [e.message for e in h.events.poll(Category.LOG)]
        assert messages == ["Dev plugin 1.0 loaded (install)", "configure requested",
                            "unloading", "Dev plugin 1.0 loaded (load_runtime)"]
    with Host(home, timers=False) as h:
        assert h.registry.get_setting(guid, "last_state") == ("string", "load")
        h.remove(guid)
        assert [e.message for e in h.events.poll(Category.LOG)][-1] == "uninstalling"


# -- installed distributions (entry points) ---------------------------------------------------

# A PEP 517 build backend in 30 lines, so that pip builds and installs a real wheel offline
# (no setuptools or wheel needed): the distribution's package plus a dist-info with the
# pyhost.plugins entry point.
TINY_BACKEND = '''
import base64, hashlib, os, zipfile

NAME, VERSION, PACKAGE = "pyhost-hello-plugin", "1.5", "pyhost_hello_plugin"
ENTRY_POINTS = "[pyhost.plugins]\\nhello = pyhost_hello_plugin:plugin\\n"


def get_requires_for_build_wheel(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    dist_info = f"{PACKAGE}-{VERSION}.dist-info"
    files = {f"{PACKAGE}/{n}": open(os.path.join(PACKAGE, n), "rb").read()
             for n in sorted(os.listdir(PACKAGE)) if n.endswith(".py")}
    files[f"{dist_info}/METADATA"] = (
        f"Metadata-Version: 2.1\\nName: {NAME}\\nVersion: {VERSION}\\n").encode()
    files[f"{dist_info}/WHEEL"] = (b"Wheel-Version: 1.0\\nGenerator: tiny\\n"
                                   b"Root-Is-Purelib: true\\nTag: py3-none-any\\n")
    files[f"{dist_info}/entry_points.txt"] = ENTRY_POINTS.encode()
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
        record.append(f"{path},sha256={digest.decode()},{len(data)}")
    record.append(f"{dist_info}/RECORD,,")
    files[f"{dist_info}/RECORD"] = ("\\n".join(record) + "\\n").encode()
    name = f"{PACKAGE}-{VERSION}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as wheel:
        for path, data in files.items():
            wheel.writestr(path, data)
    return name
'''


def make_distribution(root: Path) -> Path:
    """A tiny source distribution declaring the pyhost.plugins entry point "hello"."""
    package = root / "pyhost_hello_plugin"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(textwrap.dedent(f'''
        from pyhost.plugin.plugin import Plugin, hook
        from .answers import ANSWER

        plugin = Plugin(guid="{GUID}", name="Hello from a distribution", version=1.5)

        @hook("dcpp.chat.onIncomingChat")
        def on_chat(hub, message):
            return message == ANSWER
        '''))
    (package / "answers.py").write_text('ANSWER = "!dist"\n')
    (root / "tiny_backend.py").write_text(TINY_BACKEND)
    (root / "pyproject.toml").write_text(textwrap.dedent('''
        [build-system]
        requires = []
        build-backend = "tiny_backend"
        backend-path = ["."]
        '''))
    return root


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A private site directory on sys.path, and the modules imported from it forgotten."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    before = set(sys.modules)
    yield site
    for name in set(sys.modules) - before:
        if name.startswith("pyhost_hello_plugin"):
            del sys.modules[name]


def test_entry_point_of_a_distribution_installed_with_pip(host, tmp_path, site):
    source = make_distribution(tmp_path / "src")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-index", "--no-build-isolation",
         "--no-deps", "--quiet", "--target", str(site), str(source)],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    record = host.install(f"{ENTRY_POINT_PREFIX}hello", kind="python")
    assert (record.guid, record.version, record.path) == (GUID, 1.5, "entry-point:hello")
    assert chat(host, "!dist") is True
    host.disable(GUID)
    host.enable(GUID)  # the same Plugin object loads again
    assert chat(host, "!dist") is True and chat(host, "other") is False


def test_entry_point_from_a_dist_info_on_sys_path(host, site):
    package = site / "pyhost_hello_plugin"
    make_distribution(site / "_src")
    (site / "_src" / "pyhost_hello_plugin").rename(package)
    dist_info = site / "pyhost_hello_plugin-1.5.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: pyhost-hello-plugin\n"
                                        "Version: 1.5\n")
    (dist_info / "entry_points.txt").write_text(
        "[pyhost.plugins]\nhello = pyhost_hello_plugin:plugin\n")
    host.install("entry-point:hello", kind="python")
    assert chat(host, "!dist") is True
    with pytest.raises(PluginError, match="No installed distribution declares the entry "
                                          "point 'nope'"):
        host.install("entry-point:nope", kind="python")


# -- .dcext convention ---------------------------------------------------------------------------

def test_python_entry_of_a_dcext_package(tmp_path):
    every = {code: "chat/__init__.py" for code in ("elf-x64", "elf-x86", "pe-x64", "pe-x86")}
    names = ["info.xml", "chat/__init__.py", "chat/helpers.py"]
    assert python_entry(every, names, "elf-x64") == "chat/__init__.py"
    assert python_entry(every, names, None) == "chat/__init__.py"  # a host with no code
    mixed = [("elf-x64", "x64/native.so"), ("pe-x64", "plugin.py")]
    assert python_entry(mixed, ["x64/native.so", "plugin.py"], "elf-x64") is None
    assert python_entry(mixed, ["x64/native.so", "plugin.py"], "elf-x86") == "plugin.py"
    assert python_entry({"elf-x64": "x64/a.so"}, ["x64/a.so"], "elf-x64") is None
    with pytest.raises(PythonEntryError, match="no such file"):
        python_entry({"elf-x64": "gone.py"}, ["info.xml"], "elf-x64")
    with pytest.raises(PythonEntryError, match="not a relative path"):
        python_entry({"elf-x64": "../evil.py"}, ["../evil.py"], "elf-x64")
    assert installed_entry(tmp_path, "chat/__init__.py") == tmp_path / "chat"
    assert installed_entry(tmp_path, "plugin.py") == tmp_path / "plugin.py"


ALL_CODES = ("elf-x64", "elf-x86", "pe-x64", "pe-x86")


def python_dcext(tmp_path, version="1.0", *, codes=ALL_CODES, declared=None) -> Path:
    """A .dcext holding a package plugin "greeter" (entry greeter/__init__.py)."""
    from pyhost.packages import dcext
    from pyhost.packages.packer import pack
    src = tmp_path / f"greeter-src-{version}-{'-'.join(codes)}"
    write(src, f"""
        from pyhost.plugin.plugin import LOAD_STATES, Plugin, hook
        from .replies import REPLY
        plugin = Plugin(guid="{GUID}", name="Packaged greeter", version={declared or version},
                        settings={{"installed_from": ""}})

        @hook("dcpp.chat.onIncomingChat")
        def on_chat(hub, message):
            return message == REPLY

        @plugin.main
        def main(state, core, data):
            if state in LOAD_STATES:
                plugin.settings["installed_from"] = "{version}"
        """, name="greeter/__init__.py", header=False)
    write(src, f'REPLY = "!pkg{version}"\n', name="greeter/replies.py", header=False)
    plugins = "".join(f'  <Plugin Platform="{c}">greeter/__init__.py</Plugin>\n' for c in codes)
    (src / "info.xml").write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<dcext>\n'
        f"  <UUID>{GUID}</UUID>\n  <Name>Packaged greeter</Name>\n"
        f"  <Version>{version}</Version>\n  <ApiVersion>8</ApiVersion>\n{plugins}"
        "  <Files>\n    <File>greeter/replies.py</File>\n  </Files>\n</dcext>\n")
    path, _ = pack(src, tmp_path / f"greeter-{version}-{len(codes)}.dcext")
    return path


def test_a_python_dcext_validates_and_describes_its_entry(tmp_path):
    from pyhost.packages import dcext
    package = dcext.read_package(python_dcext(tmp_path))
    selection = package.select("elf-x64")
    assert selection.library == "greeter/__init__.py"  # kept next to its modules
    assert dict(selection.files) == {"greeter/__init__.py": "greeter/__init__.py",
                                     "greeter/replies.py": "greeter/replies.py"}
    assert any("Python source (runs on any platform)" in line
               for line in package.describe("elf-x64"))
    # a host whose platform has no code (or is not listed) still takes the .py entry
    only_windows = dcext.read_package(python_dcext(tmp_path, codes=("pe-x86",)))
    assert only_windows.select("elf-x64").plugin.path == "greeter/__init__.py"
    assert only_windows.select(None).library == "greeter/__init__.py"


def test_python_dcext_install_update_remove(host, tmp_path):
    from pyhost import packages
    first = packages.install(host, python_dcext(tmp_path, "1.0"))
    record = first.record
    assert (first.action, record.kind, record.guid, record.version) == ("installed", "python",
                                                                       GUID, 1.0)
    root = packages.plugins_root(host)
    assert Path(record.path).name == "greeter" and Path(record.path).is_relative_to(root)
    assert host.install_dir(GUID) == first.directory
    assert chat(host, "!pkg1.0") is True
    second = packages.install(host, python_dcext(tmp_path, "2.0"))
    assert second.action == "updated" and second.record.version == 2.0
    assert chat(host, "!pkg2.0") is True and chat(host, "!pkg1.0") is False
    assert host.registry.get_setting(GUID, "installed_from") == ("string", "2.0")
    assert not first.directory.exists()  # the old version's files are gone
    packages.remove(host, GUID)
    assert not second.directory.exists() and host.plugins() == []


def test_python_dcext_whose_plugin_disagrees_with_info_xml_is_refused(host, tmp_path):
    from pyhost import packages
    with pytest.raises(PluginError, match="reports version 1.5 but info.xml says 1.0"):
        packages.install(host, python_dcext(tmp_path, "1.0", declared="1.5"))
    assert host.plugins() == []
    root = packages.plugins_root(host)
    assert not root.exists() or not [p for p in root.iterdir() if p.name != ".staging"]
