"""JSON-RPC 2.0 at ``POST /json``, for simple scripts (as Deluge's web UI has one).

    {"jsonrpc": "2.0", "method": "auth.login", "params": {"username": "u", "password": "p"}, "id": 1}
    {"jsonrpc": "2.0", "method": "rpc_demo.add", "params": [2, 3], "id": 2}   -> "result": 5

Authorization: ``Authorization: Bearer <token>`` (a Web API session's auth token), or the
session cookie that ``auth.login`` sets (``pyhost_session``: HttpOnly, SameSite=Strict;
``auth.logout`` ends the session and clears it). The request must be sent as
``Content-Type: application/json``: a page of another site cannot send that without the
browser asking first, so the cookie cannot be used behind the user's back.

Methods: ``auth.login``, ``auth.logout``, ``rpc.methods`` (the list ``GET rpc/methods``
gives), and every exported method by its full name ``<namespace>.<name>`` with the levels
of :mod:`pyhost.server.api.rpc`. Batches (arrays, at most 100 calls) and notifications
(no ``id``: no answer) work as the specification says. Errors: -32700 parse error, -32600
invalid request, -32601 method not found, -32602 invalid params, -32603 internal error,
and pyhost's: -32000 the method failed (``data.code`` ``failed`` or ``bad_result``),
-32001 not authorized (login needed, or bad credentials), -32003 level too low,
-32004 timed out, -32005 unavailable.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Optional

from aiohttp import web

from pyhost.server.protocol import ApiError, NotText, dumps, loads

log = logging.getLogger("pyhost.server")

COOKIE = "pyhost_session"
MAX_BATCH = 100
PARSE_ERROR, INVALID_REQUEST, NOT_FOUND, INVALID_PARAMS, INTERNAL = \
    -32700, -32600, -32601, -32602, -32603
FAILED, UNAUTHORIZED, FORBIDDEN, TIMEOUT, UNAVAILABLE = -32000, -32001, -32003, -32004, -32005
_BY_STATUS = {404: NOT_FOUND, 400: INVALID_PARAMS, 401: UNAUTHORIZED, 403: FORBIDDEN,
              422: FAILED, 502: FAILED, 504: TIMEOUT, 503: UNAVAILABLE}


class _Error(Exception):
    def __init__(self, code: int, message: str, data: Any = None):
        super().__init__(message)
        self.code, self.message, self.data = code, message, data


class _Exchange:
    """One HTTP request: its session, and the cookie to set or clear on the reply."""

    def __init__(self, session: Any):
        self.session = session
        self.cookie: Optional[str] = None   # token to set
        self.clear = False


class JsonRpcApi:
    def __init__(self, server: Any):
        self.server = server

    def http_routes(self, router: web.UrlDispatcher) -> None:
        router.add_post("/json", self.handle)

    async def handle(self, request: web.Request) -> web.Response:
        if request.content_type != "application/json":
            return _reply(_error(None, _Error(INVALID_REQUEST, "Send JSON-RPC with "
                                              "Content-Type: application/json.")), 415)
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _reply(_error(None, _Error(INVALID_REQUEST, "The request is larger than "
                                              f"{self.server.max_frame_bytes} bytes.")), 413)
        try:
            message = loads(raw)
        except NotText as exc:
            return _reply(_error(None, _Error(PARSE_ERROR, f"Parse error: {exc}")))
        except (ValueError, RecursionError):
            return _reply(_error(None, _Error(PARSE_ERROR, "Parse error: not valid JSON.")))
        exchange = _Exchange(self._session(request))
        if isinstance(message, list):
            if not message or len(message) > MAX_BATCH:
                return _reply(_error(None, _Error(INVALID_REQUEST, "A batch holds 1 to "
                                                  f"{MAX_BATCH} requests.")))
            answers = [await self._one(item, exchange) for item in message]
            body: Any = [a for a in answers if a is not None]
        else:
            body = await self._one(message, exchange)
        response = _reply(body) if body not in (None, []) else web.Response(status=204)
        if exchange.cookie is not None:
            response.set_cookie(COOKIE, exchange.cookie, httponly=True, samesite="Strict",
                                path="/", secure=self.server.ssl_context is not None)
        elif exchange.clear:
            response.del_cookie(COOKIE, path="/")
        return response

    def _session(self, request: web.Request) -> Any:
        sessions = self.server.sessions
        header = request.headers.get("Authorization")
        if header:
            return sessions.by_header(header)
        return sessions.by_token(request.cookies.get(COOKIE))

    async def _one(self, request: Any, exchange: _Exchange) -> Optional[dict]:
        rid = request.get("id") if isinstance(request, dict) else None
        bad_id = not isinstance(rid, (str, int, float, type(None))) or isinstance(rid, bool)
        if bad_id:
            rid = None
        notify = isinstance(request, dict) and "id" not in request
        try:
            if not isinstance(request, dict) or request.get("jsonrpc") != "2.0":
                raise _Error(INVALID_REQUEST, 'A request is an object with "jsonrpc": "2.0".')
            if bad_id:  # refused before it runs: its answer could not be matched to it
                raise _Error(INVALID_REQUEST, "id must be a string, a number or null.")
            method, params = request.get("method"), request.get("params")
            if not isinstance(method, str) or not method or len(method) > 200:
                raise _Error(INVALID_REQUEST, "method must be a non-empty string.")
            if params is not None and not isinstance(params, (list, dict)):
                raise _Error(INVALID_REQUEST, "params must be an array or an object.")
            result = await self._dispatch(method, params, exchange)
        except _Error as exc:
            return None if notify else _error(rid, exc)
        except ApiError as exc:
            return None if notify else _error(rid, _Error(
                _BY_STATUS.get(exc.code, INTERNAL), exc.message,
                {"code": exc.kind or "error", "status": exc.code}))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.error("JSON-RPC %s failed: %s", _safe(request), type(exc).__name__)
            return None if notify else _error(rid, _Error(INTERNAL, "Internal error; see "
                                                          "the host's log."))
        return None if notify else {"jsonrpc": "2.0", "result": result, "id": rid}

    async def _dispatch(self, method: str, params: Any, exchange: _Exchange) -> Any:
        if method == "auth.login":
            return await self._login(params, exchange)
        if method == "auth.logout":
            if exchange.session is not None:
                self.server.end_session(exchange.session)
                exchange.session = None
            exchange.clear = True
            return True
        if method == "rpc.methods":
            if exchange.session is None:
                raise _Error(UNAUTHORIZED, "Log in first (auth.login, or a Bearer token).")
            return self.server.modules["rpc"].describe(exchange.session)
        namespace, _, name = method.rpartition(".")
        if not namespace or not name:
            raise _Error(NOT_FOUND, f"There is no method {method[:100]!r}: exported methods "
                                    "are named <plugin>.<method>.")
        return await self.server.modules["rpc"].call(exchange.session, namespace, name,
                                                     params)

    async def _login(self, params: Any, exchange: _Exchange) -> dict:
        if isinstance(params, list) and len(params) == 2:
            params = {"username": params[0], "password": params[1]}
        if not isinstance(params, dict) or not isinstance(params.get("username"), str) or \
                not isinstance(params.get("password"), str):
            raise _Error(INVALID_PARAMS, "auth.login takes {username, password}.")
        name, password = params["username"], params["password"]  # whole: never cut
        loop = asyncio.get_running_loop()  # scrypt takes a while: not on the loop
        user = await loop.run_in_executor(self.server.executor,
                                          self.server.users.authenticate, name, password)
        if user is None:
            raise _Error(UNAUTHORIZED, "Invalid username or password.")
        session = self.server.sessions.create(user)
        exchange.session = session
        exchange.cookie = session.token
        return {"session_id": session.id, "username": user.name,
                "permissions": sorted(session.permissions)}


def _error(rid: Any, exc: _Error) -> dict:
    error: dict[str, Any] = {"code": exc.code, "message": exc.message}
    if exc.data is not None:
        error["data"] = exc.data
    return {"jsonrpc": "2.0", "error": error, "id": rid}


def _reply(body: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, text=dumps(body), content_type="application/json")


def _safe(request: Any) -> str:
    method = request.get("method") if isinstance(request, dict) else None
    return repr(method[:100]) if isinstance(method, str) else "request"


def register(server: Any) -> JsonRpcApi:
    return JsonRpcApi(server)
