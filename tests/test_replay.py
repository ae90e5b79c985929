"""pyhost.replay: the JSON Lines schema (version 1), its validation and its output."""
import json

import pytest

from pyhost.abi._ffi import ffi, lib
from pyhost.testbench.replay import ReplayError, dumps, replay

HUB = "adc://hub.example.org:1511"


def run(host, *lines: str):
    out = []
    summary = replay(host, list(lines), out.append)
    return out, summary


@pytest.mark.usefixtures("isolation")
def test_one_output_line_per_event(host, sample):
    host.install(sample("chat_guard"))
    out, summary = run(
        host,
        json.dumps({"hook": "chat.onIncomingChat", "object": HUB, "data": "spam!"}),
        json.dumps({"hook": "dcpp.chat.onIncomingChat", "object": {"url": HUB},
                    "data": "fine", "id": "x1"}),
    )
    assert [(r["event"], r["line"], r["hook"], r["handled"]) for r in out] == [
        (1, 1, "dcpp.chat.onIncomingChat", True), (2, 2, "dcpp.chat.onIncomingChat", False)]
    assert out[1]["id"] == "x1"
    assert all(r["effects"] == [] and r["log"] == [] for r in out)
    assert (summary.events, summary.errors, summary.lines) == (2, 0, 2)
    assert json.loads(dumps(out[0])) == out[0]


@pytest.mark.usefixtures("isolation")
def test_startup_effects_and_logs_come_as_event_zero(host, sample):
    host.install(sample("app_demo"))
    out, _ = run(host, json.dumps({"hook": "ui.onCreated"}))
    assert out[0]["event"] == 0 and out[0]["startup"] is True
    assert out[0]["effects"][0]["function"] == "add_command"
    assert {"plugin": "App demo", "message": "App demo loaded"} in out[0]["log"]
    assert out[1]["event"] == 1


def test_comments_blank_lines_and_the_header_are_not_events(host):
    out, summary = run(host, "# a comment", "", '{"pyhost_replay": 1}', "   ",
                       '{"hook": "timer.onSecond"}')
    assert [(r["event"], r["line"]) for r in out] == [(1, 5)]
    assert summary.events == 1 and summary.errors == 0


def test_a_header_for_another_version_stops_the_replay(host):
    with pytest.raises(ReplayError, match="version 2"):
        run(host, '{"pyhost_replay": 2}', '{"hook": "timer.onSecond"}')


@pytest.mark.parametrize("line, message", [
    ("{not json", "not JSON"),
    ("[1, 2]", "must be a JSON object"),
    ('{"object": "x"}', 'needs "hook"'),
    ('{"hook": "chat.onNothing"}', "'chat.onNothing' is not a standard hook"),
    ('{"hook": "chat.onIncomingChat", "data": "x"}', "needs an object (hub)"),
    ('{"hook": "chat.onIncomingChat", "object": 5, "data": "x"}', "must be a url or an object"),
    ('{"hook": "chat.onIncomingChat", "object": {"ip": "1.2.3.4"}, "data": "x"}',
     "needs 'url'"),
    ('{"hook": "chat.onIncomingChat", "object": "adc://h", "data": 7}', "must be a string"),
    ('{"hook": "chat.onIncomingChat", "object": "adc://h", "data": "x", "extra": 1}',
     "unknown field 'extra'"),
    ('{"hook": "hubs.onOnline", "object": {"url": "adc://h", "port": 70000}}',
     "'port' must be an integer from 0 to 65535"),
    ('{"hook": "hubs.onOnline", "object": {"url": "adc://h", "protocol": "irc"}}',
     "protocol must be"),
    ('{"hook": "hubs.onOnline", "object": "adc://h", "data": "x"}', "has no data"),
    ('{"hook": "timer.onSecond", "object": "x"}', "has no object"),
    ('{"hook": "timer.onSecond", "data": -1}', "integer of milliseconds"),
    ('{"hook": "users.onOnline", "object": {"hub": "adc://h"}}', "needs a nick or a cid"),
    ('{"hook": "ui.onChatCommand", "object": "adc://h", "data": "no slash"}',
     "starting with '/'"),
    ('{"hook": "dataaccessor.onHTTPResourceStream", "data": {"base64": "!!"}}',
     "invalid base64"),
    ('{"hook": "network.onUDPDataIn", "object": {"port": 1}, "data": "x"}', "needs 'ip'"),
    ('{"v": 2, "hook": "timer.onSecond"}', "schema version 2 is not supported"),
    ('{"action": "fly"}', "unknown action 'fly'"),
    ('{"action": "ui_command", "guid": "{g}", "name": "X"}', "no plugin added a UI command"),
])
def test_a_malformed_line_is_reported_with_its_number_and_skipped(host, line, message):
    out, summary = run(host, '{"hook": "timer.onSecond"}', line, '{"hook": "timer.onMinute"}')
    assert [r.get("event") for r in out] == [1, None, 2]
    error = out[1]
    assert error["line"] == 2 and error["error"].startswith("line 2: ")
    assert message in error["error"]
    assert "\n" not in error["error"]
    assert (summary.events, summary.errors, summary.error_lines) == (2, 1, [2])


