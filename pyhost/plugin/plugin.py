"""Writing plugins in Python: the same ABI as C, with a thin Pythonic layer on top.

A Python plugin is a module (a ``.py`` file, a package directory, or an installed
distribution's ``pyhost.plugins`` entry point) that declares one :class:`Plugin`::

    from pyhost.plugin import Plugin, hook

    plugin = Plugin(guid="{...}", name="Hello", version=1.0, author="me",
                    settings={"greetings": 0})

    @hook("dcpp.chat.onIncomingChat")
    def on_chat(hub, message):              # HubData view, str
        if message == "!hello":
            plugin.settings["greetings"] += 1
            hub.local_message("hello back")
            return True                         # handled, as a C subscriber returning True

    @plugin.main
    def main(state, core, data):            # optional: the DCMAIN of C, same arguments
        plugin.log.info("state %d", state)
        return True

What the host sees is exactly a C plugin: MetaData from the declaration, and a main that
gets each lifecycle state with the plugin's own ``DCCore*``. Everything here goes through
that core: ``plugin.core`` is the cdata, ``plugin.query_interface(guid, version)`` the raw
``DCInterface*``; hooks are bound with the ``DCHooks`` table the core answers, settings are
``DCConfig`` under the plugin's guid, the logger writes to ``DCLog``.

Lifecycle, in order, for a load state (ON_INSTALL / ON_LOAD / ON_LOAD_RUNTIME): the hooks the
plugin declared are created, its interfaces registered, its ``@hook`` subscribers bound, then
its ``main`` runs. If any step fails (or main returns False or raises), everything done so far
is undone and the load fails. For ON_UNLOAD / ON_UNINSTALL main runs first; False means "I
cannot be unloaded" as in C (everything stays until the host shuts down), otherwise
subscriptions are released, hooks destroyed and interfaces released. ``main`` returning None
counts as True (only an explicit False refuses).

Hook subscribers get typed views (see :mod:`pyhost.views`) made lazily, and return what a
C subscriber returns: a false value (not handled), ``True``/``HANDLED`` (handled), ``BREAK``
(stop the dispatch: the C ``*bBreak = True``) or ``HANDLED | BREAK``. An exception never
reaches C: it is reported to the host (a ``SubscriberException`` event naming the plugin)
and counts as not handled.
"""
from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import MutableMapping
from typing import Any, Callable, Iterable, Iterator, Optional

from pyhost._ffi import ffi, lib
from pyhost.bus import BREAK, HANDLED
from pyhost.interfaces import BoundTable, ExportedTable, Interface, bind_table, export, function
from pyhost.loader import API_VERSION, PluginMeta
from pyhost.services.config import from_native
from pyhost.standard_hooks import SPECS as STANDARD_HOOK_SPECS
from pyhost.views import (
    STANDARD,
    CommandData,
    ConnectionData,
    DataArray,
    HubData,
    InterfaceUnavailable,
    QueueData,
    StringData,
    Table,
    TagData,
    UDPData,
    UserData,
    View,
    pointer_of,
    text,
)

__all__ = [
    "API_VERSION", "BREAK", "HANDLED", "Plugin", "Hook", "Subscription", "Settings",
    "Int64", "PluginDeclarationError", "HookError", "InterfaceUnavailable", "hook", "ffi", "lib",
    "Interface", "function", "HubData", "UserData", "ConnectionData", "QueueData",
    "CommandData", "StringData", "UDPData", "TagData", "DataArray", "HOOK_TYPES",
    "HostRuntime", "ON_INSTALL", "ON_LOAD", "ON_LOAD_RUNTIME", "ON_CONFIGURE", "ON_UNLOAD",
    "ON_UNINSTALL", "LOAD_STATES", "UNLOAD_STATES", "MSG_CLIENT", "MSG_STATUS", "MSG_SYSTEM",
]

# The lifecycle states main receives (ABI.md, "Plugin states").
ON_INSTALL, ON_LOAD, ON_LOAD_RUNTIME = lib.ON_INSTALL, lib.ON_LOAD, lib.ON_LOAD_RUNTIME
ON_CONFIGURE, ON_UNLOAD, ON_UNINSTALL = lib.ON_CONFIGURE, lib.ON_UNLOAD, lib.ON_UNINSTALL
LOAD_STATES = (ON_INSTALL, ON_LOAD, ON_LOAD_RUNTIME)
UNLOAD_STATES = (ON_UNLOAD, ON_UNINSTALL)
# MsgType for HubData.local_message.
MSG_CLIENT, MSG_STATUS, MSG_SYSTEM = lib.MSG_CLIENT, lib.MSG_STATUS, lib.MSG_SYSTEM
STATE_NAMES = {lib.ON_INSTALL: "ON_INSTALL", lib.ON_LOAD: "ON_LOAD",
               lib.ON_LOAD_RUNTIME: "ON_LOAD_RUNTIME", lib.ON_CONFIGURE: "ON_CONFIGURE",
               lib.ON_UNLOAD: "ON_UNLOAD", lib.ON_UNINSTALL: "ON_UNINSTALL"}

