"""Plugin objects per hub and per client connection: ``@plugin.per_hub``,
``@plugin.per_connection`` (docs/python-plugins.md, "Objects per hub and per connection").

::

    @plugin.per_hub
    class HubStats:
        def __init__(self, hub):                    # a hub came online: None = ignore it
            self.lines = 0

        @hook("dcpp.chat.onIncomingChat")
        def on_chat(self, hub, message):            # only this hub's chat
            self.lines += 1

        def tick(self): ...                         # each dcpp.timer.onSecond
        def close(self): ...                        # hub offline, or the plugin unloads

Everything here is built on the ABI, as any plugin could do it: the dispatcher of each
factory is a set of ordinary subscriptions of the plugin (hubs.onOnline / onOffline for the
life of hub objects, timer.onSecond for ``tick`` and idleness, and one subscription per hook
the objects listen to). An entity is known by the ``object`` field of its HubData or
ConnectionData (the application's own handle, stable while the entity lives; the url, or
ip and port, when the application leaves it NULL), so routing an event costs one read of
that field and one dict lookup. A user's hub is found from ``UserData.hubHint`` (the hub's
url).
"""
from __future__ import annotations

import threading
from typing import Any, Callable, Optional

from pyhost.abi._ffi import ffi
from pyhost.abi.views import ConnectionData
from pyhost.plugin.hooks import HOOK_TYPES, PluginDeclarationError, _HookSpec, _name_of

__all__ = ["PER_HUB_HOOKS", "PER_CONNECTION_HOOKS", "DEFAULT_IDLE", "PerEntity"]

# The hooks an object may subscribe to, and how an event finds its object: "hub" = the
# hook's object is the HubData; "user" = the UserData of a user of that hub (by hubHint).
PER_HUB_HOOKS: dict[str, str] = {
    "dcpp.chat.onIncomingChat": "hub", "dcpp.chat.onOutgoingChat": "hub",
    "dcpp.network.onHubDataIn": "hub", "dcpp.network.onHubDataOut": "hub",
    "dcpp.ui.onChatCommand": "hub",
    "dcpp.chat.onIncomingPM": "user", "dcpp.chat.onOutgoingPM": "user",
    "dcpp.users.onOnline": "user", "dcpp.users.onOffline": "user",
    "dcpp.ui.onChatCommandPM": "user", "dcpp.ui.onChatTags": "user",
    "dcpp.ui.onChatDisplay": "user",
}
PER_CONNECTION_HOOKS: dict[str, str] = {
    "dcpp.network.onClientDataIn": "connection", "dcpp.network.onClientDataOut": "connection",
}
# Seconds (dcpp.timer.onSecond ticks) without a protocol line after which a connection's
# object is closed.
DEFAULT_IDLE = 60

_ONLINE, _OFFLINE, _SECOND = "dcpp.hubs.onOnline", "dcpp.hubs.onOffline", "dcpp.timer.onSecond"
_cast = ffi.cast
_string = ffi.string
_UPTR = ffi.typeof("uintptr_t*")
_CHARPP = ffi.typeof("char**")
_WORD = ffi.sizeof("uintptr_t")
_HUB_OBJECT = ffi.offsetof("HubData", "object") // _WORD
_HUB_URL = ffi.offsetof("HubData", "url") // _WORD
_CONN_OBJECT = ffi.offsetof("ConnectionData", "object") // _WORD
_USER_HUB = ffi.offsetof("UserData", "hubHint") // _WORD


class _Entry:
    """One entity's object (None: the factory ignored the entity) and its bound methods."""

    __slots__ = ("obj", "methods", "tick", "url", "idle", "ended")

    def __init__(self, obj: Any, methods: dict[str, Callable], tick: Optional[Callable],
                 url: Optional[bytes]):
        self.obj, self.methods, self.tick, self.url = obj, methods, tick, url
        self.idle = 0          # onSecond ticks since the last protocol line (connections)
        self.ended = False     # terminated: closed once the current dispatch returns


_NOTHING = _Entry(None, {}, None, None)  # what a lookup of an unknown entity answers


