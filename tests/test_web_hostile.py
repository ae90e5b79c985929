"""The Web API under hostile input found by an audit: every case is a JSON error for its
sender only; the host, its stored state and the other clients are unharmed."""
import asyncio
import json
import logging

import aiohttp

from server_helpers import WsClient, http, login_http, run, served  # noqa: F401 (fixture)

LONE = "bad \ud800 text"  # json.dumps writes it as the escape \ud800


def test_a_lone_surrogate_escape_is_refused_and_poisons_nothing(served):  # noqa: F811
    async def scenario():
        listener = await WsClient.open(served.ws_url)
        await listener.login()
        await listener.ok("POST", "events/listeners/event_message")
        sender = await WsClient.open(served.ws_url)
        await sender.login()
        for data in ({"text": LONE}, {LONE: 1, "text": "x"}):
            code, err = await sender.request("POST", "events", data)
            assert code == 400 and "lone surrogate" in err["message"], err
        async with aiohttp.ClientSession() as s:
            token = await login_http(s, served.url)
            code, err = await http(s, "POST", served.url + "events", token=token,
                                   raw=json.dumps({"text": LONE}).encode())
            assert code == 400 and "lone surrogate" in err["message"], err
            rpc = served.url.replace("/api/v1/", "/json")
            async with s.post(rpc, data=json.dumps({"jsonrpc": "2.0", "id": 1,
                                                    "method": "x.y", "params": [LONE]}),
                              headers={"Content-Type": "application/json"}) as resp:
                answer = json.loads(await resp.text())
            assert answer["error"]["code"] == -32700, answer
            assert "lone surrogate" in answer["error"]["message"]
            # a pair of escapes is one character, and welcome
            code, _ = await http(s, "POST", served.url + "events", token=token,
                                 raw=b'{"text": "smile \\ud83d\\ude00"}')
            assert code == 204
            code, log = await http(s, "GET", served.url + "events", token=token)
            assert code == 200, log
            assert [e["text"] for e in log if "smile" in e["text"]] == ["smile \U0001F600"]
            assert not any("bad" in e["text"] for e in log)
        event = await listener.next_event()
        assert event["event"] == "event_message" and event["data"]["text"] == \
            "smile \U0001F600", event
        assert not listener.closed.is_set() and not sender.closed.is_set()
        await listener.close()
        await sender.close()
    run(scenario())


def test_a_request_aiohttp_cannot_parse_is_one_line_in_the_log(served, caplog):  # noqa: F811
    """A header line over 8 KiB (or a malformed request line) is the client's fault: it is
    answered 400 and closed; the log has one INFO line, no traceback and no header text."""
    caplog.set_level(logging.DEBUG)
    port = served.server.port
    secret = "Bearer " + "s3cret" * 2000

    async def scenario():
        for request in (f"GET /api/v1/plugins HTTP/1.1\r\nHost: x\r\nAuthorization: "
                        f"{secret}\r\n\r\n", "GET /api/v1/plugins HTTP/1.1\r\nBad Header\r\n\r\n"):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(request.encode())
            await writer.drain()
            answer = await asyncio.wait_for(reader.read(), 10)  # read to the close
            assert answer.split(b" ")[1] == b"400", answer[:80]
            writer.close()
        async with aiohttp.ClientSession() as s:  # the host still serves
            code, info = await http(s, "GET", served.url + "system/system_info",
                                    token=await login_http(s, served.url))
            assert code == 200
    run(scenario())
    assert not [r for r in caplog.records if r.exc_info], \
        [r.getMessage() for r in caplog.records if r.exc_info]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    refused = [r.getMessage() for r in caplog.records if "malformed HTTP" in r.getMessage()]
    assert len(refused) == 2, refused
    assert not any("s3cret" in r.getMessage() + str(r.args) for r in caplog.records)


def test_patching_an_extension_needs_one_that_exists_and_the_disabled_field(tmp_path):
    from extension_helpers import Hosted
    source = tmp_path / "src"
    source.mkdir()
    (source / "package.json").write_text(json.dumps({
        "name": "airdcpp-quiet", "version": "1.0.0", "description": "d", "author": "me",
        "main": "index.js", "airdcpp": {"apiVersion": 1, "minApiFeatureLevel": 1}}))
    (source / "index.js").write_text("")
    hosted = Hosted(tmp_path / "home", [source], start=False)
    try:
        async def scenario():
            c = await WsClient.open(hosted.server.ws_url)
            await c.login()
            code, err = await c.request("PATCH", "extensions/airdcpp-nosuch", {"disabled": True})
            assert code == 404, err                        # was a 204 for {} or other fields
            code, err = await c.request("PATCH", "extensions/airdcpp-nosuch", {"x": [1]})
            assert code == 404, err
            code, err = await c.request("PATCH", "extensions/airdcpp-quiet", {"x": 1})
            assert (code, err["field"], err["code"]) == (400, "disabled", "missing_field")
            assert not hosted.manager.layout.disabled("airdcpp-quiet")
            code, _ = await c.request("PATCH", "extensions/airdcpp-quiet", {"disabled": True})
            assert code == 204 and hosted.manager.layout.disabled("airdcpp-quiet")
            await c.close()
        run(scenario())
    finally:
        hosted.close()


def test_the_client_says_a_request_was_too_big_when_pyhost_closes_for_that(tmp_path):
    from pyhost.client import AsyncClient, ClientError
    from server_helpers import PASSWORD, Served
    served = Served(tmp_path / "home", max_frame_bytes=64 * 1024)
    try:
        async def scenario():
            client = AsyncClient(served.url, username="admin", password=PASSWORD)
            await client.connect()
            try:
                try:
                    await client.request("POST", "events", {"text": "x" * 100_000})
                except ClientError as exc:
                    return str(exc)
            finally:
                await client.close()
        message = run(scenario())
        assert message == ("pyhost closed the connection: a request was larger than it "
                           "accepts (its max_frame_bytes, 1 MiB unless configured).")
    finally:
        served.close()


def test_removing_a_user_or_changing_permissions_reaches_live_sessions(tmp_path):
    """`pyhost user remove` / `passwd --permissions` while the server runs: the user's
    sessions end, or get the new permissions, within the expiry interval (they kept the
    old ones until they went idle, for ever with a socket attached)."""
    import time as _time
    from server_helpers import Served, make_users
    served = Served(tmp_path / "home", expiry_interval=0.2)
    store = make_users(served.host.home)
    try:
        async def scenario():
            async with aiohttp.ClientSession() as s:
                token = await login_http(s, served.url, "chatter")
                code, _ = await http(s, "GET", served.url + "events", token=token)
                assert code == 200
                ws = await WsClient.open(served.ws_url)
                await ws.ok("POST", "sessions/socket", {"auth_token": token})
                store.set_permissions("chatter", ["hubs_view"])
                deadline = _time.monotonic() + 10
                while (await http(s, "GET", served.url + "events", token=token))[0] != 403:
                    assert _time.monotonic() < deadline, "the permission change never applied"
                    await asyncio.sleep(0.05)
                code, _ = await http(s, "GET", served.url + "hubs", token=token)
                assert code == 200
                store.remove("chatter")
                while (await http(s, "GET", served.url + "hubs", token=token))[0] != 401:
                    assert _time.monotonic() < deadline, "the removed user's session lived on"
                    await asyncio.sleep(0.05)
                code, err = await ws.request("GET", "hubs")
                assert code == 401, err                     # its socket lost the session too
                await ws.close()
        run(scenario())
    finally:
        served.close()
