"""Replays meet API hook subscribers: a replay whose chat events an API client rejects, and
one where the client does not answer in time, through `pyhost run --listen ... --replay -
--json` (a real process) and through `POST testbench/replay`. What API clients do shows up
per event as "api" effects."""
import asyncio
import json
import subprocess
import sys
import threading

from server_helpers import WsClient, make_users, run, served  # noqa: F401
from test_cli import NEUTRAL_DIR, PYHOST

HUB = "adc://hub.example:1511"
LINES = [{"hook": "chat.onIncomingChat", "object": HUB, "data": "<bob> hello"},
         {"hook": "chat.onIncomingChat", "object": HUB, "data": "<bob> buy spam"},
         {"hook": "chat.onIncomingChat", "object": HUB, "data": "<bob> slow one"},
         {"hook": "chat.onIncomingChat", "object": HUB, "data": "<bob> bye"}]


async def answer_hooks(client: WsClient, stop: asyncio.Event, seen: list) -> None:
    """Rejects spam, never answers "slow", accepts the rest, and posts a status message
    while handling "hello" (so an API client's action lands in that event's effects)."""
    while not stop.is_set():
        try:
            call = await client.next_event(0.1)
        except asyncio.TimeoutError:
            continue
        if "completion_id" not in call:
            continue
        text = call["data"]["text"]
        seen.append(text)
        base = f"hubs/hooks/hub_incoming_message_hook/{call['completion_id']}"
        if "spam" in text:
            await client.ok("POST", base + "/reject", {"reject_id": "spam", "message": "ad"})
        elif "slow" not in text:
            if "hello" in text:
                hub = (await client.ok("GET", "hubs"))[0]["id"]
                await client.ok("POST", f"hubs/{hub}/status_message", {"text": "greeted"})
            await client.ok("POST", base + "/resolve")


def check(records: list[dict]) -> None:
    events = [r for r in records if r.get("hook") == "dcpp.chat.onIncomingChat"]
    assert [e["handled"] for e in events] == [False, True, False, False]
    hello, spam, slow, bye = events
    assert {"interface": "api", "function": "hubs.status_message",
            "args": {"client": "chatter", "hub": {"url": HUB}, "message": "greeted",
                     "severity": "info"}} in hello["effects"]
    assert [e["function"] for e in spam["effects"]] == ["hub_incoming_message_hook.reject"]
    assert spam["effects"][0]["args"]["reject_id"] == "spam"
    assert [e["function"] for e in slow["effects"]] == ["hub_incoming_message_hook.timeout"]
    assert bye["effects"] == []


def test_replay_through_pyhost_run_listen(tmp_path):
    home = tmp_path / "home"
    make_users(home)
    proc = subprocess.Popen([*PYHOST, "--home", str(home), "run", "--listen", "127.0.0.1:0",
                             "--replay", "-", "--json"], cwd=NEUTRAL_DIR,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, bufsize=1)
    try:
        banner = proc.stderr.readline()
        assert "Web API on http://127.0.0.1:" in banner, banner
        url = banner.split("Web API on ")[1].split(",")[0].strip().replace("http", "ws", 1)
        seen: list[str] = []

        async def scenario():
            client = await WsClient.open(url)
            await client.login("chatter")
            await client.ok("POST", "hubs/hooks/hub_incoming_message_hook",
                            {"id": "filter", "name": "Replay filter"})
            stop = asyncio.Event()
            answering = asyncio.get_running_loop().create_task(
                answer_hooks(client, stop, seen))

            def feed():
                for line in LINES:
                    proc.stdin.write(json.dumps(line) + "\n")
                    proc.stdin.flush()
                proc.stdin.close()
                return proc.stdout.read()
            out = await asyncio.get_running_loop().run_in_executor(None, feed)
            stop.set()
            await answering
            await client.close()
            return out
        out = run(scenario(), timeout=90)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    records = [json.loads(line) for line in out.splitlines()]
    check([r for r in records if "event" in r])
    assert seen == [line["data"] for line in LINES]
    timeouts = [r["host_event"] for r in records if "host_event" in r
                and r["host_event"]["kind"] == "api_hook_timed_out"]
    assert [(t["hook"], t["user"], t["timeout_s"]) for t in timeouts] == [
        ("hub_incoming_message_hook", "chatter", 2.0)]
    assert records[-1]["summary"]["events"] == 4
    assert "Traceback" not in proc.stderr.read()


def test_replay_through_the_testbench_endpoint(served):
    async def scenario():
        hooked = await WsClient.open(served.ws_url)
        await hooked.login("chatter")
        await hooked.ok("POST", "hubs/hooks/hub_incoming_message_hook",
                        {"id": "filter", "name": "Remote filter"})
        stop = asyncio.Event()
        seen: list[str] = []
        answering = asyncio.get_running_loop().create_task(answer_hooks(hooked, stop, seen))
        admin = await WsClient.open(served.ws_url)
        await admin.login("admin")
        served.host.effects.drain()
        out = await admin.ok("POST", "testbench/replay", {"lines": LINES + ["not json"]})
        stop.set()
        await answering
        await hooked.close()
        await admin.close()
        return out, seen
    out, seen = run(scenario(), timeout=60)
    check(out["events"])
    assert out["summary"] == {"events": 4, "errors": 1, "error_lines": [5]}
    assert out["events"][-1]["error"].startswith("line 5: not JSON")
    assert len(seen) == 4
