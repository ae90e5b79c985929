"""The simulated world's entities: hubs, users, connections, queue items and chat lines,
with the value types (``pyhost.app.application``) they hand out."""
from __future__ import annotations

import base64
import hashlib
import ipaddress
import re
from dataclasses import dataclass, field
from typing import Optional

from pyhost.app.application import (
    Connection,
    Hub,
    MsgType,
    ProtocolType,
    QueueItem,
    QueuePrio,
    User,
)

_TTH = re.compile(r"[A-Z2-7]{39}")
_SCHEMES = {"adc": (ProtocolType.ADC, False), "adcs": (ProtocolType.ADC, True),
            "dchub": (ProtocolType.NMDC, False), "nmdc": (ProtocolType.NMDC, False),
            "nmdcs": (ProtocolType.NMDC, True)}


def make_cid(nick: str) -> str:
    """A stable, valid-looking CID (39 base32 characters) for a nick."""
    digest = hashlib.sha256(nick.encode("utf-8")).digest()[:24]
    return base64.b32encode(digest).decode("ascii").rstrip("=")


def _doc_ip(name: str) -> str:
    """A name's IP: itself if it is one, else a stable address from 192.0.2.0/24."""
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        return f"192.0.2.{hashlib.sha256(name.encode()).digest()[0] % 254 + 1}"


# ---- entities -------------------------------------------------------------------------------

@dataclass
class ChatLine:
    """A line of a chat window: ``nick`` says it (empty: the hub or the client itself)."""
    text: str
    third_person: bool = False
    nick: str = ""

    def __str__(self) -> str:
        if self.third_person:
            return f"* {self.nick} {self.text}" if self.nick else f"* {self.text}"
        return f"<{self.nick}> {self.text}" if self.nick else self.text


@dataclass
class WorldHub:
    url: str
    ip: str
    port: int
    protocol: ProtocolType
    is_secure: bool
    handle: int
    is_op: bool = False
    nick: str = ""
    online: bool = True
    chat: list[ChatLine] = field(default_factory=list)
    status: list[tuple[str, MsgType]] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)
    emulated: list[str] = field(default_factory=list)
    received: list[str] = field(default_factory=list)  # protocol lines applied

    def value(self) -> Hub:
        return Hub(self.url, self.ip, self.port, self.protocol, self.is_op, self.is_secure,
                   self.handle)


@dataclass
class WorldUser:
    nick: str
    cid: str
    hub_url: str
    sid: int
    handle: int
    protocol: ProtocolType = ProtocolType.ADC
    is_op: bool = False
    online: bool = True
    pms: list[ChatLine] = field(default_factory=list)

    def value(self) -> User:
        return User(self.nick, self.cid, self.hub_url, self.sid, self.protocol, self.is_op,
                    self.handle)


@dataclass
class WorldConnection:
    ip: str
    port: int
    handle: int
    protocol: ProtocolType = ProtocolType.ADC
    is_op: bool = False
    is_secure: bool = False
    user: Optional[tuple[str, str]] = None  # (cid, hub url)
    open: bool = True
    sent: list[str] = field(default_factory=list)
    received: list[str] = field(default_factory=list)

    def value(self) -> Connection:
        return Connection(self.ip, self.port, self.protocol, self.is_op, self.is_secure,
                          self.handle)


@dataclass
class WorldQueueItem:
    target: str
    handle: int
    hash: str = ""
    size: int = 0
    location: str = ""
    is_file_list: bool = False
    priority: int = QueuePrio.DEFAULT
    paused: bool = False

    def value(self) -> QueueItem:
        return QueueItem(self.target, self.location, self.hash, self.size, self.is_file_list,
                         self.handle)


