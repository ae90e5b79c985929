"""The application's interface objects (pyhost.services.app) as ABI function tables.

:class:`AppServices` builds one table per interface the application provides (DCHub,
DCConnection, DCQueue, DCUI, DCTagger, DCDataAccess) out of ``ffi.callback`` entries,
registers it on the host's bus, and records every call a plugin makes as an
:class:`Effect` (interface, function, arguments, result or error) in :attr:`effects`.

Ownership (ABI.md, and native/app_data.h for the details):

- Every struct handed to a plugin by a function (add_hub, find_hub, find_user, get_user,
  add_list, add_download, find_download) is a fresh copy with ``isManaged = False``, one
  native block holding its strings, valid until the plugin gives it back with the
  interface's ``release`` / ``release_user``. ``copy`` / ``copy_user`` / ``release`` /
  ``release_user`` are the native functions themselves: no Python on that path.
- Objects passed to hook subscribers are ``isManaged = True`` blocks owned by the host
  (:meth:`AppServices.managed`): one per entity and description, alive until the entity goes
  away (hub/user offline, queue item removed) or the host shuts down. A plugin that wants
  to keep one beyond that takes a copy.
- A release the native side refuses (double release, a managed object, another kind, a
  pointer pyhost never handed out) is not performed; :meth:`poll_refusals` reports it.
- At shutdown, after every plugin library is closed, the copies plugins never released are
  freed and reported (logger ``pyhost.app``).

Strings given to plugins live as long as the block holding them; ``DCTagger.get_text``
returns a string valid until the end of the onChatTags dispatch.
"""
from __future__ import annotations

import base64
import collections
import enum
import itertools
import logging
import threading
from dataclasses import dataclass
from typing import Any, Callable, Optional

from pyhost.abi._ffi import ffi, lib
from pyhost.app.application import (
    DEFAULT_TAGGER_SERVICE,
    INTERFACES,
    Connection,
    Hub,
    MsgType,
    ProtocolType,
    QueueItem,
    QueuePrio,
    Tagger,
    TaggerService,
    UICommand,
    User,
    _enum,
)
from pyhost.host.events import Category, PluginUnloaded

log = logging.getLogger("pyhost.app")

_ARENAS = itertools.count(1)
_KIND_NAMES = {lib.PHN_KIND_HUB: "HubData", lib.PHN_KIND_USER: "UserData",
               lib.PHN_KIND_CONN: "ConnectionData", lib.PHN_KIND_QUEUE: "QueueData",
               lib.PHN_KIND_DATA: "DataArray"}
_REFUSALS = {
    lib.PHN_REFUSED_UNKNOWN: "a release of a pointer that is not a live copy "
                             "(double release, or a struct pyhost did not hand out) was refused",
    lib.PHN_REFUSED_MANAGED: "a release of a host-owned (isManaged) object was refused",
    lib.PHN_REFUSED_WRONG_KIND: "a release through the wrong function (e.g. a HubData given "
                                "to release_user) was refused",
}


# ---- effects ---------------------------------------------------------------------------------

@dataclass
class Effect:
    """One call a plugin made to an application interface (or, with interface "world", an
    event the simulated world fired in response)."""
    seq: int
    interface: str
    function: str
    args: dict
    result: Any = None
    error: Optional[str] = None

    def to_dict(self) -> dict:
        d = {"interface": self.interface, "function": self.function, "args": self.args}
        if self.result is not None:
            d["result"] = self.result
        if self.error is not None:
            d["error"] = self.error
        return d


