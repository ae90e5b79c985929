"""Serving one request, the same way for WebSocket frames and HTTP: find the endpoint, check
the session and its permission, run the handler (on the loop or in a worker thread) and
turn what happens into a code and data, or a JSON error. Nothing a client sends can make it
raise: unexpected exceptions are logged (without the request data, which may hold secrets)
and answered with 500 and one sentence."""
from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Executor
from typing import Any

from pyhost.server.protocol import ApiError
from pyhost.server.routes import Call, Routes

log = logging.getLogger("pyhost.server")


class Dispatcher:
    def __init__(self, routes: Routes, executor: Executor, server: Any):
        self.routes = routes
        self.executor = executor
        self.server = server

    async def run(self, method: str, path: str, data: Any, session: Any,
                  connection: Any = None) -> tuple[int, Any]:
        """(code, data) for success, (code, ApiError) for failure."""
        try:
            endpoint, params = self.routes.match(method, path)
            if not endpoint.public:
                if session is None:
                    raise ApiError(401, "Not authorized: log in first (sessions/authorize, "
                                        "or sessions/socket with a session's token).")
                if not session.allows(endpoint.permission):
                    raise ApiError(403, f"Permission denied: {method} {endpoint.pattern} "
                                        f"needs the {endpoint.permission} permission.")
            if endpoint.socket_only and connection is None:
                raise ApiError(400, f"{endpoint.pattern} is only available over a "
                                    "WebSocket connection.")
            call = Call(method, path, params, data, session, connection, self.server)
            if endpoint.is_async:
                result = await endpoint.handler(call)
            else:
                loop = asyncio.get_running_loop()
                result = await loop.run_in_executor(self.executor, endpoint.handler, call)
        except ApiError as exc:
            return exc.code, exc
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.error("%s %s failed: %s", method, _safe(path), type(exc).__name__,
                      exc_info=log.isEnabledFor(logging.DEBUG))
            return 500, ApiError(500, f"{method} {_safe(path)} failed unexpectedly "
                                      f"({type(exc).__name__}); see the host's log.")
        if result is None:
            return 204, None
        return 200, result


def _safe(path: str, limit: int = 120) -> str:
    """A path for a log line or an error: printable, bounded."""
    clean = "".join(c if c.isprintable() else "?" for c in path)
    return clean if len(clean) <= limit else clean[:limit] + "..."

