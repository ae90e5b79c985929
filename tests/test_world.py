"""The application interfaces as plugins see them: the ABI tables (called here through cffi,
exactly as a C plugin calls them), the simulated world behind them, the effects, and the
ownership rules (isManaged = False copies, release / release_user, refusals, leaks)."""
import pytest

from pyhost.abi._ffi import ffi, lib
from pyhost.host.host import Host
from pyhost.app.application import (
    Application,
    Hub,
    HubService,
    MsgType,
    QueuePrio,
    SimpleTagger,
    User,
)
from pyhost.app.world import SimulatedWorld, make_cid

TTH = "LWPNACQDBZRYXW3VHJVCJ64QBZNGHOHHHZWCLNQ"
HUB = b"adc://hub.example.org:1511"


def table(host, guid: str, ctype: str):
    t = host.bus.query_interface(guid, 1)
    assert t is not None, guid
    return ffi.cast(ctype, t)


@pytest.fixture
def hubs(host):
    return table(host, "dcpp.network.DCHub", "DCHub*")


@pytest.fixture
def queue(host):
    return table(host, "dcpp.queue.DCQueue", "DCQueue*")


def s(ptr) -> str:
    return ffi.string(ptr).decode()


def calls(host):
    return [(e.interface, e.function) for e in host.effects.drain()]


# ---- registration -----------------------------------------------------------------------------

def test_the_world_provides_every_interface_by_default(host):
    assert isinstance(host.app, SimulatedWorld)
    assert host.app_services.provided == ["DCHub", "DCConnection", "DCQueue", "DCUI",
                                          "DCTagger", "DCDataAccess"]
    for guid in ("dcpp.network.DCHub", "dcpp.network.DCConnection", "dcpp.queue.DCQueue",
                 "dcpp.ui.DCUI", "dcpp.xml.DCTagger", "dcpp.dataaccessor.DCDataAccess"):
        intf = host.bus.query_interface(guid, 1)
        assert intf is not None and intf.apiVersion == 1
        assert host.bus.query_interface(guid, 2) is None  # newer than registered


@pytest.mark.usefixtures("isolation")
def test_an_interface_the_application_lacks_is_not_registered(home, sample):
    with Host(home, timers=False, app=Application(ui=SimulatedWorld().ui)) as host:
        assert host.app_services.provided == ["DCUI"]
        assert host.bus.query_interface("dcpp.network.DCHub", 1) is None
        assert host.bus.query_interface("dcpp.queue.DCQueue", 1) is None
        host.install(sample("app_demo"))
        logs = [e.message for e in host.events.poll() if e.kind == "plugin_log"]
        for missing in ("DCHub", "DCQueue", "DCTagger", "DCConnection", "DCDataAccess"):
            assert f"{missing} is not available" in logs
        assert "DCUI is not available" not in logs
        # The plugin works with what there is.
        assert host.fire.chat_command("adc://h", "/beep")
        assert host.fire.chat_command("adc://h", "/echo x") is False  # no DCHub: not handled


def test_an_empty_application_registers_nothing(home):
    with Host(home, timers=False, app=Application()) as host:
        assert host.app_services.provided == []
        # Firing still works; chat tags fall back to pyhost's SimpleTagger.
        assert host.fire.chat_tags("u", "text")[1].text == "text"


# ---- DCHub ------------------------------------------------------------------------------------

def test_add_hub_returns_a_copy_that_find_hub_finds(host, hubs):
    added = hubs.add_hub(HUB, b"me", b"secret")
    assert added != ffi.NULL and added.isManaged == 0
    assert s(added.url) == HUB.decode() and added.port == 1511
    assert added.protocol == lib.PROTOCOL_ADC and added.isSecure == 0
    found = hubs.find_hub(HUB)
    assert found != ffi.NULL and found != added and s(found.url) == HUB.decode()
    assert found.object == added.object  # the same world hub
    assert hubs.add_hub(HUB, b"me", b"") != ffi.NULL  # already online: found
    effects = host.effects.drain()
    assert [(e.interface, e.function) for e in effects] == [
        ("DCHub", "add_hub"), ("world", "fire"), ("DCHub", "find_hub"), ("DCHub", "add_hub")]
    assert effects[0].args == {"url": HUB.decode(), "nick": "me", "password": "***"}
    assert effects[1].args["hook"] == "dcpp.hubs.onOnline"
    assert host.app.hubs[HUB.decode()].nick == "me"
    assert host.app_services.live_copies() == {"HubData": 3}
    hubs.release(added)
    hubs.release(found)
    assert host.app_services.live_copies() == {"HubData": 1}


