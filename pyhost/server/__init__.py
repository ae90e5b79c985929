"""pyhost as a service: the AirDC++ Web API over HTTP and WebSocket, bridged to the hook bus.

    from pyhost.server import serve
    server = serve(host, "127.0.0.1:5600")     # started; server.stop() before host.shutdown()

See docs/web-api.md. Rooms: app (the server and its loop thread), dispatch, routes,
protocol (the envelope), connection (one socket and its send queue), listeners,
hook_bridge, subscriptions (listener/hook endpoints), users, sessions, openapi, and one
module per API area in api/.
"""
from __future__ import annotations

from pyhost.server.listen import parse_listen, serve
from pyhost.server.app import ApiServer, ServerError  # noqa: E402

__all__ = ["ApiServer", "ServerError", "parse_listen", "serve"]
