"""Exported methods over the network: the Web API envelope (WebSocket and HTTP), JSON-RPC
at /json, levels against permissions, method and plugin event listeners, time-outs,
concurrent callers on one socket and on several, and two UIs and a script that see the
same events in the same order."""
import asyncio
import json
import textwrap
import time

import aiohttp

from pyhost.abi.paths import sample_plugins
from pyhost.client import AsyncClient
from server_helpers import PASSWORD, Served, WsClient, http, login_http, run

C_GUID = "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee0000c1}"
NOTES_GUID = "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000504}"
USERS = {"editor": ["plugins_view", "plugins_edit"], "nobody": ["hubs_view"]}


def served_with_plugins(tmp_path, **options) -> Served:
    served = Served(tmp_path / "home", **options)
    for name, perms in USERS.items():
        served.server.users.add(name, PASSWORD, perms)
    from pyhost.abi.paths import sample_plugin
    served.host.install(sample_plugin("rpc_demo"))
    served.host.install(sample_plugins()["notes"], kind="python")
    return served


def test_methods_list_and_calls_over_the_socket(tmp_path):
    served = served_with_plugins(tmp_path)

    async def scenario():
        c = await WsClient.open(served.ws_url)
        code, err = await c.request("GET", "rpc/methods")
        assert code == 401                                    # the list needs a login
        code, data = await c.request("POST", "plugins/notes/rpc/stats")
        assert code == 200 and data["result"]["count"] == 0   # level NONE: anyone
        code, err = await c.request("POST", "plugins/notes/rpc/add", ["x"])
        assert (code, err["code"]) == (401, "unauthorized")
        await c.login("viewer")                               # plugins_view: READONLY
        methods = {m["name"]: m for m in await c.ok("GET", "rpc/methods")}
        assert methods["notes.list"]["callable"] and methods["rpc_demo.echo"]["callable"]
        assert not methods["notes.add"]["callable"] and not methods["notes.clear"]["callable"]
        assert methods["notes.add"]["plugin"] == NOTES_GUID
        assert methods["rpc_demo.sleep"]["description"].startswith("Sleeps")
        code, err = await c.request("POST", "plugins/notes/rpc/add", ["x"])
        assert code == 403 and err == {"message": "notes.add needs level NORMAL; this "
                                                  "session has READONLY.", "code": "forbidden"}
        assert (await c.ok("POST", f"plugins/{C_GUID}/rpc/echo", {"k": [1]}))["result"] == \
            {"k": [1]}
        await c.close()

        c = await WsClient.open(served.ws_url)
        await c.login("editor")                               # plugins_edit: NORMAL
        assert (await c.ok("POST", "plugins/notes/rpc/add", ["hello"]))["result"] == \
            {"id": 1, "text": "hello"}
        assert (await c.ok("POST", "plugins/notes/rpc/add", {"text": "named"}))["result"][
            "text"] == "named"
        code, err = await c.request("POST", "plugins/notes/rpc/clear")
        assert code == 403                                    # ADMIN
        code, err = await c.request("POST", "plugins/notes/rpc/nope")
        assert (code, err["code"]) == (404, "not_found")
        code, err = await c.request("POST", "plugins/nobody_here/rpc/x")
        assert code == 404
        code, err = await c.request("POST", "plugins/notes/rpc/add", "not arguments")
        assert (code, err["code"]) == (400, "bad_params")
        code, err = await c.request("POST", "plugins/notes/rpc/add", [""])
        assert (code, err) == (422, {"message": "a note is a non-empty string",
                                     "code": "failed"})
        code, err = await c.request("POST", "plugins/rpc_demo/rpc/fail")
        assert (code, err["message"]) == (422, "rpc_demo failed on purpose")
        await c.close()

        c = await WsClient.open(served.ws_url)
        await c.login("nobody")                               # no plugin permission: NONE
        assert all(m["callable"] == (m["level"] == 0) for m in await c.ok("GET",
                                                                          "rpc/methods"))
        await c.close()
        c = await WsClient.open(served.ws_url)
        await c.login("admin")
        assert (await c.ok("POST", "plugins/notes/rpc/clear"))["result"] == 2
        await c.close()
    try:
        run(scenario())
    finally:
        served.close()


