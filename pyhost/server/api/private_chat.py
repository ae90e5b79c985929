"""``private_chat``: private chat sessions (one per other user, by CID), their messages and
hooks, mirroring ``hubs``.

Endpoints: ``GET private_chat``, ``POST private_chat {user: {cid, hub_url}}`` (open one),
``GET/DELETE private_chat/<cid>``, ``POST private_chat/<cid>/chat_message {text,
third_person?}``, ``POST private_chat/<cid>/status_message {text, severity?}``
(private_chat_edit, as in AirDC++); listeners ``private_chat_created``,
``private_chat_removed``, ``private_chat_message``, ``private_chat_status`` (and pyhost's
earlier name ``private_chat_status_message``), ``private_chat_text_command``; hooks
``private_chat_incoming_message_hook`` (``dcpp.chat.onIncomingPM``, data: a chat message) and
``private_chat_outgoing_message_hook`` (``dcpp.chat.onOutgoingPM``, data ``{text,
third_person, echo, user}`` with a hinted user). A private chat object is ``{id, user,
ccpm_state, message_counts}`` (``user`` a hinted user). An incoming private message opens
the session with its sender. Status messages of private chats have no ABI counterpart: they
reach listeners and the effect record only.
"""
from __future__ import annotations

from typing import Any

from pyhost.abi.views import CommandData, UserData
from pyhost.app.application import User
from pyhost.server.api import chat
from pyhost.server.api.hubs import CHAT_TIMEOUT_S, MESSAGE_SCHEMA, STATUS_SCHEMA
from pyhost.server.hook_bridge import BridgedHook
from pyhost.server.protocol import ApiError, body, choice, flag, text
from pyhost.server.routes import Call
from pyhost.server.subscriptions import add_hooks, add_listeners

OPEN_SCHEMA = {"type": "object", "required": ["user"],
               "properties": {"user": {"type": "object", "required": ["cid"],
                                       "properties": {"cid": {"type": "string"},
                                                      "hub_url": {"type": "string"}}}}}
EVENTS = ("private_chat_message", "private_chat_status", "private_chat_status_message",
          "private_chat_text_command")