def _hooks_of(cls: type, allowed: dict[str, str], what: str) -> dict[str, str]:
    """guid -> method name, for the @hook methods of ``cls`` (a subclass's method replaces
    its base's of the same name)."""
    by_name: dict[str, list] = {}
    for klass in reversed(cls.__mro__):
        for name, value in vars(klass).items():
            specs = getattr(value, "__dict__", {}).get("_pyhost_hooks") \
                if callable(value) else None
            if specs:
                by_name[name] = specs
            else:
                by_name.pop(name, None)
    found: dict[str, str] = {}
    for name, specs in by_name.items():
        for spec in specs:
            if spec.guid not in allowed:
                raise PluginDeclarationError(
                    f"{cls.__qualname__}.{name}: an object {what} cannot subscribe to "
                    f"{spec.guid!r} (it may: {', '.join(sorted(allowed))}).")
            if spec.raw or (spec.object, spec.data) != HOOK_TYPES[spec.guid]:
                raise PluginDeclarationError(
                    f"{cls.__qualname__}.{name}: methods of per-entity objects get the "
                    "standard views; drop raw=, object= and data=.")
            if found.setdefault(spec.guid, name) != name:
                raise PluginDeclarationError(
                    f"{cls.__qualname__}: two methods subscribe to {spec.guid!r} "
                    f"({found[spec.guid]} and {name}); an object has one per hook.")
    return found