def test_calls_over_http_and_the_openapi_document(tmp_path):
    served = served_with_plugins(tmp_path)

    async def scenario():
        async with aiohttp.ClientSession() as s:
            base = served.url
            code, data = await http(s, "POST", base + "plugins/rpc_demo/rpc/count")
            assert code == 200 and data == {"result": {"chat": 0, "calls": 0}}
            code, err = await http(s, "POST", base + "plugins/rpc_demo/rpc/add", [1, 2])
            assert code == 401
            token = await login_http(s, base)
            code, data = await http(s, "POST", base + "plugins/rpc_demo/rpc/add", [1, 2],
                                    token=token)
            assert (code, data) == (200, {"result": 3})
            code, err = await http(s, "POST", base + "plugins/rpc_demo/rpc/add",
                                   raw=b"{not json", token=token)
            assert code == 400
            code, doc = await http(s, "GET", base + "openapi.json")
            paths = doc["paths"]
            assert "post" in paths["/api/v1/plugins/{id}/rpc/{method}"]
            assert "get" in paths["/api/v1/rpc/methods"]
    try:
        run(scenario())
    finally:
        served.close()


async def jsonrpc(session, url, body, headers=None, raw=None):
    headers = {"Content-Type": "application/json", **(headers or {})}
    async with session.post(url, data=raw if raw is not None else json.dumps(body),
                            headers=headers) as resp:
        text = await resp.text()
        assert "Traceback" not in text
        return resp.status, (json.loads(text) if text else None), resp


