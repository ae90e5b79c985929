"""API sessions: an auth token per login, its user's permissions, its sockets, its expiry.

A session is made by ``sessions/authorize`` (user name and password, or a refresh token)
and named by its auth token, which clients send back (``sessions/socket`` on a WebSocket,
``Authorization: Bearer`` over HTTP). It expires after ``max_inactivity`` seconds without a
request, but never while a WebSocket is attached to it; the command line's session of a
``pyhost run`` (kind ``"control"``) lasts as long as the run, which removes it at its end. Tokens are random (256 bits) and
never appear in logs, errors or ``repr``.
"""
from __future__ import annotations

import itertools
import secrets
import threading
import time
from typing import Any, Callable, Iterable, Optional

from pyhost.server.users import ApiUser

DEFAULT_INACTIVITY_S = 20 * 60
MAX_INACTIVITY_S = 7 * 24 * 3600


class Session:
    """One login. ``sockets`` are the connections attached to it (server loop only)."""

    __slots__ = ("id", "token", "refresh_token", "user", "permissions", "kind", "created",
                 "last_activity", "max_inactivity", "sockets", "on_close", "__weakref__")

    def __init__(self, sid: int, user: ApiUser, max_inactivity: float, kind: str):
        self.id = sid
        self.token = secrets.token_urlsafe(32)
        self.refresh_token = secrets.token_urlsafe(32)
        self.user = user
        self.permissions = frozenset(user.permissions)
        self.kind = kind
        self.created = time.time()
        self.last_activity = time.monotonic()
        self.max_inactivity = max_inactivity
        self.sockets: set[Any] = set()
        # Called (on the server loop) when the session ends: logout, expiry, server stop.
        self.on_close: list[Callable[["Session"], None]] = []

    def allows(self, permission: Optional[str]) -> bool:
        return permission is None or "admin" in self.permissions or \
            permission in self.permissions

    def touch(self) -> None:
        self.last_activity = time.monotonic()

    def expired(self, now: float) -> bool:
        if self.kind == "control":  # a host idle for a week must still obey its command line
            return False
        return not self.sockets and now - self.last_activity > self.max_inactivity

    def to_dict(self) -> dict:
        return {"id": self.id, "username": self.user.name, "type": self.kind,
                "permissions": sorted(self.permissions), "sockets": len(self.sockets),
                "created": int(self.created),
                "max_inactivity": int(self.max_inactivity)}

    def __repr__(self) -> str:  # no token here, ever
        return f"<Session {self.id} {self.user.name}>"


class Sessions:
    """Every live session of one server, by token. Thread-safe."""

    def __init__(self, default_inactivity: float = DEFAULT_INACTIVITY_S):
        self.default_inactivity = default_inactivity
        self._lock = threading.Lock()
        self._by_token: dict[str, Session] = {}
        self._by_refresh: dict[str, Session] = {}
        self._ids = itertools.count(1)

    def create(self, user: ApiUser, max_inactivity: Optional[float] = None,
               kind: str = "user") -> Session:
        inactivity = self.default_inactivity if max_inactivity is None else \
            min(max(float(max_inactivity), 1.0), MAX_INACTIVITY_S)
        session = Session(next(self._ids), user, inactivity, kind)
        with self._lock:
            self._by_token[session.token] = session
            self._by_refresh[session.refresh_token] = session
        return session

    def by_token(self, token: Any) -> Optional[Session]:
        """The live session of this token, marked active; None for anything else."""
        if not isinstance(token, str) or not token:
            return None
        with self._lock:
            session = self._by_token.get(token)
        if session is None:
            return None
        if session.expired(time.monotonic()):
            self.remove(session)
            return None
        session.touch()
        return session

    def by_header(self, header: Optional[str]) -> Optional[Session]:
        """The session named by an HTTP ``Authorization`` header: ``Bearer <token>``, or a
        bare token (as AirDC++ allows); None for anything else."""
        return self.by_token(bearer_token(header))

    def take_refresh(self, refresh_token: Any) -> Optional[Session]:
        """The session of a refresh token; the token is spent (the caller makes a new one)."""
        if not isinstance(refresh_token, str) or not refresh_token:
            return None
        with self._lock:
            session = self._by_refresh.pop(refresh_token, None)
        return session

    def remove(self, session: Session) -> bool:
        with self._lock:
            found = self._by_token.pop(session.token, None) is not None
            self._by_refresh.pop(session.refresh_token, None)
        return found

    def expire(self) -> list[Session]:
        """Removes and returns the sessions idle for longer than their max_inactivity."""
        now = time.monotonic()
        with self._lock:
            gone = [s for s in self._by_token.values() if s.expired(now)]
            for s in gone:
                self._by_token.pop(s.token, None)
                self._by_refresh.pop(s.refresh_token, None)
        return gone

    def all(self) -> list[Session]:
        with self._lock:
            return list(self._by_token.values())

    def clear(self) -> Iterable[Session]:
        with self._lock:
            out = list(self._by_token.values())
            self._by_token.clear()
            self._by_refresh.clear()
        return out


def bearer_token(header: Optional[str]) -> Optional[str]:
    """The token of ``Authorization: Bearer <token>`` or of a bare token; None otherwise
    (another scheme, an empty header)."""
    if not header:
        return None
    scheme, _, rest = header.strip().partition(" ")
    if rest:
        return rest.strip() if scheme.lower() == "bearer" else None
    return scheme or None