def test_remove_hub_disconnects_and_fires_offline(host, hubs):
    hub = hubs.add_hub(HUB, b"me", b"")
    hubs.remove_hub(hub)
    assert hubs.find_hub(HUB) == ffi.NULL
    assert host.app.hubs[HUB.decode()].online is False
    effects = host.effects.drain()
    assert [e.args.get("hook") for e in effects if e.interface == "world"] == [
        "dcpp.hubs.onOnline", "dcpp.hubs.onOffline"]
    hubs.release(hub)


def test_messages_are_recorded_on_the_hub(host, hubs):
    hub = hubs.add_hub(HUB, b"me", b"")
    hubs.send_message(hub, "héllo".encode(), 0)
    hubs.send_message(hub, b"waves", 1)
    hubs.local_message(hub, b"status line", lib.MSG_STATUS)
    hubs.send_protocol_cmd(hub, b"BINF AAAA")
    hubs.emulate_protocol_cmd(hub, b"IQUI AAAA")
    world_hub = host.app.hubs[HUB.decode()]
    assert [(c.text, c.third_person, c.nick) for c in world_hub.chat] == [
        ("héllo", False, "me"), ("waves", True, "me")]
    assert world_hub.status == [("status line", MsgType.STATUS)]
    assert world_hub.sent == ["BINF AAAA"] and world_hub.emulated == ["IQUI AAAA"]
    local = next(e for e in host.effects.drain() if e.function == "local_message")
    assert local.args == {"hub": {"url": HUB.decode()}, "message": "status line",
                          "type": "STATUS"}
    hubs.release(hub)


def test_a_call_on_an_unknown_hub_is_an_error_effect_not_a_crash(host, hubs):
    ghost = ffi.new("HubData*", {"url": (url := ffi.new("char[]", b"adc://ghost")),
                                 "ip": (ip := ffi.new("char[]", b""))})
    hubs.send_message(ghost, b"hi", 0)
    (effect,) = host.effects.drain()
    assert effect.error == "LookupError: no hub adc://ghost"
    assert url and ip


def test_null_arguments_are_refused_before_the_application(host, hubs):
    hubs.send_message(ffi.NULL, b"hi", 0)
    assert hubs.find_hub(ffi.NULL) == ffi.NULL
    assert hubs.send_private_message(ffi.NULL, b"x", 0) == 0
    errors = [e.error for e in host.effects.drain()]
    assert errors == ["hub is NULL", "url is NULL", "user is NULL"]


def test_users_private_messages_and_find_user(host, hubs):
    alice = host.fire.user({"nick": "alice", "hub_url": HUB.decode()})
    assert alice.cid == make_cid("alice") and len(alice.cid) == 39
    found = hubs.find_user(alice.cid.encode(), HUB)
    assert found != ffi.NULL and s(found.nick) == "alice" and found.isManaged == 0
    assert s(found.hubHint) == HUB.decode()
    assert hubs.find_user(alice.cid.encode(), b"adc://elsewhere") == ffi.NULL
    anywhere = hubs.find_user(alice.cid.encode(), ffi.NULL)  # any hub
    assert anywhere != ffi.NULL
    hubs.release_user(anywhere)
    copy = hubs.copy_user(found)
    assert copy.isManaged == 0 and s(copy.cid) == alice.cid and copy.object == found.object
    assert hubs.send_private_message(copy, b"hi alice", 0) == 1
    assert [p.text for p in host.app.users[(alice.cid, HUB.decode())].pms] == ["hi alice"]
    host.fire.user_offline(alice)
    assert hubs.send_private_message(copy, b"gone?", 0) == 0
    assert hubs.find_user(alice.cid.encode(), HUB) == ffi.NULL
    hubs.release_user(found)
    hubs.release_user(copy)
    assert host.app_services.live_copies() == {}


# ---- DCQueue ----------------------------------------------------------------------------------

