"""Hostile input to the Web API: schemathesis fuzzes the REST part from the OpenAPI document
the server publishes, hypothesis fuzzes WebSocket frames, and the fixed cases (malformed
JSON, unknown paths and methods, wrong types, oversized frames and bodies, binary frames).
Never a 5xx, never a traceback, and the host keeps serving."""
import asyncio
import itertools
import json

import aiohttp
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings, strategies as st

from server_helpers import PASSWORD, Served, WsClient, http, login_http, run

HUB = "adc://hub.example:1511"


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory):
    s = Served(tmp_path_factory.mktemp("fuzz") / "home", max_frame_bytes=64 * 1024)
    s.host.fire.incoming_chat(HUB, "hello")  # hub 1 exists
    yield s
    s.close()


class Token:
    value = ""


def fresh_token(served) -> str:
    async def login():
        async with aiohttp.ClientSession() as s:
            return await login_http(s, served.url)
    return run(login())


def test_rest_fuzzing_from_the_openapi_document(fuzzed):
    """Every REST operation of the published document, with generated paths and bodies,
    logged in as an admin (so the requests get past authorization)."""
    Token.value = fresh_token(fuzzed)
    schema = schemathesis.openapi.from_url(fuzzed.url + "openapi.json")
    base = fuzzed.url.removesuffix("/api/v1/")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25
    seen: dict[str, set] = {}

    for operation in operations:
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck),
                  database=None)
        @given(case=operation.as_strategy())
        def check(case):
            response = case.call(base_url=base,
                                 headers={"Authorization": f"Bearer {Token.value}"},
                                 timeout=30)
            assert response.status_code < 500, (case.method, case.path, response.text)
            assert "Traceback" not in response.text
            if response.status_code != 204:
                body = json.loads(response.text)  # always JSON
                if response.status_code >= 400:
                    assert isinstance(body.get("message"), str)
            seen.setdefault(f"{case.method} {operation.path}", set()).add(
                response.status_code)
            if response.status_code == 401 or (case.method == "DELETE" and
                                               "sessions" in case.path):
                Token.value = fresh_token(fuzzed)  # the fuzzer logged us out: log in again
        check()
    # the fuzzing got past authorization and validation somewhere
    assert any(200 in codes or 204 in codes for codes in seen.values())
    assert len(seen) == len(operations)


def test_the_host_still_serves_after_the_rest_fuzzing(fuzzed):
    assert fuzzed.host.fire.incoming_chat(HUB, "still here") is False

    async def scenario():
        c = await WsClient.open(fuzzed.ws_url)
        await c.login()
        assert (await c.ok("GET", "system/system_info"))["api_version"] == 1
        await c.close()
    run(scenario())


paths = st.one_of(
    st.sampled_from(["hubs", "hubs/1", "hubs/1/chat_message", "hubs/listeners/hub_message",
                     "hubs/hooks/hub_incoming_message_hook", "sessions/socket",
                     "hubs/hooks/hub_incoming_message_hook/1/resolve", "events",
                     "settings/get", "plugins", "private_chat", "testbench/replay",
                     "sessions/self", "system/system_info"]),
    st.text(max_size=40))
values = st.recursive(st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.floats() |
                      st.text(max_size=30),
                      lambda inner: st.lists(inner, max_size=4) |
                      st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=12)
frames = st.one_of(
    st.fixed_dictionaries({"method": st.sampled_from(["GET", "POST", "PATCH", "PUT",
                                                      "DELETE", "get", "HEAD", 1]),
                           "path": paths, "callback_id": st.integers(1, 10**6),
                           "data": values}),
    st.dictionaries(st.sampled_from(["method", "path", "callback_id", "data"]), values),
    values)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(batch=st.lists(st.one_of(frames.map(json.dumps), st.text(max_size=60)), min_size=1,
                      max_size=8))
def test_websocket_frame_fuzzing(fuzzed, batch):
    async def scenario():
        c = await WsClient.open(fuzzed.ws_url)
        try:
            await c.login()
            c._ids = itertools.count(2**52)  # callback ids the fuzzer does not send
            for text in batch:
                if "sessions/self" in text and "DELETE" in text.upper():
                    continue  # a logout would end the session the rest of the batch uses
                await c.ws.send_str(text)
            # A request after the batch is answered: the socket and the host still serve.
            code, info = await c.request("GET", "system/system_info")
            assert code in (200, 401), info
            await asyncio.sleep(0.05)
            while not c.events.empty():
                frame = c.events.get_nowait()
                if "code" in frame:
                    assert frame["code"] < 500, frame
                    if frame["code"] >= 400:
                        assert isinstance(frame["error"]["message"], str), frame
            assert not c.closed.is_set()
        finally:
            await c.close()
    run(scenario())
    assert fuzzed.host.fire.incoming_chat(HUB, "alive") is False


def test_fixed_bad_input(fuzzed):
    async def scenario():
        c = await WsClient.open(fuzzed.ws_url)
        await c.ws.send_str("{not json")
        err = await c.next_event()
        assert err["code"] == 400 and "JSON" in err["error"]["message"]
        await c.ws.send_str(json.dumps({"method": "GET", "path": 5, "callback_id": 9}))
        err = await c.next_event()
        assert err == {"code": 400, "callback_id": 9, "error": {
            "message": "path must be a non-empty string of at most 1024 characters.",
            "field": "path", "code": "invalid"}}
        await c.ws.send_bytes(b"\x00\x01")
        assert "Binary" in (await c.next_event())["error"]["message"]
        await c.login()
        code, err = await c.request("GET", "no/such/thing")
        assert code == 404
        code, err = await c.request("PUT", "hubs")
        assert code == 405 and "GET" in err["message"]
        code, err = await c.request("POST", "settings/get", {"keys": "ping_timeout"})
        assert code == 400 and err["field"] == "keys"
        code, err = await c.request("POST", "hubs/hooks/hub_incoming_message_hook/abc/resolve")
        assert code == 400
        # an oversized frame: a clean close (1009), the host unharmed
        await c.ws.send_str(json.dumps({"method": "POST", "path": "events",
                                        "data": {"text": "x" * 100_000}}))
        await asyncio.wait_for(c.closed.wait(), 10)
        assert c.ws.close_code == 1009
        await c.session.close()

        async with aiohttp.ClientSession() as s:
            token = await login_http(s, fuzzed.url)
            code, err = await http(s, "POST", fuzzed.url + "events", token=token,
                                   raw=b"x" * 100_000)
            assert code == 413 and "larger" in err["message"]
            code, err = await http(s, "POST", fuzzed.url + "events", token=token,
                                   raw=b"{bad json")
            assert code == 400 and "JSON" in err["message"]
            code, err = await http(s, "GET", fuzzed.url.removesuffix("api/v1/") + "elsewhere")
            assert code == 404 and "message" in err
            code, err = await http(s, "HEAD", fuzzed.url + "hubs", token=token)
            assert code == 405
            code, err = await http(s, "GET", fuzzed.url, token=token)
            assert code == 400 and "WebSocket" in err["message"]
            code, err = await http(s, "POST", fuzzed.url + "sessions/authorize",
                                   {"username": "admin", "password": PASSWORD * 100})
            assert code == 400 and err["field"] == "password"
    run(scenario())