class EffectLog:
    """A bounded, thread-safe record of effects. Subscribers are called as each effect
    starts (its result is filled in when the call returns)."""

    def __init__(self, maxlen: int = 100_000):
        self._lock = threading.Lock()
        self._effects: collections.deque[Effect] = collections.deque(maxlen=maxlen)
        self._seq = itertools.count(1)
        self._subscribers: tuple[Callable[[Effect], None], ...] = ()
        self.dropped = 0

    def begin(self, interface: str, function: str, args: dict) -> Effect:
        with self._lock:
            effect = Effect(next(self._seq), interface, function, args)
            if len(self._effects) == self._effects.maxlen:
                self.dropped += 1
            self._effects.append(effect)
        return effect

    def drain(self) -> list[Effect]:
        """Removes and returns the recorded effects, oldest first."""
        with self._lock:
            out = list(self._effects)
            self._effects.clear()
        return out

    def snapshot(self) -> list[Effect]:
        with self._lock:
            return list(self._effects)

    def subscribe(self, callback: Callable[[Effect], None]) -> Callable[[], None]:
        """Calls ``callback(effect)`` once each effect is complete; returns an unsubscribe."""
        with self._lock:
            self._subscribers += (callback,)

        def unsubscribe() -> None:
            with self._lock:
                self._subscribers = tuple(s for s in self._subscribers if s is not callback)
        return unsubscribe

    def _finished(self, effect: Effect) -> None:
        for callback in self._subscribers:
            try:
                callback(effect)
            except Exception:
                log.exception("effect subscriber %r failed", callback)


