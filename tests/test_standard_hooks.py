"""host.fire: every standard hook gets the object and data docs/abi.md says, built correctly, and
its result comes back (handled; StringData.out for chat display; the tagged text for chat
tags). Subscribers here are Python callables on the host's bus that read the raw pointers
the way a C plugin would."""
import re

import pytest

from pyhost.abi._ffi import ffi, lib
from pyhost.host.host import STANDARD_HOOKS
from pyhost.abi.paths import sdk_include_dir
from pyhost.app.application import Hub, ProtocolType, QueueItem, User
from pyhost.abi.hook_specs import SPECS, spec, split_command
from pyhost.host.fire import FireResult

HUB = "adc://hub.example.org:1511"


def s(ptr) -> str:
    return ffi.string(ptr).decode()


def _decode(kind, ptr):
    """What a C subscriber would read from a hook's object or data, read during dispatch
    (objects and data passed to hooks are valid for the hook call)."""
    if ptr == ffi.NULL or kind is None or kind == "host":
        return None
    if kind == "hub":
        h = ffi.cast("HubData*", ptr)
        return dict(url=s(h.url), ip=s(h.ip), port=h.port, protocol=h.protocol, op=h.isOp,
                    secure=h.isSecure, managed=h.isManaged, object=h.object)
    if kind == "user":
        u = ffi.cast("UserData*", ptr)
        return dict(nick=s(u.nick), cid=s(u.cid), hub=s(u.hubHint), sid=u.sid,
                    protocol=u.protocol, op=u.isOp, managed=u.isManaged, object=u.object)
    if kind == "connection":
        c = ffi.cast("ConnectionData*", ptr)
        return dict(ip=s(c.ip), port=c.port, secure=c.isSecure, managed=c.isManaged)
    if kind == "udp":
        u = ffi.cast("UDPData*", ptr)
        return dict(ip=s(u.ip), port=u.port)
    if kind == "queue":
        q = ffi.cast("QueueData*", ptr)
        return dict(target=s(q.target), location=s(q.location), hash=s(q.hash), size=q.size,
                    list=q.isFileList, managed=q.isManaged)
    if kind == "text":
        return ffi.string(ffi.cast("char*", ptr))
    if kind == "tick":
        return ffi.cast("uint64_t*", ptr)[0]
    if kind == "command":
        c = ffi.cast("CommandData*", ptr)
        return (s(c.command), s(c.params))
    if kind == "bytes":
        d = ffi.cast("DataArray*", ptr)
        return ffi.unpack(ffi.cast("char*", d.pData), d.size)
    return ptr


@pytest.fixture
def seen(host):
    """Binds a recorder to every standard hook; returns {guid: [Seen, ...]}."""
    record: dict[str, list] = {}
    subs = []
    for hook in SPECS:
        def recorder(obj, data, common, hook=hook):
            record.setdefault(hook.guid, []).append(Seen(
                obj, data, _decode(hook.object, obj), _decode(hook.data, data)))
            return False
        subs.append(host.bus.bind(hook.guid, recorder))
    yield record
    for sub in subs:
        sub.release()


class Seen:
    def __init__(self, obj, data, o, d):
        self.obj_ptr, self.data_ptr, self.obj, self.data = obj, data, o, d


def test_the_spec_table_is_exactly_abi_md():
    # The SDK header's hook macros are written from docs/abi.md independently of the table.
    header = (sdk_include_dir() / "dcplugin.h").read_text()
    declared = re.findall(r'#define HOOK_\w+\s+"([^"]+)"', header)
    assert len(declared) == 28
    assert [x.guid for x in SPECS] == declared
    assert list(STANDARD_HOOKS) == declared
    assert spec("chat.onIncomingChat") is spec("dcpp.chat.onIncomingChat") \
        is spec("incoming_chat")
    with pytest.raises(KeyError):
        spec("dcpp.chat.onNothing")


@pytest.mark.parametrize("line, expected", [
    ("/cmd", ("cmd", "")),
    ("/cmd some params", ("cmd", "some params")),
    ("/cmd  two spaces", ("cmd", " two spaces")),
    ("/cmd ", ("cmd", "")),
    ("/", ("", "")),
    ("/ x", ("", "x")),
    ("/über straße", ("über", "straße")),
])
def test_chat_command_split_like_the_reference_host(line, expected):
    assert split_command(line) == expected


