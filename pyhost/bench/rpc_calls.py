"""Exported methods under measurement: call round trips over the Web API's WebSocket (a C
method and a Python one), the same call in-process (the floor: the worker hand-off alone),
calls per second from several clients at once, round trips while another call hangs, and
how long a change made by one client takes to reach another (the event the web page
refreshes from).

    python -m pyhost.bench.rpc_calls [--quick]      # prints the row (also a group of
                                                    # `pyhost bench`: document key rpc_calls)

Everything runs in this process (host, server loop, clients), sharing the GIL and the
machine's cores: the figures are a floor for separate processes.
"""
from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from pyhost.bench.engine import Context, Group

USER, PASSWORD = "bench", "bench-password"
PY_PLUGIN = '''
from pyhost.plugin import Plugin, export
plugin = Plugin(guid="{5e1c7a0e-bench-4c1f-9a57-c0ffee00be0c}", name="Bench calls",
                version=1.0, settings={"n": 0})

@export
def add(a, b):
    return a + b
'''


def _percentiles(times: list[float]) -> dict:
    times = sorted(times)
    return {"count": len(times), "p50_ms": statistics.median(times) * 1e3,
            "p99_ms": times[min(len(times) - 1, int(len(times) * 0.99))] * 1e3}


class _Client:
    """A bare envelope client: one request at a time per call, events to a queue."""

    def __init__(self, ws):
        self.ws, self.ids, self.waiting = ws, 0, {}
        self.events: asyncio.Queue = asyncio.Queue()

    async def read(self) -> None:
        async for msg in self.ws:
            obj = json.loads(msg.data)
            future = self.waiting.pop(obj.get("callback_id"), None)
            if future is not None:
                future.set_result(obj)
            elif "event" in obj:
                self.events.put_nowait((time.perf_counter(), obj))

    async def request(self, method: str, path: str, data: Any = None) -> dict:
        self.ids += 1
        future = asyncio.get_running_loop().create_future()
        self.waiting[self.ids] = future
        await self.ws.send_str(json.dumps({"method": method, "path": path,
                                           "callback_id": self.ids, "data": data}))
        reply = await future
        if reply["code"] >= 400:
            raise RuntimeError(f"{path}: {reply}")
        return reply.get("data")


async def _scenario(url: str, rounds: int, clients: int, per_client: int,
                    guid: str) -> dict:
    import aiohttp
    out: dict[str, Any] = {}
    async with aiohttp.ClientSession() as session:
        opened = []
        for _ in range(max(2, clients)):
            client = _Client(await session.ws_connect(url))
            asyncio.get_running_loop().create_task(client.read())
            await client.request("POST", "sessions/authorize",
                                 {"username": USER, "password": PASSWORD})
            opened.append(client)
        a, b = opened[0], opened[1]

        async def round_trips(path: str, params: Any) -> dict:
            times = []
            for _ in range(rounds):
                t0 = time.perf_counter()
                await a.request("POST", path, params)
                times.append(time.perf_counter() - t0)
            return _percentiles(times)

        out["c_round_trip"] = await round_trips("plugins/rpc_demo/rpc/add", [1, 2])
        out["python_round_trip"] = await round_trips("plugins/bench_calls/rpc/add", [1, 2])

        t0 = time.perf_counter()
        await asyncio.gather(*(c.request("POST", "plugins/rpc_demo/rpc/add", [i, j])
                               for c in opened[:clients] for i, j in
                               ((k, k) for k in range(per_client))))
        out["concurrent"] = {"clients": clients, "calls": clients * per_client,
                             "calls_per_s": clients * per_client /
                             (time.perf_counter() - t0)}

        hung = asyncio.ensure_future(b.request("POST", "plugins/rpc_demo/rpc/sleep", [3000]))
        await asyncio.sleep(0.05)
        out["round_trip_beside_a_hung_call"] = await round_trips(
            "plugins/rpc_demo/rpc/add", [1, 2])
        await hung

        await b.request("POST", f"plugins/{guid}/listeners/plugin_settings_updated")
        times = []
        for i in range(rounds):
            t0 = time.perf_counter()
            await a.request("PATCH", f"plugins/{guid}/settings", {"n": i})
            while True:
                arrived, event = await asyncio.wait_for(b.events.get(), 10)
                if event["event"] == "plugin_settings_updated" and \
                        event["data"]["settings"].get("n") == i:
                    break
            times.append(arrived - t0)
        out["change_seen_by_another_client"] = _percentiles(times)
        for client in opened:
            await client.ws.close()
    return out


