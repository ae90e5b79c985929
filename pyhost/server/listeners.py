"""Listener subscriptions and event delivery.

A WebSocket client adds a listener with ``POST <module>/listeners/<event>`` (every event of
that name) or ``POST <module>/<id>/listeners/<event>`` (one entity's); DELETE removes it and
closing the socket removes them all. :meth:`Listeners.publish` may be called from any thread
(a hook's, a plugin's, the loop's): the frame is encoded on the calling thread and delivered
on the loop in the order publish was called from that thread. It costs one dict lookup when
nobody listens.
"""
from __future__ import annotations

import asyncio
import threading
from typing import Any, Optional

from pyhost.server.protocol import event as event_frame


class Listeners:
    def __init__(self) -> None:
        # event -> {connection: set of entity ids (None = all entities)}; copy-on-write so
        # publish can read it from any thread without the lock.
        self._subs: dict[str, dict[Any, frozenset]] = {}
        self._lock = threading.Lock()
        self.loop: Optional[asyncio.AbstractEventLoop] = None
        self._loop_thread: Optional[int] = None

    def attach(self, loop: asyncio.AbstractEventLoop, thread_id: int) -> None:
        self.loop = loop
        self._loop_thread = thread_id

    # -- subscriptions (server loop) ------------------------------------------------------
    def add(self, connection: Any, event: str, entity: Any = None) -> bool:
        """False when that listener existed already."""
        entity = None if entity is None else str(entity)
        with self._lock:
            subs = dict(self._subs.get(event, {}))
            entities = subs.get(connection, frozenset())
            if entity in entities:
                return False
            subs[connection] = entities | {entity}
            self._subs = {**self._subs, event: subs}
            return True

    def remove(self, connection: Any, event: str, entity: Any = None) -> bool:
        entity = None if entity is None else str(entity)
        with self._lock:
            subs = dict(self._subs.get(event, {}))
            entities = subs.get(connection, frozenset())
            if entity not in entities:
                return False
            rest = entities - {entity}
            if rest:
                subs[connection] = rest
            else:
                del subs[connection]
            new = dict(self._subs)
            if subs:
                new[event] = subs
            else:
                new.pop(event, None)
            self._subs = new
            return True

    def remove_connection(self, connection: Any) -> None:
        with self._lock:
            new = {}
            for event, subs in self._subs.items():
                rest = {c: e for c, e in subs.items() if c is not connection}
                if rest:
                    new[event] = rest
            self._subs = new

    def count(self, connection: Any) -> int:
        return sum(len(subs.get(connection, ())) for subs in self._subs.values())

    # -- delivery (any thread) ------------------------------------------------------------
    def wants(self, event: str) -> bool:
        return event in self._subs

    def publish(self, event: str, data: Any, entity: Any = None) -> None:
        if event not in self._subs:
            return
        loop = self.loop
        if loop is None or loop.is_closed():
            return
        text = event_frame(event, data, entity)
        if threading.get_ident() == self._loop_thread:
            self._deliver(event, entity, text)
            return
        try:
            loop.call_soon_threadsafe(self._deliver, event, entity, text)
        except RuntimeError:  # the loop closed meanwhile
            pass

    def _deliver(self, event: str, entity: Any, text: str) -> None:
        key = None if entity is None else str(entity)  # paths carry ids as text
        for connection, entities in tuple(self._subs.get(event, {}).items()):
            if None in entities or (key is not None and key in entities):
                connection.send(text)