def test_a_command_line_must_start_with_a_slash():
    with pytest.raises(ValueError, match="starts with '/'"):
        split_command("cmd x")


def test_chat_hooks_get_hubdata_or_userdata_and_the_message(host, seen):
    assert host.fire.incoming_chat(HUB, "hello") is False
    assert host.fire.outgoing_chat({"url": HUB}, "out") is False
    host.fire.incoming_pm({"nick": "alice", "hub_url": HUB, "sid": 9, "is_op": True}, "pm")
    host.fire.outgoing_pm("alice", "pm out")
    chat = seen["dcpp.chat.onIncomingChat"][0]
    hub = chat.obj
    assert (hub["url"], hub["port"], hub["protocol"], hub["managed"]) == \
        (HUB, 1511, lib.PROTOCOL_ADC, 1)
    assert hub["object"] != ffi.NULL and hub["ip"].startswith("192.0.2.")
    assert chat.data == b"hello"
    assert seen["dcpp.chat.onOutgoingChat"][0].obj_ptr == chat.obj_ptr  # the same block
    pm = seen["dcpp.chat.onIncomingPM"][0]
    assert (pm.obj["nick"], pm.obj["hub"], pm.obj["sid"], pm.obj["op"], pm.obj["managed"]) \
        == ("alice", HUB, 9, 1, 1)
    assert len(pm.obj["cid"]) == 39 and pm.data == b"pm"
    assert seen["dcpp.chat.onOutgoingPM"][0].obj["hub"] == ""  # "alice" alone: another user


def test_the_handled_result_comes_back(host):
    sub = host.bus.bind("dcpp.chat.onIncomingChat",
                        lambda obj, data, c: ffi.string(ffi.cast("char*", data)) == b"mine")
    assert host.fire.incoming_chat(HUB, "mine") is True
    assert host.fire.incoming_chat(HUB, "other") is False
    sub.release()


def test_timers_get_a_pointer_to_the_tick(host, seen):
    host.fire.timer_second(1234)
    host.fire.timer_minute(2**40)
    host.fire.timer_second()  # now, from the monotonic clock
    first, now = seen["dcpp.timer.onSecond"]
    assert first.obj_ptr == ffi.NULL and first.data == 1234
    assert seen["dcpp.timer.onMinute"][0].data == 2**40
    assert now.data > 0


def test_hub_and_user_presence(host, seen):
    host.fire.hub_online({"url": "nmdcs://secure.example:4111", "is_op": True})
    online = seen["dcpp.hubs.onOnline"][0]
    assert (online.obj["protocol"], online.obj["secure"], online.obj["op"],
            online.obj["port"]) == (lib.PROTOCOL_NMDC, 1, 1, 4111)
    assert online.data_ptr == ffi.NULL
    assert host.app.hubs["nmdcs://secure.example:4111"].online
    host.fire.hub_offline("nmdcs://secure.example:4111")
    assert not host.app.hubs["nmdcs://secure.example:4111"].online
    host.fire.user_online({"nick": "bob", "hub_url": HUB})
    host.fire.user_offline({"nick": "bob", "hub_url": HUB})
    on, off = seen["dcpp.users.onOnline"][0], seen["dcpp.users.onOffline"][0]
    assert on.obj["nick"] == off.obj["nick"] == "bob"
    assert on.obj_ptr == off.obj_ptr                 # the same host object...
    assert lib.phn_app_kind(off.obj_ptr) == 0        # ...freed once onOffline returned


def test_a_host_object_lives_as_long_as_its_entity(host, seen):
    host.fire.incoming_chat(HUB, "a")
    host.fire.incoming_chat(HUB, "b")
    first, second = seen["dcpp.chat.onIncomingChat"]
    assert second.obj_ptr == first.obj_ptr                      # stable while online
    assert lib.phn_app_kind(first.obj_ptr) == lib.PHN_KIND_HUB
    host.fire.hub_offline(HUB)
    assert seen["dcpp.hubs.onOffline"][0].obj["url"] == HUB     # still valid in onOffline
    assert seen["dcpp.hubs.onOffline"][0].obj_ptr == first.obj_ptr
    assert lib.phn_app_kind(first.obj_ptr) == 0                 # freed once it returned
    host.fire.queue_added("Downloads/x")
    host.fire.queue_finished("Downloads/x")
    item = seen["dcpp.queue.onAdded"][0].obj_ptr
    assert lib.phn_app_kind(item) == 0 and "Downloads/x" not in host.app.downloads


