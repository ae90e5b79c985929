"""The API areas, one module each. Each has ``register(server)``, which adds its endpoints,
listeners and hooks to the server and returns an object the server keeps (by name); that
object may have ``start()`` (called on the loop once the server listens), ``before_stop()``
(called when the server is asked to stop, while its loop and sockets still work),
``close()`` (after the loop has stopped), and ``http_routes(router)`` (aiohttp routes of its
own beside ``/api/v1/``: the web page, JSON-RPC, uploads; added before the API's catch-all
route)."""
from __future__ import annotations

import importlib
from typing import Any

AREAS = ("system", "sessions", "settings", "events", "hubs", "private_chat", "plugins",
         "testbench", "extensions", "menus", "rpc", "jsonrpc", "uploads", "web")


def register_all(server: Any) -> dict[str, Any]:
    modules = {}
    for name in AREAS:
        modules[name] = importlib.import_module(f"pyhost.server.api.{name}").register(server)
    modules["openapi"] = importlib.import_module("pyhost.server.openapi").register(server)
    return modules