log = logging.getLogger("pyhost.plugin")

# What a subscriber receives for the object and the data of each standard hook: a view
# class, str (a C string), int (a uint64_t* tick) or None (the raw pointer). The table of
# standard hooks is pyhost.standard_hooks.SPECS (ABI.md, "Standard hooks").
_KINDS = {"hub": HubData, "user": UserData, "connection": ConnectionData, "udp": UDPData,
          "queue": QueueData, "host": None, "text": str, "tick": int, "tags": TagData,
          "display": StringData, "command": CommandData, "bytes": DataArray, None: None}
HOOK_TYPES: dict[str, tuple[Any, Any]] = {
    spec.guid: (_KINDS[spec.object], _KINDS[spec.data]) for spec in STANDARD_HOOK_SPECS}

_DEFAULT = object()  # "use HOOK_TYPES" in hook(object=..., data=...)


class PluginDeclarationError(ValueError):
    """A Plugin(...) declaration or a @hook is malformed."""


class HookError(RuntimeError):
    """A hook could not be created or bound (duplicate guid, unknown hook)."""


class HostRuntime(Interface, guid="pyhost.host.Runtime", version=1):
    """What pyhost offers its Python plugins beyond the ABI, as an interface table.

    Registered by the host (pyhost.python_loader.attach); queried by each Python plugin
    through its DCCore, like any other interface. A C plugin may use it too.
    """

    @function("void(const char* guid, const char* name, const char* where, const char* what,"
              " const char* error, const char* traceback)")
    def report_exception(self, guid, name, where, what, error, traceback):
        """Reports an exception caught at the C boundary: ``where`` is a hook guid, an
        interface guid, or a lifecycle state name (``ON_CONFIGURE``, ``ON_UNLOAD``...)."""

    @function("size_t(void)")
    def pending_reclaim(self):
        """How many released subscriber arrays a dispatch may still be reading (0 = none:
        every handle released so far can be freed)."""


# -- declaring hooks --------------------------------------------------------------------------

class _HookSpec:
    __slots__ = ("guid", "fn", "object", "data", "raw")

    def __init__(self, guid: str, fn: Callable, object: Any, data: Any, raw: bool):
        self.guid, self.fn, self.object, self.data, self.raw = guid, fn, object, data, raw


def _types_for(guid: str, object: Any, data: Any) -> tuple[Any, Any]:
    std_object, std_data = HOOK_TYPES.get(guid, (None, None))
    object = std_object if object is _DEFAULT else object
    data = std_data if data is _DEFAULT else data
    for what, value in (("object", object), ("data", data)):
        if value not in (None, str, int) and not (isinstance(value, type)
                                                 and issubclass(value, View)):
            raise PluginDeclarationError(
                f"hook {guid!r}: {what}= must be a view class (HubData, StringData...), "
                f"str, int or None, not {value!r}.")
    return object, data


def hook(guid: str, *, object: Any = _DEFAULT, data: Any = _DEFAULT, raw: bool = False):
    """Marks a function as a subscriber of the hook ``guid``.

    The function is called as ``fn(object, data)``. For the standard hooks both are typed as
    ABI.md says (``HOOK_TYPES``); for other hooks they are raw cdata pointers unless
    ``object=`` / ``data=`` name a view class, ``str`` (a C string) or ``int`` (a
    ``uint64_t*``). ``raw=True`` passes the two ``void*`` untouched (the fastest path).

    Module-level functions marked with ``@hook`` in the plugin's entry module are bound for
    the plugin found there; elsewhere use ``@plugin.hook``.
    """
    if not isinstance(guid, str) or not guid:
        raise PluginDeclarationError("@hook needs the hook's guid, e.g. "
                                     "@hook(\"dcpp.chat.onIncomingChat\").")
    types = _types_for(guid, object, data)

    def mark(fn: Callable) -> Callable:
        if not callable(fn):
            raise PluginDeclarationError(f"@hook({guid!r}) decorates {fn!r}, "
                                         "which is not callable.")
        specs = fn.__dict__.setdefault("_pyhost_hooks", [])
        specs.append(_HookSpec(guid, fn, types[0], types[1], raw))
        return fn

    return mark


