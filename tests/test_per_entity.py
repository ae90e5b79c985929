"""Plugin objects per hub and per connection (@plugin.per_hub, @plugin.per_connection):
real Python plugins loaded by a real host, events fired through host.fire and replays, the
simulated world behind the interfaces."""
import json
import textwrap
import threading
from pathlib import Path

import pytest

from pyhost.abi._ffi import ffi
from pyhost.host.events import Category, SubscriberException
from pyhost.host.host import Host
from pyhost.host.loader import PluginError
from pyhost.testbench.replay import replay

ROOT = Path(__file__).resolve().parents[1]
HUB_STATS = ROOT / "sample_plugins" / "python" / "hub_stats.py"
STATS_GUID = "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000503}"
GUID = "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee0005e1}"
A, B, C = "adc://a.example.org:1511", "adc://b.example.org:1511", "nmdcs://c.example.org:411"

HEADER = f'''
from pyhost.plugin import *
plugin = Plugin(guid="{GUID}", name="Entities", version=1.0)
events = []
'''


def install(host, tmp_path, body: str):
    path = tmp_path / "entities.py"
    path.write_text(HEADER + textwrap.dedent(body))
    host.install(path, kind="python")
    return host._loaded[GUID].plugin.plugin, _module(host)


def _module(host):
    import sys
    return next(m for name, m in sys.modules.items()
                if name.startswith("_pyhost_plugin_") and getattr(m, "plugin", None)
                is host._loaded[GUID].plugin.plugin)


def exceptions(host):
    return [e for e in host.events.poll(Category.ERROR) if isinstance(e, SubscriberException)]


def status(host, url):
    return [text for text, _ in host.app.hubs[url].status]


RECORDER = '''
@plugin.per_hub
class PerHub:
    def __init__(self, hub):
        self.url = hub.url
        events.append(("new", self.url))

    @hook("dcpp.chat.onIncomingChat")
    def chat(self, hub, message):
        assert hub.url == self.url
        events.append(("chat", self.url, message))
        return message == "mine"

    @hook("dcpp.users.onOnline")
    def user(self, user, _):
        events.append(("user", self.url, user.nick))

    @hook("dcpp.ui.onChatCommand")
    def command(self, hub, command):
        events.append(("command", self.url, command.command))

    def tick(self):
        events.append(("tick", self.url))

    def close(self):
        events.append(("close", self.url))
'''


# ---- per hub ----------------------------------------------------------------------------------

def test_each_hub_gets_its_own_object_and_only_its_events(host, tmp_path):
    plugin, mod = install(host, tmp_path, RECORDER)
    for url in (A, B, C):
        host.fire.hub_online(url)
    assert host.fire.incoming_chat(B, "mine") is True       # the object's answer
    assert host.fire.incoming_chat(A, "hello") is False
    host.fire.user_online({"nick": "ann", "hub_url": C})
    host.fire.user_online({"nick": "nobody"})                # no hub: no object
    host.fire.chat_command(A, "/x")
    host.tick(1000)
    assert mod.events == [
        ("new", A), ("new", B), ("new", C), ("chat", B, "mine"), ("chat", A, "hello"),
        ("user", C, "ann"), ("command", A, "x"), ("tick", A), ("tick", B), ("tick", C)]
    assert [o.url for o in plugin.live_objects(mod.PerHub)] == [A, B, C]
    # handled means something: the world showed A's line, not B's
    assert [str(c) for c in host.app.hubs[B].chat] == []
    assert [str(c) for c in host.app.hubs[A].chat] == ["hello"]