class PrivateChatApi:
    def __init__(self, server: Any):
        self.server = server
        self.host = server.host
        self.sessions = chat.Directory(numbered=False)
        publish, wants = server.listeners.publish, server.listeners.wants
        server.bridge.define(BridgedHook(
            "dcpp.chat.onIncomingPM", "private_chat", "private_chat_incoming_message_hook",
            "private_chat_edit", CHAT_TIMEOUT_S, self._incoming,
            on_pass=lambda m: publish("private_chat_message", m, m["from"]["cid"]),
            wanted=lambda: wants("private_chat_message")))
        server.bridge.define(BridgedHook(
            "dcpp.chat.onOutgoingPM", "private_chat", "private_chat_outgoing_message_hook",
            "private_chat_edit", CHAT_TIMEOUT_S, self._outgoing, on_pass=self._sent,
            wanted=lambda: wants("private_chat_message")))
        server.bridge.define(BridgedHook(
            "dcpp.ui.onChatCommandPM", "private_chat", None, "private_chat_edit",
            CHAT_TIMEOUT_S, self._command,
            on_pass=lambda p: publish("private_chat_text_command", p[1], p[0]),
            wanted=lambda: wants("private_chat_text_command")))
        add_listeners(server, "private_chat", "private_chat_view",
                      EVENTS + ("private_chat_created", "private_chat_removed"), EVENTS,
                      lambda cid: self.sessions.key_for(cid) is not None)
        add_hooks(server, "private_chat", "private_chat_edit")
        r = server.routes
        r.add("GET", "private_chat", "private_chat_view", self.list, "Open private chats")
        r.add("POST", "private_chat", "private_chat_edit", self.open,
              "Open a private chat with an online user", body=OPEN_SCHEMA)
        r.add("GET", "private_chat/{id}", "private_chat_view", self.get, "One private chat")
        r.add("DELETE", "private_chat/{id}", "private_chat_edit", self.close_chat,
              "Close a private chat")
        r.add("POST", "private_chat/{id}/chat_message", "private_chat_send", self.chat_message,
              "Send a private message (or a /command)", body=MESSAGE_SCHEMA)
        r.add("POST", "private_chat/{id}/status_message", "private_chat_edit",
              self.status_message, "Show a status message in a private chat",
              body=STATUS_SCHEMA)

    # -- sessions ------------------------------------------------------------------------
    def _track(self, user: User) -> str:
        known = self.sessions.key_for(user.cid) is not None
        self.sessions.id_for(user.cid, user)
        if not known:
            self.server.listeners.publish("private_chat_created", self._object(user), user.cid)
        return user.cid

    def _object(self, user: User) -> dict:
        return chat.private_chat_object(self._hinted(user))

    def _user(self, user: Any, flags: tuple = ()) -> dict:
        flags = flags + (("op",) if user.is_op else ())
        hub_id = self._hub_id(user.hub_url)
        return chat.user_object(user.nick or "", user.hub_url, user.cid or "", flags, hub_id)

    @staticmethod
    def _hinted(user: Any) -> dict:
        return chat.hinted_user(user.nick or "", user.cid or "", user.hub_url,
                                ("op",) if user.is_op else ())

    def _hub_id(self, url: str) -> int:
        hubs = self.server.modules.get("hubs") if hasattr(self.server, "modules") else None
        return hubs.directory.id_for(url) if hubs is not None and url else 0

    def _session(self, call: Call) -> User:
        cid = self.sessions.key_for(call.params["id"])
        user = self.sessions.values.get(cid) if cid is not None else None
        if user is None:
            raise ApiError(404, f"There is no private chat {call.params['id']}.")
        return user

    # -- bus -> API ----------------------------------------------------------------------
    @staticmethod
    def _view_user(obj: Any) -> User:
        v = UserData(obj)
        return User(v.nick or "", v.cid or "", v.hub_hint or "", v.sid, v.protocol, v.is_op)

    def _me(self, hub_url: str) -> dict:
        return chat.user_object(chat.own_nick(self.host.app, hub_url), hub_url,
                                flags=("self",), hub_id=self._hub_id(hub_url))

    def _incoming(self, obj: Any, data: Any) -> dict:
        user = self._view_user(obj)
        self._track(user)
        sender = self._user(user)
        return chat.chat_message(chat.c_string(data) or "", sender, to=self._me(user.hub_url),
                                 reply_to=sender,
                                 own_nick=chat.own_nick(self.host.app, user.hub_url))

    def _outgoing(self, obj: Any, data: Any) -> dict:
        user = self._view_user(obj)
        return {"text": chat.c_string(data) or "", "third_person": False, "echo": False,
                "user": self._hinted(user)}

    def _sent(self, payload: dict) -> None:
        hinted = payload["user"]
        user = User(hinted["nicks"], hinted["cid"], hinted["hub_url"],
                    is_op="op" in hinted["flags"])
        message = chat.chat_message(payload["text"], self._me(user.hub_url),
                                    to=self._user(user), reply_to=self._user(user),
                                    third_person=payload["third_person"])
        self.server.listeners.publish("private_chat_message", message, user.cid)

    def _command(self, obj: Any, data: Any) -> tuple:
        user = self._view_user(obj)
        cmd = CommandData(data)
        return user.cid, chat.text_command(cmd.command or "", cmd.params or "")

    # -- endpoints -----------------------------------------------------------------------
    def list(self, call: Call) -> list:
        return [self._object(u) for u in list(self.sessions.values.values())]

    def get(self, call: Call) -> dict:
        return self._object(self._session(call))

    def open(self, call: Call) -> dict:
        data = body(call.data)
        who = data.get("user")
        if not isinstance(who, dict):
            raise ApiError(400, "Field 'user' must be an object with a cid.", "user")
        cid = text(who, "cid", max_len=200)
        hub_url = text(who, "hub_url", required=False, max_len=2048) or ""
        service = getattr(self.host.app, "hub", None)
        user = service.find_user(cid, hub_url) if service is not None else None
        if user is None:
            raise ApiError(404, f"No online user has the CID {cid}.")
        self._track(user)
        return self._object(user)

    def close_chat(self, call: Call) -> None:
        user = self._session(call)
        self.sessions.forget(user.cid)
        self.server.listeners.publish("private_chat_removed", self._object(user), user.cid)

    def chat_message(self, call: Call) -> dict:
        user = self._session(call)
        data = body(call.data)
        message = text(data, "text")
        third_person = flag(data, "third_person")
        def send() -> None:
            if not self.host.app.hub.send_private_message(user, message, third_person):
                raise ApiError(400, f"{user.nick} is not online: the message was not sent.")
        return chat.post_chat(
            self.host, call.session, "private_chat", {"to": user.summary()}, message,
            third_person, ("dcpp.ui.onChatCommandPM", "dcpp.chat.onOutgoingPM"), user, send)

    def status_message(self, call: Call) -> None:
        user = self._session(call)
        data = body(call.data)
        message = text(data, "text")
        severity = choice(data, "severity", chat.SEVERITIES, "info")
        chat.record(self.host, call.session, "private_chat.status_message",
                    {"to": user.summary(), "message": message, "severity": severity},
                    lambda: None)
        status = chat.status_message(message, severity, call.session.user.name)
        for name in ("private_chat_status", "private_chat_status_message"):
            self.server.listeners.publish(name, status, user.cid)


def register(server: Any) -> PrivateChatApi:
    return PrivateChatApi(server)
