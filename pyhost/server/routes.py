"""The registry of endpoint handlers: method + path pattern -> handler, with the permission
each needs and what it takes and returns (for the OpenAPI document).

Handlers are registered by the API modules (:mod:`pyhost.server.api`). A path pattern is
made of literal segments and ``{name}`` parameters; when several patterns match, the one
with literal segments earlier wins (``hubs/listeners/x`` before ``hubs/{id}/chat_message``).
A handler takes a :class:`Call` and returns the reply data (None: 204 No Content).
``async def`` handlers run on the server's loop and must not block; plain functions run in
the server's worker threads, so they may touch the host, fire hooks and wait.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from pyhost.server.protocol import METHODS, ApiError


@dataclass
class Call:
    """One request as a handler sees it."""
    method: str
    path: str
    params: dict[str, str]
    data: Any
    session: Any            # sessions.Session, None for public endpoints before login
    connection: Any = None  # connection.Connection for WebSocket requests, else None
    server: Any = None

    def require_socket(self) -> Any:
        if self.connection is None:
            raise ApiError(400, f"{self.path} needs a WebSocket connection.")
        return self.connection


@dataclass
class Endpoint:
    method: str
    pattern: str
    permission: Optional[str]
    handler: Callable[[Call], Any]
    summary: str
    body: Optional[dict] = None       # JSON schema of the request data
    response: Optional[dict] = None   # JSON schema of the reply data
    public: bool = False              # no session needed
    socket_only: bool = False
    params: dict[str, dict] = field(default_factory=dict)  # {name: JSON schema}

    @property
    def segments(self) -> list[str]:
        return self.pattern.split("/")

    @property
    def is_async(self) -> bool:
        return asyncio.iscoroutinefunction(self.handler)


class Routes:
    def __init__(self) -> None:
        self._by_length: dict[int, list[Endpoint]] = {}
        self.endpoints: list[Endpoint] = []

    def add(self, method: str, pattern: str, permission: Optional[str],
            handler: Callable[[Call], Any], summary: str, **options: Any) -> Endpoint:
        method = method.upper()
        if method not in METHODS:
            raise ValueError(f"unknown method {method}")
        for known in self.endpoints:
            if known.method == method and known.pattern == pattern:
                raise ValueError(f"{method} {pattern} is registered twice")
        endpoint = Endpoint(method, pattern, permission, handler, summary, **options)
        self.endpoints.append(endpoint)
        self._by_length.setdefault(len(endpoint.segments), []).append(endpoint)
        return endpoint

    def match(self, method: str, path: str) -> tuple[Endpoint, dict[str, str]]:
        """The endpoint for a request; ApiError 404 (no such path) or 405 (other method)."""
        parts = path.split("/")
        best: Optional[tuple[tuple, Endpoint, dict]] = None
        methods: set[str] = set()
        for endpoint in self._by_length.get(len(parts), ()):
            params = _bind(endpoint.segments, parts)
            if params is None:
                continue
            rank = tuple(not s.startswith("{") for s in endpoint.segments)
            if endpoint.method != method:
                methods.add(endpoint.method)
                continue
            if best is None or rank > best[0]:
                best = (rank, endpoint, params)
        if best is not None:
            return best[1], best[2]
        if methods:
            raise ApiError(405, f"{method} is not supported for {path} "
                                f"(supported: {', '.join(sorted(methods))}).")
        raise ApiError(404, f"There is no endpoint {path}.")


def _bind(segments: list[str], parts: list[str]) -> Optional[dict[str, str]]:
    params: dict[str, str] = {}
    for seg, part in zip(segments, parts):
        if seg.startswith("{"):
            if not part:
                return None
            params[seg[1:-1]] = part
        elif seg != part:
            return None
    return params