def test_queue_items_can_be_added_found_paused_and_removed(host, queue):
    item = queue.add_download(TTH.encode(), 1 << 33, b"big.iso")
    assert item != ffi.NULL and item.isManaged == 0
    assert s(item.target) == "Downloads/big.iso" and item.size == 1 << 33
    assert s(item.hash) == TTH and s(item.location) == "Downloads/"
    for target in (b"big.iso", b"Downloads/big.iso"):
        found = queue.find_download(target)
        assert found != ffi.NULL and s(found.target) == "Downloads/big.iso"
        queue.release(found)
    assert queue.pause(item) == 1 and host.app.downloads["Downloads/big.iso"].paused
    assert queue.pause(item) == 0 and not host.app.downloads["Downloads/big.iso"].paused
    queue.set_priority(item, lib.PRIO_HIGH)
    assert host.app.downloads["Downloads/big.iso"].priority == QueuePrio.HIGH
    queue.remove_download(item)
    assert queue.find_download(b"big.iso") == ffi.NULL
    fired = [e.args["hook"] for e in host.effects.drain() if e.interface == "world"]
    assert fired == ["dcpp.queue.onAdded", "dcpp.queue.onRemoved"]
    queue.release(item)
    assert host.app_services.live_copies() == {}


def test_queue_refusals_give_null_and_an_error_effect(host, queue):
    assert queue.add_download(b"not-a-tth", 1, b"x") == ffi.NULL
    item = queue.add_download(TTH.encode(), 1, b"x")
    assert queue.add_download(TTH.encode(), 1, b"x") == ffi.NULL  # already queued
    queue.set_priority(item, 42)
    errors = [e.error for e in host.effects.drain() if e.error]
    assert errors[0].startswith("ValueError: 'not-a-tth' is not a TTH")
    assert errors[1] == "FileExistsError: Downloads/x is already queued"
    assert errors[2] == "ValueError: 42 is not a QueuePrio"
    queue.release(item)


def test_add_list_queues_the_users_file_list(host, queue, hubs):
    bob = host.fire.user({"nick": "bob", "hub_url": HUB.decode()})
    user = hubs.find_user(bob.cid.encode(), HUB)
    listing = queue.add_list(user, 1)
    assert listing.isFileList == 1
    assert s(listing.target) == f"FileLists/bob.{bob.cid}.xml.bz2"
    assert queue.add_list(user, 0) != ffi.NULL  # already queued: the same item
    assert len([t for t in host.app.downloads if t.startswith("FileLists/")]) == 1
    hubs.release_user(user)
    lib.phn_queue_release(listing)


# ---- DCConnection, DCUI, DCDataAccess ---------------------------------------------------------

def test_connections(host, hubs):
    conn_table = table(host, "dcpp.network.DCConnection", "DCConnection*")
    carol = host.fire.user({"nick": "carol", "hub_url": HUB.decode()})
    conn = host.fire.connection({"ip": "198.51.100.9", "port": 4000, "user": carol})
    block = host.app_services.managed(conn)
    assert block.isManaged == 1 and block.port == 4000
    conn_table.send_protocol_cmd(block, b"$MyNick x|")
    user = conn_table.get_user(block)
    assert s(user.nick) == "carol" and user.isManaged == 0
    hubs.release_user(user)
    conn_table.send_udp_data(b"203.0.113.1", 412, ffi.new("char[]", b"\x00\xffraw"), 5)
    conn_table.terminate_conn(block, 1)
    conn_table.send_protocol_cmd(block, b"late")
    world_conn = host.app.connections[("198.51.100.9", 4000)]
    assert world_conn.sent == ["$MyNick x|"] and world_conn.open is False
    assert host.app.udp_sent == [("203.0.113.1", 412, b"\x00\xffraw")]
    effects = host.effects.drain()
    assert effects[2].args["data"] == {"base64": "AP9yYXc="}
    assert effects[-1].error == "ConnectionError: 198.51.100.9:4000 is closed"


def test_ui_commands_run_the_plugins_function(host):
    ui = table(host, "dcpp.ui.DCUI", "DCUI*")
    seen = []
    fn = ffi.callback("DCCommandFunc", lambda name: seen.append(ffi.string(name)))
    ui.add_command(b"{guid}", b"Do it", fn, b"icon.ico")
    host.app.click("{guid}", "Do it")
    assert seen == [b"Do it"]
    command = host.app_services.command("{guid}", "Do it")
    assert command.icon == "icon.ico" and command.valid
    ui.remove_command(b"{guid}", b"Do it")
    assert not command.valid
    with pytest.raises(RuntimeError, match="no longer available"):
        command()
    with pytest.raises(LookupError):
        host.app.click("{guid}", "Do it")
    ui.add_command(b"{guid}", b"No function", ffi.NULL, ffi.NULL)
    ui.play_sound(b"ding.wav")
    ui.notify(b"Title", b"Message")
    assert host.app.sounds == ["ding.wav"] and host.app.notifications == [("Title", "Message")]
    assert [e.error for e in host.effects.drain()][2] == "command is NULL"