def test_objects_hold_their_own_state_across_hubs_and_threads(host, tmp_path):
    plugin, mod = install(host, tmp_path, '''
        @plugin.per_hub
        class Counter:
            def __init__(self, hub):
                self.n = 0
                self.url = hub.url
            @hook("dcpp.chat.onIncomingChat")
            def chat(self, hub, message):
                self.n += 1
    ''')
    urls = [f"adc://h{i}.example.org" for i in range(4)]
    for url in urls:
        host.fire.hub_online(url)
    hubs = [host.fire.hub(url) for url in urls]

    def fire(hub, n):
        for _ in range(n):
            host.fire.incoming_chat(hub, "x")

    threads = [threading.Thread(target=fire, args=(hub, 50 * (i + 1)))
               for i, hub in enumerate(hubs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    counts = {o.url: o.n for o in plugin.live_objects(mod.Counter)}
    assert counts == {url: 50 * (i + 1) for i, url in enumerate(urls)}


def test_a_hub_going_offline_closes_its_object_and_a_new_one_comes_with_it(host, tmp_path):
    plugin, mod = install(host, tmp_path, RECORDER)
    host.fire.hub_online(A)
    host.fire.hub_online(B)
    host.fire.hub_offline(A)
    host.fire.incoming_chat(B, "still here")
    host.tick(1000)
    host.fire.hub_online(A)
    assert mod.events == [("new", A), ("new", B), ("close", A), ("chat", B, "still here"),
                          ("tick", B), ("new", A)]
    assert len(plugin.live_objects(mod.PerHub)) == 2


def test_a_hub_online_before_the_plugin_loaded_gets_its_object_at_its_first_event(
        host, tmp_path):
    host.fire.hub_online(A)
    plugin, mod = install(host, tmp_path, RECORDER)
    host.tick(1000)                      # the plugin knows of no hub yet
    host.fire.user_online({"nick": "ann", "hub_url": A})  # a user event does not make one
    host.fire.incoming_chat(A, "first")
    assert mod.events == [("new", A), ("chat", A, "first")]


def test_unloading_closes_every_object_and_a_reload_starts_afresh(host, tmp_path):
    plugin, mod = install(host, tmp_path, RECORDER)
    host.fire.hub_online(A)
    host.fire.hub_online(B)
    host.disable(GUID)
    assert mod.events[-2:] == [("close", A), ("close", B)]
    host.enable(GUID)
    mod = _module(host)                  # a fresh import of the plugin
    host.fire.incoming_chat(A, "again")
    assert mod.events == [("new", A), ("chat", A, "again")]


def test_a_factory_may_ignore_hubs_and_objects_may_come_from_several_classes(host, tmp_path):
    plugin, mod = install(host, tmp_path, '''
        class Loud:
            def __init__(self, hub):
                self.url = hub.url
            @hook("dcpp.chat.onIncomingChat")
            def chat(self, hub, message):
                events.append(("loud", self.url, message))

        class Quiet:
            def __init__(self, hub):
                self.url = hub.url
            @hook("dcpp.chat.onOutgoingChat")
            def said(self, hub, message):
                events.append(("quiet", self.url, message))

        @plugin.per_hub
        def choose(hub):
            if hub.url.startswith("nmdcs://"):
                return None                      # this hub is ignored
            return Loud(hub) if "a." in hub.url else Quiet(hub)
    ''')
    host.fire.incoming_chat(A, "before any object")   # chat is not bound yet: lazily later
    for url in (A, B, C):
        host.fire.hub_online(url)
    for url in (A, B, C):
        host.fire.incoming_chat(url, "in")
        host.fire.outgoing_chat(url, "out")
    assert mod.events == [("loud", A, "in"), ("quiet", B, "out")]
    assert sorted(o.url for o in plugin.live_objects(mod.choose)) == [A, B]


def test_the_hub_stats_sample_answers_stats_per_hub(host):
    host.install(HUB_STATS, kind="python")
    host.fire.hub_online(A)
    host.fire.hub_online(B)
    host.fire.incoming_chat(A, "one")
    host.fire.incoming_chat(A, "two")
    host.fire.outgoing_chat(B, "hi")
    host.fire.hub_data_in(B, "BINF AAAB IDLWPNACQDBZRYXW3VHJVCJ64QBZNGHOHHHZWCLNQ NIbob")
    host.fire.hub_data_in(B, "IQUI AAAB")
    host.tick(1000)
    host.tick(2000)
    assert host.fire.chat_command(A, "/stats") is True
    assert host.fire.chat_command(B, "/stats all") is True
    assert status(host, A) == [
        f"{A}: chat 2 in / 0 out, protocol lines 0 in / 0 out, users +0 -0, followed for 2s"]
    assert status(host, B) == [
        f"{A}: chat 2 in / 0 out, protocol lines 0 in / 0 out, users +0 -0, followed for 2s",
        f"{B}: chat 0 in / 1 out, protocol lines 2 in / 0 out, users +1 -1, followed for 2s"]
    assert host._loaded[STATS_GUID].plugin.plugin.settings["hubs_followed"] == 2  # per plugin


def test_the_hub_stats_sample_ignores_hubs_by_setting(host):
    host.install(HUB_STATS, kind="python")
    host._loaded[STATS_GUID].plugin.plugin.settings["ignore"] = "nmdcs://, adc://b."
    for url in (A, B, C):
        host.fire.hub_online(url)
    assert host.fire.chat_command(A, "/stats") is True
    for ignored in (B, C):                 # no object: the client answers instead
        assert host.fire.chat_command(ignored, "/stats") is False
        assert status(host, ignored) == ["Unknown command: /stats"]


def test_a_replay_with_hubs_going_offline_midway(tmp_path):
    events = [
        {"hook": "hubs.onOnline", "object": A},
        {"hook": "hubs.onOnline", "object": B},
        {"hook": "hubs.onOnline", "object": C},
        {"hook": "chat.onIncomingChat", "object": A, "data": "a1"},
        {"hook": "chat.onIncomingChat", "object": B, "data": "b1"},
        {"hook": "timer.onSecond"},
        {"hook": "hubs.onOffline", "object": B},
        {"hook": "chat.onIncomingChat", "object": A, "data": "a2"},
        {"hook": "timer.onSecond"},
        {"hook": "ui.onChatCommand", "object": A, "data": "/stats all"},
        {"hook": "hubs.onOffline", "object": A},
        {"hook": "ui.onChatCommand", "object": C, "data": "/stats"},
    ]
    out = []
    with Host(tmp_path / "home", timers=False) as host:
        host.install(HUB_STATS, kind="python")
        replay(host, [json.dumps(e) for e in events], out.append)
    records = [r for r in out if r.get("event", 0) > 0]
    offline_b, stats_all, offline_a, stats_c = records[6], records[9], records[10], records[11]
    assert [m["message"] for m in offline_b["log"]] == [
        f"no longer following {B}: chat 1 in / 0 out, protocol lines 0 in / 0 out, "
        "users +0 -0, followed for 1s"]
    assert [e["args"]["message"] for e in stats_all["effects"]] == [
        f"{A}: chat 2 in / 0 out, protocol lines 0 in / 0 out, users +0 -0, followed for 2s",
        f"{C}: chat 0 in / 0 out, protocol lines 0 in / 0 out, users +0 -0, followed for 2s"]
    assert stats_all["handled"] is True and stats_all["default"]["done"] is False
    assert "no longer following adc://a" in offline_a["log"][0]["message"]
    assert stats_c["handled"] is True
    assert stats_c["effects"][0]["args"]["message"].startswith(f"{C}: chat 0 in")


# ---- faults -----------------------------------------------------------------------------------

def test_an_object_that_raises_is_reported_and_the_others_keep_working(host, tmp_path):
    plugin, mod = install(host, tmp_path, '''
        @plugin.per_hub
        class Fragile:
            def __init__(self, hub):
                if "boom-init" in hub.url:
                    raise RuntimeError("no object for " + hub.url)
                self.url = hub.url
                self.seen = []
            @hook("dcpp.chat.onIncomingChat")
            def chat(self, hub, message):
                if message == "boom":
                    raise ValueError("bad message in " + self.url)
                self.seen.append(message)
                return True
            def tick(self):
                if "tick" in self.url:
                    raise KeyError("tick")
            def close(self):
                if "close" in self.url:
                    raise OSError("close")
    ''')
    urls = [A, B, "adc://boom-init.example.org", "adc://tick.example.org",
            "adc://close.example.org"]
    for url in urls:
        host.fire.hub_online(url)
    assert host.fire.incoming_chat(A, "boom") is False        # the exception: not handled
    assert host.fire.incoming_chat(B, "fine") is True
    assert host.fire.incoming_chat(A, "after") is True        # A's object still works
    assert host.fire.incoming_chat(urls[2], "x") is False     # ignored after its factory raised
    host.tick(1000)
    host.fire.hub_offline(urls[4])
    errors = [(e.hook, e.subscriber, e.plugin, e.error.split("(")[0]) for e in exceptions(host)]
    assert errors == [
        ("dcpp.hubs.onOnline", "Fragile", "Entities", "RuntimeError"),
        ("dcpp.chat.onIncomingChat", "Fragile.chat", "Entities", "ValueError"),
        ("dcpp.timer.onSecond", "Fragile.tick", "Entities", "KeyError"),
        ("dcpp.hubs.onOffline", "Fragile.close", "Entities", "OSError")]
    seen = {o.url: o.seen for o in plugin.live_objects(mod.Fragile)}
    assert seen == {A: ["after"], B: ["fine"], urls[3]: []}
    assert host.app.hubs[A].chat[-1].text == "boom"   # not handled: the world showed it


@pytest.mark.parametrize("body, message", [
    ('''
     @plugin.per_hub
     class C:
         @hook("dcpp.queue.onAdded")
         def added(self, item, _): pass
     ''', "an object per hub cannot subscribe to 'dcpp.queue.onAdded'"),
    ('''
     @plugin.per_connection
     class C:
         @hook("dcpp.chat.onIncomingChat")
         def chat(self, hub, message): pass
     ''', "an object per connection cannot subscribe to 'dcpp.chat.onIncomingChat'"),
    ('''
     @plugin.per_hub
     class C:
         @hook("dcpp.chat.onIncomingChat")
         def one(self, hub, message): pass
         @hook("dcpp.chat.onIncomingChat")
         def two(self, hub, message): pass
     ''', "two methods subscribe to 'dcpp.chat.onIncomingChat'"),
    ('''
     @plugin.per_hub
     class C:
         @hook("dcpp.chat.onIncomingChat", raw=True)
         def one(self, hub, message): pass
     ''', "drop raw=, object= and data="),
    ('''
     @plugin.per_hub
     class C:
         @plugin.hook("dcpp.chat.onIncomingChat")
         def one(self, hub, message): pass
     ''', "with @hook, not @plugin.hook"),
    ('''
     @plugin.per_connection(idle=0)
     class C: pass
     ''', "idle=...) takes a number of seconds"),
])
def test_bad_declarations_are_refused_when_the_plugin_is_opened(host, tmp_path, body, message):
    path = tmp_path / "bad.py"
    path.write_text(HEADER + textwrap.dedent(body))
    with pytest.raises(PluginError, match="could not be imported") as info:
        host.install(path, kind="python")
    assert message in str(info.value)
    assert host.plugins() == []


def test_hubs_without_an_application_handle_are_told_apart_by_url(tmp_path):
    """An application that leaves HubData.object NULL: the url is the key."""
    with Host(tmp_path / "home", timers=False, app=type("NoApp", (), {})()) as host:
        plugin, mod = install(host, tmp_path, RECORDER)
        urls = [ffi.new("char[]", u.encode()) for u in (A, B)]
        hubs = [ffi.new("HubData*", {"url": u, "isManaged": 1}) for u in urls]
        online = host.hooks["dcpp.hubs.onOnline"]
        chat = host.hooks["dcpp.chat.onIncomingChat"]
        for hub in hubs:
            online.run(hub, ffi.NULL)
        chat.run(hubs[1], ffi.new("char[]", b"to b"))
        user = ffi.new("UserData*", {"nick": (nick := ffi.new("char[]", b"ann")),
                                     "hubHint": urls[0], "isManaged": 1})
        host.hooks["dcpp.users.onOnline"].run(user, ffi.NULL)
        host.hooks["dcpp.hubs.onOffline"].run(hubs[0], ffi.NULL)
        assert mod.events == [("new", A), ("new", B), ("chat", B, "to b"), ("user", A, "ann"),
                              ("close", A)]
        assert nick


# ---- per connection ---------------------------------------------------------------------------

CONNECTIONS = '''
@plugin.per_connection(idle=3)
class Transfer:
    def __init__(self, conn):
        if conn.port == 9999:
            raise LookupError("never")
        self.name = f"{conn.ip}:{conn.port}"
        self.lines = []
        events.append(("new", self.name))

    @hook("dcpp.network.onClientDataIn")
    def line_in(self, conn, line):
        self.lines.append("<" + line)
        if line == "$Bye":
            conn.terminate()
        return line.startswith("$My")

    @hook("dcpp.network.onClientDataOut")
    def line_out(self, conn, line):
        self.lines.append(">" + line)

    def close(self):
        events.append(("close", self.name, list(self.lines)))

@plugin.per_connection(idle=None)
def keep_quiet(conn):
    return None if conn.port == 1 else Keeper()

class Keeper:
    @hook("dcpp.network.onClientDataIn")
    def line_in(self, conn, line):
        events.append(("keeper", line))
'''


def conn(port, ip="198.51.100.7"):
    return {"ip": ip, "port": port}


def test_each_connection_gets_an_object_at_its_first_line(host, tmp_path):
    plugin, mod = install(host, tmp_path, CONNECTIONS)
    assert host.fire.client_data_out(conn(1), "$MyNick me|") is False
    assert host.fire.client_data_in(conn(2), "$MyNick you|") is True
    host.fire.client_data_in(conn(1), "$Lock x|")
    assert sorted(t.name for t in plugin.live_objects(mod.Transfer)) == [
        "198.51.100.7:1", "198.51.100.7:2"]
    assert [t.lines for t in plugin.live_objects(mod.Transfer)] == [
        [">$MyNick me|", "<$Lock x|"], ["<$MyNick you|"]]
    assert mod.events.count(("keeper", "$Lock x|")) == 0       # port 1 is ignored there
    assert ("keeper", "$MyNick you|") in mod.events
    # handled means something: the world kept the line the object did not handle
    assert host.app.connections[("198.51.100.7", 2)].received == []
    assert host.app.connections[("198.51.100.7", 1)].received == ["$Lock x|"]


def test_terminating_through_the_view_closes_the_object_after_the_call(host, tmp_path):
    plugin, mod = install(host, tmp_path, CONNECTIONS)
    transfers = lambda: [e for e in mod.events if e[0] != "keeper"]  # noqa: E731
    host.fire.client_data_in(conn(5), "$Ping")
    host.fire.client_data_in(conn(5), "$Bye")
    assert transfers()[-1] == ("close", "198.51.100.7:5", ["<$Ping", "<$Bye"])
    assert host.app.connections[("198.51.100.7", 5)].open is False
    host.fire.client_data_in(conn(5), "$Again")       # the application's next connection
    assert transfers()[-1] == ("new", "198.51.100.7:5")


def test_an_idle_connection_is_closed_after_idle_ticks_without_a_line(host, tmp_path):
    plugin, mod = install(host, tmp_path, CONNECTIONS)
    host.fire.client_data_in(conn(7), "a")
    host.fire.client_data_in(conn(8), "b")
    host.tick(1000)
    host.tick(2000)
    host.fire.client_data_out(conn(8), "c")           # 8 is busy again
    host.tick(3000)                                   # 7: three ticks without a line
    closed = [e[1] for e in mod.events if e[0] == "close"]
    assert closed == ["198.51.100.7:7"]
    host.tick(4000)
    host.tick(5000)
    closed = [e[1] for e in mod.events if e[0] == "close"]
    assert closed == ["198.51.100.7:7", "198.51.100.7:8"]
    assert plugin.live_objects(mod.keep_quiet) != []  # idle=None: kept


def test_a_connection_factory_that_raises_is_reported(host, tmp_path):
    plugin, mod = install(host, tmp_path, CONNECTIONS)
    assert host.fire.client_data_in(conn(9999), "$MyNick x|") is False
    assert [(e.hook, e.subscriber) for e in exceptions(host)] == [
        ("dcpp.network.onClientDataIn", "Transfer")]
    assert host.fire.client_data_in(conn(10), "$MyNick y|") is True


def test_the_authoring_api_exports_the_per_entity_names():
    import pyhost.plugin as api
    assert {"PerEntity", "PER_HUB_HOOKS", "PER_CONNECTION_HOOKS"} <= set(api.__all__)
    assert set(api.PER_CONNECTION_HOOKS) == {"dcpp.network.onClientDataIn",
                                              "dcpp.network.onClientDataOut"}
