"""Typed, read-only views of the ABI's data structs, and the interface tables as objects.

A view wraps a pointer the host (or another plugin) handed over; it copies nothing when it
is made. Each field is read from the struct when the attribute is read (the pointer is cast
to its struct type once, on the first read), so a subscriber pays only for what it looks at.
Views are valid for as long as the pointer is: inside a hook subscriber, for that call. Keep
one beyond it only after ``copy()`` (and ``release()`` the copy, or use it as a context
manager), exactly as in C.

Views whose struct an interface acts on have that interface's functions as methods, called
through the plugin's own query of the table: ``hub.send_message("hi")`` is
``DCHub->send_message(hub, "hi", False)``.

:class:`Table` is the generic object for a standard ABI table (DCHub, DCQueue, ...): its
methods are the C functions, by their C names, with ``str`` accepted for ``char*``, views for
struct pointers, ``bool`` for ``Bool``, and struct pointers returned as views, C strings as
``str`` and ``Bool`` as ``bool``.
"""
from __future__ import annotations

from typing import Any, Optional

from pyhost.abi._ffi import ffi, lib

_cast = ffi.cast
_string = ffi.string
NULL = ffi.NULL


class InterfaceUnavailable(RuntimeError):
    """The host provides no such interface (or only an older version)."""


def text(ptr) -> Optional[str]:
    """A C string as str (invalid UTF-8 replaced); None for NULL."""
    return _string(ptr).decode("utf-8", "replace") if ptr else None


def pointer_of(value: Any, ctype: Any = "void*"):
    """The C pointer behind a view, a cdata, an address, or None (NULL)."""
    if value is None:
        return NULL
    if isinstance(value, View):
        return _cast(ctype, value.ptr)
    if isinstance(value, int):
        return _cast(ctype, value)
    return value


class View:
    """Base of every view: ``ptr`` is the typed C pointer, ``owner`` the plugin side."""

    __slots__ = ("_p", "_c", "_owner")
    CTYPE: Any = None  # the ctype of the struct pointer, set by each subclass

    def __init__(self, ptr, owner=None):
        self._p = ptr      # the pointer as handed over (void* in a hook)
        self._c = None     # the same, cast to the struct type on first use
        self._owner = owner

    @property
    def ptr(self):
        """The struct pointer (cdata), for raw ABI calls."""
        c = self._c
        if c is None:
            c = self._c = _cast(self.CTYPE, self._p)
        return c

    def _table(self, name: str) -> "Table":
        owner = self._owner
        if owner is None:
            raise InterfaceUnavailable(f"this {type(self).__name__} was not handed to a "
                                       f"plugin, so it cannot reach {name}.")
        return owner.table(name)

    def __eq__(self, other) -> bool:
        return isinstance(other, View) and _addr(self.ptr) == _addr(other.ptr)

    def __hash__(self) -> int:
        return _addr(self.ptr)

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._repr_fields)
        return f"<{type(self).__name__} {fields}>"

    _repr_fields: tuple[str, ...] = ()


def _addr(ptr) -> int:
    return int(_cast("uintptr_t", ptr))


def _field(name: str, kind: str = "raw", doc: str = ""):
    """A read-only property reading one struct field, converted by ``kind``."""
    if kind == "text":
        def get(self):
            c = self._c
            if c is None:
                c = self._c = _cast(self.CTYPE, self._p)
            p = getattr(c, name)
            return _string(p).decode("utf-8", "replace") if p else None
    elif kind == "bool":
        def get(self):
            c = self._c
            if c is None:
                c = self._c = _cast(self.CTYPE, self._p)
            return getattr(c, name) != 0
    else:
        def get(self):
            c = self._c
            if c is None:
                c = self._c = _cast(self.CTYPE, self._p)
            return getattr(c, name)
    return property(get, doc=doc or f"the {name} field")