@pytest.mark.usefixtures("isolation")
def test_a_plugins_ui_command_dies_with_the_plugin(host, sample):
    guid = host.install(sample("app_demo")).guid
    command = host.app_services.command(guid, "Queue summary")
    command()
    assert host.app.notifications == [("App demo", "Queue summary clicked")]
    host.disable(guid)  # its ON_UNLOAD removes the command itself
    assert not command.valid and (guid, "Queue summary") not in host.app.commands


@pytest.mark.usefixtures("isolation")
def test_a_command_of_an_unloaded_plugin_is_never_called(host, sample):
    guid = host.install(sample("dev_plugin")).guid
    host.disable(guid)  # installed, not loaded: its library is unmapped
    ui = table(host, "dcpp.ui.DCUI", "DCUI*")
    called = []
    fn = ffi.callback("DCCommandFunc", lambda name: called.append(name))
    ui.add_command(guid.encode(), b"Left behind", fn, b"")
    with pytest.raises(RuntimeError, match="is not loaded"):
        host.app.click(guid, "Left behind")
    assert called == []


def test_data_access(host):
    data = table(host, "dcpp.dataaccessor.DCDataAccess", "DCDataAccess*")
    data.get_http_resource(b"https://example.org/x", b"x.bin")
    assert host.app.http_requests == [("https://example.org/x", "x.bin")]
    source = ffi.new("DataArray*", {"pData": (raw := ffi.new("char[]", b"a\x00b")), "size": 3})
    copy = data.copy(source)
    assert copy.size == 3 and ffi.unpack(ffi.cast("char*", copy.pData), 3) == b"a\x00b"
    data.release(copy)
    assert raw


# ---- ownership --------------------------------------------------------------------------------

def test_refused_releases_are_reported_not_performed(host, hubs):
    hub = hubs.add_hub(HUB, b"me", b"")
    hubs.release(hub)
    hubs.release(hub)                       # double release
    managed = host.app_services.managed(host.fire.hub(HUB.decode()))
    hubs.release(managed)                   # a host object
    user = hubs.find_user(b"nobody", ffi.NULL)
    assert user == ffi.NULL
    other = hubs.copy(managed)
    hubs.release_user(ffi.cast("UserData*", other))  # the wrong function
    warnings = host.app_services.poll_refusals()
    assert len(warnings) == 3 and any("double release" in w for w in warnings)
    assert any("isManaged" in w for w in warnings)
    assert any("wrong function" in w for w in warnings)
    assert managed.isManaged == 1 and s(managed.url) == HUB.decode()  # untouched
    hubs.release(other)
    assert host.app_services.poll_refusals() == []


def test_copies_a_plugin_never_releases_are_freed_and_reported_at_shutdown(home, caplog):
    host = Host(home, timers=False)
    host.start()
    hubs = table(host, "dcpp.network.DCHub", "DCHub*")
    hubs.add_hub(HUB, b"me", b"")
    hubs.find_hub(HUB)
    arena = host.app_services.arena
    assert lib.phn_app_live(arena, 0, 0) == 2
    host.shutdown()
    assert host.app_services.leaked_at_close == {"HubData": 2}
    assert lib.phn_app_live(arena, 0, -1) == 0  # managed blocks freed too
    assert "plugins never released 2 HubData copies" in caplog.text


