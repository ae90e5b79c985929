"""The asyncio client: one WebSocket to the Web API (the envelope of docs/web-api.md)."""
from __future__ import annotations

import asyncio
import collections
import inspect
import itertools
import json
import logging
import ssl as ssl_module
from dataclasses import dataclass
from typing import Any, AsyncIterator, Callable, Optional
from urllib.parse import urlsplit

import aiohttp

from pyhost.client.errors import ApiError, ClientError, RpcError

log = logging.getLogger("pyhost.client")

DEFAULT_URL = "http://127.0.0.1:5600"
MAX_QUEUED_EVENTS = 10_000
# The area of each listener event, by its name's prefix (the listener path needs it).
_AREAS = (("plugin_", "plugins"), ("rpc_", "rpc"), ("host_event", "events"),
          ("event_message", "events"), ("hub_", "hubs"), ("private_chat_", "private_chat"),
          ("extension_", "extensions"))


@dataclass(frozen=True)
class Event:
    """A listener event: its name, data, and entity id (a plugin's guid...) when it has one."""

    name: str
    data: Any
    id: Optional[str] = None


def api_urls(url: str) -> tuple[str, str]:
    """(HTTP base, WebSocket address) of the Web API for what a user gives: ``http://h:p``,
    ``https://h:p/``, ``.../api/v1/``, ``ws://...`` or ``h:p``."""
    if "://" not in url:
        url = "http://" + url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https", "ws", "wss") or not parts.netloc:
        raise ClientError(f"{url!r} is not the address of a pyhost (http://HOST:PORT).")
    secure = parts.scheme in ("https", "wss")
    http = f"{'https' if secure else 'http'}://{parts.netloc}/api/v1/"
    return http, f"{'wss' if secure else 'ws'}://{parts.netloc}/api/v1/"


def area_of(event: str) -> str:
    for prefix, area in _AREAS:
        if event.startswith(prefix):
            return area
    raise ValueError(f"Which area does {event!r} belong to? Pass area=... (plugins, rpc, "
                     "events, hubs, private_chat, extensions).")


