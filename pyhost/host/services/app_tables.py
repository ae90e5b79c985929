"""The application's interface objects (pyhost.services.app) as ABI function tables.

:class:`AppServices` builds one table per interface the application provides (DCHub,
DCConnection, DCQueue, DCUI, DCTagger, DCDataAccess) out of ``ffi.callback`` entries,
registers it on the host's bus, and records every call a plugin makes as an
:class:`Effect` (interface, function, arguments, result or error) in :attr:`effects`.

Ownership (docs/abi.md, and native/app_data.h for the details):

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

import itertools
import logging
import threading
from typing import Any, Callable, Optional

from pyhost.abi._ffi import ffi, lib
from pyhost.abi.interrupts import callback_errors
from pyhost.app.application import (
    DEFAULT_TAGGER_SERVICE,
    INTERFACES,
    Connection,
    Hub,
    QueueItem,
    Tagger,
    TaggerService,
    UICommand,
    User,
)
from pyhost.host.events import Category, PluginUnloaded
from pyhost.host.services.app_structs import _b, _obj, handle_of
from pyhost.host.services.app_table_builders import BUILDERS
from pyhost.host.services.effects import Effect, EffectLog, jsonable  # noqa: F401  (Effect: re-exported)

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
            table = BUILDERS[attr](self, impl, name)
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
        # What `safe` does not catch (a KeyboardInterrupt) is handed back to the main thread.
        cb = ffi.callback(ctype, safe, onerror=callback_errors(log, f"{interface}.{function}"))
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

    def tag_text_buffer(self, tag_data):
        """The text of a running onChatTags call as a C string kept until the call ends, or
        None when tag_data is not one (read for an isolated plugin's crash record; it is
        not a plugin's call, so no effect is recorded)."""
        session = self._session(tag_data)
        if session is None:
            return None
        buffer = ffi.new("char[]", _b(session.tagger.get_text()))
        session.texts.append(buffer)
        return buffer

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
