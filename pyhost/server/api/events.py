"""``events``: the event log. ``POST events {text, severity?}`` adds a message (a host event,
``api_event_message``, and an "api" effect); ``GET events`` returns the latest messages;
listeners ``event_message`` get every message: the API's, plugins' log lines
(``plugin_log`` host events, severity info) and host errors (severity error).

pyhost's own listener ``host_event`` gets every host event as it happens (what ``pyhost run
--json`` prints: ``{kind, seq, time, category: [...], ...}``), for the web page's live
stream with its category filters; ``GET events/host`` returns the latest ones (the same
objects, oldest first)."""
from __future__ import annotations

import collections
import threading
from dataclasses import dataclass
from typing import Any, ClassVar, Optional

from pyhost.host.events import Category, Event, PluginLog
from pyhost.server.api import chat
from pyhost.server.hook_bridge import ApiHookSkipped, ApiHookTimedOut
from pyhost.server.protocol import body, choice, text
from pyhost.server.routes import Call
from pyhost.server.subscriptions import add_listeners

KEPT = 500
MESSAGE_SCHEMA = {"type": "object", "required": ["text"],
                  "properties": {"text": {"type": "string"},
                                 "severity": {"type": "string", "enum": list(chat.SEVERITIES)}}}


@dataclass(frozen=True)
class ApiEventMessage(Event):
    """A message an API client posted to the event log."""

    category: ClassVar[Category] = Category.LOG
    text: str
    severity: str
    user: str


class EventsApi:
    def __init__(self, server: Any):
        self.server = server
        self.host = server.host
        self._log: collections.deque[dict] = collections.deque(maxlen=KEPT)
        self._lock = threading.Lock()
        self._unsubscribe: Optional[Any] = None
        self._host_unsubscribe: Optional[Any] = None
        self._host_log: collections.deque[dict] = collections.deque(maxlen=KEPT)
        server.bridge.on_error.append(lambda message: self.add(message, "error"))
        add_listeners(server, "events", "events_view", ("event_message", "host_event"))
        r = server.routes
        r.add("GET", "events", "events_view", self.latest, "The latest event log messages")
        r.add("POST", "events", "events_edit", self.post, "Add a message to the event log",
              body=MESSAGE_SCHEMA)
        r.add("GET", "events/host", "events_view", self.latest_host,
              "The latest host events (pyhost)")

    def start(self) -> None:
        self._unsubscribe = self.host.events.subscribe(self._on_host_event,
                                                       Category.LOG | Category.ERROR)
        self._host_unsubscribe = self.host.events.subscribe(self._stream, Category.ALL)

    def close(self) -> None:
        for unsubscribe in (self._unsubscribe, self._host_unsubscribe):
            if unsubscribe is not None:
                unsubscribe()

    def _stream(self, event: Event) -> None:
        entry = event.to_dict()
        with self._lock:
            self._host_log.append(entry)
        self.server.listeners.publish("host_event", entry)

    def add(self, message: str, severity: str) -> dict:
        entry = chat.status_message(message, severity)
        with self._lock:
            self._log.append(entry)
        self.server.listeners.publish("event_message", entry)
        return entry

    def _on_host_event(self, event: Event) -> None:
        if isinstance(event, ApiEventMessage):
            self.add(event.text, event.severity)
        elif isinstance(event, PluginLog):
            self.add(f"{event.name}: {event.message}", "info")
        elif event.category & Category.ERROR and not isinstance(
                event, (ApiHookTimedOut, ApiHookSkipped)):  # told already (bridge.on_error)
            fields = event.to_dict()
            what = fields.get("reason") or fields.get("error") or event.kind
            self.add(f"{event.kind}: {what}", "error")

    def latest(self, call: Call) -> list:
        with self._lock:
            return list(self._log)

    def latest_host(self, call: Call) -> list:
        with self._lock:
            return list(self._host_log)

    def post(self, call: Call) -> None:
        data = body(call.data)
        message = text(data, "text")
        severity = choice(data, "severity", chat.SEVERITIES, "info")
        user = call.session.user.name

        def emit() -> None:
            if self.host.events.emit(ApiEventMessage, text=message, severity=severity,
                                     user=user) is None:
                self.add(message, severity)  # LOG events switched off: listeners still hear
        chat.record(self.host, call.session, "events.message",
                    {"text": message, "severity": severity}, emit)


def register(server: Any) -> EventsApi:
    return EventsApi(server)