# -- the per-event path ---------------------------------------------------------------------

_new = object.__new__
_from_handle = ffi.from_handle
_string = ffi.string
_U64 = ffi.typeof("uint64_t*")
_CHARP = ffi.typeof("char*")
_cast = ffi.cast


class Subscription:
    """One bound subscriber of a Python plugin; released at unload, or by ``release()``."""

    __slots__ = ("plugin", "guid", "fn", "ocls", "dcls", "raw", "handle", "_self", "_outs",
                 "__weakref__")

    def __init__(self, plugin: "Plugin", spec: _HookSpec):
        self.plugin = plugin
        self.guid = spec.guid
        self.fn = spec.fn
        self.ocls = spec.object
        self.dcls = spec.data
        self.raw = spec.raw
        self.handle = None
        self._self = ffi.new_handle(self)  # the `common` the trampoline gets back
        self._outs: dict[int, Any] = {}   # thread id -> the last StringData.out it set

    # views call these
    def table(self, name: str) -> Table:
        return self.plugin.table(name)

    def keep_out(self, buffer) -> None:
        """Keeps the string this subscriber set as StringData.out on this thread alive, and
        lets the previous one (already copied by the host) go."""
        self._outs[threading.get_ident()] = buffer

    def release(self) -> int:
        """Unsubscribes; returns the subscribers the hook has left (0 if already gone)."""
        return self.plugin._release_subscription(self)

    @property
    def active(self) -> bool:
        return self.handle is not None

    def __repr__(self) -> str:
        name = getattr(self.fn, "__qualname__", repr(self.fn))
        return f"<Subscription {name} on {self.guid}{'' if self.active else ' (released)'}>"


@ffi.def_extern()
def _pyhost_plugin_hook(obj, data, common, brk):
    sub = _from_handle(common)
    try:
        if sub.raw:
            result = sub.fn(obj, data)
        else:
            cls = sub.ocls
            if not obj:
                o = None
            elif cls is None:
                o = obj
            else:
                o = _new(cls)
                o._p = obj
                o._c = None
                o._owner = sub
            cls = sub.dcls
            if not data:
                d = None
            elif cls is str:
                d = _string(_cast(_CHARP, data)).decode("utf-8", "replace")
            elif cls is None:
                d = data
            elif cls is int:
                d = _cast(_U64, data)[0]
            else:
                d = _new(cls)
                d._p = data
                d._c = None
                d._owner = sub
            result = sub.fn(o, d)
    except BaseException as exc:  # never unwind into C
        sub.plugin._report(sub.guid, _name_of(sub.fn), exc)
        return 0
    if not result:
        return 0
    if result is True:
        return 1
    flags = int(result)
    if flags & BREAK:
        brk[0] = 1
    return flags & HANDLED


def _name_of(fn: Any) -> str:
    return getattr(fn, "__qualname__", None) or repr(fn)


# -- hooks this plugin creates ----------------------------------------------------------------

class Hook:
    """A hook created by this plugin; only its creator can fire it (``run``)."""

    def __init__(self, plugin: "Plugin", guid: str, default: Optional[Callable]):
        self.plugin = plugin
        self.guid = guid
        self.default = default
        self.handle = None
        self._default_cb = None

    def run(self, object: Any = None, data: Any = None) -> bool:
        """Fires the hook with ``DCHooks.run_hook``; True when a subscriber handled it.

        ``object`` and ``data`` may be views, cdata pointers, None (NULL) or, for data,
        a ``str`` (passed as a C string for the duration of the call).
        """
        if self.handle is None:
            raise HookError(f"hook {self.guid!r} is not created (the plugin is not loaded)")
        if isinstance(data, str):
            data = ffi.new("char[]", data.encode("utf-8"))
        if isinstance(object, str):
            object = ffi.new("char[]", object.encode("utf-8"))
        return self.plugin._dchooks.run_hook(self.handle, pointer_of(object),
                                             pointer_of(data)) == 1

    def __repr__(self) -> str:
        return f"<Hook {self.guid}{'' if self.handle is not None else ' (not created)'}>"


# -- settings -----------------------------------------------------------------------------------

_INT32 = (-2**31, 2**31 - 1)


class Int64(int):
    """An int stored as DCConfig INT64 even when it is small: ``settings={"n": Int64(0)}``."""


