"""The Web API's protocol from Python with aiohttp's client: login over HTTP and over the
socket, socket authorization with a token, listeners (all and per entity), hooks (resolve,
reject, timeout), logout, session expiry, permissions, and the chat actions' effects."""
import asyncio
import json
import time

import aiohttp

from pyhost.server.hook_bridge import ApiHookTimedOut
from server_helpers import (  # noqa: F401
    PASSWORD, USERS, Served, WsClient, http, login_http, run, served)

HUB = "adc://hub.example:1511"


def test_http_login_system_info_and_bearer(served):
    async def scenario():
        async with aiohttp.ClientSession() as s:
            base = served.url
            code, data = await http(s, "POST", base + "sessions/authorize",
                                    {"username": "admin", "password": PASSWORD})
            assert code == 200
            assert data["user"]["username"] == "admin" and data["token_type"] == "Bearer"
            assert data["system_info"]["api_version"] == 1
            assert data["system_info"]["api_feature_level"] >= 4
            token = data["auth_token"]
            code, info = await http(s, "GET", base + "system/system_info", token=token)
            assert code == 200 and info["api_version"] == 1
            code, err = await http(s, "GET", base + "system/system_info")
            assert code == 401 and "log in" in err["message"]
            code, err = await http(s, "GET", base + "system/system_info", token="x" * 43)
            assert code == 401
            code, err = await http(s, "POST", base + "sessions/authorize",
                                   {"username": "admin", "password": "wrong"})
            assert code == 401 and err == {"message": "Invalid username or password."}
            assert token not in str(err)
    run(scenario())


def test_every_http_door_reads_the_authorization_header_alike(served):
    """REST, JSON-RPC and the upload endpoint take ``Bearer <token>`` and a bare token, and
    refuse another scheme carrying the same token."""
    async def scenario():
        async with aiohttp.ClientSession() as s:
            token = await login_http(s, served.url)
            root = served.url.removesuffix("/api/v1/")
            for header, ok in ((f"Bearer {token}", True), (f"bearer  {token} ", True),
                               (token, True), (f"Basic {token}", False), ("Bearer", False)):
                headers = {"Authorization": header}
                async with s.get(served.url + "sessions/self", headers=headers) as r:
                    assert (r.status == 200) is ok, (header, r.status)
                async with s.post(root + "/json", headers={**headers, "Content-Type":
                                                           "application/json"},
                                  data=json.dumps({"jsonrpc": "2.0", "method": "rpc.methods",
                                                   "id": 1})) as r:
                    assert ("result" in await r.json()) is ok, header
                # an empty body with a good token gets past authorization to "empty"
                async with s.post(served.url + "plugins/upload?filename=x.py",
                                  headers=headers, data=b"") as r:
                    assert r.status == (400 if ok else 401), (header, r.status)
    run(scenario())


def test_refresh_token_grant(served):
    """A refresh token makes a new session once; a spent one, a made-up one, or one whose
    user is gone is 401."""
    async def scenario():
        async with aiohttp.ClientSession() as s:
            url = served.url + "sessions/authorize"
            code, first = await http(s, "POST", url, {"username": "viewer",
                                                      "password": PASSWORD})
            grant = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
            code, second = await http(s, "POST", url, grant)
            assert code == 200 and second["user"]["username"] == "viewer"
            assert second["auth_token"] != first["auth_token"]
            code, me = await http(s, "GET", served.url + "sessions/self",
                                  token=second["auth_token"])
            assert code == 200 and me["permissions"] == sorted(USERS["viewer"])
            code, err = await http(s, "POST", url, grant)          # spent
            assert code == 401 and first["refresh_token"] not in err["message"]
            code, _ = await http(s, "POST", url, {**grant, "refresh_token": "x" * 43})
            assert code == 401
            served.server.users.remove("viewer")
            code, err = await http(s, "POST", url, {**grant, "refresh_token":
                                                    second["refresh_token"]})
            assert code == 401 and "no longer exists" in err["message"]
    run(scenario())


def test_socket_login_and_socket_authorization_with_a_token(served):
    async def scenario():
        async with aiohttp.ClientSession() as s:
            token = await login_http(s, served.url)
        c = await WsClient.open(served.ws_url)
        code, err = await c.request("GET", "system/system_info")
        assert code == 401
        code, err = await c.request("POST", "sessions/socket", {"auth_token": "nope"})
        assert code == 400  # the official client logs in again on 400
        data = await c.ok("POST", "sessions/socket", {"auth_token": token})
        assert data["auth_token"] == token and data["user"]["username"] == "admin"
        assert (await c.ok("GET", "system/system_info"))["api_version"] == 1
        await c.close()
        c = await WsClient.open(served.ws_url)
        assert (await c.login("viewer"))["user"]["permissions"] == [
            "hubs_view", "events_view", "plugins_view"]
        await c.close()
    run(scenario())