def test_network_hooks(host, seen):
    host.fire.hub_data_in(HUB, "IINF")
    host.fire.hub_data_out(HUB, b"BMSG \xff raw")
    host.fire.client_data_in({"ip": "198.51.100.7", "port": 4112, "is_secure": True}, "$Ping")
    host.fire.client_data_out({"ip": "198.51.100.7", "port": 4112}, "$Pong")
    host.fire.udp_data_in("203.0.113.5", 412, "PING")
    host.fire.udp_data_out("203.0.113.5", 412, b"$SR")
    assert seen["dcpp.network.onHubDataIn"][0].data == b"IINF"
    assert seen["dcpp.network.onHubDataOut"][0].data == b"BMSG \xff raw"
    conn = seen["dcpp.network.onClientDataIn"][0]
    assert conn.obj == dict(ip="198.51.100.7", port=4112, secure=1, managed=1)
    assert conn.data == b"$Ping"
    assert seen["dcpp.network.onClientDataOut"][0].obj_ptr == conn.obj_ptr
    udp = seen["dcpp.network.onUDPDataIn"][0]
    assert udp.obj == dict(ip="203.0.113.5", port=412) and udp.data == b"PING"
    assert seen["dcpp.network.onUDPDataOut"][0].data == b"$SR"


def test_queue_hooks(host, seen):
    host.fire.queue_added({"target": "Downloads/a.iso", "size": 2**40, "hash": "H" * 39})
    host.fire.queue_moved("Downloads/a.iso")
    host.fire.queue_removed(QueueItem("Downloads/a.iso"))
    host.fire.queue_finished({"target": "FileLists/x.xml.bz2", "is_file_list": True})
    added = seen["dcpp.queue.onAdded"][0]
    assert added.obj == dict(target="Downloads/a.iso", location="Downloads/", hash="H" * 39,
                             size=2**40, list=0, managed=1)
    assert seen["dcpp.queue.onMoved"][0].obj_ptr == added.obj_ptr
    assert seen["dcpp.queue.onRemoved"][0].obj_ptr == added.obj_ptr
    assert seen["dcpp.queue.onFinished"][0].obj["list"] == 1
    for guid in ("dcpp.queue.onAdded", "dcpp.queue.onRemoved"):
        assert seen[guid][0].data_ptr == ffi.NULL


def test_ui_created_and_data_access_hooks_take_a_host_object(host, seen):
    host.fire.ui_created()
    host.fire.ui_created(0x1234)
    created = seen["dcpp.ui.onCreated"]
    assert (created[0].obj_ptr, created[0].data_ptr) == (ffi.NULL, ffi.NULL)
    assert int(ffi.cast("uintptr_t", created[1].obj_ptr)) == 0x1234
    host.fire.http_notification(b"a\x00b")
    host.fire.http_notification_failed("failed", 7)
    host.fire.http_stream(b"")
    note = seen["dcpp.dataaccessor.onHTTPResourceNotification"][0]
    assert note.obj_ptr == ffi.NULL and note.data == b"a\x00b"
    assert lib.phn_app_kind(note.data_ptr) == 0  # the DataArray lived for the dispatch
    failed = seen["dcpp.dataaccessor.onHTTPResourceNotificationFailed"][0]
    assert int(ffi.cast("uintptr_t", failed.obj_ptr)) == 7 and failed.data == b"failed"
    assert seen["dcpp.dataaccessor.onHTTPResourceStream"][0].data == b""


def test_chat_display_returns_out_only_when_handled(host):
    keep = []

    def display(obj, data, common):
        sd = ffi.cast("StringData*", data)
        text = ffi.string(getattr(sd, "in"))  # `in` is a Python keyword
        if b"replace" in text:
            keep.append(ffi.new("char[]", text.upper()))
            sd.out = keep[-1]
            return True
        if b"handled" in text:
            return True
        keep.append(ffi.new("char[]", b"ignored"))
        sd.out = keep[-1]
        return False

    sub = host.bus.bind("dcpp.ui.onChatDisplay", display)
    assert host.fire.chat_display("alice", "please replace") == (True, "PLEASE REPLACE")
    assert host.fire.chat_display(None, "handled, no out") == (True, None)
    assert host.fire.chat_display("alice", "plain") == (False, None)  # out ignored
    sub.release()


