"""Chat as the API handles it: the hubs and private chats behind entity ids, API clients'
chat lines, and the "api" effects that record what clients do. The objects (messages,
users, hubs, text commands) are built by :mod:`pyhost.server.api.chat_objects`, re-exported
here.

Hubs are known to the API by a number (``hubs/<id>``) given the first time a hub is seen
(listed by the application, in an event, or in a plugin's call); private chats by the
other user's CID (``private_chat/<cid>``).
"""
from __future__ import annotations

import itertools
import threading
from typing import Any, Callable, Optional

from pyhost.abi._ffi import ffi
from pyhost.app.application import MsgType
from pyhost.server.api.chat_objects import (  # noqa: F401 (re-exported)
    chat_message,
    hinted_user,
    hub_object,
    hub_sender,
    next_id,
    private_chat_object,
    status_message,
    text_command,
    typing_session,
    user_object,
)
from pyhost.server.protocol import ApiError

__all__ = ["SEVERITIES", "SEVERITY_TYPES", "Directory", "c_string", "chat_message",
           "hinted_user", "hub_object", "hub_sender", "next_id", "own_nick", "post_chat",
           "private_chat_object", "record", "status_message", "text_command",
           "typing_session", "user_object"]

SEVERITIES = ("notify", "info", "warning", "error", "verbose")
# Status messages land in the hub window as the ABI's local messages of this type.
SEVERITY_TYPES = {"notify": MsgType.STATUS, "info": MsgType.STATUS, "verbose": MsgType.STATUS,
                  "warning": MsgType.SYSTEM, "error": MsgType.SYSTEM}


def c_string(ptr: Any) -> str:
    """A hook's ``char*`` data (a ``void*`` cdata) as text; "" for NULL."""
    if ptr is None or ptr == ffi.NULL:
        return ""
    return ffi.string(ffi.cast("char*", ptr)).decode("utf-8", "replace")


def own_nick(app: Any, hub_url: str = "") -> str:
    """Our nick on a hub, as the application knows it."""
    hubs = getattr(app, "hubs", None)
    hub = hubs.get(hub_url) if isinstance(hubs, dict) else None
    nick = getattr(hub, "nick", "") or getattr(app, "nick", "")
    return nick if isinstance(nick, str) and nick else "pyhost"


def record(host: Any, session: Any, function: str, args: dict, thunk: Callable[[], Any]) -> Any:
    """Runs an API client's action as an effect ``{"interface": "api", "function": ...}``
    (so replays and ``pyhost run --json`` show it); an error reaches the client."""
    box: dict[str, Any] = {}

    def run():
        try:
            box["result"] = thunk()
        except ApiError as exc:
            box["error"] = exc
            return {"error": exc.message}
        except Exception as exc:
            box["error"] = ApiError(400, f"{function} failed: {exc}")
            raise
        return box["result"]

    args = {"client": session.user.name if session is not None else "-", **args}
    host.app_services.call("api", function, args, run)
    if "error" in box:
        raise box["error"]
    return box.get("result")


def post_chat(host: Any, session: Any, area: str, target: dict, message: str,
              third_person: bool, hooks: tuple[str, str], subject: Any,
              send: Callable[[], None]) -> dict:
    """An API client's chat line, as a user typing it in the client: a ``/command`` fires
    the chat command hook (``hooks[0]``) and is not sent; other text fires the outgoing chat
    hook (``hooks[1]``) and, unless a subscriber handled it, is sent: by the application's
    own processing when it has ``default_action`` (as after any outgoing chat event), else
    with ``send`` (the application's DCHub). Recorded as the "api" effect
    ``<area>.chat_command`` / ``<area>.chat_message``."""
    def fire(hook: str, obj: Any, data: Any) -> Any:
        with typing_session(session):
            return host.fire.fire(hook, obj, data)
    if message.startswith("/"):
        handled = record(host, session, f"{area}.chat_command",
                         {**target, "command": message},
                         lambda: fire(hooks[0], subject, message).handled)
        return {"command": True, "handled": handled, "sent": False}

    def run() -> bool:
        result = fire(hooks[1], subject, message)
        if result.handled:
            return False  # a subscriber handled it: not sent
        if callable(getattr(host.app, "default_action", None)):
            report = result.default if isinstance(result.default, dict) else {}
            if report.get("error") or report.get("done") is False:
                why = report.get("error") or report.get("result") or "the application refused"
                raise ApiError(400, f"The message was not sent: {why}.")
            return True
        send()
        return True
    sent = record(host, session, f"{area}.chat_message",
                  {**target, "message": message, "third_person": third_person}, run)
    return {"command": False, "handled": not sent, "sent": sent}


class Directory:
    """Entity ids of one kind: hub urls -> 1, 2, ... (or private chat CIDs -> themselves)."""

    def __init__(self, numbered: bool = True):
        self._lock = threading.Lock()
        self._ids: dict[str, Any] = {}
        self._keys: dict[str, str] = {}
        self._numbers = itertools.count(1)
        self.numbered = numbered
        self.values: dict[str, Any] = {}   # key -> last known value (e.g. a User)

    def id_for(self, key: str, value: Any = None) -> Any:
        with self._lock:
            eid = self._ids.get(key)
            if eid is None:
                eid = next(self._numbers) if self.numbered else key
                self._ids[key] = eid
                self._keys[str(eid)] = key
            if value is not None:
                self.values[key] = value
            return eid

    def key_for(self, eid: Any) -> Optional[str]:
        with self._lock:
            return self._keys.get(str(eid))

    def forget(self, key: str) -> None:
        with self._lock:
            eid = self._ids.pop(key, None)
            if eid is not None:
                self._keys.pop(str(eid), None)
            self.values.pop(key, None)

    def keys(self) -> list[str]:
        with self._lock:
            return list(self._ids)