def test_listeners_all_and_per_entity_and_removal(served):
    host = served.host

    async def scenario():
        c = await WsClient.open(served.ws_url)
        await c.login()
        await c.ok("POST", "hubs/listeners/hub_message")
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, host.fire.incoming_chat, HUB, "<bob> one")
        ev = await c.next_event()
        assert ev["event"] == "hub_message" and ev["data"]["text"] == "<bob> one"
        hub_id = ev["id"]
        sender = ev["data"]["from"]
        assert {k: sender[k] for k in ("cid", "nick", "hub_url", "hub_name", "flags",
                                       "hub_session_id")} == {
            "cid": "", "nick": "bob", "hub_url": HUB, "hub_name": HUB, "flags": [],
            "hub_session_id": ev["id"]}
        # the hub is listed with that id
        hubs = await c.ok("GET", "hubs")
        assert [h["id"] for h in hubs if h["hub_url"] == HUB] == [hub_id]
        # per-entity listener: only this hub's messages
        await c.ok("DELETE", "hubs/listeners/hub_message")
        await c.ok("POST", f"hubs/{hub_id}/listeners/hub_message")
        await loop.run_in_executor(None, host.fire.incoming_chat, "adc://other:1", "<x> no")
        await loop.run_in_executor(None, host.fire.incoming_chat, HUB, "hub says hi")
        ev = await c.next_event()
        assert ev["id"] == hub_id and ev["data"]["text"] == "hub says hi"
        assert ev["data"]["from"]["flags"] == ["bot"]  # the hub itself, as AirDC++ flags it
        code, err = await c.request("POST", "hubs/999/listeners/hub_message")
        assert code == 404
        code, err = await c.request("POST", "hubs/listeners/no_such_event")
        assert code == 404 and "hub_message" in err["message"]
        await c.ok("DELETE", f"hubs/{hub_id}/listeners/hub_message")
        await loop.run_in_executor(None, host.fire.incoming_chat, HUB, "unheard")
        # text commands reach hub_text_command listeners as {command, args}
        await c.ok("POST", "hubs/listeners/hub_text_command")
        await loop.run_in_executor(None, host.fire.chat_command, HUB, "/greet a b")
        ev = await c.next_event()
        assert ev["event"] == "hub_text_command" and ev["data"] == {
            "command": "greet", "args": ["a", "b"], "permissions": ["admin"]}
        assert c.events.empty()
        await c.close()
    run(scenario())


def test_hooks_resolve_reject_and_timeout(served):
    host = served.host
    timeouts = []
    host.events.subscribe(lambda e: timeouts.append(e) if isinstance(e, ApiHookTimedOut)
                          else None)

    async def scenario():
        c = await WsClient.open(served.ws_url)
        await c.login("chatter")
        await c.ok("POST", "hubs/hooks/hub_incoming_message_hook",
                   {"id": "filter", "name": "Test filter"})
        code, err = await c.request("POST", "hubs/hooks/hub_incoming_message_hook",
                                    {"id": "again", "name": "Twice"})
        assert code == 409
        loop = asyncio.get_running_loop()

        async def fire_and_answer(text, answer):
            fired = loop.run_in_executor(None, host.fire.incoming_chat, HUB, text)
            call = await c.next_event()
            assert call["event"] == "hub_incoming_message_hook"
            assert call["data"]["text"] == text and call["completion_id"] > 0
            base = f"hubs/hooks/hub_incoming_message_hook/{call['completion_id']}"
            if answer == "resolve":
                await c.ok("POST", base + "/resolve")
            elif answer == "reject":
                await c.ok("POST", base + "/reject", {"reject_id": "spam", "message": "no"})
            started = time.monotonic()
            handled = await fired
            return handled, time.monotonic() - started, base

        handled, _, _ = await fire_and_answer("<bob> fine", "resolve")
        assert handled is False
        handled, _, _ = await fire_and_answer("<bob> spam", "reject")
        assert handled is True
        effects = [e.to_dict() for e in host.effects.drain()]
        assert {"interface": "api", "function": "hub_incoming_message_hook.reject",
                "args": {"subscriber": "Test filter (filter)", "user": "chatter",
                         "reject_id": "spam", "message": "no"}} in effects
        handled, waited, base = await fire_and_answer("<bob> silence", None)
        assert handled is False and 0.7 < waited < 5  # the 1 s timeout of the fixture
        assert [t.hook for t in timeouts] == ["hub_incoming_message_hook"]
        code, err = await c.request("POST", base + "/resolve")  # too late
        assert code == 404
        # unsubscribed: the hook no longer waits
        await c.ok("DELETE", "hubs/hooks/hub_incoming_message_hook")
        started = time.monotonic()
        assert await loop.run_in_executor(None, host.fire.incoming_chat, HUB, "x") is False
        assert time.monotonic() - started < 0.5
        await c.close()
    run(scenario())


