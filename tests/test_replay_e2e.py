"""End to end, through the `pyhost` command: install the compiled sample plugins into a fresh
home, switch App demo's tracing on with `pyhost config`, replay tests/replay/every_hook.jsonl
(every standard hook of docs/abi.md, plus a UI command) with `pyhost run --replay`, and compare
everything that comes out -- handled, replacement text, tags, effects, plugin log lines --
with tests/replay/every_hook.expected.jsonl.

The trace lines prove that each hook reached the plugin with the object and data docs/abi.md
says (the url, ip:port, protocol, op and secure flags of a HubData; nick, cid, hub, sid of a
UserData; the tick; the split command; the DataArray's bytes; isManaged = 1 on host objects).
The effects prove what the plugins did through DCHub, DCConnection, DCQueue, DCUI, DCTagger
and DCDataAccess, and what the simulated world fired back.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pyhost.host.host import STANDARD_HOOKS
from pyhost.abi.paths import sample_plugin

HERE = Path(__file__).resolve().parent
EVENTS = HERE / "replay" / "every_hook.jsonl"
EXPECTED = HERE / "replay" / "every_hook.expected.jsonl"
APP_DEMO = "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000a00}"


def pyhost(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    # Run outside the checkout, whose sources would shadow the installed package.
    result = subprocess.run([sys.executable, "-m", "pyhost", "--home", str(home), *args],
                            cwd=Path(__file__).resolve().parent, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONWARNINGS": "ignore"})
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="module", params=["in-process", "isolated"])
def replayed(tmp_path_factory, request):
    """The replay's output, with the three compiled samples in the host's process, then
    each installed with --isolated (in a process of its own): the same output, line for
    line."""
    home = tmp_path_factory.mktemp("e2e") / "home"
    isolated = ["--isolated"] if request.param == "isolated" else []
    for name in ("app_demo", "chat_guard", "dev_plugin"):
        pyhost(home, "install", *isolated, str(sample_plugin(name)))
    if isolated:
        listing = pyhost(home, "list").stdout
        assert listing.count("native, isolated") == 3, listing
    pyhost(home, "config", APP_DEMO, "trace", "true")
    result = pyhost(home, "run", "--replay", str(EVENTS), "--json")
    records = [json.loads(line) for line in result.stdout.splitlines()]
    records = [r for r in records if "host_event" not in r and "summary" not in r]
    return records, result.stderr


def _expected():
    return [json.loads(line) for line in EXPECTED.read_text().splitlines()]


def test_every_standard_hook_is_exercised(replayed):
    records, _ = replayed
    fired = {r["hook"] for r in records if "hook" in r}
    assert fired == set(STANDARD_HOOKS)
    traced = {m["message"].split(" ", 1)[0] for r in records for m in r["log"]
              if m["plugin"] == "App demo"}
    assert {g.removeprefix("dcpp.") for g in STANDARD_HOOKS} <= traced


def test_the_output_is_the_expected_one(replayed):
    records, _ = replayed
    expected = _expected()
    assert len(records) == len(expected)
    for got, want in zip(records, expected):
        assert got == want, f"event {want.get('event')} (line {want.get('line')}) differs"


def test_effects_of_each_interface(replayed):
    records, _ = replayed
    calls = {(e["interface"], e["function"]) for r in records for e in r["effects"]}
    for needed in [("DCHub", f) for f in ("add_hub", "find_hub", "remove_hub",
                                          "emulate_protocol_cmd", "send_protocol_cmd",
                                          "send_message", "local_message",
                                          "send_private_message", "find_user")] + \
                  [("DCQueue", f) for f in ("add_list", "add_download", "find_download",
                                            "remove_download", "set_priority", "pause")] + \
                  [("DCConnection", f) for f in ("send_udp_data", "send_protocol_cmd",
                                                 "terminate_conn", "get_user")] + \
                  [("DCUI", f) for f in ("add_command", "play_sound", "notify")] + \
                  [("DCTagger", f) for f in ("get_text", "add_tag", "replace_text")] + \
                  [("DCDataAccess", "get_http_resource"), ("world", "fire")]:
        assert needed in calls, needed


def test_results_of_the_interesting_events(replayed):
    by_line = {r["line"]: r for r in replayed[0] if "line" in r}
    lines = EVENTS.read_text().splitlines()

    def event(fragment: str) -> dict:
        number = next(i for i, line in enumerate(lines, 1) if fragment in line)
        return by_line[number]

    assert event('"!ping"')["effects"][0]["args"]["message"] == "pong"
    assert event('"buy spam now"')["handled"] is True       # Chat guard
    assert event('"!version"')["handled"] is True           # Dev plugin
    display = event('"top secret plans"')
    assert (display["handled"], display["replacement"]) == (True, "top ****** plans")
    plain = event('"nothing to hide"')
    assert (plain["handled"], plain["replacement"]) == (False, None)
    tags = event("read https://example.org/a")["tags"]
    assert tags["text"] == "read https://example.org/a and http://b.example \u00a9 2024"
    assert tags["markup"] == ('read <a href="https://example.org/a">https://example.org/a</a>'
                              ' and <a href="http://b.example">http://b.example</a>'
                              " \u00a9 2024")
    assert event('"/nosuchcommand')["handled"] is False
    assert event('with  two  spaces ')["log"][0]["message"].endswith(
        "command=nosuchcommand params=with  two  spaces ")


def test_the_world_acts_unless_a_plugin_handled_the_event(replayed):
    by_line = {r["line"]: r for r in replayed[0] if "line" in r}
    lines = EVENTS.read_text().splitlines()

    def default(fragment: str) -> dict:
        return by_line[next(i for i, line in enumerate(lines, 1) if fragment in line)]["default"]

    assert default('"!ping"')["done"] is True                  # shown
    assert default('"buy spam now"')["done"] is False          # Chat guard handled it
    assert default('"top secret plans"') == {
        "action": "display", "user": "alice", "text": "top ****** plans", "done": True,
        "replaced": True}
    assert default('"/me waves back"')["result"] == "said in the third person"
    assert default('"/me nods"') == {                          # App demo's /me wins
        "action": "run_command", "hub": "nmdcs://secure.example.org:4111", "command": "me",
        "params": "nods", "done": False}
    assert default('"$Quit bob|"')["result"] == "bob went offline"
    assert default('"/clear"')["result"] == "cleared 2 lines"
    quits = [by_line[i]["default"]["result"] for i, line in enumerate(lines, 1)
             if '"IQUI AAAB"' in line]
    assert quits == ["carol c. went offline", "no user AAAB is online"]
    ping = by_line[next(i for i, line in enumerate(lines, 1) if "BMSG AAAB !ping" in line)]
    assert [e["function"] for e in ping["effects"]] == ["fire", "send_message"]  # pong
    assert default('"ui.onCreated"') is None


def test_no_leak_or_refusal_is_reported(replayed):
    _, stderr = replayed
    assert "never released" not in stderr
    assert "refused" not in stderr
    assert "Traceback" not in stderr
    assert stderr.count("Dev plugin: unloading") == 1  # clean shutdown, ON_UNLOAD