def test_json_rpc(tmp_path):
    served = served_with_plugins(tmp_path)
    url = served.url.replace("/api/v1/", "/json")

    async def scenario():
        # A cookie jar that keeps cookies of 127.0.0.1 (aiohttp's default skips IPs).
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
            code, reply, _ = await jsonrpc(s, url, {"jsonrpc": "2.0", "method": "notes.stats",
                                                    "id": "a"})
            assert code == 200 and reply["id"] == "a" and reply["result"]["count"] == 0
            code, reply, _ = await jsonrpc(s, url, {"jsonrpc": "2.0", "method": "notes.add",
                                                    "params": ["x"], "id": 1})
            assert reply["error"]["code"] == -32001
            code, reply, _ = await jsonrpc(s, url, {"jsonrpc": "2.0", "method": "rpc.methods",
                                                    "id": 1})
            assert reply["error"]["code"] == -32001
            code, reply, resp = await jsonrpc(s, url, {
                "jsonrpc": "2.0", "method": "auth.login", "id": 2,
                "params": {"username": "editor", "password": "wrong"}})
            assert reply["error"] == {"code": -32001, "message": "Invalid username or "
                                                                 "password."}
            code, reply, resp = await jsonrpc(s, url, {
                "jsonrpc": "2.0", "method": "auth.login", "id": 3,
                "params": ["editor", PASSWORD]})
            assert reply["result"]["username"] == "editor"
            cookie = resp.cookies["pyhost_session"]
            assert cookie["httponly"] and cookie["samesite"] == "Strict"
            batch = [{"jsonrpc": "2.0", "method": "notes.add", "params": ["one"], "id": 10},
                     {"jsonrpc": "2.0", "method": "notes.add", "params": {"text": "two"}},
                     {"jsonrpc": "2.0", "method": "notes.list", "id": 11},
                     {"jsonrpc": "2.0", "method": "notes.clear", "id": 12},
                     {"jsonrpc": "2.0", "method": "notes.missing", "id": 13},
                     {"jsonrpc": "2.0", "method": "notes.add", "params": [""], "id": 14},
                     {"jsonrpc": "2.0", "method": "notes.add", "params": "x", "id": 15},
                     {"jsonrpc": "1.0", "method": "notes.list", "id": 16},
                     {"jsonrpc": "2.0", "method": "rpc.methods", "id": 17}, 42]
            code, replies, _ = await jsonrpc(s, url, batch)
            assert code == 200
            by_id = {r["id"]: r for r in replies}
            assert len(replies) == 10 - 1                      # the notification: no answer
            assert by_id[10]["result"] == {"id": 1, "text": "one"}
            assert [n["text"] for n in by_id[11]["result"]] == ["one", "two"]
            assert by_id[12]["error"]["code"] == -32003        # ADMIN
            assert by_id[13]["error"]["code"] == -32601
            assert by_id[14]["error"] == {"code": -32000, "message": "a note is a non-empty "
                                          "string", "data": {"code": "failed", "status": 422}}
            assert by_id[15]["error"]["code"] == -32600
            assert by_id[16]["error"]["code"] == -32600
            assert len(by_id[17]["result"]) == 10
            assert by_id[None]["error"]["code"] == -32600      # 42 is not a request
            code, reply, _ = await jsonrpc(s, url, {"jsonrpc": "2.0", "method": "notes.list"})
            assert code == 204 and reply is None               # a lone notification
            code, reply, _ = await jsonrpc(s, url, None, raw=b"{broken")
            assert reply == {"jsonrpc": "2.0", "id": None,
                             "error": {"code": -32700, "message": "Parse error: not valid "
                                                                  "JSON."}}
            code, reply, _ = await jsonrpc(s, url, [])
            assert reply["error"]["code"] == -32600
            # The cookie is only honoured with a JSON content type (no form posts).
            code, reply, _ = await jsonrpc(s, url, {"jsonrpc": "2.0", "method": "notes.list",
                                                    "id": 1},
                                           headers={"Content-Type": "text/plain"})
            assert code == 415 and reply["error"]["code"] == -32600
            code, reply, resp = await jsonrpc(s, url, {"jsonrpc": "2.0", "id": 5,
                                                       "method": "auth.logout"})
            assert reply["result"] is True
            code, reply, _ = await jsonrpc(s, url, {"jsonrpc": "2.0", "method": "notes.list",
                                                    "id": 6})
            assert reply["error"]["code"] == -32001             # the session is gone
        async with aiohttp.ClientSession() as s:             # Bearer tokens work too
            token = await login_http(s, served.url)
            code, reply, _ = await jsonrpc(s, url, {"jsonrpc": "2.0", "method": "rpc_demo.add",
                                                    "params": [20, 22], "id": 7},
                                           headers={"Authorization": f"Bearer {token}"})
            assert reply == {"jsonrpc": "2.0", "result": 42, "id": 7}
            # an id that is no string, number or null: refused before the method runs
            async def add_calls() -> int:  # rpc_demo counts its add calls
                code, count = await http(s, "POST", served.url + "plugins/rpc_demo/rpc/count",
                                         [], token=token)
                return count["result"]["calls"]
            calls_before = await add_calls()
            assert calls_before >= 1                           # the call with id 7 counted
            for bad_id in ({"a": 1}, [1], True):
                code, reply, _ = await jsonrpc(s, url, {
                    "jsonrpc": "2.0", "method": "rpc_demo.add", "params": [1, 2],
                    "id": bad_id}, headers={"Authorization": f"Bearer {token}"})
                assert reply["id"] is None and reply["error"] == {
                    "code": -32600, "message": "id must be a string, a number or null."}
            assert await add_calls() == calls_before           # none of them ran
    try:
        run(scenario())
    finally:
        served.close()


def test_json_rpc_login_checks_the_credentials_whole(tmp_path):
    """auth.login compares what was sent, as sessions/authorize does: a longer name or
    password is not cut down to one that matches."""
    served = Served(tmp_path / "home")
    served.server.users.add("n" * 64, "p" * 1024, ["plugins_view"])
    url = served.url.replace("/api/v1/", "/json")

    async def login(name, password):
        async with aiohttp.ClientSession() as s:
            _, reply, _ = await jsonrpc(s, url, {"jsonrpc": "2.0", "method": "auth.login",
                                                 "id": 1, "params": [name, password]})
            return reply

    async def scenario():
        assert (await login("n" * 64, "p" * 1024))["result"]["username"] == "n" * 64
        for name, password in (("n" * 64, "p" * 1024 + "x"), ("n" * 64 + "x", "p" * 1024)):
            assert (await login(name, password))["error"]["code"] == -32001
    try:
        run(scenario())
    finally:
        served.close()


