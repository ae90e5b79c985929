"""The Web API under load, for ``pyhost bench``: N WebSocket clients listening to hub chat
while chat events are fired, and the round trip of an API hook subscriber.

:func:`load` starts a host and its server in a temporary home, connects ``clients`` aiohttp
WebSocket clients (each with a ``hub_message`` listener), fires ``events`` incoming chat
events from one thread and waits until every client has every event (or was dropped). It
returns each client's sequence check, so the load test asserts order with the same code.
:func:`hook_round_trip` fires events one at a time at a hook with one API subscriber that
resolves at once, and times each firing. :func:`measure` returns both as the bench row.
Everything runs in this process: the host, the server loop and the clients share the GIL
and the machine's cores, so the figures are a floor for what separate processes get.
"""
from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from pyhost.bench.engine import Context, Group

HUB = "adc://bench.example:1511"
USER, PASSWORD = "bench", "bench-password"


@dataclass
class LoadResult:
    clients: int
    events: int
    seconds: float                       # first fire -> last event at the last client
    fire_seconds: float                  # how long the firing thread took
    received: list[int] = field(default_factory=list)      # events per client
    in_order: list[bool] = field(default_factory=list)     # every event, in order
    dropped: list[Optional[str]] = field(default_factory=list)  # drop reason per client

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else float("nan")

    @property
    def deliveries_per_s(self) -> float:
        return self.events * self.clients / self.seconds if self.seconds > 0 else float("nan")


def _serve(home: Path, **options: Any):
    from pyhost.host.host import Host
    from pyhost.server import serve
    from pyhost.server.users import UserStore

    UserStore(home).add(USER, PASSWORD, ["admin"])
    host = Host(home, timers=False)
    host.start()
    try:
        return host, serve(host, "127.0.0.1:0", **options)
    except BaseException:
        host.shutdown()
        raise


async def _token(url: str) -> str:
    import aiohttp
    async with aiohttp.ClientSession() as s:
        async with s.post(url + "sessions/authorize",
                          json={"username": USER, "password": PASSWORD}) as r:
            return (await r.json())["auth_token"]


async def _client(session, ws_url: str, token: str, ready: asyncio.Event, events: int,
                  stop_after: Optional[int], text_prefix: str) -> tuple[int, bool]:
    """Listens to hub_message; returns (events received, all in order). A client with
    ``stop_after`` stops reading after that many events (a client that hangs)."""
    import aiohttp
    ws = await session.ws_connect(ws_url, max_msg_size=0)
    await ws.send_str(json.dumps({"method": "POST", "path": "sessions/socket",
                                  "callback_id": 1, "data": {"auth_token": token}}))
    await ws.send_str(json.dumps({"method": "POST", "path": "hubs/listeners/hub_message",
                                  "callback_id": 2}))
    replies = 0
    while replies < 2:
        msg = await ws.receive()
        if msg.type == aiohttp.WSMsgType.TEXT and '"callback_id"' in msg.data:
            replies += 1
    ready.set()
    got, ordered = 0, True
    async for msg in ws:
        if msg.type != aiohttp.WSMsgType.TEXT:
            continue
        obj = json.loads(msg.data)
        if obj.get("event") != "hub_message":
            continue
        number = int(obj["data"]["text"].removeprefix(text_prefix).split(" ", 1)[0])
        ordered = ordered and number == got
        got += 1
        if got == events:
            break
        if stop_after is not None and got >= stop_after:
            await asyncio.sleep(3600)  # stop reading; the server must drop us
    await ws.close()
    return got, ordered


def load(clients: int = 50, events: int = 10_000, *, stalled: int = 0, stop_after: int = 10,
         padding: int = 0, timeout: float = 300.0, **server_options: Any) -> LoadResult:
    """``stalled`` of the clients stop reading after ``stop_after`` events; ``padding``
    bytes of text make each event bigger (so a stalled client's TCP buffers fill up)."""
    import aiohttp

    with tempfile.TemporaryDirectory(prefix="pyhost-bench-api-") as tmp:
        host, server = _serve(Path(tmp), **server_options)
        try:
            host.fire.incoming_chat(HUB, "warm up")  # the hub exists before the clients
            prefix = "<bench> "
            pad = " " + "x" * padding if padding else ""
            result = LoadResult(clients, events, 0.0, 0.0)

            async def run() -> None:
                token = await _token(server.url)
                connector = aiohttp.TCPConnector(limit=0)
                async with aiohttp.ClientSession(connector=connector) as session:
                    readies = [asyncio.Event() for _ in range(clients)]
                    tasks = [asyncio.create_task(_client(
                        session, server.ws_url, token, readies[i], events,
                        stop_after if i < stalled else None, prefix))
                        for i in range(clients)]
                    await asyncio.gather(*(r.wait() for r in readies))
                    conns = sorted(server.connections, key=lambda c: c.id)
                    loop = asyncio.get_running_loop()
                    started = time.perf_counter()

                    def fire() -> float:
                        incoming = host.fire.incoming_chat
                        for i in range(events):
                            incoming(HUB, f"{prefix}{i}{pad}")
                        return time.perf_counter() - started
                    firing = loop.run_in_executor(None, fire)
                    if tasks[stalled:]:
                        await asyncio.wait(tasks[stalled:], timeout=timeout)
                    result.seconds = time.perf_counter() - started
                    result.fire_seconds = await firing
                    # stalled clients: wait until the server dropped them (bounded)
                    deadline = time.monotonic() + max(30.0, server.stall_timeout * 3)
                    while time.monotonic() < deadline and \
                            any(not c.closed for c in conns[:stalled]):
                        await asyncio.sleep(0.1)
                    for i, task in enumerate(tasks):
                        if task.done() and not task.cancelled() and task.exception() is None:
                            got, ordered = task.result()
                        else:
                            task.cancel()
                            got, ordered = -1, False
                        result.received.append(got)
                        result.in_order.append(ordered and got == events)
                    result.dropped = [c.drop_reason for c in conns]
                    for task in tasks:
                        task.cancel()
                    await asyncio.gather(*tasks, return_exceptions=True)
            asyncio.run(run())
            return result
        finally:
            server.stop()
            host.shutdown()


