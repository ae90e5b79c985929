"""The API server: aiohttp on its own event-loop thread beside the host.

    server = ApiServer(host, port=0).start()   # or pyhost.server.serve(host, "127.0.0.1:5600")
    ... server.url ...                          # http://127.0.0.1:<port>/api/v1/
    server.stop()

The same base path ``/api/v1/`` serves REST (HTTP) and the WebSocket (an upgrade request to
``/api/v1/``). Requests are dispatched by :mod:`pyhost.server.dispatch`; what touches the
host runs in the server's worker threads, never on the loop. Stop the server before the host
shuts down (``pyhost run`` does): it releases its hook subscribers and closes every socket.
"""
from __future__ import annotations

import asyncio
import logging
import ssl
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Optional

from aiohttp import WSMsgType, web
from aiohttp.http_exceptions import HttpProcessingError

from pyhost.server import api
from pyhost.server.api.system import API_FEATURE_LEVEL
from pyhost.server.connection import (
    DEFAULT_MAX_QUEUE_BYTES,
    DEFAULT_MAX_QUEUE_FRAMES,
    Connection,
)
from pyhost.server.dispatch import Dispatcher
from pyhost.server.hook_bridge import HookBridge
from pyhost.server.listeners import Listeners
from pyhost.server.protocol import (
    METHODS,
    ApiError,
    NotText,
    callback_of,
    dumps,
    error_reply,
    loads,
    normalize_path,
    parse_frame,
    reply,
)
from pyhost.server.routes import Routes
from pyhost.server.sessions import DEFAULT_INACTIVITY_S, Session, Sessions
from pyhost.server.users import UserError, UserStore

log = logging.getLogger("pyhost.server")

DEFAULT_PORT = 5600
MAX_FRAME_BYTES = 1024 * 1024      # one WebSocket message or HTTP body
MAX_INFLIGHT = 64                  # requests of one socket served at once


class ServerError(RuntimeError):
    """The server cannot start (address in use, bad TLS files, ...)."""