def test_method_and_plugin_event_listeners(tmp_path):
    served = served_with_plugins(tmp_path)
    host = served.host

    async def scenario():
        c = await WsClient.open(served.ws_url)
        await c.login("admin")
        for path in ("rpc/listeners/rpc_method_added", "rpc/listeners/rpc_method_removed",
                     f"plugins/{NOTES_GUID}/listeners/plugin_event"):
            await c.ok("POST", path)
        await asyncio.get_running_loop().run_in_executor(None, host.disable, NOTES_GUID)
        removed = [await c.next_event() for _ in range(4)]
        assert {e["event"] for e in removed} == {"rpc_method_removed"}
        assert sorted(e["data"]["name"] for e in removed) == [
            "notes.add", "notes.clear", "notes.list", "notes.stats"]
        await asyncio.get_running_loop().run_in_executor(None, host.enable, NOTES_GUID)
        added = [await c.next_event() for _ in range(4)]
        assert {e["event"] for e in added} == {"rpc_method_added"}
        assert {e["data"]["name"]: e["data"]["level_name"] for e in added} == {
            "notes.add": "NORMAL", "notes.list": "READONLY", "notes.clear": "ADMIN",
            "notes.stats": "NONE"}
        await c.ok("POST", "plugins/rpc_demo/rpc/add", [1, 2])    # not the notes' events
        await c.ok("POST", "plugins/notes/rpc/add", ["evented"])
        event = await c.next_event()
        assert event["event"] == "plugin_event" and event["id"] == NOTES_GUID
        assert (event["data"]["event"], event["data"]["data"]) == \
            ("note_added", {"id": 1, "text": "evented"})
        await c.close()
    try:
        run(scenario())
    finally:
        served.close()


def test_slow_calls_time_out_and_do_not_hold_up_others(tmp_path):
    served = served_with_plugins(tmp_path, rpc_timeout=0.5)

    async def scenario():
        a = await WsClient.open(served.ws_url)
        b = await WsClient.open(served.ws_url)
        await a.login("admin")
        await b.login("admin")
        slow = asyncio.ensure_future(a.request("POST", "plugins/rpc_demo/rpc/sleep", [3000]))
        await asyncio.sleep(0.05)
        # The same socket and another one are served while the slow call runs.
        assert (await a.ok("POST", "plugins/rpc_demo/rpc/add", [1, 1]))["result"] == 2
        assert (await b.ok("POST", "plugins/notes/rpc/add", ["meanwhile"]))["result"]["id"]
        assert (await b.ok("GET", "plugins"))[0]["guid"] == C_GUID
        assert not slow.done()
        code, err = await slow
        assert code == 504 and err == {"message": "rpc_demo.sleep did not answer within "
                                                  "0.5 s.", "code": "timeout"}
        await a.ok("POST", "settings/set", {"rpc_timeout": 10})
        assert (await a.ok("POST", "settings/get", {"keys": ["rpc_timeout"]})) == \
            {"rpc_timeout": 10}
        assert (await a.ok("POST", "plugins/rpc_demo/rpc/sleep", [700]))["result"] == 700
        # Many callers at once, on many sockets.
        clients = [await WsClient.open(served.ws_url) for _ in range(6)]
        for c in clients:
            await c.login("editor")
        results = await asyncio.gather(*(
            c.ok("POST", "plugins/rpc_demo/rpc/add", [i, j])
            for i, c in enumerate(clients) for j in range(20)))
        assert [r["result"] for r in results] == [i + j for i in range(6) for j in range(20)]
        for c in (a, b, *clients):
            await c.close()
    try:
        run(scenario())
    finally:
        served.close()