def test_chat_commands_are_split(host, seen):
    assert host.fire.chat_command(HUB, "/join adc://x  y") is False
    host.fire.chat_command_pm("alice", command="whois", params="")
    command = seen["dcpp.ui.onChatCommand"][0]
    assert command.data == ("join", "adc://x  y") and command.obj["url"] == HUB
    assert seen["dcpp.ui.onChatCommandPM"][0].data == ("whois", "")
    assert seen["dcpp.ui.onChatCommandPM"][0].obj["nick"] == "alice"
    with pytest.raises(ValueError):
        host.fire.chat_command(HUB, "no slash")


def test_chat_tags_go_through_the_dctagger_table(host):
    tagger = ffi.cast("DCTagger*", host.bus.query_interface("dcpp.xml.DCTagger", 1))

    def tags(obj, data, common):
        td = ffi.cast("TagData*", data)
        assert td.isManaged == 1
        text = ffi.string(tagger.get_text(td))
        start = text.index(b"world")
        tagger.add_tag(td, start, start + 5, b"b", b"class=\"x\"")
        tagger.replace_text(td, 0, 5, b"Hi")
        return True

    sub = host.bus.bind("dcpp.ui.onChatTags", tags)
    handled, result = host.fire.chat_tags({"nick": "alice", "hub_url": HUB}, "hello world")
    assert handled is True
    assert result.text == "Hi world"
    assert result.markup == 'Hi <b class="x">world</b>'
    assert [(t.start, t.end, t.id) for t in result.tags] == [(3, 8, "b")]
    sub.release()
    # Outside a dispatch the TagData is unknown: an error effect, NULL, no crash.
    stale = ffi.new("TagData*")
    assert tagger.get_text(stale) == ffi.NULL
    tagger.add_tag(stale, 0, 1, b"x", b"")
    errors = [e.error for e in host.effects.drain() if e.error]
    assert errors[-2:] == ["LookupError: not the TagData of a running dcpp.ui.onChatTags"] * 2


def test_tag_offsets_out_of_range_are_refused(host):
    tagger = ffi.cast("DCTagger*", host.bus.query_interface("dcpp.xml.DCTagger", 1))
    sub = host.bus.bind("dcpp.ui.onChatTags", lambda o, d, c: tagger.add_tag(
        ffi.cast("TagData*", d), 2, 100, b"x", b"") or False)
    handled, result = host.fire.chat_tags(None, "abc")
    assert (handled, result.tags) == (False, ())
    assert "outside the text" in host.effects.drain()[-1].error
    sub.release()


def test_fire_by_name(host, seen):
    # `default`: what the simulated world did with the event (nobody handled these)
    assert host.fire.fire("chat.onIncomingChat", HUB, "x") == FireResult(False, default={
        "action": "show_chat", "hub": HUB, "text": "x", "done": True})
    udp = host.fire.fire("dcpp.network.onUDPDataIn", {"ip": "1.2.3.4", "port": 5}, "p")
    assert udp == FireResult(False, default={"action": "receive_udp", "udp": "1.2.3.4:5",
                                             "data": "p", "done": True})
    r = host.fire.fire("chat_display", "alice", "t")
    assert (r.handled, r.replacement, r.default["text"]) == (False, None, "t")
    assert host.fire.fire("queue.onAdded", "x.bin") == FireResult(False)  # no default
    r = host.fire.fire("ui.onChatTags", None, "t")
    assert r.tags.text == "t"
    host.fire.fire("ui.onChatCommand", HUB, {"command": "a", "params": "b c"})
    assert seen["dcpp.ui.onChatCommand"][0].data == ("a", "b c")
    host.fire.fire("timer.onSecond", None, 5)
    host.fire.fire("dataaccessor.onHTTPResourceStream", 9, b"d")
    with pytest.raises(ValueError):
        host.fire.fire("network.onUDPDataOut", "not a dict", "p")


def test_value_types_are_used_as_given_when_they_carry_a_handle(host, seen):
    user = User("zed", "C" * 39, HUB, 3, ProtocolType.NMDC, True, handle=0x77)
    host.fire.user_online(user)
    u = seen["dcpp.users.onOnline"][0].obj
    assert int(ffi.cast("uintptr_t", u["object"])) == 0x77 and u["protocol"] == lib.PROTOCOL_NMDC
    hub = host.fire.hub(Hub(HUB))  # no handle: the world's entity
    assert hub.handle and host.app.hubs[HUB].handle == hub.handle