def test_default_ticks_follow_the_event_number(host):
    got = []
    host.bus.bind("dcpp.timer.onSecond", lambda o, d, c: got.append(ffi.cast("uint64_t*", d)[0]))
    run(host, '{"hook": "timer.onSecond"}', '{"hook": "timer.onMinute"}',
        '{"hook": "timer.onSecond", "data": 5}', '{"hook": "timer.onSecond"}')
    assert got == [1000, 5, 4000]


@pytest.mark.usefixtures("isolation")
def test_object_and_data_forms(host, sample):
    host.install(sample("app_demo"))
    guid = "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000a00}"
    out, summary = run(
        host,
        json.dumps({"hook": "ui.onChatDisplay", "object": {"nick": "a", "hub": HUB},
                    "data": "a secret"}),
        json.dumps({"hook": "ui.onChatDisplay", "data": "nothing"}),
        json.dumps({"hook": "ui.onChatTags", "object": "a", "data": "see http://x.y"}),
        json.dumps({"hook": "ui.onChatCommand", "object": HUB,
                    "data": {"command": "echo", "params": "hi"}}),
        json.dumps({"hook": "dataaccessor.onHTTPResourceNotification",
                    "data": {"base64": "aGk="}}),
        json.dumps({"hook": "network.onClientDataIn",
                    "object": {"ip": "198.51.100.1", "port": 7,
                               "user": {"nick": "a", "hub": HUB}}, "data": "$Ping"}),
        json.dumps({"action": "ui_command", "guid": guid, "name": "Queue summary"}),
    )
    events = [r for r in out if r.get("event")]
    assert summary.errors == 0 and len(events) == 7
    assert events[0]["replacement"] == "a ******" and events[0]["handled"] is True
    assert events[1]["replacement"] is None and events[1]["handled"] is False
    assert events[2]["tags"]["markup"] == 'see <a href="http://x.y">http://x.y</a>'
    assert events[3]["effects"][0]["args"]["message"] == "hi"
    assert events[4]["log"] == [{"plugin": "App demo", "message": "received 2 bytes: hi"}]
    assert events[5]["effects"][1]["result"]["nick"] == "a"  # get_user
    assert events[6]["action"] == "ui_command" and "hook" not in events[6]
    assert events[6]["effects"][0]["args"]["message"] == "Queue summary clicked"


def test_refused_releases_show_up_as_warnings(host):
    hubs = ffi.cast("DCHub*", host.bus.query_interface("dcpp.network.DCHub", 1))

    def bad(obj, data, common):
        hubs.release(ffi.cast("HubData*", obj))  # a host object
        return False

    host.bus.bind("dcpp.chat.onIncomingChat", bad)
    out, _ = run(host, json.dumps({"hook": "chat.onIncomingChat", "object": HUB, "data": "x"}))
    assert out[0]["warnings"] == [
        "a release of a host-owned (isManaged) object was refused."]
    assert lib.phn_app_live(host.app_services.arena, lib.PHN_KIND_HUB, 1) == 1