class Settings(MutableMapping):
    """The plugin's settings, stored by the host through DCConfig under the plugin's guid.

    Values are typed as DCConfig types them: ``bool`` -> BOOL, ``int`` -> INT (INT64 when it
    does not fit in 32 bits), ``str`` -> STRING; they persist across restarts and updates.
    ``defaults`` (given to :class:`Plugin`) are what a key reads before it was ever set, and
    fix its type. DCConfig cannot list a plugin's settings nor tell an unset string from an
    empty one, so iteration covers the declared keys, and an empty string reads as unset.
    """

    def __init__(self, plugin: "Plugin", defaults: dict[str, Any]):
        self._plugin = plugin
        self.defaults = dict(defaults)
        for key, value in self.defaults.items():
            _config_type(key, value)  # refuse a default DCConfig cannot store

    def _table(self):
        table = self._plugin._config
        if table is None:
            raise RuntimeError(f"{self._plugin.meta.name}: settings are only available "
                               "while the plugin is loaded (DCConfig comes with its core).")
        return table

    def _read(self, key: str, kind: int) -> tuple[int, Any]:
        table = self._table()
        value = table.get_cfg(self._plugin._guid_c, key.encode("utf-8"), kind)
        if value == ffi.NULL:
            return lib.CFG_TYPE_STRING, ""
        try:
            typed = from_native(value)  # the host's own decoding of a ConfigValue
            t = value.type
        finally:
            table.release(value)
        return (lib.CFG_TYPE_STRING, "") if typed is None else (t, typed[1])

    def __getitem__(self, key: str) -> Any:
        kind, value = self._read(key, lib.CFG_TYPE_UNKNOWN)
        unset = kind == lib.CFG_TYPE_STRING and value == ""
        if key in self.defaults:
            default = self.defaults[key]
            if unset:
                return default
            wanted = _config_type(key, default)
            if wanted != kind:
                kind, value = self._read(key, wanted)
            return value
        if unset:
            raise KeyError(key)
        return value

    def __setitem__(self, key: str, value: Any) -> None:
        kind = _config_type(key, self.defaults.get(key, value))
        kind = max(kind, _config_type(key, value)) if kind in (lib.CFG_TYPE_INT,
                                                               lib.CFG_TYPE_INT64) else kind
        keep = []
        if kind == lib.CFG_TYPE_STRING:
            buffer = ffi.new("char[]", str(value).encode("utf-8"))
            keep.append(buffer)
            cv = ffi.new("ConfigStr*", {"type": kind, "value": buffer})
        elif kind == lib.CFG_TYPE_BOOL:
            cv = ffi.new("ConfigBool*", {"type": kind, "value": 1 if value else 0})
        elif kind == lib.CFG_TYPE_INT:
            cv = ffi.new("ConfigInt*", {"type": kind, "value": int(value)})
        else:
            cv = ffi.new("ConfigInt64*", {"type": kind, "value": int(value)})
        self._table().set_cfg(self._plugin._guid_c, key.encode("utf-8"),
                              ffi.cast("ConfigValue*", cv))

    def __delitem__(self, key: str) -> None:
        kind, value = self._read(key, lib.CFG_TYPE_UNKNOWN)
        if kind == lib.CFG_TYPE_STRING and value == "":
            raise KeyError(key)
        cv = ffi.new("ConfigValue*", {"type": lib.CFG_TYPE_REMOVE})
        self._table().set_cfg(self._plugin._guid_c, key.encode("utf-8"), cv)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self.defaults))

    def __len__(self) -> int:
        return len(self.defaults)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        if key in self.defaults:
            return True
        kind, value = self._read(key, lib.CFG_TYPE_UNKNOWN)
        return not (kind == lib.CFG_TYPE_STRING and value == "")

    def __repr__(self) -> str:
        return f"<Settings of {self._plugin.meta.name}>"


def _config_type(key: str, value: Any) -> int:
    if isinstance(value, bool):
        return lib.CFG_TYPE_BOOL
    if isinstance(value, Int64):
        return lib.CFG_TYPE_INT64
    if isinstance(value, int):
        return lib.CFG_TYPE_INT if _INT32[0] <= value <= _INT32[1] else lib.CFG_TYPE_INT64
    if isinstance(value, str):
        return lib.CFG_TYPE_STRING
    raise TypeError(f"setting {key!r}: DCConfig stores str, int and bool, "
                    f"not {type(value).__name__}")


# -- the logger -------------------------------------------------------------------------------