class ApiServer:
    def __init__(self, host: Any, *, address: str = "127.0.0.1", port: int = DEFAULT_PORT,
                 ssl_context: Optional[ssl.SSLContext] = None,
                 users: Optional[UserStore] = None,
                 session_inactivity: float = DEFAULT_INACTIVITY_S,
                 hook_timeouts: Optional[dict[str, float]] = None,
                 max_frame_bytes: int = MAX_FRAME_BYTES,
                 max_queue_frames: int = DEFAULT_MAX_QUEUE_FRAMES,
                 max_queue_bytes: int = DEFAULT_MAX_QUEUE_BYTES,
                 stall_timeout: float = 10.0, expiry_interval: float = 5.0,
                 heartbeat: float = 30.0, workers: int = 16, rpc_timeout: float = 30.0,
                 max_upload_bytes: int = 64 * 1024 * 1024):
        self.host = host
        self.address = address
        self.port = port
        self.ssl_context = ssl_context
        self.users = users or UserStore(host.home)
        self.sessions = Sessions(session_inactivity)
        self.routes = Routes()
        self.listeners = Listeners()
        self.bridge = HookBridge(host, hook_timeouts)
        self.executor = ThreadPoolExecutor(workers, thread_name_prefix="pyhost-api")
        self.dispatcher = Dispatcher(self.routes, self.executor, self)
        self.max_frame_bytes = max_frame_bytes
        self.max_queue_frames = max_queue_frames
        self.max_queue_bytes = max_queue_bytes
        self.expiry_interval = expiry_interval
        self.stall_timeout = stall_timeout
        self.heartbeat = heartbeat
        self.rpc_timeout = rpc_timeout            # exported method calls (api/rpc.py)
        self.max_upload_bytes = max_upload_bytes  # plugin files (api/uploads.py)
        self.connections: set[Connection] = set()
        # Called on the loop when a WebSocket closes, with the session it had (or None).
        self.on_disconnect: list[Callable[[Connection, Optional[Session]], None]] = []
        self.loop: Optional[asyncio.AbstractEventLoop] = None
        self._thread: Optional[threading.Thread] = None
        self._ready = threading.Event()
        self._failure: Optional[BaseException] = None
        self._stopping: Optional[asyncio.Event] = None
        self._tasks: set[asyncio.Task] = set()
        self.feature_level = API_FEATURE_LEVEL  # raised by the areas later issues add
        self.modules = api.register_all(self)  # the API areas, by name

    # -- lifecycle -----------------------------------------------------------------------
    @property
    def url(self) -> str:
        scheme = "https" if self.ssl_context is not None else "http"
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{scheme}://{host}:{self.port}/api/v1/"

    @property
    def ws_url(self) -> str:
        return self.url.replace("http", "ws", 1)

    def start(self) -> "ApiServer":
        if self._thread is not None:
            return self
        self._thread = threading.Thread(target=self._run, name="pyhost-api-loop", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._failure is not None:
            self._thread.join()
            self._thread = None
            self.executor.shutdown(wait=False)
            raise ServerError(f"Cannot listen on {self.address}:{self.port}: "
                              f"{_reason(self._failure)}.") from None
        log.info("Web API listening on %s", self.url)
        return self

    def stop(self) -> None:
        """Closes every socket, releases the hook subscribers, stops the loop (idempotent)."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        for module in self.modules.values():  # e.g. extensions stop while sockets still work
            before_stop = getattr(module, "before_stop", None)
            if callable(before_stop):
                try:
                    before_stop()
                except Exception:
                    log.exception("stopping an API area failed")
        loop = self.loop
        if loop is not None and self._stopping is not None:
            loop.call_soon_threadsafe(self._stopping.set)
        self.bridge.stop()  # wakes hooks waiting on clients before the loop goes
        thread.join(timeout=30)
        self.executor.shutdown(wait=True, cancel_futures=True)
        for module in self.modules.values():
            close = getattr(module, "close", None)
            if callable(close):
                close()

    def __enter__(self) -> "ApiServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self.loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._main())
        except BaseException as exc:  # bind failure etc.: reported by start()
            if not self._ready.is_set():
                self._failure = exc
            else:
                log.exception("the Web API loop failed")
        finally:
            self._ready.set()
            try:
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()

    async def _main(self) -> None:
        self._stopping = asyncio.Event()
        app = web.Application(client_max_size=self.max_frame_bytes,
                              middlewares=[_json_errors])
        for module in self.modules.values():  # their own paths first (the web page, /json)
            add_routes = getattr(module, "http_routes", None)
            if callable(add_routes):
                add_routes(app.router)
        app.router.add_route("*", "/api/v1", self._http)
        app.router.add_route("*", "/api/v1/{tail:.*}", self._http)
        runner = web.AppRunner(app, access_log=None, handle_signals=False,
                               logger=_REQUEST_LOG)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.address, self.port, ssl_context=self.ssl_context,
                               reuse_address=True)
            await site.start()
            sockets = getattr(site._server, "sockets", None) or ()
            if sockets:
                self.port = sockets[0].getsockname()[1]
            self.listeners.attach(asyncio.get_running_loop(), threading.get_ident())
            self.bridge.start(asyncio.get_running_loop(), threading.get_ident())
            for module in self.modules.values():
                start = getattr(module, "start", None)
                if callable(start):
                    start()
            loop = asyncio.get_running_loop()
            chores = [loop.create_task(self._expire_sessions()),
                      loop.create_task(self._drop_stalled())]
            self._ready.set()
            await self._stopping.wait()
            for chore in chores:
                chore.cancel()
            await asyncio.gather(*(c.close(1001, "server stopping")
                                   for c in list(self.connections)), return_exceptions=True)
            for session in self.sessions.clear():
                self._end_session(session)
        finally:
            await runner.cleanup()

    # -- sessions ------------------------------------------------------------------------
    def attach(self, connection: Connection, session: Session) -> None:
        """Binds a socket to a session (sessions/authorize or sessions/socket over it)."""
        if connection.session is not None and connection.session is not session:
            self.detach(connection)
        connection.session = session
        session.sockets.add(connection)

    def detach(self, connection: Connection) -> None:
        """The socket is no longer authorized: its listeners and hooks go."""
        self.listeners.remove_connection(connection)
        self.bridge.remove_connection(connection)
        session = connection.session
        if session is not None:
            session.sockets.discard(connection)
            session.touch()  # inactivity counts from the last socket's end
        connection.session = None

    def end_session(self, session: Session) -> None:
        """Logout: the token stops working; the session's sockets lose their authorization."""
        self.sessions.remove(session)
        self._end_session(session)

    def _end_session(self, session: Session) -> None:
        for connection in list(session.sockets):
            self.detach(connection)
        for callback in session.on_close:
            try:
                callback(session)
            except Exception:
                log.exception("session close callback failed")
        session.on_close.clear()

    async def _expire_sessions(self) -> None:
        while True:
            await asyncio.sleep(self.expiry_interval)
            for session in self.sessions.expire():
                log.info("session %d of %s expired", session.id, session.user.name)
                self._end_session(session)
            await self._follow_users()

    async def _follow_users(self) -> None:
        """Logins follow `pyhost user`: a removed user's sessions end, changed permissions
        apply to the live sessions (the users file is re-read only when it changed)."""
        sessions = [s for s in self.sessions.all() if s.kind == "user"]
        if not sessions:
            return
        try:
            users = await asyncio.get_running_loop().run_in_executor(self.executor,
                                                                     self.users.users)
        except UserError:
            return  # unreadable for now: new logins are refused meanwhile
        by_name = {u.name: u for u in users}
        for session in sessions:
            user = by_name.get(session.user.name)
            if user is None:
                log.info("session %d of %s ended: the user was removed", session.id,
                         session.user.name)
                self.end_session(session)
            elif frozenset(user.permissions) != session.permissions:
                session.user, session.permissions = user, frozenset(user.permissions)

    async def _drop_stalled(self) -> None:
        """Clients that stopped reading: a send stuck longer than stall_timeout."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(min(1.0, self.stall_timeout / 4))
            now = loop.time()
            for connection in list(self.connections):
                connection.stalled(now, self.stall_timeout)

    # -- HTTP ----------------------------------------------------------------------------
    async def _http(self, request: web.Request) -> web.StreamResponse:
        path = normalize_path(request.match_info.get("tail", ""))
        if not path:
            if request.headers.get("Upgrade", "").lower() == "websocket":
                return await self._websocket(request)
            return _error(ApiError(400, "This is the Web API's WebSocket address; send a "
                                        "WebSocket upgrade, or use /api/v1/<path> over HTTP."))
        if request.method not in METHODS:
            return _error(ApiError(405, f"HTTP method {request.method} is not supported."))
        data = None
        if request.method in ("POST", "PUT", "PATCH"):
            try:
                raw = await request.read()
            except web.HTTPRequestEntityTooLarge:
                return _error(ApiError(413, f"The request body is larger than "
                                            f"{self.max_frame_bytes} bytes."))
            if raw.strip():
                try:
                    data = loads(raw)
                except NotText as exc:
                    return _error(ApiError(400, str(exc)))
                except (ValueError, RecursionError):
                    return _error(ApiError(400, "The request body is not valid JSON."))
        session = self.sessions.by_header(request.headers.get("Authorization"))
        code, result = await self.dispatcher.run(request.method, path, data, session)
        if isinstance(result, ApiError):
            return _error(result)
        if code == 204:
            return web.Response(status=204)
        return web.Response(status=code, text=dumps(result), content_type="application/json")

    # -- WebSocket -----------------------------------------------------------------------
    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=self.max_frame_bytes, heartbeat=self.heartbeat)
        await ws.prepare(request)
        connection = Connection(ws, request.transport, request.remote or "?",
                                max_frames=self.max_queue_frames,
                                max_bytes=self.max_queue_bytes, on_close=self._closed)
        self.connections.add(connection)
        inflight = asyncio.Semaphore(MAX_INFLIGHT)
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await inflight.acquire()
                    task = asyncio.get_running_loop().create_task(
                        self._frame(connection, msg.data, inflight))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
                elif msg.type == WSMsgType.BINARY:
                    connection.send(error_reply(None, ApiError(
                        400, "Binary frames are not supported: send JSON text frames.")))
                elif msg.type == WSMsgType.ERROR:
                    log.info("%s: closed after a protocol error (%s)", connection.who,
                             ws.exception())
                    break
        except Exception as exc:  # a broken connection ends here, never in the host
            log.info("%s: connection failed (%s)", connection.who, type(exc).__name__)
        finally:
            connection.mark_closed()
        return ws

    async def _frame(self, connection: Connection, text: str,
                     inflight: asyncio.Semaphore) -> None:
        try:
            try:
                request = parse_frame(text)
            except ApiError as exc:
                connection.send(error_reply(callback_of(text), exc))
                return
            session = connection.session
            if session is not None and self.sessions.by_token(session.token) is not session:
                self.detach(connection)  # logged out or expired meanwhile
                session = None
            code, result = await self.dispatcher.run(request.method, request.path,
                                                     request.data, session, connection)
            if isinstance(result, ApiError):
                connection.send(error_reply(request.callback_id, result))
            elif request.callback_id is not None:
                connection.send(reply(request.callback_id, code, result))
        finally:
            inflight.release()

    def _closed(self, connection: Connection) -> None:
        self.connections.discard(connection)
        session = connection.session
        self.detach(connection)
        for callback in list(self.on_disconnect):
            try:
                callback(connection, session)
            except Exception:
                log.exception("disconnect callback failed")


async def _json_errors_handler(request, handler):
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _error(ApiError(exc.status, exc.reason or "Request refused."))
    except Exception as exc:
        log.error("HTTP %s failed: %s", request.method, type(exc).__name__)
        return _error(ApiError(500, "The request failed unexpectedly; see the host's log."))


_json_errors = web.middleware(_json_errors_handler)


class _ClientFaults(logging.Filter):
    """aiohttp logs a request it cannot parse (a header line over 8 KiB, a malformed
    request line) as an error with a traceback, though the client sent it and was answered
    400 with the connection closed: one line at INFO instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError) and 400 <= (exc.code or 0) < 500:
            remote = record.args[0] if isinstance(record.args, tuple) and record.args else "?"
            # not its text: it quotes the request, whose headers may hold a token
            log.info("%s: refused a malformed HTTP request (%s)", remote, type(exc).__name__)
            return False
        return True


# The logger aiohttp's request handlers report to (aiohttp.server's handlers see it too).
_REQUEST_LOG = logging.getLogger("pyhost.server.http")
_REQUEST_LOG.addFilter(_ClientFaults())


def _error(error: ApiError) -> web.Response:
    return web.Response(status=error.code, text=dumps(error.body()),
                        content_type="application/json")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc) or type(exc).__name__