def test_a_closed_socket_releases_a_waiting_hook(served):
    host = served.host

    async def scenario():
        c = await WsClient.open(served.ws_url)
        await c.login()
        await c.ok("POST", "private_chat/hooks/private_chat_incoming_message_hook",
                   {"id": "x", "name": "Leaver"})
        loop = asyncio.get_running_loop()
        fired = loop.run_in_executor(None, host.fire.incoming_pm,
                                     {"nick": "carol", "hub": HUB}, "psst")
        call = await c.next_event()
        assert call["data"]["from"]["nick"] == "carol"
        assert call["data"]["reply_to"]["nick"] == "carol"
        assert call["data"]["to"]["flags"] == ["self"]
        started = time.monotonic()
        await c.close()
        assert await fired is False
        assert time.monotonic() - started < 0.8
    run(scenario())


def test_an_api_hook_problem_is_told_once_in_the_event_log(served):
    """A time-out (chat hook) and a skip (a menu hook asked from the server's loop thread)
    each make one event log message, not a second one from their host event."""
    host, server = served.host, served.server

    async def on_loop():
        return server.bridge.collect("hub_list_menuitems", {"selected_ids": []})

    async def scenario():
        c = await WsClient.open(served.ws_url)
        await c.login()
        await c.ok("POST", "menus/hooks/hub_list_menuitems", {"id": "m", "name": "Menu"})
        await c.ok("POST", "hubs/hooks/hub_incoming_message_hook", {"id": "h", "name": "H"})
        loop = asyncio.get_running_loop()
        fired = loop.run_in_executor(None, host.fire.incoming_chat, HUB, "unanswered")
        assert (await c.next_event())["event"] == "hub_incoming_message_hook"
        assert await fired is False                               # after the 1 s timeout
        skipped = asyncio.run_coroutine_threadsafe(on_loop(), server.loop)
        assert await asyncio.wrap_future(skipped) == []
        log = [m["text"] for m in await c.ok("GET", "events")]
        assert sum("did not answer" in t for t in log) == 1, log
        assert sum("skipped" in t for t in log) == 1, log
        assert len(log) == 2, log
        await c.close()
    run(scenario())


def test_stopping_the_server_releases_a_waiting_hook(tmp_path):
    """A hook waiting for an API subscriber (a 30 s timeout here) is released by
    server.stop() at once, and hooks fired afterwards no longer reach the API."""
    s = Served(tmp_path / "home", hook_timeouts={"hub_incoming_message_hook": 30.0})
    try:
        async def scenario():
            c = await WsClient.open(s.ws_url)
            await c.login()
            await c.ok("POST", "hubs/hooks/hub_incoming_message_hook",
                       {"id": "slow", "name": "Never answers"})
            loop = asyncio.get_running_loop()
            fired = loop.run_in_executor(None, s.host.fire.incoming_chat, HUB, "waiting")
            assert (await c.next_event())["event"] == "hub_incoming_message_hook"
            started = time.monotonic()
            await loop.run_in_executor(None, s.server.stop)
            assert await fired is False                  # released, and accepted
            assert time.monotonic() - started < 10
            await c.close()
        run(scenario())
        started = time.monotonic()
        assert s.host.fire.incoming_chat(HUB, "after the server") is False
        assert time.monotonic() - started < 1
    finally:
        s.close()


def test_logout_and_expiry(tmp_path):
    s = Served(tmp_path / "home", session_inactivity=0.5, expiry_interval=0.1)
    try:
        async def scenario():
            async with aiohttp.ClientSession() as http_session:
                token = await login_http(http_session, s.url)
                # a socket keeps its session alive past max_inactivity
                c = await WsClient.open(s.ws_url)
                await c.ok("POST", "sessions/socket", {"auth_token": token})
                await c.ok("POST", "hubs/listeners/hub_message")
                await asyncio.sleep(1.0)
                assert (await c.ok("GET", "sessions/self"))["username"] == "admin"
                await c.ok("DELETE", "sessions/self")
                code, _ = await c.request("GET", "sessions/self")
                assert code == 401
                code, _ = await http(http_session, "GET", s.url + "sessions/self", token=token)
                assert code == 401
                await c.close()
                # an idle HTTP session expires
                token = await login_http(http_session, s.url)
                code, _ = await http(http_session, "GET", s.url + "hubs", token=token)
                assert code == 200
                await asyncio.sleep(1.2)
                code, err = await http(http_session, "GET", s.url + "hubs", token=token)
                assert code == 401 and token not in err["message"]
        run(scenario())
    finally:
        s.close()


