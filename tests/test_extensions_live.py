"""Extensions written with the official npm libraries (and one in Python with aiohttp) run
unchanged against pyhost: launched with AirDC++'s arguments, their own sessions, chat hooks
and commands, settings defined by them and changed by users and by the command line, and an
unmanaged extension (the official RemoteExtension wrapper) registering over the API."""
import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from extension_helpers import (  # noqa: F401
    EXTENSIONS_DIR, FILTER, HUB, PYTHON, WATCHER, Hosted, packed, wait_for)
from pyhost.server.extensions.manager import EXTENSION_PERMISSIONS
from server_helpers import PASSWORD, WsClient, http, run
from test_cli import NEUTRAL_DIR, PYHOST


@pytest.fixture(scope="module")
def hosted(packed, tmp_path_factory):
    h = Hosted(tmp_path_factory.mktemp("live") / "home", [packed[FILTER], packed[PYTHON],
                                                          packed[WATCHER]])
    assert h.manager.wait_ready() == []
    yield h
    h.close()


def ready(h, name):
    ext = h.ext(name)
    return wait_for(lambda: ext.state == "running" and
                    (ext.ready if ext.info.signal_ready else ext.settings.defined),
                    what=f"{name} ready")


def cmdline(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")[:-1]


def output(h, name: str) -> str:
    return (h.home / "extensions" / name / "logs" / "output.log").read_text()


def test_launched_with_airdcpps_arguments_and_own_sessions(hosted):
    h = hosted
    port = h.server.port
    for name in (FILTER, PYTHON, WATCHER):
        ext = h.ext(name)
        root = h.home / "extensions" / name
        argv = ext.process.launch.argv  # node rewrites its own cmdline (process.title)
        if name == PYTHON:
            assert cmdline(ext.process.pid) == argv
        entry = "extension.py" if name == PYTHON else "index.js"
        expected = [str(root / "package" / entry), f"--name={name}",
                    f"--apiUrl=127.0.0.1:{port}/api/v1/", f"--authToken={ext.session.token}",
                    f"--logPath={root}/logs/", f"--settingsPath={root}/settings/"]
        expected += ["--signalReady"] if name != WATCHER else []
        expected += [f"--appPid={os.getpid()}"]
        assert argv[-len(expected):] == expected
        assert Path(argv[0]).name in (("python3", "python", Path(sys.executable).name)
                                      if name == PYTHON else ("node", "nodejs"))
        assert ext.session.kind == "extension"
        assert ext.session.permissions == frozenset(EXTENSION_PERMISSIONS)
        assert "admin" not in ext.session.permissions

    async def scenario():
        async with aiohttp.ClientSession() as s:
            admin = await login(s, h.url)
            sessions = (await http(s, "GET", h.url + "sessions", token=admin))[1]
            kinds = {x["username"]: x["type"] for x in sessions}
            assert kinds[FILTER] == kinds[PYTHON] == kinds[WATCHER] == "extension"
            token = h.ext(FILTER).session.token
            info = (await http(s, "GET", h.url + "system/system_info", token=token))[1]
            assert info["api_feature_level"] == 7
            # what an extension's session may not do
            for method, path, data in (("GET", "sessions", None),
                                       ("POST", "testbench/replay", {"lines": []}),
                                       ("POST", "settings/set", {"ping_interval": 5}),
                                       ("PATCH", f"extensions/{WATCHER}/settings",
                                        {"greeting": "x"}),
                                       ("POST", f"extensions/{WATCHER}/stop", None),
                                       ("POST", f"extensions/{WATCHER}/settings/definitions",
                                        [])):
                code, err = await http(s, method, h.url + path, data, token=token)
                assert code in (403, 409), (path, code, err)
            listed = (await http(s, "GET", h.url + "extensions", token=token))[1]
            assert {e["name"] for e in listed} == {FILTER, PYTHON, WATCHER}
    run(scenario())


async def login(s, url, user="admin") -> str:
    code, data = await http(s, "POST", url + "sessions/authorize",
                            {"username": user, "password": PASSWORD})
    assert code == 200
    return data["auth_token"]


async def hub_status(c: WsClient, timeout: float = 10) -> dict:
    while True:
        ev = await c.next_event(timeout)
        if ev.get("event") == "hub_status":
            return ev


def test_chat_filter_rejects_by_its_settings_and_answers_a_command(hosted):
    h = hosted
    ready(h, FILTER)
    fire = h.host.fire

    async def scenario():
        loop = asyncio.get_running_loop()

        async def incoming(text):
            return await loop.run_in_executor(None, fire.incoming_chat, HUB, text)
        assert await incoming("<bob> hello") is False
        assert await incoming("<bob> a badword") is True
        op = {"nick": "oper", "hub_url": HUB, "is_op": True}
        bob = {"nick": "bob", "hub_url": HUB}
        assert await loop.run_in_executor(None, fire.incoming_pm, op, "badword ok") is False
        assert await loop.run_in_executor(None, fire.incoming_pm, bob, "badword no") is True
        c = await WsClient.open(h.server.ws_url)
        await c.login("chatter")
        hub = (await c.ok("GET", "hubs"))[0]["id"]
        await c.ok("POST", f"hubs/{hub}/listeners/hub_status")
        await c.ok("POST", f"hubs/{hub}/chat_message", {"text": "/filter status"})
        ev = await hub_status(c)
        assert ev["data"]["text"] == "Chat filter: 1 word(s): badword"
        assert ev["data"]["label"] == FILTER and ev["id"] == hub
        await c.ok("POST", f"hubs/{hub}/chat_message", {"text": "/filter add spamword"})
        assert (await hub_status(c))["data"]["text"] == 'Chat filter: "spamword" added'
        wait_for(lambda: "spamword" in h.ext(FILTER).settings.values()["filtered_words"])
        assert await incoming("<bob> buy spamword") is True
        await c.ok("POST", f"hubs/{hub}/chat_message", {"text": "/filter remove spamword"})
        await hub_status(c)
        wait_for(lambda: "spamword" not in h.ext(FILTER).settings.values()["filtered_words"])
        assert await incoming("<bob> buy spamword") is False
        await c.close()
    run(scenario(), timeout=90)
    rejects = [e for e in h.host.effects.drain()
               if e.function == "hub_incoming_message_hook.reject"]
    assert rejects and rejects[0].args["user"] == FILTER
    assert rejects[0].args["reject_id"] == "filtered"


def test_the_python_extension(hosted):
    h = hosted
    ready(h, PYTHON)

    async def scenario():
        loop = asyncio.get_running_loop()
        assert await loop.run_in_executor(None, h.host.fire.incoming_chat, HUB,
                                          "<bob> pyword!") is True
        c = await WsClient.open(h.server.ws_url)
        await c.login()
        hub = (await c.ok("GET", "hubs"))[0]["id"]
        await c.ok("POST", "hubs/listeners/hub_status")
        await c.ok("POST", f"hubs/{hub}/chat_message", {"text": "/pyping"})
        ev = await hub_status(c)
        assert ev["data"]["text"] == "pong from python" and ev["data"]["label"] == PYTHON
        defs = await c.ok("GET", f"extensions/{PYTHON}/settings/definitions")
        assert [d["key"] for d in defs] == ["blocked_word", "reply"]
        await c.ok("PATCH", f"extensions/{PYTHON}/settings", {"reply": "PONG"})
        wait_for(lambda: 'settings updated {"reply": "PONG"}' in output(h, PYTHON))
        await c.ok("POST", f"hubs/{hub}/chat_message", {"text": "/pyping"})
        assert (await hub_status(c))["data"]["text"] == "PONG"
        await c.close()
    run(scenario(), timeout=60)


def test_settings_changed_by_a_user_and_by_the_command_line(hosted):
    h = hosted
    ready(h, WATCHER)

    async def scenario():
        c = await WsClient.open(h.server.ws_url)
        await c.login()
        await c.ok("POST", "events/listeners/event_message")
        defs = await c.ok("GET", f"extensions/{WATCHER}/settings/definitions")
        assert {d["key"]: d["type"] for d in defs} == {
            "greeting": "string", "interval": "number", "enabled": "boolean",
            "notes": "text", "mode": "string", "tags": "list", "rules": "list"}
        for bad, field in (({"interval": 0}, "interval"), ({"mode": "medium"}, "mode"),
                           ({"enabled": "yes"}, "enabled"), ({"nope": 1}, "nope"),
                           ({"rules": [{"weight": 500}]}, "weight")):
            code, err = await c.request("PATCH", f"extensions/{WATCHER}/settings", bad)
            assert code == 400 and err["field"] == field, (bad, err)
        await c.ok("PATCH", f"extensions/{WATCHER}/settings",
                   {"interval": 42, "rules": [{"pattern": "a*"}]})
        text = await watcher_report(c)
        assert json.loads(text.split(": ", 1)[1]) == {
            "interval": 42, "rules": [{"pattern": "a*", "weight": 1}]}
        values = await c.ok("GET", f"extensions/{WATCHER}/settings")
        assert values["interval"] == 42 and values["greeting"] == "hello"
        # the command line, while the extension runs: it gets the change at once
        r = await asyncio.get_running_loop().run_in_executor(None, lambda: subprocess.run(
            [*PYHOST, "--home", str(h.home), "extension", "config", WATCHER, "greeting",
             "bonjour"], cwd=NEUTRAL_DIR, capture_output=True, text=True, timeout=60))
        assert r.returncode == 0 and r.stdout.strip() == f'{WATCHER}: greeting = "bonjour"'
        text = await watcher_report(c)
        assert json.loads(text.split(": ", 1)[1]) == {"greeting": "bonjour"}
        await c.close()
    run(scenario(), timeout=90)
    r = subprocess.run([*PYHOST, "--home", str(h.home), "extension", "config", WATCHER],
                       cwd=NEUTRAL_DIR, capture_output=True, text=True, timeout=60)
    assert 'greeting = "bonjour"' in r.stdout and "interval = 42" in r.stdout
    # the extension saved them itself too (airdcpp-extension-settings' own file)
    own = json.loads((h.home / "extensions" / WATCHER / "settings" / "config.json").read_text())
    assert own["settings"]["greeting"] == "bonjour" and own["settings"]["interval"] == 42


async def watcher_report(c: WsClient) -> str:
    while True:
        ev = await c.next_event(15)
        text = ev.get("data", {}).get("text", "")
        if ev.get("event") == "event_message" and text.startswith("settings-watcher values"):
            return text


def test_the_session_ends_with_the_process_and_comes_back(hosted):
    h = hosted
    ready(h, WATCHER)
    old_token = h.ext(WATCHER).session.token

    async def scenario():
        async with aiohttp.ClientSession() as s:
            admin = await login(s, h.url)
            code, _ = await http(s, "GET", h.url + "system/system_info", token=old_token)
            assert code == 200
            assert (await http(s, "POST", h.url + f"extensions/{WATCHER}/stop",
                               token=admin))[0] == 204
            code, _ = await http(s, "GET", h.url + "system/system_info", token=old_token)
            assert code == 401
            info = (await http(s, "GET", h.url + f"extensions/{WATCHER}", token=admin))[1]
            assert (info["running"], info["state"], info["has_settings"]) == (False, "stopped",
                                                                             False)
            assert info["managed"] is True and info["engines"] == ["node"]
            assert {x["name"] for x in info["logs"]} == {"output.log", "error.log"}
            assert (await http(s, "POST", h.url + f"extensions/{WATCHER}/start",
                               token=admin))[0] == 204
            ready(h, WATCHER)
            assert h.ext(WATCHER).session.token != old_token
            # the settings came back with the new run (the extension's file and pyhost's)
            values = (await http(s, "GET", h.url + f"extensions/{WATCHER}/settings",
                                 token=admin))[1]
            assert values["greeting"] == "bonjour"
            wait_for(lambda: "settings-watcher loaded" in output(h, WATCHER))
            tail = (await http(s, "GET", h.url + f"extensions/{WATCHER}/logs/output.log",
                               token=admin))[1]
            assert "settings-watcher loaded" in tail["text"] and tail["truncated"] is False
            code, _ = await http(s, "GET", h.url + f"extensions/{WATCHER}/logs/..%2Fx",
                                 token=admin)
            assert code == 404
    run(scenario(), timeout=90)
    old = (h.home / "extensions" / WATCHER / "logs" / "output.log.old").read_text()
    assert "settings-watcher loaded" in old  # the previous run's log, rotated


def test_an_unmanaged_extension_registers_and_goes_with_its_socket(packed, tmp_path):
    h = Hosted(tmp_path / "home", [])
    data = tmp_path / "remote-data"
    proc = subprocess.Popen(["node", str(EXTENSIONS_DIR / "run-remote.js"),
                             str(EXTENSIONS_DIR / FILTER), h.server.ws_url, "admin", PASSWORD,
                             str(data)], cwd=EXTENSIONS_DIR, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    name = FILTER + "-remote"
    try:
        ext = wait_for(lambda: name in {e.name for e in h.manager.all()} and h.ext(name))
        assert ext.managed is False and ext.session.user.name == "admin"
        # Its onStart loads settings first and adds the chat hook after: wait for the hook.
        wait_for(lambda: h.server.bridge.subscribers("hub_incoming_message_hook"),
                 what="chat hook added")
        assert ext.settings.defined
        assert h.host.fire.incoming_chat(HUB, "<x> badword") is True

        async def scenario():
            async with aiohttp.ClientSession() as s:
                admin = await login(s, h.url)
                listed = (await http(s, "GET", h.url + "extensions", token=admin))[1]
                assert [(e["name"], e["managed"], e["running"], e["has_settings"])
                        for e in listed] == [(name, False, True, True)]
                chatter = await login(s, h.url, "chatter")
                code, _ = await http(s, "POST", h.url + "extensions", {"name": "airdcpp-x"},
                                     token=chatter)
                assert code == 403  # registering needs admin, as in AirDC++
                code, err = await http(s, "POST", h.url + "extensions",
                                       {"name": "airdcpp-x", "version": "1"}, token=admin)
                assert code == 400 and "description" in err["message"]
        run(scenario())
    finally:
        proc.terminate()
        proc.wait(10)
    wait_for(lambda: name not in {e.name for e in h.manager.all()}, what="unregistered")
    assert h.host.fire.incoming_chat(HUB, "<x> badword") is False
    h.close()


def test_menu_items_of_an_extension(hosted):
    """The official library's context menu helper (menus hook and listener) against the
    menus endpoints a UI calls."""
    h = hosted
    ready(h, FILTER)

    async def scenario():
        c = await WsClient.open(h.server.ws_url)
        await c.login("viewer")
        hub = (await c.ok("GET", "hubs"))[0]["id"]
        await c.ok("POST", "hubs/listeners/hub_status")
        groups = await c.ok("POST", "menus/hub/list_grouped",
                            {"selected_ids": [hub], "supports": ["urls", "form"]})
        assert groups == [{"id": "pyhost_chat_filter", "title": "pyhost chat filter",
                           "icon": {}, "items": [{
                               "id": "filter_status", "title": "Show the chat filter",
                               "icon": {"semantic": "filter"},
                               "hook_id": "pyhost_chat_filter", "urls": [],
                               "form_definitions": None}]}]
        assert await c.ok("POST", "menus/user/list_grouped", {"selected_ids": ["X"]}) == []
        await c.ok("POST", "menus/hub/select", {"hook_id": "pyhost_chat_filter",
                                                "menuitem_id": "filter_status",
                                                "selected_ids": [hub]})
        ev = await hub_status(c)
        assert ev["id"] == hub and ev["data"]["text"].startswith("Chat filter: ")
        code, err = await c.request("POST", "menus/hub/select", {"hook_id": "x"})
        assert code == 400 and err["field"] == "menuitem_id"
        code, err = await c.request("POST", "menus/nope/list_grouped", {})
        assert code == 404
        subscribers = await c.ok("GET", "menus/hooks/hub_list_menuitems")
        assert subscribers == [{"id": "pyhost_chat_filter", "name": "pyhost chat filter"}]
        await c.close()
    run(scenario(), timeout=60)