def hook_round_trip(count: int = 2000) -> dict:
    """Fires ``count`` incoming chat events, one at a time, at a hook whose one API
    subscriber (an aiohttp client on its own thread) resolves each call at once."""
    import aiohttp

    with tempfile.TemporaryDirectory(prefix="pyhost-bench-hook-") as tmp:
        host, server = _serve(Path(tmp))
        try:
            host.fire.incoming_chat(HUB, "warm up")
            ready, stop = threading.Event(), threading.Event()

            async def subscriber() -> None:
                token = await _token(server.url)
                async with aiohttp.ClientSession() as session:
                    ws = await session.ws_connect(server.ws_url)
                    await ws.send_str(json.dumps({"method": "POST", "path": "sessions/socket",
                                                  "data": {"auth_token": token}}))
                    await ws.send_str(json.dumps({
                        "method": "POST", "callback_id": 1,
                        "path": "hubs/hooks/hub_incoming_message_hook",
                        "data": {"id": "bench", "name": "Bench"}}))
                    async for msg in ws:
                        obj = json.loads(msg.data)
                        if obj.get("callback_id") == 1:
                            ready.set()
                        elif "completion_id" in obj:
                            await ws.send_str(json.dumps({
                                "method": "POST", "path": "hubs/hooks/"
                                "hub_incoming_message_hook/"
                                f"{obj['completion_id']}/resolve"}))
                        if stop.is_set():
                            break
            thread = threading.Thread(target=lambda: asyncio.run(subscriber()), daemon=True)
            thread.start()
            if not ready.wait(30):
                raise RuntimeError("the bench's hook subscriber did not connect")
            times = []
            incoming = host.fire.incoming_chat
            for i in range(count):
                t0 = time.perf_counter()
                incoming(HUB, f"<bench> {i}")
                times.append(time.perf_counter() - t0)
            stop.set()
            incoming(HUB, "last")  # wakes the subscriber so it sees stop
            thread.join(10)
        finally:
            server.stop()
            host.shutdown()
    times.sort()
    return {"count": count, "p50_ms": statistics.median(times) * 1e3,
            "p99_ms": times[min(len(times) - 1, int(len(times) * 0.99))] * 1e3,
            "max_ms": times[-1] * 1e3}


def measure(quick: bool = False) -> dict:
    """The bench row: fan-out throughput and the hook round trip."""
    clients, events = (50, 2_000) if quick else (50, 10_000)
    result = load(clients, events)
    hooks = hook_round_trip(300 if quick else 2000)
    return {"clients": clients, "events": events, "seconds": result.seconds,
            "events_per_s": result.events_per_s,
            "deliveries_per_s": result.deliveries_per_s,
            "all_in_order": all(result.in_order),
            "dropped": sum(1 for d in result.dropped if d),
            "hook_round_trip": hooks}


def report(figures: dict) -> str:
    h = figures["hook_round_trip"]
    return (f"| Web API: {figures['clients']} WebSocket clients x {figures['events']} chat "
            f"events | {figures['events_per_s']:.0f} events/s "
            f"({figures['deliveries_per_s']:.0f} deliveries/s) | hook round trip p50 "
            f"{h['p50_ms']:.2f} ms, p99 {h['p99_ms']:.2f} ms | "
            f"{'all in order' if figures['all_in_order'] else 'OUT OF ORDER'}, "
            f"{figures['dropped']} dropped |")


# -- as a group of `pyhost bench` ---------------------------------------------------------

def _measured(ctx: Context) -> dict:
    """The document's `web_api`: measured after the hook benchmark, in its own host."""
    ctx.progress("clients x chat events, hook round trip")
    try:
        return {"measured": True, **measure(quick=ctx.quick)}
    except Exception as exc:  # the row says why; the rest of the bench stands
        return {"measured": False, "reason": f"{type(exc).__name__}: {exc}"}


def _lines(doc: dict) -> list[str]:
    web = doc.get("web_api")
    if not isinstance(web, dict):
        return []
    return [report(web) if web.get("measured") else
            f"| Web API | not measured: {web.get('reason', '?')} |"]


GROUP = Group("web_api", "Web API", lambda ctx: ctx.after("web_api", _measured), _lines)


if __name__ == "__main__":
    import sys
    print(report(measure(quick="--quick" in sys.argv[1:])))
