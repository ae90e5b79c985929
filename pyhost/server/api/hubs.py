"""``hubs``: the hubs the application is connected to, their chat, and the chat hooks.

Endpoints: ``GET hubs``, ``GET hubs/<id>``, ``POST hubs/<id>/chat_message {text,
third_person?}`` (hubs_send), ``POST hubs/<id>/status_message {text, severity?}``
(hubs_edit, as in AirDC++); listeners ``hub_message`` (chat that got through the hooks,
incoming and our own), ``hub_status`` (status messages: the API's and plugins'
``DCHub.local_message``; ``hub_status_message`` is pyhost's earlier name, still sent),
``hub_text_command`` (``{command, args, permissions}`` of ``dcpp.ui.onChatCommand``); hooks
``hub_incoming_message_hook`` (``dcpp.chat.onIncomingChat``, data: a chat message object)
and ``hub_outgoing_message_hook`` (``dcpp.chat.onOutgoingChat``, data ``{text,
third_person, hub_url, session_id}``), 2 s each. Shapes: :mod:`~pyhost.server.api.chat_objects`.

A ``chat_message`` whose text starts with ``/`` is a command: it fires
``dcpp.ui.onChatCommand`` (plugins, then ``hub_text_command`` listeners) and is not sent.
Other text fires ``dcpp.chat.onOutgoingChat`` and, unless a subscriber handled it, is sent
with the application's ``DCHub.send_message``. Both are recorded as "api" effects.
"""
from __future__ import annotations

from typing import Any, Optional

from pyhost.abi.views import CommandData, HubData
from pyhost.app.application import Hub
from pyhost.server.api import chat
from pyhost.server.hook_bridge import BridgedHook
from pyhost.server.protocol import ApiError, body, choice, flag, text
from pyhost.server.routes import Call
from pyhost.server.subscriptions import add_hooks, add_listeners

CHAT_TIMEOUT_S = 2.0
MESSAGE_SCHEMA = {"type": "object", "required": ["text"],
                  "properties": {"text": {"type": "string"},
                                 "third_person": {"type": "boolean"}}}
STATUS_SCHEMA = {"type": "object", "required": ["text"],
                 "properties": {"text": {"type": "string"},
                                "severity": {"type": "string", "enum": list(chat.SEVERITIES)}}}


