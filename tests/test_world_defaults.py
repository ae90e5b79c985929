"""A world where "handled" means something: the simulated world does what a DC client does
with each event (shows chat, sends messages, runs its own chat commands, applies protocol
lines, displays text) unless a plugin handled it. A real Python plugin decides what to
handle; the world's state and the "default" reports show the difference."""
import json
import textwrap

import pytest

from pyhost.app.application import Application, HookOutcome, ProtocolType, User
from pyhost.app.world import SimulatedWorld
from pyhost.app.world_defaults import HELP
from pyhost.app.world_protocol import Parsed, parse, to_sid
from pyhost.host.host import Host
from pyhost.testbench.replay import replay

HUB = "adc://hub.example.org:1511"
NMDC = "dchub://old.example.org"
GUID = "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee0005e2}"

# Handles what contains "eat"; for ui.onChatDisplay "mask" sets out, "keep" sets nothing.
EATER = f'''
from pyhost.plugin import *
plugin = Plugin(guid="{GUID}", name="Eater", version=1.0)

def eats(text):
    return "eat" in text

@hook("dcpp.chat.onIncomingChat")
def chat_in(hub, message): return eats(message)

@hook("dcpp.chat.onOutgoingChat")
def chat_out(hub, message): return eats(message)

@hook("dcpp.chat.onIncomingPM")
def pm_in(user, message): return eats(message)

@hook("dcpp.chat.onOutgoingPM")
def pm_out(user, message): return eats(message)

@hook("dcpp.network.onHubDataIn")
def line_in(hub, line): return eats(line)

@hook("dcpp.network.onHubDataOut")
def line_out(hub, line): return eats(line)

@hook("dcpp.network.onClientDataOut")
def client_out(conn, line): return eats(line)

@hook("dcpp.ui.onChatCommand")
def command(hub, cmd): return eats(cmd.params)

@hook("dcpp.ui.onChatCommandPM")
def command_pm(user, cmd): return eats(cmd.params)

@hook("dcpp.ui.onChatDisplay")
def display(user, text):
    if "mask" in text.text:
        text.out = text.text.replace("mask", "****")
        return True
    return "keep" in text.text
'''


@pytest.fixture
def world(host, tmp_path):
    path = tmp_path / "eater.py"
    path.write_text(textwrap.dedent(EATER))
    host.install(path, kind="python")
    return host


def hub_of(host, url=HUB):
    return host.app.hubs[url]


def chat(host, url=HUB):
    return [str(line) for line in hub_of(host, url).chat]


def user_of(host, nick, url=HUB):
    return next(u for u in host.app.users.values() if u.nick == nick and u.hub_url == url)


# ---- chat and PMs -----------------------------------------------------------------------------

def test_incoming_and_outgoing_chat_unless_handled(world):
    assert world.fire.incoming_chat(HUB, "hello") is False
    assert world.fire.incoming_chat(HUB, "eat this") is True
    assert world.fire.outgoing_chat(HUB, "hi all") is False
    assert world.fire.outgoing_chat(HUB, "eaten on the way out") is True
    assert chat(world) == ["hello", "<pyhost> hi all"]


def test_incoming_and_outgoing_private_messages_unless_handled(world):
    alice = {"nick": "alice", "hub_url": HUB}
    world.fire.incoming_pm(alice, "psst")
    world.fire.incoming_pm(alice, "eat me")
    world.fire.outgoing_pm(alice, "yes?")
    world.fire.outgoing_pm(alice, "eat you")
    assert [str(p) for p in user_of(world, "alice").pms] == ["<alice> psst", "<pyhost> yes?"]


def test_the_clients_own_chat_commands_run_unless_handled(world):
    world.fire.outgoing_chat(HUB, "one")
    world.fire.chat_command(HUB, "/me waves")
    world.fire.chat_command(HUB, "/me eats")               # handled: not said
    assert chat(world) == ["<pyhost> one", "* pyhost waves"]
    world.fire.chat_command(HUB, "/clear")
    assert chat(world) == []
    world.fire.chat_command(HUB, "/help")
    world.fire.chat_command(HUB, "/help eat")              # handled: no second help
    world.fire.chat_command(HUB, "/frobnicate")
    world.fire.chat_command(HUB, "/me")
    assert [s for s, _ in hub_of(world).status] == [
        HELP, "Unknown command: /frobnicate", "Usage: /me <text>"]
    assert "/clear" in HELP and "/help" in HELP and "/me" in HELP