class _Dispatcher:
    """The objects made by one factory, and the subscribers that route events to them."""

    def __init__(self, plugin: Any, factory: Callable, cls: Optional[type], kind: str,
                 idle: Optional[int]):
        self.plugin = plugin
        self.factory = factory
        self.kind = kind                       # "hub" or "connection"
        self.idle = idle
        self.allowed = PER_HUB_HOOKS if kind == "hub" else PER_CONNECTION_HOOKS
        self.what = "per hub" if kind == "hub" else "per connection"
        self.entries: dict[Any, _Entry] = {}   # entity key -> entry (mutated in place)
        self.urls: dict[bytes, Any] = {}       # hub url -> key, for users' hubHint
        self._lock = threading.RLock()
        self._classes: dict[type, tuple[dict[str, str], bool]] = {}
        self._static: set[str] = set()         # guids bound at every load
        self._lazy: set[str] = set()           # guids bound during this load
        self._view = type("ConnectionData", (_TrackedConnection,),
                          {"__slots__": (), "_dispatcher": self})
        # Hubs are made at hubs.onOnline; connections at their first line in or out.
        guids = [_ONLINE, _OFFLINE] if kind == "hub" else list(PER_CONNECTION_HOOKS)
        if cls is not None:
            hooks, has_tick = self._class_info(cls)
            guids += [guid for guid in hooks if guid not in guids]
            if has_tick:
                guids.append(_SECOND)
        if idle is not None and _SECOND not in guids:
            guids.append(_SECOND)
        for guid in guids:
            self._static.add(guid)
            plugin._specs.append(self._spec(guid))
            if plugin.loaded:
                plugin._bind_now(plugin._specs[-1])

    # -- subscriptions --------------------------------------------------------------------
    def _spec(self, guid: str) -> _HookSpec:
        if guid == _ONLINE:
            fn = self._on_online
        elif guid == _OFFLINE:
            fn = self._on_offline
        elif guid == _SECOND:
            fn = self._on_second
        elif self.allowed[guid] == "user":
            fn = self._user_route(guid)
        elif self.kind == "hub":
            fn = self._hub_route(guid)
        else:
            fn = self._connection_route(guid)
        object_type, data_type = HOOK_TYPES[guid]
        if self.kind == "connection" and guid != _SECOND:
            object_type = self._view
        return _HookSpec(guid, fn, object_type, data_type, False)

    def _bind_missing(self, guids) -> None:
        """Binds, during this load, the hooks a newly seen class of objects listens to."""
        plugin = self.plugin
        with self._lock:
            todo = [g for g in guids if g not in self._static and g not in self._lazy]
            self._lazy.update(todo)
        for guid in todo:
            if plugin.loaded:
                plugin._bind_now(self._spec(guid))

    def _class_info(self, cls: type) -> tuple[dict[str, str], bool]:
        info = self._classes.get(cls)
        if info is None:
            info = self._classes[cls] = (_hooks_of(cls, self.allowed, self.what),
                                         callable(getattr(cls, "tick", None)))
        return info

    # -- entity keys ------------------------------------------------------------------------
    @staticmethod
    def _hub_key(p) -> Any:
        return _cast(_UPTR, p)[_HUB_OBJECT] or _hub_url(p)

    @staticmethod
    def _connection_key(view) -> Any:
        return _cast(_UPTR, view._p)[_CONN_OBJECT] or (view.ip, view.port)

    # -- making and ending objects ----------------------------------------------------------
    def _create(self, view: Any, key: Any, url: Optional[bytes], where: str) -> _Entry:
        """Calls the factory for a new entity (outside the lock: it is the plugin's code)."""
        try:
            obj = self.factory(view)
        except BaseException as exc:  # reported; the entity is ignored until it goes
            self.plugin._report(where, _name_of(self.factory), exc)
            obj = None
        methods: dict[str, Callable] = {}
        tick = None
        if obj is not None:
            try:
                hooks, has_tick = self._class_info(type(obj))
            except PluginDeclarationError as exc:
                self.plugin._report(where, _name_of(self.factory), exc)
                self._close(obj, where)
                obj, hooks, has_tick = None, {}, False
            methods = {guid: getattr(obj, name) for guid, name in hooks.items()}
            tick = obj.tick if has_tick else None
            self._bind_missing(list(methods) + ([_SECOND] if has_tick else []))
        entry = _Entry(obj, methods, tick, url)
        with self._lock:
            known = self.entries.get(key)
            if known is None:
                self.entries[key] = entry
                if url is not None:
                    self.urls[url] = key
                return entry
        self._close(obj, where)  # another thread made this entity's object first
        return known

    def _end(self, key: Any, where: str) -> None:
        with self._lock:
            entry = self.entries.pop(key, None)
            if entry is None:
                return
            if entry.url is not None and self.urls.get(entry.url) == key:
                del self.urls[entry.url]
        self._close(entry.obj, where)

    def _close(self, obj: Any, where: str) -> None:
        close = getattr(obj, "close", None) if obj is not None else None
        if close is None:
            return
        try:
            close()
        except BaseException as exc:
            self.plugin._report(where, _name_of(close), exc)

    def close_all(self, where: str) -> None:
        """The plugin unloads: every object is closed, in the order they were made."""
        with self._lock:
            entries = list(self.entries.values())
            self.entries.clear()
            self.urls.clear()
            self._lazy.clear()
        for entry in entries:
            self._close(entry.obj, where)

    def objects(self) -> list[Any]:
        with self._lock:
            return [e.obj for e in self.entries.values() if e.obj is not None]

    def _failed(self, guid: str, fn: Callable, exc: BaseException) -> int:
        self.plugin._report(guid, _name_of(fn), exc)
        return 0

    # -- the subscribers ----------------------------------------------------------------------
    def _on_online(self, hub, _data) -> int:
        if hub is not None:
            key = self._hub_key(hub._p)
            if key not in self.entries:
                self._create(hub, key, _hub_url(hub._p), _ONLINE)
        return 0

    def _on_offline(self, hub, _data) -> int:
        if hub is not None:
            self._end(self._hub_key(hub._p), _OFFLINE)
        return 0

    def _on_second(self, _none, _tick) -> int:
        with self._lock:
            entries = list(self.entries.items())
        for _, entry in entries:
            tick = entry.tick
            if tick is not None:
                try:
                    tick()
                except BaseException as exc:
                    self._failed(_SECOND, tick, exc)
        idle = self.idle
        if idle is not None:
            for key, entry in entries:
                entry.idle += 1
                if entry.idle >= idle:
                    self._end(key, _SECOND)
        return 0

    def _hub_route(self, guid: str) -> Callable:
        entries, create, failed = self.entries, self._create, self._failed
        cast, words, at = _cast, _UPTR, _HUB_OBJECT

        def route(hub, data):
            if hub is None:
                return 0
            key = cast(words, hub._p)[at] or _hub_url(hub._p)
            entry = entries.get(key)
            if entry is None:  # a hub that was online before the plugin loaded
                entry = create(hub, key, _hub_url(hub._p), guid)
            fn = entry.methods.get(guid)
            if fn is None:
                return 0
            try:
                return fn(hub, data)
            except BaseException as exc:
                return failed(guid, fn, exc)

        route.__qualname__ = f"{_name_of(self.factory)} (per hub, {guid})"
        return route

    def _user_route(self, guid: str) -> Callable:
        entries, urls, failed = self.entries, self.urls, self._failed

        def route(user, data):
            if user is None:
                return 0
            hint = _cast(_CHARPP, user._p)[_USER_HUB]
            if not hint:
                return 0
            fn = entries.get(urls.get(_string(hint)), _NOTHING).methods.get(guid)
            if fn is None:
                return 0
            try:
                return fn(user, data)
            except BaseException as exc:
                return failed(guid, fn, exc)

        route.__qualname__ = f"{_name_of(self.factory)} (per hub, {guid})"
        return route

    def _connection_route(self, guid: str) -> Callable:
        entries, conn_key, create, failed, end = self.entries, self._connection_key, \
            self._create, self._failed, self._end

        def route(conn, line):
            if conn is None:
                return 0
            key = conn_key(conn)
            entry = entries.get(key)
            if entry is None:
                entry = create(conn, key, None, guid)
            entry.idle = 0
            fn = entry.methods.get(guid)
            result = 0
            if fn is not None:
                try:
                    result = fn(conn, line)
                except BaseException as exc:
                    result = failed(guid, fn, exc)
            if entry.ended:
                end(key, guid)
            return result

        route.__qualname__ = f"{_name_of(self.factory)} (per connection, {guid})"
        return route

    def _terminated(self, view: Any) -> None:
        entry = self.entries.get(self._connection_key(view))
        if entry is not None:
            entry.ended = True