class AsyncClient:
    def __init__(self, url: str = DEFAULT_URL, *, username: Optional[str] = None,
                 password: Optional[str] = None, token: Optional[str] = None,
                 timeout: float = 60.0, ssl: Optional[ssl_module.SSLContext] = None):
        self.http_url, self.ws_url = api_urls(url)
        self.username, self._password, self._token = username, password, token
        self.timeout = timeout
        self._ssl = ssl
        self._session: Optional[aiohttp.ClientSession] = None
        self._ws: Optional[aiohttp.ClientWebSocketResponse] = None
        self._reader: Optional[asyncio.Task] = None
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future] = {}
        self._callbacks: dict[str, list[Callable]] = {}
        self._queue: collections.deque[Event] = collections.deque(maxlen=MAX_QUEUED_EVENTS)
        self._arrived: Optional[asyncio.Event] = None
        self._logged_in = False  # a session of our own: ended at close
        self.user: Optional[dict] = None

    # -- connecting ------------------------------------------------------------------------
    async def connect(self) -> "AsyncClient":
        """Opens the WebSocket and authorizes it (token, or user name and password)."""
        self._arrived = asyncio.Event()
        self._session = aiohttp.ClientSession()
        try:
            tls = {} if self._ssl is None else {"ssl": self._ssl}
            self._ws = await self._session.ws_connect(self.ws_url, heartbeat=30,
                                                      max_msg_size=0, **tls)
        except (aiohttp.ClientError, OSError) as exc:
            await self._session.close()
            cause = getattr(getattr(exc, "os_error", None), "strerror", None) or \
                getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            raise ClientError(f"Cannot reach pyhost at {self.http_url} ({cause.lower()})") \
                from None
        self._reader = asyncio.get_running_loop().create_task(self._read())
        try:
            if self._token:
                reply = await self.request("POST", "sessions/socket",
                                           {"auth_token": self._token})
            elif self.username is not None:
                reply = await self.request("POST", "sessions/authorize",
                                           {"username": self.username,
                                            "password": self._password or ""})
                self._logged_in = True
            else:
                reply = None
        except BaseException:
            await self.close()
            raise
        if reply is not None:
            self.user = reply.get("user")
            self._token = reply.get("auth_token")
        return self

    async def close(self) -> None:
        """Logs out (when it logged in itself) and closes the connection."""
        if self._logged_in and self._ws is not None and not self._ws.closed:
            try:
                await asyncio.wait_for(self.request("DELETE", "sessions/self"), 5)
            except (ClientError, asyncio.TimeoutError):
                pass
        self._logged_in = False
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()
        if self._session is not None:
            await self._session.close()
        self._ws = self._session = self._reader = None

    async def __aenter__(self) -> "AsyncClient":
        return await self.connect()

    async def __aexit__(self, *exc) -> None:
        await self.close()

    @property
    def token(self) -> Optional[str]:
        """The session's auth token (for HTTP requests: Authorization: Bearer)."""
        return self._token

    # -- requests ----------------------------------------------------------------------------
    async def request(self, method: str, path: str, data: Any = None) -> Any:
        """One Web API request over the socket; its data, or ApiError."""
        if self._ws is None or self._ws.closed:
            raise ClientError("Not connected to pyhost.")
        cid = next(self._ids)
        future = asyncio.get_running_loop().create_future()
        self._waiting[cid] = future
        frame: dict[str, Any] = {"method": method, "path": path, "callback_id": cid}
        if data is not None:
            frame["data"] = data
        try:
            await self._ws.send_str(json.dumps(frame))
            reply = await asyncio.wait_for(future, self.timeout)
        except asyncio.TimeoutError:
            raise ClientError(f"pyhost did not answer {method} {path} within "
                              f"{self.timeout:g} s.") from None
        except (ConnectionError, aiohttp.ClientError) as exc:
            raise ClientError(f"The connection to pyhost broke: {exc}") from None
        finally:
            self._waiting.pop(cid, None)
        if reply.get("code", 500) >= 400:
            error = reply.get("error") or {}
            raise ApiError(reply.get("code", 500), error.get("message", "request failed"),
                           error.get("code"))
        return reply.get("data")

    async def call(self, name: str, /, *args: Any, **kwargs: Any) -> Any:
        """Calls the exported method ``<plugin>.<method>`` (the plugin by its namespace or
        guid) with positional or named arguments; its result, or RpcError."""
        if args and kwargs:
            raise TypeError("Pass the arguments by position or by name, not both.")
        plugin, _, method = name.rpartition(".")
        if not plugin or not method:
            raise ValueError(f"{name!r} is not <plugin>.<method>.")
        try:
            reply = await self.request("POST", f"plugins/{plugin}/rpc/{method}",
                                       dict(kwargs) if kwargs else list(args))
        except ApiError as exc:
            raise RpcError(exc.code, exc.message, exc.kind) from None
        return reply["result"]

    async def methods(self) -> list[dict]:
        """The exported methods: ``{name, plugin, plugin_name, level, level_name,
        description, callable}`` each."""
        return await self.request("GET", "rpc/methods")

    def __getattr__(self, namespace: str) -> "_Namespace":
        if namespace.startswith("_"):
            raise AttributeError(namespace)
        return _Namespace(self.call, namespace)

    # -- events -------------------------------------------------------------------------------
    async def listen(self, event: str, entity: Optional[str] = None,
                     area: Optional[str] = None) -> None:
        """Starts listening to an event (``plugin_event``, ``rpc_method_added``,
        ``host_event``...), of every entity or of one (a plugin's guid)."""
        area = area or area_of(event)
        path = f"{area}/listeners/{event}" if entity is None else \
            f"{area}/{entity}/listeners/{event}"
        await self.request("POST", path)

    def on(self, event: str, callback: Callable[[Event], Any]) -> None:
        """Runs ``callback(event)`` (a function or a coroutine function) for each event of
        that name ("*": every event), on the client's loop, in arrival order."""
        self._callbacks.setdefault(event, []).append(callback)

    async def next_event(self, timeout: Optional[float] = None) -> Event:
        """The oldest event not taken yet; asyncio.TimeoutError after ``timeout``."""
        async def wait() -> Event:
            while not self._queue:
                self._arrived.clear()
                await self._arrived.wait()
            return self._queue.popleft()
        return await asyncio.wait_for(wait(), timeout)

    async def events(self) -> AsyncIterator[Event]:
        """Every event, as it arrives (until the connection closes)."""
        while self._ws is not None and not self._ws.closed:
            yield await self.next_event()

    async def _read(self) -> None:
        try:
            async for msg in self._ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    continue
                try:
                    frame = json.loads(msg.data)
                except ValueError:
                    continue
                future = self._waiting.get(frame.get("callback_id") or -1)
                if future is not None:
                    if not future.done():
                        future.set_result(frame)
                elif "event" in frame:
                    await self._event(Event(frame["event"], frame.get("data"), frame.get("id")))
        finally:
            why = "The connection to pyhost closed."
            if self._ws is not None and self._ws.close_code == aiohttp.WSCloseCode.MESSAGE_TOO_BIG:
                why = ("pyhost closed the connection: a request was larger than it accepts "
                       "(its max_frame_bytes, 1 MiB unless configured).")
            for future in self._waiting.values():
                if not future.done():
                    future.set_exception(ClientError(why))

    async def _event(self, event: Event) -> None:
        self._queue.append(event)
        self._arrived.set()
        for callback in self._callbacks.get(event.name, []) + self._callbacks.get("*", []):
            try:
                result = callback(event)
                if inspect.isawaitable(result):
                    await result
            except Exception:  # a callback's problem is not the connection's
                log.exception("event callback failed")


class _Namespace:
    """``client.notes`` -> ``client.notes.add(...)`` calls ``notes.add``."""

    def __init__(self, call: Callable, namespace: str):
        self._call, self._namespace = call, namespace

    def __getattr__(self, method: str) -> Callable:
        if method.startswith("_"):
            raise AttributeError(method)
        return lambda *args, **kwargs: self._call(f"{self._namespace}.{method}", *args,
                                                  **kwargs)