def test_chat_commands_in_a_private_window(world):
    bob = {"nick": "bob", "hub_url": HUB}
    world.fire.incoming_pm(bob, "hi")
    world.fire.chat_command_pm(bob, "/me grins")
    world.fire.chat_command_pm(bob, "/me eats")
    assert [str(p) for p in user_of(world, "bob").pms] == ["<bob> hi", "* pyhost grins"]
    world.fire.chat_command_pm(bob, "/clear")
    world.fire.chat_command_pm(bob, "/help")
    assert [str(p) for p in user_of(world, "bob").pms] == [HELP]


def test_chat_display_shows_out_when_handled(world):
    assert world.fire.chat_display("alice", "a mask here") == (True, "a **** here")
    assert world.fire.chat_display("alice", "keep it") == (True, None)   # handled, no out
    assert world.fire.chat_display(None, "plain") == (False, None)
    assert [str(d) for d in world.app.displayed] == [
        "<alice> a **** here", "<alice> keep it", "plain"]


# ---- protocol lines ---------------------------------------------------------------------------

def test_a_handled_quit_line_is_not_applied(world):
    world.fire.hub_data_in(HUB, "BINF AAAB IDLWPNACQDBZRYXW3VHJVCJ64QBZNGHOHHHZWCLNQ NIbob NIeat")
    # the plugin ate the join: nobody joined
    assert not [u for u in world.app.users.values() if u.nick in ("bob", "eat")]
    world.fire.hub_data_in(HUB, "BINF AAAB IDLWPNACQDBZRYXW3VHJVCJ64QBZNGHOHHHZWCLNQ NIbob")
    bob = user_of(world, "bob")
    assert bob.online and bob.sid == to_sid("AAAB")
    assert world.fire.hub_data_in(HUB, "IQUI AAAB DIeat") is True   # handled: bob stays
    assert bob.online is True
    assert world.fire.hub_data_in(HUB, "IQUI AAAB") is False
    assert bob.online is False
    assert hub_of(world).received == [
        "BINF AAAB IDLWPNACQDBZRYXW3VHJVCJ64QBZNGHOHHHZWCLNQ NIbob", "IQUI AAAB"]


def test_applying_lines_fires_the_hooks_a_client_fires(world):
    fired = []
    for guid in ("dcpp.users.onOnline", "dcpp.users.onOffline", "dcpp.chat.onIncomingChat",
                 "dcpp.chat.onIncomingPM"):
        world.bus.bind(guid, lambda o, d, c, guid=guid: fired.append(guid) and False)
    world.fire.hub_data_in(HUB, "BINF AAAC IDFPMANSL7BYAK6GQ7YMZI7J3DVETJOI6I3OH2YTY NIcarol")
    world.fire.hub_data_in(HUB, "BMSG AAAC hello\\sworld")
    world.fire.hub_data_in(HUB, "BMSG AAAC dances ME1")
    world.fire.hub_data_in(HUB, "BMSG AAAC eat\\sthis")     # the plugin handles the line
    world.fire.hub_data_in(HUB, "IMSG Welcome")
    world.fire.hub_data_in(HUB, "EMSG AAAC AAAA secret PMAAAC")
    world.fire.hub_data_in(HUB, "IQUI AAAC")
    assert fired == ["dcpp.users.onOnline", "dcpp.chat.onIncomingChat",
                     "dcpp.chat.onIncomingChat", "dcpp.chat.onIncomingChat",
                     "dcpp.chat.onIncomingPM",
                     "dcpp.users.onOffline"]
    assert chat(world) == ["<carol> hello world", "* carol dances", "Welcome"]
    assert [str(p) for p in user_of(world, "carol").pms] == ["<carol> secret"]
    effects = [e for e in world.effects.drain() if e.interface == "world"]
    assert effects[1].args["data"] == "hello world"


def test_nmdc_lines(world):
    world.fire.hub_data_in(NMDC, "$MyINFO $ALL dave likes $ $1$$0$|")
    world.fire.hub_data_in(NMDC, "<dave> costs 5&#36;|")
    world.fire.hub_data_in(NMDC, "$To: pyhost From: erin $<erin> new here|")
    world.fire.hub_data_in(NMDC, "$Quit dave|")
    assert chat(world, NMDC) == ["<dave> costs 5$"]
    assert user_of(world, "dave", NMDC).online is False
    assert [str(p) for p in user_of(world, "erin", NMDC).pms] == ["<erin> new here"]
    assert user_of(world, "erin", NMDC).protocol == ProtocolType.NMDC