def jsonable(value: Any) -> Any:
    """Effect arguments and results as plain JSON values."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, (int, float)):
        return value
    summary = getattr(value, "summary", None)
    if callable(summary):
        return summary()
    if isinstance(value, (bytes, bytearray)):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return {"base64": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return repr(value)


# ---- C <-> Python --------------------------------------------------------------------------

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


class _TagSession:
    __slots__ = ("tagger", "texts")

    def __init__(self, tagger: Tagger):
        self.tagger = tagger
        self.texts: list[Any] = []  # every get_text buffer, alive until the dispatch ends


class AppServices:
    """The application's interfaces of one host, as registered ABI tables."""

    def __init__(self, host, app: Any = None):
        if app is None:
            from pyhost.app.world import SimulatedWorld
            app = SimulatedWorld()
        self._host = host
        self.app = app
        self.arena = next(_ARENAS)
        self.effects = EffectLog()
        self._lock = threading.RLock()
        self._callbacks: list[Any] = []
        self.tables: dict[str, Any] = {}       # short name ("DCHub") -> table
        self._managed: dict[tuple, list[tuple[Any, Any]]] = {}
        self._commands: dict[tuple[str, str], UICommand] = {}
        self._tag_sessions: dict[int, _TagSession] = {}
        self._refused_seen = {r: lib.phn_app_refused(r) for r in _REFUSALS}
        self._closed = False
        self.leaked_at_close: dict[str, int] = {}
        for attr, (guid, version, name) in INTERFACES.items():
            impl = getattr(app, attr, None)
            if impl is None:
                continue
            table = getattr(self, f"_build_{attr}")(impl, name)
            table.apiVersion = version
            if host.bus.register_interface(guid, table) is None:
                log.warning("%s was already registered; the application's one is not used", guid)
                continue
            self.tables[name] = table
        self._unsubscribe = host.events.subscribe(self._on_host_event, Category.PLUGIN)
        attach = getattr(app, "attach", None)
        if callable(attach):
            attach(host)

    @property
    def tagger_service(self) -> TaggerService:
        """The application's tagger, or pyhost's SimpleTagger when it has none."""
        return getattr(self.app, "tagger", None) or DEFAULT_TAGGER_SERVICE

    @property
    def provided(self) -> list[str]:
        """Short names of the registered interfaces, e.g. ["DCHub", "DCQueue"]."""
        return list(self.tables)

    # -- the generic call path ---------------------------------------------------------------
    def _entry(self, interface: str, function: str, ctype: str, fn: Callable, default: Any):
        def safe(*args):
            try:
                return fn(*args)
            except Exception:  # never unwind into the plugin
                log.exception("%s.%s failed", interface, function)
                return default
        cb = ffi.callback(ctype, safe)
        self._callbacks.append(cb)
        return cb

    def call(self, interface: str, function: str, args: dict, thunk: Callable[[], Any], *,
             required: tuple[str, ...] = (), convert: Optional[Callable[[Any], Any]] = None,
             default: Any = None) -> Any:
        """Records the effect, runs ``thunk`` (the application's method) and converts its
        result for C; a missing required argument or an exception gives ``default``."""
        effect = self.effects.begin(interface, function, jsonable(args))
        try:
            missing = [name for name in required if args.get(name) is None]
            if missing:
                effect.error = f"{missing[0]} is NULL"
                return default
            try:
                result = thunk()
                out = convert(result) if convert is not None else result
            except Exception as exc:
                log.warning("%s.%s raised %r", interface, function, exc,
                            exc_info=log.isEnabledFor(logging.DEBUG))
                effect.error = f"{type(exc).__name__}: {exc}"
                return default
            effect.result = jsonable(result)
            return out
        finally:
            self.effects._finished(effect)

    # -- blocks --------------------------------------------------------------------------------
    def new_block(self, value: Any, managed: bool):
        """A native block for a value type (a copy for a plugin unless ``managed``)."""
        m = 1 if managed else 0
        if isinstance(value, Hub):
            ptr = lib.phn_hub_new(self.arena, m, _b(value.url), _b(value.ip), _obj(value.handle),
                                  value.port, int(value.protocol), int(value.is_op),
                                  int(value.is_secure))
        elif isinstance(value, User):
            ptr = lib.phn_user_new(self.arena, m, _b(value.nick), _b(value.hub_url),
                                   _b(value.cid), _obj(value.handle), value.sid,
                                   int(value.protocol), int(value.is_op))
        elif isinstance(value, Connection):
            ptr = lib.phn_conn_new(self.arena, m, _b(value.ip), _obj(value.handle), value.port,
                                   int(value.protocol), int(value.is_op), int(value.is_secure))
        elif isinstance(value, QueueItem):
            ptr = lib.phn_queue_new(self.arena, m, _b(value.target), _b(value.location),
                                    _b(value.hash), _obj(value.handle), value.size,
                                    int(value.is_file_list))
        elif isinstance(value, (bytes, bytearray)):
            ptr = lib.phn_data_new(self.arena, m, bytes(value), len(value))
        else:
            raise TypeError(f"expected Hub, User, Connection, QueueItem or bytes, "
                            f"got {type(value).__name__}")
        if ptr == ffi.NULL:
            raise MemoryError("out of memory for a plugin data block")
        return ptr

    def _copy_for_plugin(self, expected: type) -> Callable[[Any], Any]:
        def convert(value):
            if value is None:
                return ffi.NULL
            if not isinstance(value, expected):
                raise TypeError(f"the application returned {type(value).__name__}, "
                                f"not {expected.__name__} or None")
            return self.new_block(value, managed=False)
        return convert

    def managed(self, value: Any):
        """The host-owned block (isManaged = True) for an entity, made on first use and kept
        until :meth:`forget` (or shutdown): a hook's object."""
        key = self._key(value)
        with self._lock:
            entries = self._managed.setdefault(key, [])
            for known, ptr in entries:
                if known == value:
                    return ptr
            ptr = self.new_block(value, managed=True)
            entries.append((value, ptr))
            return ptr

    def forget(self, value: Any) -> None:
        """Frees the managed blocks of an entity that went away (by handle when it has one)."""
        with self._lock:
            entries = self._managed.pop(self._key(value), [])
        for _, ptr in entries:
            lib.phn_app_free(ptr)

    @staticmethod
    def _key(value: Any) -> tuple:
        handle = getattr(value, "handle", 0)
        return (type(value).__name__, handle) if handle else (type(value).__name__, value)

    # -- DCTagger sessions (opened by StandardHooks.chat_tags) ---------------------------------
    def open_tag_session(self, tag_data, tagger: Tagger) -> None:
        with self._lock:
            self._tag_sessions[handle_of(tag_data)] = _TagSession(tagger)

    def close_tag_session(self, tag_data) -> None:
        with self._lock:
            self._tag_sessions.pop(handle_of(tag_data), None)

    def _session(self, tag_data) -> Optional[_TagSession]:
        if tag_data == ffi.NULL:
            return None
        with self._lock:
            return self._tag_sessions.get(handle_of(tag_data))

    # -- the tables ----------------------------------------------------------------------------
    def _build_hub(self, impl, I: str):
        t = ffi.new("DCHub*")
        e = self._entry

        def add_hub(url, nick, password):
            a = {"url": text(url), "nick": text(nick) or "",
                 "password": "***" if text(password) else ""}
            return self.call(I, "add_hub", a,
                             lambda: impl.add_hub(a["url"], a["nick"], text(password) or ""),
                             required=("url",), convert=self._copy_for_plugin(Hub),
                             default=ffi.NULL)

        def find_hub(url):
            a = {"url": text(url)}
            return self.call(I, "find_hub", a, lambda: impl.find_hub(a["url"]),
                             required=("url",), convert=self._copy_for_plugin(Hub),
                             default=ffi.NULL)

        def remove_hub(hub):
            a = {"hub": hub_from_c(hub)}
            self.call(I, "remove_hub", a, lambda: impl.remove_hub(a["hub"]), required=("hub",))

        def hub_cmd(function):
            def run(hub, cmd):
                a = {"hub": hub_from_c(hub), "cmd": text(cmd)}
                self.call(I, function, a, lambda: getattr(impl, function)(a["hub"], a["cmd"]),
                          required=("hub", "cmd"))
            return run

        def send_message(hub, msg, third):
            a = {"hub": hub_from_c(hub), "message": text(msg), "third_person": bool(third)}
            self.call(I, "send_message", a,
                      lambda: impl.send_message(a["hub"], a["message"], a["third_person"]),
                      required=("hub", "message"))

        def local_message(hub, msg, kind):
            a = {"hub": hub_from_c(hub), "message": text(msg), "type": _enum(MsgType, kind)}
            self.call(I, "local_message", a,
                      lambda: impl.local_message(a["hub"], a["message"], a["type"]),
                      required=("hub", "message"))

        def send_private_message(user, msg, third):
            a = {"user": user_from_c(user), "message": text(msg), "third_person": bool(third)}
            return self.call(I, "send_private_message", a,
                             lambda: impl.send_private_message(a["user"], a["message"],
                                                               a["third_person"]),
                             required=("user", "message"), convert=lambda r: 1 if r else 0,
                             default=0)

        def find_user(cid, hub_url):
            a = {"cid": text(cid), "hub_url": text(hub_url) or ""}
            return self.call(I, "find_user", a, lambda: impl.find_user(a["cid"], a["hub_url"]),
                             required=("cid",), convert=self._copy_for_plugin(User),
                             default=ffi.NULL)

        t.add_hub = e(I, "add_hub", "HubData*(*)(const char*, const char*, const char*)",
                      add_hub, ffi.NULL)
        t.find_hub = e(I, "find_hub", "HubData*(*)(const char*)", find_hub, ffi.NULL)
        t.remove_hub = e(I, "remove_hub", "void(*)(HubData*)", remove_hub, None)
        t.emulate_protocol_cmd = e(I, "emulate_protocol_cmd", "void(*)(HubData*, const char*)",
                                   hub_cmd("emulate_protocol_cmd"), None)
        t.send_protocol_cmd = e(I, "send_protocol_cmd", "void(*)(HubData*, const char*)",
                                hub_cmd("send_protocol_cmd"), None)
        t.send_message = e(I, "send_message", "void(*)(HubData*, const char*, Bool)",
                           send_message, None)
        t.local_message = e(I, "local_message", "void(*)(HubData*, const char*, MsgType)",
                            local_message, None)
        t.send_private_message = e(I, "send_private_message",
                                   "Bool(*)(UserData*, const char*, Bool)",
                                   send_private_message, 0)
        t.find_user = e(I, "find_user", "UserData*(*)(const char*, const char*)", find_user,
                        ffi.NULL)
        t.copy_user = ffi.addressof(lib, "phn_user_copy")
        t.release_user = ffi.addressof(lib, "phn_user_release")
        t.copy = ffi.addressof(lib, "phn_hub_copy")
        t.release = ffi.addressof(lib, "phn_hub_release")
        return t

    def _build_connection(self, impl, I: str):
        t = ffi.new("DCConnection*")
        e = self._entry

        def send_udp_data(ip, port, data, n):
            payload = b"" if data == ffi.NULL or n == 0 else \
                ffi.unpack(ffi.cast("char*", data), n)
            a = {"ip": text(ip), "port": port, "data": payload}
            self.call(I, "send_udp_data", a, lambda: impl.send_udp_data(a["ip"], port, payload),
                      required=("ip",))

        def send_protocol_cmd(conn, cmd):
            a = {"connection": connection_from_c(conn), "cmd": text(cmd)}
            self.call(I, "send_protocol_cmd", a,
                      lambda: impl.send_protocol_cmd(a["connection"], a["cmd"]),
                      required=("connection", "cmd"))

        def terminate_conn(conn, graceless):
            a = {"connection": connection_from_c(conn), "graceless": bool(graceless)}
            self.call(I, "terminate_conn", a,
                      lambda: impl.terminate_conn(a["connection"], a["graceless"]),
                      required=("connection",))

        def get_user(conn):
            a = {"connection": connection_from_c(conn)}
            return self.call(I, "get_user", a, lambda: impl.get_user(a["connection"]),
                             required=("connection",), convert=self._copy_for_plugin(User),
                             default=ffi.NULL)

        t.send_udp_data = e(I, "send_udp_data", "void(*)(const char*, uint32_t, dcptr_t, size_t)",
                            send_udp_data, None)
        t.send_protocol_cmd = e(I, "send_protocol_cmd", "void(*)(ConnectionData*, const char*)",
                                send_protocol_cmd, None)
        t.terminate_conn = e(I, "terminate_conn", "void(*)(ConnectionData*, Bool)",
                             terminate_conn, None)
        t.get_user = e(I, "get_user", "UserData*(*)(ConnectionData*)", get_user, ffi.NULL)
        return t

    def _build_queue(self, impl, I: str):
        t = ffi.new("DCQueue*")
        e = self._entry
        copy_item = self._copy_for_plugin(QueueItem)

        def add_list(user, silent):
            a = {"user": user_from_c(user), "silent": bool(silent)}
            return self.call(I, "add_list", a, lambda: impl.add_list(a["user"], a["silent"]),
                             required=("user",), convert=copy_item, default=ffi.NULL)

        def add_download(hash_, size, target):
            a = {"hash": text(hash_), "size": size, "target": text(target)}
            return self.call(I, "add_download", a,
                             lambda: impl.add_download(a["hash"], size, a["target"]),
                             required=("hash", "target"), convert=copy_item, default=ffi.NULL)

        def find_download(target):
            a = {"target": text(target)}
            return self.call(I, "find_download", a, lambda: impl.find_download(a["target"]),
                             required=("target",), convert=copy_item, default=ffi.NULL)

        def remove_download(item):
            a = {"item": queue_item_from_c(item)}
            self.call(I, "remove_download", a, lambda: impl.remove_download(a["item"]),
                      required=("item",))

        def set_priority(item, prio):
            a = {"item": queue_item_from_c(item), "priority": _enum(QueuePrio, prio)}
            self.call(I, "set_priority", a, lambda: impl.set_priority(a["item"], a["priority"]),
                      required=("item",))

        def pause(item):
            a = {"item": queue_item_from_c(item)}
            return self.call(I, "pause", a, lambda: impl.pause(a["item"]), required=("item",),
                             convert=lambda r: 1 if r else 0, default=0)

        t.add_list = e(I, "add_list", "QueueData*(*)(UserData*, Bool)", add_list, ffi.NULL)
        t.add_download = e(I, "add_download", "QueueData*(*)(const char*, uint64_t, const char*)",
                           add_download, ffi.NULL)
        t.find_download = e(I, "find_download", "QueueData*(*)(const char*)", find_download,
                            ffi.NULL)
        t.remove_download = e(I, "remove_download", "void(*)(QueueData*)", remove_download, None)
        t.set_priority = e(I, "set_priority", "void(*)(QueueData*, QueuePrio)", set_priority,
                           None)
        t.pause = e(I, "pause", "Bool(*)(QueueData*)", pause, 0)
        t.copy = ffi.addressof(lib, "phn_queue_copy")
        t.release = ffi.addressof(lib, "phn_queue_release")
        return t

    def _build_ui(self, impl, I: str):
        t = ffi.new("DCUI*")
        e = self._entry

        def add_command(guid, name, fn, icon):
            a = {"guid": text(guid), "name": text(name), "icon": text(icon) or "",
                 "command": None if fn == ffi.NULL else "<function>"}

            def add():
                command = self._new_command(a["guid"], a["name"], a["icon"], fn)
                impl.add_command(a["guid"], a["name"], command, a["icon"])
            self.call(I, "add_command", a, add, required=("guid", "name", "command"))

        def remove_command(guid, name):
            a = {"guid": text(guid), "name": text(name)}

            def remove():
                with self._lock:
                    command = self._commands.pop((a["guid"], a["name"]), None)
                if command is not None:
                    command.invalidate()
                impl.remove_command(a["guid"], a["name"])
            self.call(I, "remove_command", a, remove, required=("guid", "name"))

        def play_sound(path):
            a = {"path": text(path)}
            self.call(I, "play_sound", a, lambda: impl.play_sound(a["path"]), required=("path",))

        def notify(title, message):
            a = {"title": text(title) or "", "message": text(message)}
            self.call(I, "notify", a, lambda: impl.notify(a["title"], a["message"]),
                      required=("message",))

        t.add_command = e(I, "add_command",
                          "void(*)(const char*, const char*, DCCommandFunc, const char*)",
                          add_command, None)
        t.remove_command = e(I, "remove_command", "void(*)(const char*, const char*)",
                             remove_command, None)
        t.play_sound = e(I, "play_sound", "void(*)(const char*)", play_sound, None)
        t.notify = e(I, "notify", "void(*)(const char*, const char*)", notify, None)
        return t

    def _new_command(self, guid: str, name: str, icon: str, fn) -> UICommand:
        name_buffer = ffi.new("char[]", _b(name))

        def invoke() -> None:
            # Belt and braces: the command is dropped when its plugin unloads (PluginUnloaded
            # event), but an application may have switched that event category off.
            host = self._host
            if not host.is_loaded(guid) and guid in host.registry:
                raise RuntimeError(f"UI command {name!r}: its plugin {guid} is not loaded.")
            fn(name_buffer)

        command = UICommand(guid, name, icon, invoke)
        with self._lock:
            old = self._commands.pop((guid, name), None)
            self._commands[(guid, name)] = command
        if old is not None:
            old.invalidate()
        return command

    def commands(self) -> list[UICommand]:
        """The UI commands plugins have added and not removed."""
        with self._lock:
            return list(self._commands.values())

    def command(self, guid: str, name: str) -> Optional[UICommand]:
        with self._lock:
            return self._commands.get((guid, name))

    def _build_tagger(self, impl, I: str):
        t = ffi.new("DCTagger*")
        e = self._entry

        def get_text(tags):
            session = self._session(tags)

            def get():
                if session is None:
                    raise LookupError("not the TagData of a running dcpp.ui.onChatTags")
                return session.tagger.get_text()

            def keep(value: str):
                buffer = ffi.new("char[]", _b(value))
                session.texts.append(buffer)
                return buffer
            return self.call(I, "get_text", {}, get, convert=keep, default=ffi.NULL)

        def add_tag(tags, start, end, id_, attributes):
            session = self._session(tags)
            a = {"start": start, "end": end, "id": text(id_), "attributes": text(attributes) or ""}

            def add():
                if session is None:
                    raise LookupError("not the TagData of a running dcpp.ui.onChatTags")
                session.tagger.add_tag(start, end, a["id"], a["attributes"])
            self.call(I, "add_tag", a, add, required=("id",))

        def replace_text(tags, start, end, replacement):
            session = self._session(tags)
            a = {"start": start, "end": end, "replacement": text(replacement)}

            def replace():
                if session is None:
                    raise LookupError("not the TagData of a running dcpp.ui.onChatTags")
                session.tagger.replace_text(start, end, a["replacement"])
            self.call(I, "replace_text", a, replace, required=("replacement",))

        t.get_text = e(I, "get_text", "const char*(*)(TagData*)", get_text, ffi.NULL)
        t.add_tag = e(I, "add_tag",
                      "void(*)(TagData*, size_t, size_t, const char*, const char*)", add_tag,
                      None)
        t.replace_text = e(I, "replace_text", "void(*)(TagData*, size_t, size_t, const char*)",
                           replace_text, None)
        return t

    def _build_data_access(self, impl, I: str):
        t = ffi.new("DCDataAccess*")

        def get_http_resource(uri, local_path):
            a = {"uri": text(uri), "local_path": text(local_path) or ""}
            self.call(I, "get_http_resource", a,
                      lambda: impl.get_http_resource(a["uri"], a["local_path"]),
                      required=("uri",))

        t.get_http_resource = self._entry(I, "get_http_resource",
                                          "void(*)(const char*, const char*)",
                                          get_http_resource, None)
        t.copy = ffi.addressof(lib, "phn_data_copy")
        t.release = ffi.addressof(lib, "phn_data_release")
        return t

    # -- bookkeeping ---------------------------------------------------------------------------
    def poll_refusals(self) -> list[str]:
        """Sentences for the releases refused since the last poll (process-wide counters)."""
        out = []
        for reason, sentence in _REFUSALS.items():
            now = lib.phn_app_refused(reason)
            seen = self._refused_seen[reason]
            if now > seen:
                out.append(f"{sentence} ({now - seen}x)." if now - seen > 1 else f"{sentence}.")
                self._refused_seen[reason] = now
        return out

    def live_copies(self) -> dict[str, int]:
        """Copies plugins hold right now, by struct name (only the non-zero ones)."""
        counts = {name: lib.phn_app_live(self.arena, kind, 0) for kind, name in _KIND_NAMES.items()}
        return {name: n for name, n in counts.items() if n}

    def _on_host_event(self, event) -> None:
        if isinstance(event, PluginUnloaded):
            self._drop_commands(event.guid)

    def _drop_commands(self, guid: str) -> None:
        """A plugin's library is gone: its UI commands must never be called again."""
        with self._lock:
            gone = [c for key, c in self._commands.items() if key[0] == guid]
            for c in gone:
                del self._commands[(c.guid, c.name)]
        ui = getattr(self.app, "ui", None)
        for command in gone:
            command.invalidate()
            if ui is not None:
                try:
                    ui.remove_command(command.guid, command.name)
                except Exception:
                    log.exception("DCUI.remove_command failed for %s", command.name)

    def close(self) -> None:
        """Frees every block of this host (call once no plugin library is mapped)."""
        if self._closed:
            return
        self._closed = True
        self._unsubscribe()
        with self._lock:
            for command in self._commands.values():
                command.invalidate()
            self._commands.clear()
            self._tag_sessions.clear()
            self._managed.clear()
        copies = ffi.new("long[]", lib.PHN_KINDS)
        lib.phn_app_free_arena(self.arena, copies)
        leaked = {name: copies[kind] for kind, name in _KIND_NAMES.items() if copies[kind]}
        if leaked:
            log.warning("plugins never released %s; freed at shutdown",
                        ", ".join(f"{n} {name} cop{'y' if n == 1 else 'ies'}"
                                  for name, n in leaked.items()))
        self.leaked_at_close = leaked
        for warning in self.poll_refusals():
            log.warning("%s", warning)
