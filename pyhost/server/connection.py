"""One WebSocket client: its session, its bounded send queue and the task that writes it.

Everything here runs on the server's loop. :meth:`Connection.send` never blocks: a frame
goes into the connection's queue, and a writer task sends the queue in order. A client that
stops reading is dropped (the connection aborted, the reason logged) when either its queue
reaches its bound (frames or bytes: the memory a client may hold) or one send has been
stuck for longer than the stall timeout (its TCP window stayed shut: the server checks with
:meth:`Connection.stalled`). A hook or a listener never waits on a slow client.
"""
from __future__ import annotations

import asyncio
import collections
import itertools
import logging
from typing import Any, Callable, Optional

log = logging.getLogger("pyhost.server")

DEFAULT_MAX_QUEUE_FRAMES = 50_000
DEFAULT_MAX_QUEUE_BYTES = 32 * 1024 * 1024

_IDS = itertools.count(1)


class Connection:
    def __init__(self, ws: Any, transport: Any, peer: str, *,
                 max_frames: int = DEFAULT_MAX_QUEUE_FRAMES,
                 max_bytes: int = DEFAULT_MAX_QUEUE_BYTES,
                 on_close: Optional[Callable[["Connection"], None]] = None):
        self.id = next(_IDS)
        self.ws = ws
        self.transport = transport
        self.peer = peer
        self.session: Any = None
        self.max_frames = max_frames
        self.max_bytes = max_bytes
        self.closed = False
        self.drop_reason: Optional[str] = None
        self.sent = 0
        self.sending_since: Optional[float] = None  # loop time a send started, while it runs
        self._queue: collections.deque[str] = collections.deque()
        self._queued_bytes = 0
        self._wakeup = asyncio.Event()
        self._on_close = on_close
        self._writer = asyncio.get_running_loop().create_task(self._write_loop())

    def __repr__(self) -> str:
        user = self.session.user.name if self.session is not None else "-"
        return f"<Connection {self.id} {self.peer} {user}>"

    @property
    def who(self) -> str:
        user = self.session.user.name if self.session is not None else "not logged in"
        return f"API client {self.id} ({self.peer}, {user})"

    def send(self, text: str) -> bool:
        """Queues one frame; False when the connection is gone (or was dropped now)."""
        if self.closed:
            return False
        size = len(text)
        if len(self._queue) >= self.max_frames or self._queued_bytes + size > self.max_bytes:
            self.drop(f"its send queue is full ({len(self._queue)} frames, "
                      f"{self._queued_bytes} bytes): the client is not reading")
            return False
        self._queue.append(text)
        self._queued_bytes += size
        self._wakeup.set()
        return True

    async def _write_loop(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                while not self._queue:
                    if self.closed:
                        return
                    self._wakeup.clear()
                    await self._wakeup.wait()
                text = self._queue.popleft()
                self._queued_bytes -= len(text)
                self.sending_since = loop.time()
                await self.ws.send_str(text)
                self.sending_since = None
                self.sent += 1
        except asyncio.CancelledError:
            pass
        except Exception as exc:  # the peer went away mid-send
            if not self.closed:
                log.info("%s: send failed (%s); closing", self.who, type(exc).__name__)
                self._abort()

    def stalled(self, now: float, timeout: float) -> bool:
        """Drops the client if one send has waited longer than ``timeout``; True if so."""
        since = self.sending_since
        if since is None or self.closed or now - since <= timeout:
            return False
        self.drop(f"it has not read anything for {now - since:.0f} s "
                  f"({len(self._queue)} frames waiting)")
        return True

    def drop(self, reason: str) -> None:
        """Drops a client that misbehaves (e.g. does not read): logged, connection aborted."""
        if self.closed:
            return
        self.drop_reason = reason
        log.warning("dropping %s: %s", self.who, reason)
        self._abort()

    def _abort(self) -> None:
        self.mark_closed()
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.abort()

    def mark_closed(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._queue.clear()
        self._queued_bytes = 0
        self._wakeup.set()
        if self._on_close is not None:
            callback, self._on_close = self._on_close, None
            try:
                callback(self)
            except Exception:
                log.exception("cleaning up %s failed", self.who)

    async def close(self, code: int = 1001, message: str = "") -> None:
        """Closes cleanly: what is queued is sent first (bounded by a short timeout)."""
        if not self.closed:
            try:
                await asyncio.wait_for(self._flush(), 2.0)
            except (asyncio.TimeoutError, Exception):
                pass
        self.mark_closed()
        try:
            await asyncio.wait_for(self.ws.close(code=code, message=message.encode()[:120]),
                                   2.0)
        except (asyncio.TimeoutError, Exception):
            if self.transport is not None and not self.transport.is_closing():
                self.transport.abort()
        self._writer.cancel()

    async def _flush(self) -> None:
        while self._queue and not self.closed:
            await asyncio.sleep(0.01)