def measure(quick: bool = False) -> dict:
    from pyhost.abi.paths import sample_plugin
    from pyhost.host.host import Host
    from pyhost.server import serve
    from pyhost.server.users import UserStore

    rounds, clients, per_client = (200, 4, 50) if quick else (2000, 8, 250)
    with tempfile.TemporaryDirectory(prefix="pyhost-bench-rpc-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        UserStore(home).add(USER, PASSWORD, ["admin"])
        plugin = Path(tmp) / "bench_calls.py"
        plugin.write_text(PY_PLUGIN)
        host = Host(home, timers=False)
        host.start()
        try:
            host.install(sample_plugin("rpc_demo"))
            record = host.install(str(plugin), kind="python")
            add = host.rpc.lookup("rpc_demo.add")
            times = []
            for _ in range(rounds):
                t0 = time.perf_counter()
                host.rpc.call(add, [1, 2])
                times.append(time.perf_counter() - t0)
            floor = _percentiles(times)
            server = serve(host, "127.0.0.1:0", rpc_timeout=30)
            try:
                figures = asyncio.run(_scenario(server.ws_url, rounds, clients, per_client,
                                                record.guid))
            finally:
                server.stop()
        finally:
            host.shutdown()
    return {"in_process": floor, **figures}


def report(figures: dict) -> str:
    f = figures
    ratio = f["c_round_trip"]["p50_ms"] / f["in_process"]["p50_ms"]
    return (f"| Exported methods over the WebSocket | C p50 {f['c_round_trip']['p50_ms']:.2f} "
            f"ms (p99 {f['c_round_trip']['p99_ms']:.2f}), Python p50 "
            f"{f['python_round_trip']['p50_ms']:.2f} ms (p99 "
            f"{f['python_round_trip']['p99_ms']:.2f}); in-process p50 "
            f"{f['in_process']['p50_ms']:.3f} ms (x{ratio:.1f}) | "
            f"{f['concurrent']['calls_per_s']:.0f} calls/s from "
            f"{f['concurrent']['clients']} clients | beside a hung call p50 "
            f"{f['round_trip_beside_a_hung_call']['p50_ms']:.2f} ms | a change reaches "
            f"another client p50 {f['change_seen_by_another_client']['p50_ms']:.2f} ms, "
            f"p99 {f['change_seen_by_another_client']['p99_ms']:.2f} ms |")


# -- as a group of `pyhost bench` ---------------------------------------------------------

def _measured(ctx: Context) -> dict:
    ctx.progress("exported method calls over the WebSocket")
    try:
        return {"measured": True, **measure(quick=ctx.quick)}
    except Exception as exc:  # the row says why; the rest of the bench stands
        return {"measured": False, "reason": f"{type(exc).__name__}: {exc}"}


def _lines(doc: dict) -> list[str]:
    figures = doc.get("rpc_calls")
    if not isinstance(figures, dict):
        return []
    return [report(figures) if figures.get("measured") else
            f"| Exported methods | not measured: {figures.get('reason', '?')} |"]


GROUP = Group("rpc_calls", "Exported methods",
              lambda ctx: ctx.after("rpc_calls", _measured), _lines)


if __name__ == "__main__":
    import sys
    print(report(measure(quick="--quick" in sys.argv[1:])))