def test_app_demo_gives_back_every_copy(isolation, host, sample):
    host.install(sample("app_demo"))
    f = host.fire
    f.incoming_chat(HUB.decode(), "!ping")
    f.incoming_pm({"nick": "dave", "hub_url": HUB.decode()}, "!whoami")
    f.chat_command(HUB.decode(), f"/get {TTH} 10 a.bin")
    f.chat_command(HUB.decode(), "/pause a.bin")
    f.chat_command(HUB.decode(), "/drop a.bin")
    f.chat_command(HUB.decode(), "/join adc://other.example")
    f.chat_command(HUB.decode(), "/leave adc://other.example")
    f.chat_command(HUB.decode(), f"/list {make_cid('dave')}")
    f.client_data_in({"ip": "198.51.100.1", "port": 1,
                      "user": {"nick": "dave", "hub_url": HUB.decode()}}, "$Ping")
    f.http_notification(b"data")
    # App demo's last_hub copy; an isolated plugin's copies live in its runner's process
    assert host.app_services.live_copies() == ({"HubData": 1} if isolation == "in-process"
                                               else {})
    assert host.app_services.poll_refusals() == []
    host.disable(host.loaded()[0])
    assert host.app_services.live_copies() == {}


# ---- a custom application ---------------------------------------------------------------------

class RecordingHubs(HubService):
    """A minimal application: one hub, handles round-trip through HubData.object."""

    def __init__(self):
        self.sent = []

    def add_hub(self, url, nick, password):
        return Hub(url, "10.1.2.3", 411, is_secure=True, handle=0xABC)

    def find_hub(self, url):
        return None

    def remove_hub(self, hub):
        raise RuntimeError("cannot remove")

    def emulate_protocol_cmd(self, hub, cmd):
        pass

    def send_protocol_cmd(self, hub, cmd):
        pass

    def send_message(self, hub, message, third_person):
        self.sent.append((hub, message, third_person))

    def local_message(self, hub, message, type):
        pass

    def send_private_message(self, user, message, third_person):
        return True

    def find_user(self, cid, hub_url):
        return {"not": "a User"}


def test_a_custom_application_gets_value_types_back(home):
    app = RecordingHubs()
    with Host(home, timers=False, app=Application(hub=app)) as host:
        hubs = table(host, "dcpp.network.DCHub", "DCHub*")
        hub = hubs.add_hub(b"adcs://mine", b"n", b"")
        assert int(ffi.cast("uintptr_t", hub.object)) == 0xABC and hub.isSecure == 1
        hubs.send_message(hub, b"hi", 1)
        assert app.sent == [(Hub("adcs://mine", "10.1.2.3", 411, is_secure=True,
                                 handle=0xABC), "hi", True)]
        hubs.remove_hub(hub)
        assert hubs.find_user(b"cid", b"") == ffi.NULL
        errors = [e.error for e in host.effects.drain() if e.error]
        assert errors == ["RuntimeError: cannot remove",
                          "TypeError: the application returned dict, not User or None"]
        # Hooks fire with the application's own entities (no world to create them).
        seen = []
        host.bus.bind("dcpp.chat.onIncomingChat",
                      lambda obj, data, c: seen.append(ffi.cast("HubData*", obj).object))
        host.fire.incoming_chat(Hub("adc://x", handle=0x55), "m")
        host.fire.incoming_chat("adc://y", "m")  # no handle: NULL object
        assert [int(ffi.cast("uintptr_t", o)) for o in seen] == [0x55, 0]
        hubs.release(hub)


# ---- the reference tagger ---------------------------------------------------------------------

def test_simple_tagger_follows_the_reference_semantics():
    text = "a <b> https://x.y c"
    start = text.index("https")
    t = SimpleTagger(text)
    t.add_tag(start, start + len("https://x.y"), "a", 'href="https://x.y"')
    t.replace_text(0, 1, "AAA")     # before the tag: it moves by +2, to 8..19
    t.replace_text(7, 9, "")        # " h" straddles its start: start collapses to 7, end -2
    r = t.result()
    assert r.text == "AAA <b>ttps://x.y c"
    assert (r.tags[0].start, r.tags[0].end) == (7, 17)
    assert r.markup == 'AAA &lt;b&gt;<a href="https://x.y">ttps://x.y</a> c'
    with pytest.raises(ValueError):
        t.add_tag(5, 99, "x", "")


def test_simple_tagger_entangled_tags_are_closed_and_reopened():
    t = SimpleTagger("abcdef")
    t.add_tag(0, 4, "b", "")
    t.add_tag(2, 6, "i", "")
    assert t.result().markup == "<b >ab<i >cd</i></b><i >ef</i>"


def test_simple_tagger_counts_utf8_bytes():
    t = SimpleTagger("é x")   # é is two bytes
    t.add_tag(3, 4, "u", "")
    assert t.result().markup == "é <u >x</u>"
