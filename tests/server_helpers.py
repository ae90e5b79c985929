"""Shared pieces of the Web API tests: a started host with API users and a server on a free
loopback port, and a small WebSocket client built on aiohttp's (the Python side of the
protocol tests; the Node side is tests/node/driver.js with the official library)."""
from __future__ import annotations

import asyncio
import itertools
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any, Optional

import aiohttp
import pytest

from pyhost.host.host import Host
from pyhost.server import serve
from pyhost.server.users import UserStore

NODE_DIR = Path(__file__).resolve().parent / "node"
PASSWORD = "correct horse battery staple"
USERS = {"admin": ["admin"], "viewer": ["hubs_view", "events_view", "plugins_view"],
         "chatter": ["hubs_view", "hubs_send", "hubs_edit", "private_chat_view",
                     "private_chat_send", "private_chat_edit", "events_view", "events_edit"]}


def make_users(home: Path) -> UserStore:
    store = UserStore(home)
    for name, perms in USERS.items():
        if store.get(name) is None:
            store.add(name, PASSWORD, perms)
    return store


class Served:
    """A started host and its Web API (stop both with close())."""

    def __init__(self, home: Path, **options: Any):
        home.mkdir(parents=True, exist_ok=True)
        make_users(home)
        self.host = Host(home, timers=False)
        self.host.start()
        options.setdefault("hook_timeouts", {"hub_incoming_message_hook": 1.0,
                                             "hub_outgoing_message_hook": 1.0,
                                             "private_chat_incoming_message_hook": 1.0,
                                             "private_chat_outgoing_message_hook": 1.0})
        try:
            self.server = serve(self.host, "127.0.0.1:0", **options)
        except BaseException:
            self.host.shutdown()
            raise

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def ws_url(self) -> str:
        return self.server.ws_url

    def close(self) -> None:
        self.server.stop()
        self.host.shutdown()


@pytest.fixture
def served(tmp_path):
    s = Served(tmp_path / "home")
    yield s
    s.close()


def run(coro, timeout: float = 60):
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def http(session: aiohttp.ClientSession, method: str, url: str, data: Any = None,
               token: Optional[str] = None, raw: Optional[bytes] = None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    kwargs: dict[str, Any] = {"headers": headers}
    if raw is not None:
        kwargs["data"] = raw
    elif data is not None:
        kwargs["json"] = data
    async with session.request(method, url, **kwargs) as resp:
        text = await resp.text()
        assert "Traceback" not in text
        return resp.status, (json.loads(text) if text else None)


async def login_http(session: aiohttp.ClientSession, base: str, user: str = "admin") -> str:
    code, data = await http(session, "POST", base + "sessions/authorize",
                            {"username": user, "password": PASSWORD})
    assert code == 200, data
    return data["auth_token"]


class WsClient:
    """An aiohttp WebSocket client speaking the envelope: requests by callback_id, and a
    queue of everything else (events, hook calls, errors without callback)."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, session: aiohttp.ClientSession):
        self.ws = ws
        self.session = session
        self.events: asyncio.Queue = asyncio.Queue()
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future] = {}
        self.closed = asyncio.Event()
        self._reader = asyncio.get_running_loop().create_task(self._read())

    @classmethod
    async def open(cls, url: str, **kwargs: Any) -> "WsClient":
        session = aiohttp.ClientSession()
        ws = await session.ws_connect(url, **kwargs)
        return cls(ws, session)

    async def _read(self) -> None:
        try:
            async for msg in self.ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    continue
                obj = json.loads(msg.data)
                fut = self._waiting.pop(obj.get("callback_id") or -1, None)
                if fut is not None and not fut.done():
                    fut.set_result(obj)
                else:
                    await self.events.put(obj)
        finally:
            self.closed.set()

    async def request(self, method: str, path: str, data: Any = None) -> tuple[int, Any]:
        cid = next(self._ids)
        fut = asyncio.get_running_loop().create_future()
        self._waiting[cid] = fut
        frame = {"method": method, "path": path, "callback_id": cid}
        if data is not None:
            frame["data"] = data
        await self.ws.send_str(json.dumps(frame))
        reply = await asyncio.wait_for(fut, 30)
        return reply["code"], reply.get("data", reply.get("error"))

    async def ok(self, method: str, path: str, data: Any = None) -> Any:
        code, result = await self.request(method, path, data)
        assert code in (200, 204), (method, path, code, result)
        return result

    async def login(self, user: str = "admin") -> dict:
        return await self.ok("POST", "sessions/authorize",
                             {"username": user, "password": PASSWORD})

    async def next_event(self, timeout: float = 10) -> dict:
        return await asyncio.wait_for(self.events.get(), timeout)

    async def close(self) -> None:
        await self.ws.close()
        await self.session.close()
        self._reader.cancel()


def node_modules() -> Path:
    """tests/node/node_modules, installed from the committed lock file if missing."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are not installed (needed for the official client library)")
    modules = NODE_DIR / "node_modules"
    if not (modules / "airdcpp-apisocket").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, check=True,
                       capture_output=True, timeout=300)
    return modules