class HubsApi:
    def __init__(self, server: Any):
        self.server = server
        self.host = server.host
        self.directory = chat.Directory()
        self._unsubscribe: Optional[Any] = None
        publish = server.listeners.publish
        wants = server.listeners.wants
        server.bridge.define(BridgedHook(
            "dcpp.chat.onIncomingChat", "hubs", "hub_incoming_message_hook", "hubs_edit",
            CHAT_TIMEOUT_S, self._incoming,
            on_pass=lambda m: publish("hub_message", m, self._id_of(m["from"]["hub_url"])),
            wanted=lambda: wants("hub_message")))
        server.bridge.define(BridgedHook(
            "dcpp.chat.onOutgoingChat", "hubs", "hub_outgoing_message_hook", "hubs_edit",
            CHAT_TIMEOUT_S, self._outgoing, on_pass=self._sent,
            wanted=lambda: wants("hub_message")))
        server.bridge.define(BridgedHook(
            "dcpp.ui.onChatCommand", "hubs", None, "hubs_edit", CHAT_TIMEOUT_S, self._command,
            on_pass=lambda p: publish("hub_text_command", p[1], p[0]),
            wanted=lambda: wants("hub_text_command")))
        events = ("hub_message", "hub_status", "hub_status_message", "hub_text_command")
        add_listeners(server, "hubs", "hubs_view", events, events, self._exists)
        add_hooks(server, "hubs", "hubs_edit")
        r = server.routes
        r.add("GET", "hubs", "hubs_view", self.list, "The hubs the application is on")
        r.add("GET", "hubs/{id}", "hubs_view", self.get, "One hub")
        r.add("POST", "hubs/{id}/chat_message", "hubs_send", self.chat_message,
              "Send a chat message (or a /command) to a hub", body=MESSAGE_SCHEMA)
        r.add("POST", "hubs/{id}/status_message", "hubs_edit", self.status_message,
              "Show a status message in a hub's window", body=STATUS_SCHEMA)

    def start(self) -> None:
        self._unsubscribe = self.host.effects.subscribe(self._on_effect)

    def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()

    # -- entities ------------------------------------------------------------------------
    def _id_of(self, url: str) -> int:
        return self.directory.id_for(url)

    def _known_urls(self) -> list[str]:
        hubs = getattr(self.host.app, "hubs", None)  # the simulated world lists its hubs
        if isinstance(hubs, dict):
            for url in list(hubs):
                self.directory.id_for(url)
        return self.directory.keys()

    def _find(self, url: str) -> Optional[Hub]:
        service = getattr(self.host.app, "hub", None)
        return service.find_hub(url) if service is not None else None

    def _exists(self, eid: str) -> bool:
        self._known_urls()
        return self.directory.key_for(eid) is not None

    def _hub(self, call: Call) -> Hub:
        self._known_urls()
        url = self.directory.key_for(call.params["id"])
        hub = self._find(url) if url is not None else None
        if hub is None:
            raise ApiError(404, f"There is no connected hub {call.params['id']}.")
        return hub

    def _object(self, hub: Hub) -> dict:
        protocol = hub.protocol.name.lower() if hasattr(hub.protocol, "name") else \
            int(hub.protocol)
        return chat.hub_object(self._id_of(hub.url), hub.url,
                               chat.own_nick(self.host.app, hub.url), bool(hub.is_secure),
                               hub.is_op, protocol)

    def _status(self, text: str, severity: str, hub_id: int, label: str = "") -> None:
        message = chat.status_message(text, severity, label)
        for name in ("hub_status", "hub_status_message"):
            self.server.listeners.publish(name, message, hub_id)

    # -- bus -> API ----------------------------------------------------------------------
    def _incoming(self, obj: Any, data: Any) -> dict:
        url = HubData(obj).url or ""
        hub_id = self._id_of(url)
        message = chat.c_string(data) or ""
        nick = chat.own_nick(self.host.app, url)
        return chat.chat_message(message, chat.hub_sender(url, message, nick, hub_id),
                                 own_nick=nick)

    def _outgoing(self, obj: Any, data: Any) -> dict:
        url = HubData(obj).url or ""
        return {"text": chat.c_string(data) or "", "third_person": False,
                "session_id": self._id_of(url), "hub_url": url}

    def _me(self, url: str) -> dict:
        return chat.user_object(chat.own_nick(self.host.app, url), url, flags=("self",),
                                hub_id=self._id_of(url))

    def _sent(self, payload: dict) -> None:
        url = payload["hub_url"]
        me = self._me(url)
        self.server.listeners.publish(
            "hub_message", chat.chat_message(payload["text"], me,
                                             third_person=payload["third_person"]),
            payload["session_id"])

    def _command(self, obj: Any, data: Any) -> tuple:
        url = HubData(obj).url or ""
        cmd = CommandData(data)
        return self._id_of(url), chat.text_command(cmd.command or "", cmd.params or "")

    def _on_effect(self, effect: Any) -> None:
        """Plugins' chat through DCHub shows up for the API's listeners too."""
        if effect.interface != "DCHub" or effect.error is not None:
            return
        hub = effect.args.get("hub") if isinstance(effect.args, dict) else None
        if not isinstance(hub, dict) or not isinstance(hub.get("url"), str):
            return
        url = hub["url"]
        if effect.function == "local_message":
            self._status(str(effect.args.get("message")), "info", self._id_of(url))
        elif effect.function == "send_message":
            me = self._me(url)
            self.server.listeners.publish(
                "hub_message", chat.chat_message(str(effect.args.get("message")), me,
                                                 third_person=bool(
                                                     effect.args.get("third_person"))),
                self._id_of(url))

    # -- endpoints -----------------------------------------------------------------------
    def list(self, call: Call) -> list:
        out = []
        for url in self._known_urls():
            hub = self._find(url)
            if hub is not None:
                out.append(self._object(hub))
        return out

    def get(self, call: Call) -> dict:
        return self._object(self._hub(call))

    def chat_message(self, call: Call) -> dict:
        hub = self._hub(call)
        data = body(call.data)
        message = text(data, "text")
        third_person = flag(data, "third_person")
        return chat.post_chat(
            self.host, call.session, "hubs", {"hub": hub.summary()}, message, third_person,
            ("dcpp.ui.onChatCommand", "dcpp.chat.onOutgoingChat"), hub,
            send=lambda: self.host.app.hub.send_message(hub, message, third_person))

    def status_message(self, call: Call) -> None:
        hub = self._hub(call)
        data = body(call.data)
        message = text(data, "text")
        severity = choice(data, "severity", chat.SEVERITIES, "info")

        def show() -> None:
            service = self.host.app.hub
            service.local_message(hub, message, chat.SEVERITY_TYPES[severity])
        chat.record(self.host, call.session, "hubs.status_message",
                    {"hub": hub.summary(), "message": message, "severity": severity}, show)
        self._status(message, severity, self._id_of(hub.url), call.session.user.name)
        return None


def register(server: Any) -> HubsApi:
    return HubsApi(server)
