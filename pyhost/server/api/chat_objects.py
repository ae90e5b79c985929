"""The chat objects of AirDC++'s Web API, in the shapes its serializers give them (what real
extensions read):

- an online user (``from``, ``to``, ``reply_to`` of a message): ``{cid, nick, hub_url,
  hub_name, hub_session_id, flags, share_size, description, tag, upload_speed,
  download_speed, ip4, ip6, email, file_count, supports, upload_slots}``; flags are
  AirDC++'s: ``self`` (us), ``op``, ``bot`` (also the hub itself), ...
- a hinted user (private chats, the outgoing PM hook): ``{cid, nicks, hub_url, hub_names,
  hub_urls, flags}``;
- a chat message: ``{id, text, from, time, is_read, third_person, highlights, has_mention,
  to?, reply_to?}``;
- a status (log) message: ``{id, text, time, severity, label, is_read, highlights, type}``;
- a text command (``hub_text_command``, ``private_chat_text_command``): ``{command, args,
  permissions}``, the args split at white space with "double quoted" parts kept together,
  the permissions those of the session that typed it (``admin`` for the application and
  plugins).

The ABI's incoming hub chat is only a hub and a text, so for it pyhost fills ``from`` like
this: when the text starts with ``<nick> `` (the NMDC chat form) ``nick`` is that nick,
otherwise ``nick`` is empty and ``flags`` is ``["bot"]`` (a message from the hub itself);
``cid`` is empty, ``hub_url`` and ``hub_name`` are the hub's url, ``flags`` holds ``self``
when the nick is our own nick on that hub. Values the ABI does not give (share size, IPs,
...) are empty or zero.
"""
from __future__ import annotations

import itertools
import re
import threading
import time
from typing import Any, Optional

_NICK = re.compile(r"<([^<>\s]{1,64})> ")
_TOKEN = re.compile(r'"([^"]*)"|(\S+)')
_message_ids = itertools.count(1)
_typing = threading.local()  # the API session whose chat line is being handled


def next_id() -> int:
    return next(_message_ids)


def _ip() -> dict:
    return {"str": "", "country": "", "ip": ""}


def user_object(nick: str, hub_url: str, cid: str = "", flags: tuple = (),
                hub_id: int = 0) -> dict:
    """An online user."""
    return {"cid": cid, "nick": nick, "hub_url": hub_url, "hub_name": hub_url,
            "hub_session_id": hub_id, "flags": list(flags), "share_size": 0,
            "description": "", "tag": "", "upload_speed": 0, "download_speed": 0,
            "ip4": _ip(), "ip6": _ip(), "email": "", "file_count": 0, "supports": [],
            "upload_slots": 0}


def hinted_user(nick: str, cid: str, hub_url: str, flags: tuple = ()) -> dict:
    return {"cid": cid, "nicks": nick, "hub_url": hub_url, "hub_names": hub_url,
            "hub_urls": [hub_url] if hub_url else [], "flags": list(flags)}


def hub_sender(hub_url: str, text: str, own_nick: str, hub_id: int = 0) -> dict:
    """``from`` for incoming hub chat (see the module docstring)."""
    m = _NICK.match(text)
    if m is None:
        return user_object("", hub_url, flags=("bot",), hub_id=hub_id)
    nick = m.group(1)
    return user_object(nick, hub_url, flags=("self",) if nick == own_nick else (),
                       hub_id=hub_id)


def chat_message(text: str, sender: dict, to: Optional[dict] = None,
                 reply_to: Optional[dict] = None, third_person: bool = False,
                 mid: Optional[int] = None, own_nick: str = "") -> dict:
    mention = bool(own_nick) and "self" not in sender.get("flags", ()) and \
        own_nick.lower() in text.lower()
    out = {"id": next_id() if mid is None else mid, "text": text, "from": sender,
           "time": int(time.time()), "is_read": False, "third_person": third_person,
           "highlights": [], "has_mention": mention}
    if to is not None:
        out["to"] = to
    if reply_to is not None:
        out["reply_to"] = reply_to
    return out


def status_message(text: str, severity: str, label: str = "") -> dict:
    return {"id": next_id(), "text": text, "time": int(time.time()), "severity": severity,
            "label": label, "is_read": False, "highlights": [], "type": "system"}


def split_args(params: str) -> list[str]:
    return [m.group(1) if m.group(1) is not None else m.group(2)
            for m in _TOKEN.finditer(params or "")]


def text_command(command: str, params: str) -> dict:
    return {"command": command, "args": split_args(params), "permissions": typing_permissions()}


class typing_session:
    """``with typing_session(session):`` around the hooks an API client's chat line fires,
    so its text command carries that session's permissions."""

    def __init__(self, session: Any):
        self.session = session

    def __enter__(self) -> None:
        self.previous = getattr(_typing, "session", None)
        _typing.session = self.session

    def __exit__(self, *exc: Any) -> None:
        _typing.session = self.previous


def typing_permissions() -> list[str]:
    session = getattr(_typing, "session", None)
    if session is None:
        return ["admin"]  # the application, a plugin, a replay
    return sorted(session.permissions)


def message_counts() -> dict:
    return {"total": 0, "unread": {"mention": 0, "user": 0, "bot": 0, "status": 0,
                                   "verbose": 0}}


def hub_object(hub_id: int, url: str, own_nick: str, is_secure: bool, is_op: bool,
               protocol: Any) -> dict:
    return {"id": hub_id, "hub_url": url, "identity": {"name": url, "description": ""},
            "connect_state": {"id": "connected", "str": "Connected"}, "favorite_hub": 0,
            "share_profile": None, "message_counts": message_counts(),
            "encryption": {"str": "TLS", "trusted": True} if is_secure else None,
            "settings": {"nick": own_nick, "use_main_chat_notify": None, "show_joins": None,
                         "fav_show_joins": None},
            "protocol": protocol, "is_op": is_op}


def private_chat_object(user: dict) -> dict:
    return {"id": user["cid"], "user": user,
            "ccpm_state": {"id": "disconnected", "str": "Disconnected", "supported": False},
            "message_counts": message_counts()}