def test_outgoing_lines_are_sent_unless_handled(world):
    world.fire.hub_data_out(HUB, "BMSG AAAA hi")
    world.fire.hub_data_out(HUB, "BMSG AAAA eat")
    conn = {"ip": "198.51.100.3", "port": 4000}
    world.fire.client_data_out(conn, "$MyNick x|")
    world.fire.client_data_out(conn, "$eat|")
    world.fire.client_data_in(conn, "$Lock y|")
    assert hub_of(world).sent == ["BMSG AAAA hi"]
    known = world.app.connections[("198.51.100.3", 4000)]
    assert (known.sent, known.received) == (["$MyNick x|"], ["$Lock y|"])
    world.fire.udp_data_out("203.0.113.5", 412, "$SR x")
    world.fire.udp_data_in("203.0.113.5", 412, "PING")
    assert world.app.udp_sent == [("203.0.113.5", 412, b"$SR x")]
    assert world.app.udp_received == [("203.0.113.5", 412, b"PING")]


def test_emulate_protocol_cmd_applies_the_line_without_the_hook(host):
    host.fire.hub_data_in(HUB, "BINF AAAD IDFPMANSL7BYAK6GQ7YMZI7J3DVETJOI6I3OH2YTY NIfred")
    seen = []
    host.bus.bind("dcpp.network.onHubDataIn", lambda o, d, c: seen.append(1) and False)
    hub = host.app.hub.find_hub(HUB)
    host.app.hub.emulate_protocol_cmd(hub, "IQUI AAAD")
    assert seen == [] and user_of(host, "fred").online is False
    assert hub_of(host).emulated == ["IQUI AAAD"]


def test_parsing():
    assert parse("BINF AAAB NIa\\sb IDX", ProtocolType.ADC) == Parsed("join", to_sid("AAAB"),
                                                                      "a b", "X")
    assert parse("IQUI AAAB", ProtocolType.ADC) == Parsed("quit", to_sid("AAAB"))
    assert parse("HSUP ADBASE", ProtocolType.ADC) is None
    assert parse("$Hello x|", ProtocolType.NMDC) is None
    assert parse("* bob smiles|", ProtocolType.NMDC) == Parsed("chat", nick="bob",
                                                               text="smiles", third_person=True)
    assert to_sid("AAAB") == 0x42414141


# ---- the report, the replay, other applications -----------------------------------------------

def test_the_replay_shows_what_the_world_did_beside_what_plugins_did(world):
    events = [
        {"hook": "chat.onIncomingChat", "object": HUB, "data": "hello"},
        {"hook": "chat.onIncomingChat", "object": HUB, "data": "eat"},
        {"hook": "network.onHubDataIn", "object": HUB, "data": "IQUI ZZZZ"},
        {"hook": "ui.onChatDisplay", "object": "alice", "data": "mask"},
        {"hook": "timer.onSecond"},
    ]
    out = []
    replay(world, [json.dumps(e) for e in events], out.append)
    defaults = [r["default"] for r in out if r.get("event")]
    assert defaults == [
        {"action": "show_chat", "hub": HUB, "text": "hello", "done": True},
        {"action": "show_chat", "hub": HUB, "text": "eat", "done": False},
        {"action": "apply_line", "hub": HUB, "line": "IQUI ZZZZ", "done": True,
         "result": "no user ZZZZ is online"},
        {"action": "display", "user": "alice", "text": "****", "done": True,
         "replaced": True},
        None]


def test_fire_events_off_still_shows_chat_from_lines(home):
    with Host(home, timers=False, app=SimulatedWorld(fire_events=False)) as host:
        host.fire.hub_data_in(HUB, "BINF AAAB IDLWPNACQDBZRYXW3VHJVCJ64QBZNGHOHHHZWCLNQ NIbob")
        host.fire.hub_data_in(HUB, "BMSG AAAB hi")
        assert chat(host) == ["<bob> hi"]


def test_any_application_can_take_the_outcome(home):
    outcomes = []

    def act(outcome: HookOutcome):
        outcomes.append(outcome)
        if outcome.hook == "dcpp.ui.onChatCommand":
            raise RuntimeError("not today")
        return {"seen": outcome.hook}

    with Host(home, timers=False, app=Application(default_action=act)) as host:
        result = host.fire.fire("chat.onOutgoingPM", User("zed", "C" * 39, handle=5), "yo")
        assert result.default == {"seen": "dcpp.chat.onOutgoingPM"}
        assert outcomes[0] == HookOutcome("dcpp.chat.onOutgoingPM",
                                          User("zed", "C" * 39, handle=5), "yo", False)
        broken = host.fire.fire("ui.onChatCommand", "adc://x", "/a b c")
        assert broken.handled is False
        assert broken.default == {"error": "RuntimeError: not today"}
        assert outcomes[1].data == ("a", "b c")
    with Host(home, timers=False, app=Application()) as host:
        assert host.fire.fire("chat.onIncomingChat", "adc://x", "hi").default is None