def test_the_command_lines_control_session_outlives_any_idle_time(monkeypatch):
    """`pyhost run` writes a control session for `pyhost extension start|stop` and
    `pyhost call`; a host left alone for longer than the longest inactivity must still
    answer them, while user sessions idle as long expire."""
    from pyhost.server import sessions as sessions_module
    from pyhost.server.users import ApiUser

    sessions = sessions_module.Sessions()
    user = sessions.create(ApiUser("alice", ("admin",)), 60)
    control = sessions.create(ApiUser("pyhost-cli", ("admin",)),
                              sessions_module.MAX_INACTIVITY_S, kind="control")
    later = time.monotonic() + sessions_module.MAX_INACTIVITY_S + 3600
    monkeypatch.setattr(sessions_module.time, "monotonic", lambda: later)
    assert sessions.expire() == [user]
    assert sessions.by_token(user.token) is None
    assert sessions.by_token(control.token) is control
    assert sessions.remove(control) and sessions.by_token(control.token) is None


def test_permissions(served):
    async def scenario():
        async with aiohttp.ClientSession() as s:
            viewer = await login_http(s, served.url, "viewer")
            chatter = await login_http(s, served.url, "chatter")
            admin = await login_http(s, served.url, "admin")
            served.host.fire.incoming_chat(HUB, "hello")
            code, hubs = await http(s, "GET", served.url + "hubs", token=viewer)
            assert code == 200 and hubs[0]["hub_url"] == HUB
            hub = hubs[0]["id"]
            for method, path, data in (
                    ("POST", f"hubs/{hub}/chat_message", {"text": "hi"}),
                    ("POST", "testbench/replay", {"lines": []}),
                    ("POST", "events", {"text": "x"}),
                    ("POST", "settings/get", {"keys": ["ping_timeout"]}),
                    ("GET", "sessions", None)):
                code, err = await http(s, method, served.url + path, data, token=viewer)
                assert code == 403, (path, err)
                assert "permission" in err["message"]
            code, _ = await http(s, "POST", served.url + f"hubs/{hub}/chat_message",
                                 {"text": "hi"}, token=chatter)
            assert code == 200
            code, _ = await http(s, "POST", served.url + "testbench/replay", {"lines": []},
                                 token=chatter)
            assert code == 403
            code, out = await http(s, "POST", served.url + "testbench/replay", {"lines": []},
                                   token=admin)
            # the effects from before the replay come first, as in `pyhost run --replay`
            assert code == 200 and [e["event"] for e in out["events"]] == [0]
            assert out["events"][0]["effects"][0]["function"] == "hubs.chat_message"
            code, listed = await http(s, "GET", served.url + "sessions", token=admin)
            assert {x["username"] for x in listed} == {"viewer", "chatter", "admin"}
    run(scenario())


def test_chat_actions_are_effects_and_reach_the_world(served):
    host, world = served.host, served.host.app

    async def scenario():
        c = await WsClient.open(served.ws_url)
        await c.login("chatter")
        host.fire.incoming_chat(HUB, "hello")
        hub = (await c.ok("GET", "hubs"))[0]["id"]
        await c.ok("POST", "hubs/listeners/hub_message")
        await c.ok("POST", "hubs/listeners/hub_status")
        host.effects.drain()
        sent = await c.ok("POST", f"hubs/{hub}/chat_message", {"text": "hi all"})
        assert sent == {"command": False, "handled": False, "sent": True}
        ev = await c.next_event()
        assert ev["data"]["text"] == "hi all" and "self" in ev["data"]["from"]["flags"]
        await c.ok("POST", f"hubs/{hub}/status_message", {"text": "note", "severity": "info"})
        ev = await c.next_event()
        assert ev["event"] == "hub_status" and ev["data"]["severity"] == "info"
        assert ev["data"]["label"] == "chatter"
        await c.ok("POST", "events", {"text": "posted", "severity": "warning"})
        effects = [(e.interface, e.function) for e in host.effects.drain()]
        assert effects == [("api", "hubs.chat_message"), ("api", "hubs.status_message"),
                           ("api", "events.message")]
        # the incoming "hello" shown, "hi all" sent once (by the world's own processing)
        assert [line.text for line in world.hubs[HUB].chat] == ["hello", "hi all"]
        assert world.hubs[HUB].status[-1][0] == "note"
        code, err = await c.request("POST", f"hubs/{hub}/chat_message", {"text": 5})
        assert code == 400 and err["field"] == "text"
        code, err = await c.request("POST", "hubs/12345/chat_message", {"text": "x"})
        assert code == 404
        await c.close()
    run(scenario())