def test_a_call_that_never_started_says_so_when_it_times_out(tmp_path):
    """Slow calls that fill every worker: a quick call queued behind them times out, and
    its error says it was never started (not that the method did not answer)."""
    from pyhost.host.services.rpc import DEFAULT_WORKERS
    served = served_with_plugins(tmp_path, rpc_timeout=0.5)

    async def scenario():
        c = await WsClient.open(served.ws_url)
        await c.login("admin")
        slow = [asyncio.ensure_future(c.request("POST", "plugins/rpc_demo/rpc/sleep", [1500]))
                for _ in range(DEFAULT_WORKERS)]
        await asyncio.sleep(0.1)
        code, err = await c.request("POST", "plugins/rpc_demo/rpc/add", [1, 1])
        assert (code, err) == (504, {"message": "rpc_demo.add was not started within 0.5 s: "
                                                "every call worker was busy with other calls.",
                                     "code": "timeout"})
        for code, err in await asyncio.gather(*slow):  # these ran (so they did not answer)
            assert code == 504 and err["message"].startswith("rpc_demo.sleep "), err
        await asyncio.sleep(1.5)  # the sleeps end; the workers are free again
        assert (await c.ok("POST", "plugins/rpc_demo/rpc/add", [1, 1]))["result"] == 2
        await c.close()
    try:
        run(scenario())
    finally:
        served.close()


def test_unload_while_a_call_is_in_flight(tmp_path):
    served = served_with_plugins(tmp_path)
    served.host.rpc.unload_grace = 0.2

    async def scenario():
        c = await WsClient.open(served.ws_url)
        await c.login("admin")
        slow = asyncio.ensure_future(c.request("POST", "plugins/rpc_demo/rpc/sleep", [1200]))
        await asyncio.sleep(0.2)
        await c.ok("POST", f"plugins/{C_GUID}/disable")
        code, err = await c.request("POST", "plugins/rpc_demo/rpc/add", [1, 1])
        assert code == 404                                    # gone with its plugin
        assert await slow == (200, {"result": 1200})          # and this one finished
        await c.ok("POST", f"plugins/{C_GUID}/enable")
        assert (await c.ok("POST", "plugins/rpc_demo/rpc/add", [1, 1]))["result"] == 2
        await c.close()
    try:
        run(scenario())
    finally:
        served.close()


