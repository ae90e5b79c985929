"""Hub protocol lines the simulated world understands (ADC and NMDC), and what applying one
does to the world, as a DC client would: users join and quit, chat and private messages
arrive (as the hooks a client fires for them).

=====================================  ===========================================
line (ADC / NMDC)                      the world
=====================================  ===========================================
``BINF <SID> NI<nick> [ID<cid>] ...``  the user comes online (fires users.onOnline)
``$MyINFO $ALL <nick> ...``
``IQUI <SID>`` / ``$Quit <nick>``       the user goes offline (fires users.onOffline)
``BMSG <SID> <text> [ME1]``            chat (fires chat.onIncomingChat with the text;
``IMSG <text>`` / ``<nick> <text>``    its default shows the line in the hub's chat)
``DMSG``/``EMSG <SID> <to> <text>``    a private message (fires chat.onIncomingPM)
``$To: <me> From: <nick> $<text>``
anything else                          only kept in the hub's ``received`` list
=====================================  ===========================================

An ADC SID is four characters; the UserData ``sid`` is those four bytes read as a
little-endian 32-bit number, as DC++ stores it (``AAAB`` is 1111572801).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Optional

from pyhost.app.application import ProtocolType
from pyhost.app.world_entities import ChatLine

_NMDC_CHAT = re.compile(r"<([^>]+)> (.*)", re.S)
_NMDC_ME = re.compile(r"\* (\S+) (.*)", re.S)
_NMDC_PM = re.compile(r"\$To: \S+ From: (\S+) \$(?:<[^>]*> )?(.*)", re.S)


@dataclass(frozen=True)
class Parsed:
    """What a line means: kind "join", "quit", "chat" or "pm", and who (an ADC sid or an
    NMDC nick), with the text of a message."""
    kind: str
    sid: Optional[int] = None
    nick: str = ""
    cid: str = ""
    text: str = ""
    third_person: bool = False


def to_sid(sid: str) -> int:
    """An ADC SID (4 characters) as the uint32 DC++ keeps in UserData.sid."""
    return int.from_bytes(sid.encode("utf-8", "replace")[:4].ljust(4, b"\0"), "little")


def adc_unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"s": " ", "n": "\n"}.get(m.group(1), m.group(1)), text)


def nmdc_unescape(text: str) -> str:
    return text.replace("&#36;", "$").replace("&#124;", "|").replace("&amp;", "&")


def parse(line: str, protocol: ProtocolType) -> Optional[Parsed]:
    """The meaning of one incoming hub line, or None for a line the world only records."""
    line = line.rstrip("\r\n")
    if protocol == ProtocolType.NMDC:
        return _nmdc(line[:-1] if line.endswith("|") else line)
    return _adc(line)


def _adc(line: str) -> Optional[Parsed]:
    parts = line.split(" ")
    head = parts[0]
    if len(head) != 4:
        return None
    kind, command = head[0], head[1:]
    me = "ME1" in parts[2:]
    if command == "INF" and kind == "B" and len(parts) >= 2:
        fields = {p[:2]: adc_unescape(p[2:]) for p in parts[2:] if len(p) >= 2}
        return Parsed("join", to_sid(parts[1]), fields.get("NI", ""), fields.get("ID", ""))
    if command == "QUI" and kind == "I" and len(parts) >= 2:
        return Parsed("quit", to_sid(parts[1]))
    if command == "MSG":
        if kind == "I" and len(parts) >= 2:
            return Parsed("chat", text=adc_unescape(parts[1]), third_person=me)
        if kind == "B" and len(parts) >= 3:
            return Parsed("chat", to_sid(parts[1]), text=adc_unescape(parts[2]),
                          third_person="ME1" in parts[3:])
        if kind in "DE" and len(parts) >= 4:
            return Parsed("pm", to_sid(parts[1]), text=adc_unescape(parts[3]),
                          third_person="ME1" in parts[4:])
    return None


def _nmdc(line: str) -> Optional[Parsed]:
    if line.startswith("$MyINFO $ALL "):
        nick = line[len("$MyINFO $ALL "):].split(" ", 1)[0]
        return Parsed("join", nick=nick) if nick else None
    if line.startswith("$Quit "):
        nick = line[len("$Quit "):].strip()
        return Parsed("quit", nick=nick) if nick else None
    for pattern, kind, me in ((_NMDC_PM, "pm", False), (_NMDC_CHAT, "chat", False),
                              (_NMDC_ME, "chat", True)):
        m = pattern.fullmatch(line)
        if m:
            return Parsed(kind, nick=m.group(1), text=nmdc_unescape(m.group(2)),
                          third_person=me)
    return None


# ---- applying a line to the world -------------------------------------------------------------

def apply_line(world: Any, hub: Any, line: str) -> Optional[str]:
    """Applies an incoming line to ``hub`` (a WorldHub) of ``world``: returns what it did
    in a few words, or None when the line means nothing to the world."""
    parsed = parse(line, hub.protocol)
    if parsed is None:
        return None
    with world._lock:
        user = _find(world, hub.url, parsed)
    if parsed.kind == "join":
        return _join(world, hub, parsed, user)
    who = parsed.nick if user is None else user.nick
    if parsed.kind == "quit":
        if user is None or not user.online:
            return f"no user {_who(parsed)} is online"
        world._fire("user_offline", "dcpp.users.onOffline", user.value())
        with world._lock:
            user.online = False
        return f"{who} went offline"
    if parsed.kind == "chat":
        if not world._fire_message("incoming_chat", "dcpp.chat.onIncomingChat", hub.value(),
                                   parsed.text, who, parsed.third_person):
            with world._lock:
                hub.chat.append(ChatLine(parsed.text, parsed.third_person, who))
        return f"chat from {who or 'the hub'}"
    if user is None and parsed.nick:  # NMDC: a PM names its sender, who may be new to us
        world.user_for(parsed.nick, hub_url=hub.url, protocol=hub.protocol)
        with world._lock:
            user = _find(world, hub.url, parsed)
    if user is None:
        return f"a private message from {_who(parsed)}, who is not on the hub"
    if not world._fire_message("incoming_pm", "dcpp.chat.onIncomingPM", user.value(),
                               parsed.text, user.nick, parsed.third_person):
        with world._lock:
            user.pms.append(ChatLine(parsed.text, parsed.third_person, user.nick))
    return f"private message from {user.nick}"


def _who(parsed: Parsed) -> str:
    if parsed.sid is None:
        return parsed.nick
    return parsed.sid.to_bytes(4, "little").decode("utf-8", "replace")


def _find(world: Any, url: str, parsed: Parsed):
    for (_, hub_url), user in world.users.items():
        if hub_url != url:
            continue
        if parsed.sid is not None and user.sid == parsed.sid:
            return user
        if parsed.sid is None and parsed.nick and user.nick == parsed.nick:
            return user
    return None


def _join(world: Any, hub: Any, parsed: Parsed, user: Any) -> str:
    if user is None and not (parsed.nick or parsed.cid):
        return f"no user {_who(parsed)} is known, and the line names no NI or ID"
    was_online = user is not None and user.online
    fields: dict[str, Any] = {"protocol": hub.protocol}
    if parsed.sid is not None:
        fields["sid"] = parsed.sid
    if user is None:
        value = world.user_for(parsed.nick, parsed.cid, hub.url, **fields)
    else:
        value = world.user_for(parsed.nick or user.nick, user.cid, hub.url, **fields)
    if was_online:
        return f"{value.nick} is online (updated)"
    world._fire("user_online", "dcpp.users.onOnline", value)
    return f"{value.nick} came online"