class _Copyable(View):
    """A view of a struct the interface can copy and release (isManaged semantics)."""

    __slots__ = ()
    _copy_fn = "copy"
    _release_fn = "release"
    _interface = ""

    def copy(self):
        """A copy owned by this plugin (``is_managed`` False): ``release()`` it when done,
        or use it as a context manager."""
        return getattr(self._table(self._interface), self._copy_fn)(self)

    def release(self) -> None:
        """Gives back a copy; only for views whose ``is_managed`` is False."""
        if self.is_managed:
            raise ValueError(f"this {type(self).__name__} is managed by the host; only a "
                             "copy can be released")
        getattr(self._table(self._interface), self._release_fn)(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        if not self.is_managed:
            self.release()


class HubData(_Copyable):
    """A hub (``HubData``); methods go through DCHub."""

    __slots__ = ()
    CTYPE = ffi.typeof("HubData*")
    _interface = "DCHub"
    _repr_fields = ("url", "port", "is_op")

    url = _field("url", "text")
    ip = _field("ip", "text")
    object = _field("object", doc="the host's own object (dcptr_t)")
    port = _field("port")
    protocol = _field("protocol", doc="PROTOCOL_ADC, PROTOCOL_NMDC or PROTOCOL_DHT")
    is_op = _field("isOp", "bool")
    is_secure = _field("isSecure", "bool")
    is_managed = _field("isManaged", "bool")

    def send_message(self, message: str, third_person: bool = False) -> None:
        self._table("DCHub").send_message(self, message, third_person)

    def local_message(self, message: str, type: int = lib.MSG_SYSTEM) -> None:
        """Shows a message in this hub's window only (nothing is sent)."""
        self._table("DCHub").local_message(self, message, type)

    def send_protocol_cmd(self, command: str) -> None:
        self._table("DCHub").send_protocol_cmd(self, command)

    def emulate_protocol_cmd(self, command: str) -> None:
        self._table("DCHub").emulate_protocol_cmd(self, command)

    def remove(self) -> None:
        self._table("DCHub").remove_hub(self)


class UserData(_Copyable):
    """A user (``UserData``); methods go through DCHub."""

    __slots__ = ()
    CTYPE = ffi.typeof("UserData*")
    _interface = "DCHub"
    _copy_fn = "copy_user"
    _release_fn = "release_user"
    _repr_fields = ("nick", "hub_hint", "cid")

    nick = _field("nick", "text")
    hub_hint = _field("hubHint", "text")
    cid = _field("cid", "text")
    object = _field("object", doc="the host's own object (dcptr_t)")
    sid = _field("sid")
    protocol = _field("protocol", doc="PROTOCOL_ADC, PROTOCOL_NMDC or PROTOCOL_DHT")
    is_op = _field("isOp", "bool")
    is_managed = _field("isManaged", "bool")

    def send_private_message(self, message: str, third_person: bool = False) -> bool:
        return self._table("DCHub").send_private_message(self, message, third_person)


class ConnectionData(View):
    """A client connection (``ConnectionData``); methods go through DCConnection."""

    __slots__ = ()
    CTYPE = ffi.typeof("ConnectionData*")
    _repr_fields = ("ip", "port")

    ip = _field("ip", "text")
    object = _field("object", doc="the host's own object (dcptr_t)")
    port = _field("port")
    protocol = _field("protocol", doc="PROTOCOL_ADC, PROTOCOL_NMDC or PROTOCOL_DHT")
    is_op = _field("isOp", "bool")
    is_secure = _field("isSecure", "bool")
    is_managed = _field("isManaged", "bool")

    def send_protocol_cmd(self, command: str) -> None:
        self._table("DCConnection").send_protocol_cmd(self, command)

    def terminate(self, graceless: bool = False) -> None:
        self._table("DCConnection").terminate_conn(self, graceless)

    def user(self) -> Optional[UserData]:
        return self._table("DCConnection").get_user(self)


class QueueData(_Copyable):
    """A queue item (``QueueData``); methods go through DCQueue."""

    __slots__ = ()
    CTYPE = ffi.typeof("QueueData*")
    _interface = "DCQueue"
    _repr_fields = ("target", "size")

    target = _field("target", "text")
    location = _field("location", "text")
    hash = _field("hash", "text")
    object = _field("object", doc="the host's own object (dcptr_t)")
    size = _field("size")
    is_file_list = _field("isFileList", "bool")
    is_managed = _field("isManaged", "bool")

    def remove(self) -> None:
        self._table("DCQueue").remove_download(self)

    def set_priority(self, priority: int) -> None:
        self._table("DCQueue").set_priority(self, priority)

    def pause(self) -> bool:
        return self._table("DCQueue").pause(self)


class CommandData(View):
    """A chat command (``CommandData``): ``/command params``."""

    __slots__ = ()
    CTYPE = ffi.typeof("CommandData*")
    _repr_fields = ("command", "params")

    command = _field("command", "text")
    params = _field("params", "text")


class StringData(View):
    """A string to transform (``StringData``): ``text`` is ``in``; ``out`` may be set.

    Setting ``out`` stores a copy of the string that this plugin owns, as the ABI says: it
    stays valid until the same subscriber sets ``out`` again on the same thread (by then the
    host has copied it) or the plugin unloads, and is then freed exactly once.
    """

    __slots__ = ("_keep",)
    CTYPE = ffi.typeof("StringData*")
    _repr_fields = ("text", "out")

    text = _field("in", "text", doc="the input string (the struct's ``in``)")

    @property
    def out(self) -> Optional[str]:
        return text(self.ptr.out)

    @out.setter
    def out(self, value: Optional[str]) -> None:
        if value is None:
            self.ptr.out = NULL
            return
        buffer = ffi.new("char[]", value.encode("utf-8") if isinstance(value, str) else value)
        owner = self._owner
        if owner is not None:
            owner.keep_out(buffer)
        else:  # a StringData this plugin made itself: the view keeps its string
            self._keep = (getattr(self, "_keep", ()) or ()) + (buffer,)
        self.ptr.out = buffer

    @classmethod
    def new(cls, text_in: str) -> "StringData":
        """A StringData this plugin owns, e.g. to fire its own hook with."""
        buffer = ffi.new("char[]", text_in.encode("utf-8"))
        struct = ffi.new("StringData*", {"in": buffer})
        view = cls(struct)
        view._keep = (buffer, struct)
        return view


class UDPData(View):
    """A UDP endpoint (``UDPData``)."""

    __slots__ = ()
    CTYPE = ffi.typeof("UDPData*")
    _repr_fields = ("ip", "port")

    ip = _field("ip", "text")
    port = _field("port")


class TagData(View):
    """Chat text being tagged (``TagData``); methods go through DCTagger."""

    __slots__ = ()
    CTYPE = ffi.typeof("TagData*")
    _repr_fields = ("is_managed",)

    object = _field("object", doc="the host's own object (dcptr_t)")
    is_managed = _field("isManaged", "bool")

    @property
    def text(self) -> Optional[str]:
        return self._table("DCTagger").get_text(self)

    def add_tag(self, start: int, end: int, id: str, attributes: str = "") -> None:
        self._table("DCTagger").add_tag(self, start, end, id, attributes)

    def replace_text(self, start: int, end: int, replacement: str) -> None:
        self._table("DCTagger").replace_text(self, start, end, replacement)


class DataArray(View):
    """A block of bytes (``DataArray``)."""

    __slots__ = ()
    CTYPE = ffi.typeof("DataArray*")
    _repr_fields = ("size",)

    size = _field("size")

    @property
    def data(self) -> bytes:
        p = self.ptr
        return bytes(ffi.buffer(p.pData, p.size)) if p.pData else b""


VIEWS = {cls.CTYPE.item.cname: cls for cls in (
    HubData, UserData, ConnectionData, QueueData, CommandData, StringData, UDPData, TagData,
    DataArray)}


# -- the standard interface tables as objects -------------------------------------------------

#: name -> (guid, version) of every standard table (docs/abi.md, "Interfaces").
STANDARD = {
    "DCHooks": ("generic.plugins.DCHooks", 8),
    "DCConfig": ("generic.plugins.DCConfig", 1),
    "DCLog": ("generic.plugins.DCLog", 1),
    "DCConnection": ("dcpp.network.DCConnection", 1),
    "DCHub": ("dcpp.network.DCHub", 1),
    "DCQueue": ("dcpp.queue.DCQueue", 1),
    "DCUtils": ("dcpp.utils.DCUtils", 1),
    "DCTagger": ("dcpp.xml.DCTagger", 1),
    "DCUI": ("dcpp.ui.DCUI", 1),
    "DCDataAccess": ("dcpp.dataaccessor.DCDataAccess", 1),
}


def standard_name(spec: Any) -> Optional[str]:
    """``"DCHub"`` for ``"DCHub"`` or ``"dcpp.network.DCHub"``; None for other values."""
    if not isinstance(spec, str):
        return None
    if spec in STANDARD:
        return spec
    for name, (guid, _) in STANDARD.items():
        if guid == spec:
            return name
    return None


class Table:
    """A standard interface table as an object: one method per C function (same names)."""

    def __init__(self, name: str, pointer, owner=None):
        self.name = name
        self.guid, self.version = STANDARD[name]
        self.ptr = _cast(f"{name}*", pointer)
        self.api_version = self.ptr.apiVersion
        for field, info in ffi.typeof(name).fields:
            if info.type.kind == "function":
                setattr(self, field, _method(getattr(self.ptr, field), info.type, owner))

    def __repr__(self) -> str:
        return f"<{self.name} table {self.guid} v{self.api_version}>"


def _method(fn, ftype, owner):
    if fn == NULL:
        return None
    args = ftype.args
    result = ftype.result
    view = VIEWS.get(result.item.cname) if result.kind == "pointer" else None
    result_text = result.kind == "pointer" and result.item.cname == "char"
    result_bool = result.cname == "enum Bool"

    def call(*values):
        converted = [_argument(v, t) for v, t in zip(values, args)]
        value = fn(*converted, *values[len(converted):])
        if view is not None:
            return view(value, owner) if value else None
        if result_text:
            return text(value)
        if result_bool:
            return value != 0
        return value

    return call


def _argument(value, ctype):
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, View):
        return _cast(ctype, value.ptr)
    if value is None and ctype.kind == "pointer":
        return NULL
    if isinstance(value, bool):
        return int(value)
    return value