class _DCLogHandler(logging.Handler):
    """Sends a plugin's log records to its DCLog table (to Python logging when unloaded)."""

    def __init__(self, plugin: "Plugin"):
        super().__init__()
        self.plugin = plugin
        self.setFormatter(logging.Formatter("%(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        table = self.plugin._dclog
        try:
            message = self.format(record)
            if record.levelno >= logging.WARNING:
                message = f"{record.levelname.lower()}: {message}"
            if table is None:
                logging.getLogger(f"pyhost.plugin.{self.plugin.meta.name}").log(
                    record.levelno, "%s", message)
            else:
                table.log(message.encode("utf-8", "replace"))
        except Exception:
            self.handleError(record)


def _make_logger(plugin: "Plugin") -> logging.Logger:
    # One Logger per Plugin object, outside logging's registry: two loads of the same
    # plugin (two hosts, or a reload) must not share handlers, and it goes with the plugin.
    logger = logging.Logger(f"pyhost.python.{plugin.meta.name}", logging.INFO)
    logger.addHandler(_DCLogHandler(plugin))
    logger.propagate = False  # the host logs DCLog messages itself
    return logger


# -- the plugin ---------------------------------------------------------------------------------

# Handles of subscriptions released while a dispatch on another thread might still be using
# them, per host (the address of its runtime table), kept until that host says nothing
# released is still being read; and those of plugins closed without a host to ask.
_graveyard: dict[int, list[Any]] = {}
_graveyard_lock = threading.Lock()


class Plugin:
    """A Python plugin: its metadata, its hooks, interfaces and settings, and its main."""

    def __init__(self, *, guid: str, name: str, version: float, author: str = "",
                 description: str = "", website: str = "", dependencies: Iterable[str] = (),
                 settings: Optional[dict[str, Any]] = None, api_version: int = API_VERSION):
        for field_name, value in (("guid", guid), ("name", name)):
            if not isinstance(value, str) or not value.strip():
                raise PluginDeclarationError(f"Plugin(...) needs a non-empty {field_name}.")
        for field_name, value in (("author", author), ("description", description),
                                  ("website", website)):
            if not isinstance(value, str):
                raise PluginDeclarationError(f"Plugin {name!r}: {field_name} must be a str.")
        if isinstance(version, bool) or not isinstance(version, (int, float)):
            raise PluginDeclarationError(f"Plugin {name!r}: version must be a number such as "
                                         "1.0 (the ABI's double).")
        if isinstance(dependencies, str):
            dependencies = (dependencies,)
        deps = tuple(dependencies)
        if not all(isinstance(d, str) and d for d in deps):
            raise PluginDeclarationError(f"Plugin {name!r}: dependencies must be plugin guids.")
        if api_version != API_VERSION:
            raise PluginDeclarationError(
                f"Plugin {name!r} declares plugin API version {api_version}; this host "
                f"speaks version {API_VERSION}.")
        self.meta = PluginMeta(guid=guid, name=name, version=float(version), author=author,
                               description=description, website=website,
                               dependencies=deps, api_version=api_version)
        self._guid_c = guid.encode("utf-8")
        self._specs: list[_HookSpec] = []
        self._declared_hooks: dict[str, Hook] = {}
        self._provided: list[Interface] = []
        self._main_fn: Optional[Callable] = None
        self.settings = Settings(self, settings or {})
        self.log = _make_logger(self)
        self._retired: list[Any] = []
        self._reset()

    def _reset(self) -> None:
        self.core = None               # DCCore* while loaded
        self.state: Optional[int] = None  # the load state main last received
        self._dchooks = None            # DCHooks*
        self._config = None             # DCConfig*
        self._dclog = None              # DCLog*
        self._runtime: Optional[BoundTable] = None
        self._subscriptions: list[Subscription] = []
        self._exported: list[tuple[ExportedTable, Any]] = []
        self._tables: dict[str, Table] = {}
        self._outside_outs: dict[int, Any] = {}
        self._commands: list[tuple[str, Any]] = []  # DCUI commands: (name, callback)
        self.loaded = False

    # -- declaration ----------------------------------------------------------------------
    def hook(self, guid: str, *, object: Any = _DEFAULT, data: Any = _DEFAULT,
             raw: bool = False):
        """``@plugin.hook(guid)``: like :func:`hook`, for this plugin explicitly."""
        mark = hook(guid, object=object, data=data, raw=raw)

        def decorate(fn: Callable) -> Callable:
            mark(fn)
            self._adopt(fn)
            return fn

        return decorate

    def main(self, fn: Callable[[int, Any, Any], Any]) -> Callable:
        """``@plugin.main``: the plugin's DCMAIN, ``main(state, core, data)``."""
        if self._main_fn is not None:
            raise PluginDeclarationError(f"{self.meta.name} declares two main functions.")
        self._main_fn = fn
        return fn

    def create_hook(self, guid: str, default: Optional[Callable] = None) -> Hook:
        """A hook this plugin owns (``DCHooks.create_hook``), existing while it is loaded.

        Declared at import time, it is created at each load before the subscribers are bound
        (so the plugin may subscribe to it); called while loaded, it is created at once.
        ``default`` is the default procedure ``default(object, data)``: it runs only when
        the hook has no subscribers. Raises HookError if the guid exists.
        """
        if guid in self._declared_hooks:
            raise HookError(f"{self.meta.name} already creates hook {guid!r}")
        created = Hook(self, guid, default)
        self._declared_hooks[guid] = created
        if self.loaded:
            try:
                self._create_now(created)
            except BaseException:
                del self._declared_hooks[guid]
                raise
        return created

    def provide(self, impl: Interface) -> Interface:
        """Registers ``impl`` (an :class:`~pyhost.interfaces.Interface` instance) as a C
        function table with ``DCCore.register_interface`` while the plugin is loaded."""
        if not isinstance(impl, Interface):
            raise PluginDeclarationError(f"provide() takes an Interface instance, not {impl!r}.")
        self._provided.append(impl)
        if self.loaded:
            try:
                self._register_now(impl)
            except BaseException:
                self._provided.remove(impl)
                raise
        return impl

    @property
    def hooks(self) -> dict[str, Hook]:
        """The hooks this plugin creates, by guid."""
        return dict(self._declared_hooks)

    def _adopt(self, fn: Callable) -> None:
        """Takes the @hook marks of ``fn`` not yet known (binding now if loaded)."""
        for spec in fn.__dict__.get("_pyhost_hooks", ()):
            if any(s is spec for s in self._specs):
                continue
            self._specs.append(spec)
            if self.loaded:
                self._bind_now(spec)

    def collect(self, namespace: dict[str, Any]) -> None:
        """Adopts the @hook-marked functions of a module namespace, in definition order."""
        for value in list(namespace.values()):
            if callable(value) and "_pyhost_hooks" in getattr(value, "__dict__", {}):
                self._adopt(value)

    # -- while loaded: the raw ABI --------------------------------------------------------
    def query_interface(self, guid: str, version: int):
        """``core->query_interface(guid, version)``: the raw ``DCInterface*`` (maybe NULL)."""
        core = self._require_core()
        return core.query_interface(guid.encode("utf-8"), version)

    def has_plugin(self, guid: str) -> bool:
        return self._require_core().has_plugin(guid.encode("utf-8")) == 1

    @property
    def host_name(self) -> str:
        return text(self._require_core().host_name()) or ""

    # -- while loaded: the Pythonic layer -------------------------------------------------
    def interface(self, spec: Any, version: Optional[int] = None):
        """Queries an interface through the core.

        ``spec`` is an :class:`Interface` subclass (its guid and version; the answer is a
        :class:`~pyhost.interfaces.BoundTable` to call), a standard table name or guid
        (``"DCHub"`` / ``"dcpp.network.DCHub"``: a :class:`~pyhost.views.Table`), or any
        other guid (the raw ``DCInterface*``). None when the host has no such interface.
        """
        if isinstance(spec, type) and issubclass(spec, Interface):
            return bind_table(spec, self._query(spec.guid, version or spec.version))
        name = _standard_name(spec)
        if name is not None:
            guid, std_version = STANDARD[name]
            pointer = self._query(guid, version or std_version)
            return None if pointer is None else Table(name, pointer, self)
        return self._query(spec, version or 1)

    def table(self, name: str) -> Table:
        """A standard table (``"DCHub"``, ``"DCQueue"``...) as an object, queried once per
        load; raises InterfaceUnavailable when the host provides none."""
        cached = self._tables.get(name)
        if cached is not None:
            return cached
        guid, version = STANDARD[name]
        pointer = self._query(guid, version)
        if pointer is None:
            raise InterfaceUnavailable(f"this host provides no {guid} (version {version}).")
        table = self._tables[name] = Table(name, pointer, self)
        return table

    hub = property(lambda self: self.table("DCHub"), doc="DCHub as an object")
    connection = property(lambda self: self.table("DCConnection"), doc="DCConnection")
    queue = property(lambda self: self.table("DCQueue"), doc="DCQueue as an object")
    utils = property(lambda self: self.table("DCUtils"), doc="DCUtils as an object")
    tagger = property(lambda self: self.table("DCTagger"), doc="DCTagger as an object")
    ui = property(lambda self: self.table("DCUI"), doc="DCUI as an object")
    data_access = property(lambda self: self.table("DCDataAccess"), doc="DCDataAccess")

    def bind(self, guid: str, fn: Callable, *, object: Any = _DEFAULT, data: Any = _DEFAULT,
             raw: bool = False) -> Subscription:
        """Subscribes ``fn`` now (the plugin must be loaded); released at unload at the
        latest. Raises HookError if there is no such hook."""
        self._require_core()
        spec = _HookSpec(guid, fn, *_types_for(guid, object, data), raw)
        return self._bind_now(spec)

    def add_command(self, name: str, fn: Callable[[str], Any], icon: str = "") -> None:
        """``DCUI.add_command`` under this plugin's guid: ``fn(name)`` runs when the user
        picks the command. The callback lives as long as the command, which is removed at
        unload (``DCUI.remove_command``) or by :meth:`remove_command`."""
        ui = self.table("DCUI")
        plugin = self

        def command(name_c):
            try:
                fn(text(name_c))
            except BaseException as exc:  # never unwind into C
                plugin._report("dcpp.ui.DCUI", f"command {name!r}", exc)

        callback = ffi.callback("DCCommandFunc", command)
        ui.add_command(self.meta.guid, name, callback, icon or None)
        self._commands.append((name, callback))

    def remove_command(self, name: str) -> None:
        """``DCUI.remove_command`` for a command this plugin added."""
        for entry in [c for c in self._commands if c[0] == name]:
            self.table("DCUI").remove_command(self.meta.guid, name)
            self._commands.remove(entry)
            self._retire([entry[1]])

    def keep_out(self, buffer) -> None:
        """StringData.out set outside a subscriber (on a view this plugin was handed)."""
        self._outside_outs[threading.get_ident()] = buffer

    @property
    def subscriptions(self) -> list[Subscription]:
        return list(self._subscriptions)

    # -- the host's side: DCMAIN ------------------------------------------------------------
    def _main(self, state: int, core: Any, data: Any) -> bool:
        if state in LOAD_STATES:
            return self._load(state, core, data)
        if state == lib.ON_CONFIGURE:
            try:
                return self._call_main(state, core, data)
            except Exception as exc:
                self._report(STATE_NAMES[state], "main", exc)
                return False
        if state in UNLOAD_STATES:
            try:
                ok = self._call_main(state, None, None)
            except Exception as exc:
                self._report(STATE_NAMES[state], "main", exc)
                ok = False
            if not ok:
                return False  # "cannot be unloaded": everything stays until host shutdown
            self._release_all()
            return True
        return True

    def _call_main(self, state: int, core: Any, data: Any) -> bool:
        if self._main_fn is None:
            return True
        result = self._main_fn(state, core, None if data is None or data == ffi.NULL
                               else data)
        return result is None or bool(result)

    def _load(self, state: int, core: Any, data: Any) -> bool:
        if self.loaded:
            raise RuntimeError(f"{self.meta.name} is already loaded (by another host?)")
        if core is None or core == ffi.NULL:
            raise RuntimeError(f"{self.meta.name} got no DCCore for {STATE_NAMES[state]}")
        self.core = core
        self.state = state
        try:
            self._dchooks = self._typed_query("DCHooks")
            if self._dchooks is None:
                raise InterfaceUnavailable("this host provides no generic.plugins.DCHooks 8.")
            self._config = self._typed_query("DCConfig")
            self._dclog = self._typed_query("DCLog")
            self._runtime = bind_table(HostRuntime, self._query(HostRuntime.guid, 1))
            self.loaded = True
            for created in self._declared_hooks.values():
                self._create_now(created)
            for impl in self._provided:
                self._register_now(impl)
            for spec in self._specs:
                self._bind_now(spec)
            ok = self._call_main(state, core, data)
        except BaseException:
            self._release_all()
            raise
        if not ok:
            self._release_all()
            return False
        return True

    def _closed(self, refused_unload: bool) -> None:
        """The host closes this plugin. After a refused unload the host has released what
        the plugin held through its core already: only the Python side is dropped."""
        if self.loaded and not refused_unload:
            self._release_all()
        self._retire([s._self for s in self._subscriptions])
        self._retire([e for e in self._exported])
        self._reset()
        self._sweep(final=True)

    # -- doing it ---------------------------------------------------------------------------
    def _require_core(self):
        if self.core is None:
            raise RuntimeError(f"{self.meta.name} is not loaded: the ABI is reached through "
                               "the DCCore it gets at load.")
        return self.core

    def _query(self, guid: str, version: int):
        pointer = self._require_core().query_interface(guid.encode("utf-8"), version)
        return None if pointer == ffi.NULL else pointer

    def _typed_query(self, name: str):
        guid, version = STANDARD[name]
        pointer = self._query(guid, version)
        return None if pointer is None else ffi.cast(f"{name}*", pointer)

    def _create_now(self, created: Hook) -> None:
        default = ffi.NULL
        if created.default is not None:
            fn = created.default
            plugin = self

            def default_proc(obj, data, common, brk):
                try:
                    return 1 if fn(obj if obj else None, data if data else None) else 0
                except BaseException as exc:
                    plugin._report(created.guid, _name_of(fn), exc)
                    return 0

            created._default_cb = default = ffi.callback("DCHOOK", default_proc)
        handle = self._dchooks.create_hook(created.guid.encode("utf-8"), default)
        if handle == ffi.NULL:
            created._default_cb = None
            raise HookError(f"cannot create hook {created.guid!r}: it already exists")
        created.handle = handle

    def _register_now(self, impl: Interface) -> None:
        table = export(impl, on_error=self._interface_failed)
        handle = self.core.register_interface(table.guid.encode("utf-8"), table.pointer)
        if handle == ffi.NULL:
            raise HookError(f"cannot register interface {table.guid!r}: another plugin "
                            "registered it first")
        self._exported.append((table, handle))

    def _bind_now(self, spec: _HookSpec) -> Subscription:
        if len(self._retired) >= 64:
            self._sweep()
        sub = Subscription(self, spec)
        handle = self._dchooks.bind_hook(spec.guid.encode("utf-8"), lib._pyhost_plugin_hook,
                                         sub._self)
        if handle == ffi.NULL:
            raise HookError(f"cannot bind {_name_of(spec.fn)} to hook {spec.guid!r}: "
                            "no such hook")
        sub.handle = handle
        self._subscriptions.append(sub)
        return sub

    def _release_subscription(self, sub: Subscription) -> int:
        if sub.handle is None or self._dchooks is None:
            return 0
        left = self._dchooks.release_hook(sub.handle)
        sub.handle = None
        if sub in self._subscriptions:
            self._subscriptions.remove(sub)
        self._retire([sub._self])
        sub._outs.clear()
        if len(self._retired) >= 64:
            self._sweep()
        return left

    def _release_all(self) -> None:
        """Undoes the load: UI commands, subscriptions, hooks, interfaces (the C order)."""
        for name, _ in list(self._commands):
            try:
                self.remove_command(name)
            except Exception:
                log.exception("%s: removing UI command %r failed", self.meta.name, name)
        for sub in list(self._subscriptions):
            try:
                self._release_subscription(sub)
            except Exception:
                log.exception("%s: releasing %r failed", self.meta.name, sub)
        for created in self._declared_hooks.values():
            if created.handle is not None:
                self._dchooks.destroy_hook(created.handle)
                created.handle = None
                if created._default_cb is not None:
                    self._retire([created._default_cb])
                    created._default_cb = None
        for table, handle in self._exported:
            self.core.release_interface(handle)
            self._retire([table])
        self._exported = []
        runtime = self._runtime
        self._reset()
        self._runtime = runtime  # kept for the final sweep
        self._sweep()
        self._runtime = None

    # -- handles a dispatch may still hold --------------------------------------------------
    def _retire(self, things: list[Any]) -> None:
        self._retired.extend(things)

    def _sweep(self, final: bool = False) -> None:
        runtime = self._runtime
        key = 0 if runtime is None else int(ffi.cast("uintptr_t", runtime.pointer))
        if runtime is not None and runtime.pending_reclaim is not None:
            self._host_key = key
            if runtime.pending_reclaim() == 0:
                self._retired.clear()
                with _graveyard_lock:
                    _graveyard.pop(key, None)
                return
        if final and self._retired:
            with _graveyard_lock:
                _graveyard.setdefault(getattr(self, "_host_key", 0), []).extend(self._retired)
            self._retired = []

    # -- errors -----------------------------------------------------------------------------
    def _interface_failed(self, impl: Interface, slot: str, exc: BaseException) -> None:
        self._report(type(impl).guid, f"{type(impl).__name__}.{slot}", exc)

    def _report(self, where: str, what: str, exc: BaseException) -> None:
        """An exception caught at the C boundary: to the host (an event), and to logging."""
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        runtime = self._runtime
        if runtime is not None and runtime.report_exception is not None:
            try:
                runtime.report_exception(self.meta.guid, self.meta.name, where, what,
                                         repr(exc), tb)
                return
            except Exception:
                log.exception("reporting to the host failed")
        log.error("%s: %s (%s) raised %r\n%s", self.meta.name, what, where, exc, tb)

    def __repr__(self) -> str:
        state = "loaded" if self.loaded else "not loaded"
        return f"<Plugin {self.meta.name} {self.meta.version} {self.meta.guid} ({state})>"


def _standard_name(spec: Any) -> Optional[str]:
    if not isinstance(spec, str):
        return None
    if spec in STANDARD:
        return spec
    for name, (guid, _) in STANDARD.items():
        if guid == spec:
            return name
    return None