def test_plugins_area(served, sample):
    host = served.host
    record = host.install(sample("dev_plugin"))
    guid = record.guid

    async def scenario():
        c = await WsClient.open(served.ws_url)
        await c.login()
        await c.ok("POST", "plugins/listeners/plugin_unloaded")
        listed = await c.ok("GET", "plugins")
        assert [p["guid"] for p in listed] == [guid] and listed[0]["loaded"]
        disabled = await c.ok("POST", f"plugins/{guid}/disable")
        assert disabled["enabled"] is False and disabled["loaded"] is False
        ev = await c.next_event()
        assert ev["event"] == "plugin_unloaded" and ev["id"] == guid
        assert (await c.ok("POST", f"plugins/{guid}/enable"))["loaded"] is True
        settings = await c.ok("PATCH", f"plugins/{guid}/settings", {"greeting": "hey",
                                                                     "count": 3})
        assert settings["greeting"] == "hey" and settings["count"] == 3
        assert host.registry.get_setting(guid, "count") == ("int", 3)
        code, err = await c.request("PATCH", f"plugins/{guid}/settings", {"count": "x"})
        assert code == 400 and err["field"] == "count"
        code, _ = await c.request("GET", "plugins/{nope}")
        assert code == 404
        await c.close()
    run(scenario())


def test_private_chat_sessions_messages_hooks_and_commands(served):
    host, world = served.host, served.host.app

    async def scenario():
        c = await WsClient.open(served.ws_url)
        await c.login("chatter")
        for event in ("private_chat_created", "private_chat_message",
                      "private_chat_text_command"):
            await c.ok("POST", f"private_chat/listeners/{event}")
        loop = asyncio.get_running_loop()
        carol = {"nick": "carol", "hub": HUB}
        await loop.run_in_executor(None, host.fire.incoming_pm, carol, "hi there")
        created = await c.next_event()
        assert created["event"] == "private_chat_created"
        cid = created["id"]
        message = await c.next_event()
        assert message["event"] == "private_chat_message" and message["id"] == cid
        assert message["data"]["from"]["nick"] == "carol"
        assert [p["id"] for p in await c.ok("GET", "private_chat")] == [cid]
        sent = await c.ok("POST", f"private_chat/{cid}/chat_message", {"text": "hello"})
        assert sent["sent"] is True
        echo = await c.next_event()
        assert echo["data"]["text"] == "hello" and echo["data"]["from"]["flags"] == ["self"]
        assert [p.text for u in world.users.values() for p in u.pms] == ["hi there", "hello"]
        # an outgoing hook subscriber that rejects: the message is not sent
        await c.ok("POST", "private_chat/hooks/private_chat_outgoing_message_hook",
                   {"id": "out", "name": "Outgoing filter"})
        posting = loop.create_task(c.request("POST", f"private_chat/{cid}/chat_message",
                                             {"text": "secret"}))
        call = await c.next_event()
        assert call["event"] == "private_chat_outgoing_message_hook"
        assert call["data"]["text"] == "secret" and call["data"]["user"]["cid"] == cid
        assert call["data"]["echo"] is False and call["data"]["user"]["nicks"] == "carol"
        await c.ok("POST", "private_chat/hooks/private_chat_outgoing_message_hook/"
                           f"{call['completion_id']}/reject", {"reject_id": "x"})
        code, result = await posting
        assert code == 200 and result == {"command": False, "handled": True, "sent": False}
        assert [p.text for u in world.users.values() for p in u.pms] == ["hi there", "hello"]
        cmd = await c.ok("POST", f"private_chat/{cid}/chat_message", {"text": "/roll 2 d6"})
        assert cmd["command"] is True
        ev = await c.next_event()
        assert ev["event"] == "private_chat_text_command"
        # typed by the chatter session: its permissions come with the command, as in AirDC++
        assert ev["data"] == {"command": "roll", "args": ["2", "d6"],
                              "permissions": sorted(USERS["chatter"])} and ev["id"] == cid
        await c.ok("DELETE", f"private_chat/{cid}")
        assert await c.ok("GET", "private_chat") == []
        await c.close()
    run(scenario())