def _hub_url(p) -> bytes:
    url = _cast(_CHARPP, p)[_HUB_URL]
    return _string(url) if url else b""


class _TrackedConnection(ConnectionData):
    """The ConnectionData view of per-connection dispatch: ``terminate()`` also ends the
    connection's object once the current hook call returns."""

    __slots__ = ()
    _dispatcher: Any = None

    def terminate(self, graceless: bool = False) -> None:
        ConnectionData.terminate(self, graceless)
        self._dispatcher._terminated(self)


class PerEntity:
    """The ``per_hub`` / ``per_connection`` part of :class:`~pyhost.plugin.Plugin`."""

    def per_hub(self, factory: Optional[Callable] = None, *, cls: Optional[type] = None):
        """``@plugin.per_hub``: ``factory(hub)`` (a class, or a function returning an object
        or None) makes one object per hub; see docs/python-plugins.md.

        The @hook methods of a decorated class, or of ``cls=`` for a function, are bound at
        load; those of other classes a function returns are bound when the first such
        object is made."""
        return self._per_entity(factory, cls, "hub", None)

    def per_connection(self, factory: Optional[Callable] = None, *,
                       cls: Optional[type] = None, idle: Optional[int] = DEFAULT_IDLE):
        """``@plugin.per_connection``: one object per client connection, made at its first
        protocol line (in or out) and closed when this plugin terminates the connection
        through the view its object got, or after ``idle`` dcpp.timer.onSecond ticks
        without a protocol line (None: never for idleness)."""
        if idle is not None and (isinstance(idle, bool) or not isinstance(idle, int)
                                 or idle < 1):
            raise PluginDeclarationError("per_connection(idle=...) takes a number of "
                                         "seconds (>= 1) or None.")
        return self._per_entity(factory, cls, "connection", idle)

    def live_objects(self, factory: Callable) -> list[Any]:
        """The objects ``factory`` made that are alive now (not the ignored entities)."""
        for dispatcher in self.__dict__.get("_dispatchers", ()):
            if dispatcher.factory is factory:
                return dispatcher.objects()
        raise LookupError(f"{_name_of(factory)} is not a per_hub / per_connection factory "
                          "of this plugin")

    def _per_entity(self, factory, cls, kind, idle):
        def register(fn: Callable) -> Callable:
            if not callable(fn):
                raise PluginDeclarationError(f"per_{kind} decorates {fn!r}, which is not "
                                             "callable.")
            known = cls if cls is not None else fn if isinstance(fn, type) else None
            if known is not None:
                for spec in _marked(known):
                    if any(s is spec for s in self._specs):
                        raise PluginDeclarationError(
                            f"{known.__qualname__}: mark methods of per-entity objects with "
                            "@hook, not @plugin.hook (that binds them as plain functions).")
            self.__dict__.setdefault("_dispatchers", []).append(
                _Dispatcher(self, fn, known, kind, idle))
            return fn

        return register if factory is None else register(factory)

    def _close_entities(self, where: str) -> None:
        for dispatcher in self.__dict__.get("_dispatchers", ()):
            dispatcher.close_all(where)


def _marked(cls: type):
    for klass in cls.__mro__:
        for value in vars(klass).values():
            yield from getattr(value, "__dict__", {}).get("_pyhost_hooks", ()) \
                if callable(value) else ()
