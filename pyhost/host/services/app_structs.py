"""The application's value types to and from the ABI's structs (HubData, UserData, ...)."""
from __future__ import annotations

from typing import Optional

from pyhost.abi._ffi import ffi
from pyhost.app.application import Connection, Hub, ProtocolType, QueueItem, User, _enum


def text(ptr) -> Optional[str]:
    """A C string as str (UTF-8, invalid bytes replaced); None for NULL."""
    return None if ptr == ffi.NULL else ffi.string(ptr).decode("utf-8", "replace")


def handle_of(obj) -> int:
    return int(ffi.cast("uintptr_t", obj))


def hub_from_c(p) -> Optional[Hub]:
    if p == ffi.NULL:
        return None
    return Hub(url=text(p.url) or "", ip=text(p.ip) or "", port=p.port,
               protocol=_enum(ProtocolType, p.protocol), is_op=bool(p.isOp),
               is_secure=bool(p.isSecure), handle=handle_of(p.object))


def user_from_c(p) -> Optional[User]:
    if p == ffi.NULL:
        return None
    return User(nick=text(p.nick) or "", cid=text(p.cid) or "", hub_url=text(p.hubHint) or "",
                sid=p.sid, protocol=_enum(ProtocolType, p.protocol), is_op=bool(p.isOp),
                handle=handle_of(p.object))


def connection_from_c(p) -> Optional[Connection]:
    if p == ffi.NULL:
        return None
    return Connection(ip=text(p.ip) or "", port=p.port, protocol=_enum(ProtocolType, p.protocol),
                      is_op=bool(p.isOp), is_secure=bool(p.isSecure), handle=handle_of(p.object))


def queue_item_from_c(p) -> Optional[QueueItem]:
    if p == ffi.NULL:
        return None
    return QueueItem(target=text(p.target) or "", location=text(p.location) or "",
                     hash=text(p.hash) or "", size=p.size, is_file_list=bool(p.isFileList),
                     handle=handle_of(p.object))


def _b(s: str) -> bytes:
    return s.encode("utf-8")


def _obj(handle: int):
    return ffi.cast("void*", handle)