def test_two_uis_and_a_script_see_the_same_events_in_the_same_order(tmp_path):
    served = served_with_plugins(tmp_path)
    host = served.host
    script_plugin = tmp_path / "later.py"
    script_plugin.write_text(textwrap.dedent('''
        from pyhost.plugin import Plugin, export
        plugin = Plugin(guid="{5e1c7a0e-aaaa-4c1f-9a57-c0ffee00beef}", name="Later",
                        version=1.0)
        @export
        def hello():
            plugin.emit("hello", {"from": "later"})
            return "hi"
    '''))
    events = ("host_event",)

    async def scenario():
        uis = [await WsClient.open(served.ws_url) for _ in range(2)]
        for ui in uis:
            await ui.login("admin")
            for name in events:
                await ui.ok("POST", f"events/listeners/{name}")
            for name in ("plugin_loaded", "plugin_unloaded", "plugin_settings_updated",
                         "plugin_event", "plugin_moved"):
                await ui.ok("POST", f"plugins/listeners/{name}")
        script = await AsyncClient(served.url, username="admin", password=PASSWORD).connect()
        await script.listen("host_event")
        for name in ("plugin_loaded", "plugin_unloaded", "plugin_settings_updated",
                     "plugin_event", "plugin_moved"):
            await script.listen(name)

        loop = asyncio.get_running_loop()
        actor = uis[0]
        await actor.ok("POST", f"plugins/{NOTES_GUID}/disable")
        await actor.ok("POST", f"plugins/{NOTES_GUID}/enable")
        await actor.ok("PATCH", f"plugins/{NOTES_GUID}/settings", {"max_notes": 5})
        await actor.ok("POST", f"plugins/{NOTES_GUID}/move", {"direction": "up"})
        await asyncio.gather(*(uis[1].ok("POST", "plugins/notes/rpc/add", [f"n{i}"])
                               for i in range(10)),
                             *(script.call("rpc_demo.add", i, i) for i in range(10)))
        await loop.run_in_executor(None, lambda: host.fire.incoming_chat(
            "adc://hub.example:1511", "chat"))
        await loop.run_in_executor(None, lambda: host.install(str(script_plugin),
                                                              kind="python"))
        await script.call("later.hello")
        await actor.ok("POST", "events", {"text": "the end"})   # a LOG host event: the last

        def done(frames):
            return any(f.get("event") == "host_event" and
                       f["data"].get("kind") == "api_event_message" for f in frames)

        seen = []
        for ui in uis:
            frames = []
            while not done(frames):
                frames.append(await ui.next_event())
            seen.append([(f["event"], f.get("id"), f["data"].get("seq"),
                          f["data"].get("event") or f["data"].get("kind")) for f in frames])
        frames = []
        while not done(frames):
            e = await script.next_event(10)
            frames.append({"event": e.name, "id": e.id, "data": e.data})
        seen.append([(f["event"], f.get("id"), f["data"].get("seq"),
                      f["data"].get("event") or f["data"].get("kind")) for f in frames])
        assert seen[0] == seen[1] == seen[2]
        kinds = [k for _, _, _, k in seen[0]]
        assert kinds.count("note_added") == 20 and kinds.count("added") == 20  # both streams
        assert "hello" in kinds and "plugin_moved" in [e for e, *_ in seen[0]]
        seqs = [s for e, _, s, _ in seen[0] if e == "host_event"]
        assert seqs == sorted(seqs)                          # in the host's own order
        await script.close()
        for ui in uis:
            await ui.close()
    try:
        run(scenario(), timeout=120)
    finally:
        served.close()


def test_python_client_sync_and_async(tmp_path):
    from pyhost.client import ApiError, Client, ClientError, RpcError
    served = served_with_plugins(tmp_path)
    try:
        with Client(served.url, username="editor", password=PASSWORD) as client:
            assert client.user["username"] == "editor"
            assert client.call("rpc_demo.add", 5, 6) == 11
            assert client.notes.add(text="attr") == {"id": 1, "text": "attr"}
            assert client.call(f"{C_GUID}.echo", x=1) == {"x": 1}
            assert {m["name"] for m in client.methods()} >= {"notes.add", "rpc_demo.sleep"}
            client.listen("plugin_event", entity=NOTES_GUID)
            got = []
            client.on("plugin_event", got.append)
            client.notes.add("evented")
            event = client.next_event(timeout=10)
            assert (event.name, event.id, event.data["event"]) == \
                ("plugin_event", NOTES_GUID, "note_added")
            try:
                client.notes.clear()
            except RpcError as exc:
                assert (exc.code, exc.kind) == (403, "forbidden")
            else:
                raise AssertionError("an editor cleared the notes")
            deadline = time.monotonic() + 5
            while not got and time.monotonic() < deadline:
                time.sleep(0.01)
            assert got and got[0].data["data"]["text"] == "evented"
            token = client.token
            with Client(served.url, token=token) as same:    # a second socket, same session
                assert same.call("rpc_demo.add", 1, 1) == 2
        try:                                                 # it logged out at close
            Client(served.url, token=token)
        except ApiError as exc:
            assert exc.code == 400 and "expired" in exc.message
        else:
            raise AssertionError("the session outlived the client")
    except BaseException:
        served.close()
        raise

    async def scenario():
        async with AsyncClient(served.url) as anonymous:
            assert (await anonymous.notes.stats())["count"] == 2
            try:
                await anonymous.call("notes.add", "x")
            except RpcError as exc:
                assert exc.kind == "unauthorized"
        try:
            await AsyncClient(served.url, username="admin", password="wrong").connect()
        except ClientError as exc:
            assert "Invalid username or password" in str(exc)
        else:
            raise AssertionError("logged in with a wrong password")
    try:
        run(scenario())
    finally:
        served.close()
