"""``rpc``: the plugins' exported methods (pyhost.rpc.DCRpc), called over the Web API.

``GET rpc/methods`` lists them (any session), each with ``callable`` for this session.
``POST plugins/<plugin>/rpc/<method>`` calls one: ``<plugin>`` is the plugin's guid or its
method namespace (``hub_stats``), the data is the arguments (a JSON array by position, an
object by name, none: no arguments), the reply ``{"result": <JSON value>}``. Listeners
``rpc_method_added`` (data: the method) and ``rpc_method_removed`` (``{name, plugin}``) keep
method lists current. JSON-RPC (``POST /json``, :mod:`pyhost.server.jsonrpc`) calls through
:meth:`RpcApi.call` too.

Levels against permissions (as Deluge's auth levels): a caller's level is ADMIN (10) with
``admin``, NORMAL (5) with ``plugins_edit``, READONLY (1) with ``plugins_view``, NONE (0)
otherwise, also without a session; a method is called only when the caller's level is at
least the method's. A call runs on the host's RPC worker threads, never on the server's
loop, within ``rpc_timeout`` seconds (a server setting, 30 by default): past it the caller
gets 504 and the method is left to finish on its own.
"""
from __future__ import annotations

import asyncio
from typing import Any, Optional

from pyhost.abi import rpc as spec
from pyhost.host.events import Category, Event
from pyhost.host.services.rpc import CallError, RpcMethodAdded, RpcMethodRemoved
from pyhost.server.protocol import ApiError
from pyhost.server.routes import Call
from pyhost.server.subscriptions import add_listeners

EVENTS = ("rpc_method_added", "rpc_method_removed")
PARAMS_SCHEMA = {"type": ["array", "object", "null"]}
RESULT_SCHEMA = {"type": "object", "required": ["result"], "properties": {"result": {}}}
METHOD_SCHEMA = {"type": "object", "properties": {
    "name": {"type": "string"}, "plugin": {"type": "string"},
    "plugin_name": {"type": "string"}, "namespace": {"type": "string"},
    "method": {"type": "string"}, "level": {"type": "integer"},
    "level_name": {"type": "string"}, "description": {"type": "string"},
    "callable": {"type": "boolean"}}}
# What each CallError kind becomes for the caller: HTTP status (the envelope's code).
STATUS = {"not_found": 404, "bad_params": 400, "failed": 422, "bad_result": 502,
          "timeout": 504}


def level_of(session: Any) -> int:
    """A caller's level: what its permissions allow (NONE without a session)."""
    if session is None:
        return spec.NONE
    if session.allows("admin"):
        return spec.ADMIN
    if "plugins_edit" in session.permissions:
        return spec.NORMAL
    if "plugins_view" in session.permissions:
        return spec.READONLY
    return spec.NONE


class RpcApi:
    def __init__(self, server: Any):
        self.server = server
        self.host = server.host
        self._unsubscribe: Optional[Any] = None
        add_listeners(server, "rpc", None, EVENTS)
        r = server.routes
        r.add("GET", "rpc/methods", None, self.methods,
              "The plugins' exported methods (callable: whether this session may call it)",
              response={"type": "array", "items": METHOD_SCHEMA})
        r.add("POST", "plugins/{id}/rpc/{method}", None, self.http_call,
              "Call a plugin's exported method (id: guid or namespace); the level of the "
              "method decides who may", public=True, body=PARAMS_SCHEMA,
              response=RESULT_SCHEMA)

    def start(self) -> None:
        self._unsubscribe = self.host.events.subscribe(self._on_event, Category.PLUGIN)

    def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()

    def _on_event(self, event: Event) -> None:
        listeners = self.server.listeners
        if isinstance(event, RpcMethodAdded) and listeners.wants("rpc_method_added"):
            method = self.host.rpc.lookup(event.method)
            data = method.to_dict() if method is not None else {
                "name": event.method, "plugin": event.guid, "plugin_name": event.name,
                "level": event.level, "level_name": spec.level_name(event.level),
                "description": event.description}
            listeners.publish("rpc_method_added", data)
        elif isinstance(event, RpcMethodRemoved):
            listeners.publish("rpc_method_removed", {"name": event.method,
                                                     "plugin": event.guid})

    def describe(self, session: Any) -> list:
        level = level_of(session)
        return [dict(m.to_dict(), callable=level >= m.level) for m in self.host.rpc.methods()]

    async def methods(self, call: Call) -> list:
        return self.describe(call.session)

    async def http_call(self, call: Call) -> dict:
        params = call.data
        if params is not None and not isinstance(params, (list, dict)):
            raise ApiError(400, "The request data must be the arguments: a JSON array "
                                "(positional) or object (named).", kind="bad_params")
        return {"result": await self.call(call.session, call.params["id"],
                                          call.params["method"], params)}

    async def call(self, session: Any, plugin: str, name: str, params: Any) -> Any:
        """Calls ``<plugin>.<name>`` for a session (None: anonymous); raises ApiError."""
        method = self.host.rpc.find(plugin, name)
        if method is None:
            raise ApiError(404, f"There is no exported method {plugin[:100]}.{name[:100]}.",
                           kind="not_found")
        level = level_of(session)
        if level < method.level:
            if session is None:
                raise ApiError(401, f"{method.name} needs a login (level "
                                    f"{spec.level_name(method.level)}).", kind="unauthorized")
            raise ApiError(403, f"{method.name} needs level {spec.level_name(method.level)}; "
                                f"this session has {spec.level_name(level)}.",
                           kind="forbidden")
        timeout = self.server.rpc_timeout
        try:
            future = self.host.rpc.submit(method, params)
        except CallError as exc:
            raise ApiError(STATUS.get(exc.kind, 400), exc.message, kind=exc.kind) from None
        except RuntimeError:  # the host is shutting down
            raise ApiError(503, "The host is shutting down.", kind="unavailable") from None
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), timeout)
        except asyncio.TimeoutError:
            if future.cancel():  # still queued: it never runs (running: it finishes unheard)
                raise ApiError(504, f"{method.name} was not started within {timeout:g} s: "
                                    "every call worker was busy with other calls.",
                               kind="timeout") from None
            raise ApiError(504, f"{method.name} did not answer within {timeout:g} s.",
                           kind="timeout") from None
        except CallError as exc:
            raise ApiError(STATUS.get(exc.kind, 400), exc.message, kind=exc.kind) from None


def register(server: Any) -> RpcApi:
    return RpcApi(server)
