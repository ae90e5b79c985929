"""``Plugin``: a Python plugin's declaration and lifecycle (what the host sees as its main).

See the package's documentation (``help(pyhost.plugin)``) for the authoring guide.
"""
from __future__ import annotations

import logging
import threading
import traceback
from typing import Any, Callable, Iterable, Optional

from pyhost.abi._ffi import ffi, lib
from pyhost.abi.bus import BREAK, HANDLED
from pyhost.abi.interrupts import redeliver
from pyhost.abi.interfaces import (
    BoundTable,
    ExportedTable,
    Interface,
    bind_table,
    function,
)
from pyhost.abi.interfaces import export as export_table
from pyhost.abi.meta import API_VERSION, STATE_NAMES, PluginMeta
from pyhost.abi.runtime import HostRuntime
from pyhost.abi.trampoline import PYTHON_SUBSCRIBER
from pyhost.abi.views import (
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
    standard_name,
    text,
)
from pyhost.plugin.hooks import (
    _DEFAULT,
    HOOK_TYPES,
    Hook,
    HookError,
    PluginDeclarationError,
    Subscription,
    _HookSpec,
    _name_of,
    _types_for,
    hook,
    unknown_hook_hint,
)
from pyhost.plugin.commands import Commands
from pyhost.plugin.exports import Exporting
from pyhost.plugin.log import _make_logger
from pyhost.plugin.per_entity import PerEntity
from pyhost.plugin.settings import Int64, Settings

__all__ = [
    "API_VERSION", "BREAK", "HANDLED", "Plugin", "Hook", "Subscription", "Settings",
    "Int64", "PluginDeclarationError", "HookError", "InterfaceUnavailable", "hook", "ffi", "lib",
    "Interface", "function", "HubData", "UserData", "ConnectionData", "QueueData",
    "CommandData", "StringData", "UDPData", "TagData", "DataArray", "HOOK_TYPES",
    "HostRuntime", "ON_INSTALL", "ON_LOAD", "ON_LOAD_RUNTIME", "ON_CONFIGURE", "ON_UNLOAD",
    "ON_UNINSTALL", "LOAD_STATES", "UNLOAD_STATES", "MSG_CLIENT", "MSG_STATUS", "MSG_SYSTEM",
]

# The lifecycle states main receives (docs/abi.md, "Loading").
ON_INSTALL, ON_LOAD, ON_LOAD_RUNTIME = lib.ON_INSTALL, lib.ON_LOAD, lib.ON_LOAD_RUNTIME
ON_CONFIGURE, ON_UNLOAD, ON_UNINSTALL = lib.ON_CONFIGURE, lib.ON_UNLOAD, lib.ON_UNINSTALL
LOAD_STATES = (ON_INSTALL, ON_LOAD, ON_LOAD_RUNTIME)
UNLOAD_STATES = (ON_UNLOAD, ON_UNINSTALL)
# MsgType for HubData.local_message.
MSG_CLIENT, MSG_STATUS, MSG_SYSTEM = lib.MSG_CLIENT, lib.MSG_STATUS, lib.MSG_SYSTEM
log = logging.getLogger("pyhost.plugin")

# -- the plugin ---------------------------------------------------------------------------------

# Handles of subscriptions released while a dispatch on another thread might still be using
# them, per host (the address of its runtime table), kept until that host says nothing
# released is still being read; and those of plugins closed without a host to ask.
_graveyard: dict[int, list[Any]] = {}
_graveyard_lock = threading.Lock()


class Plugin(Exporting, Commands, PerEntity):
    """A Python plugin: metadata, hooks, interfaces, settings, main, per-hub objects, exports."""

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
        """Adopts the @hook and @export functions of a module namespace, in definition
        order."""
        for value in list(namespace.values()):
            if callable(value) and "_pyhost_hooks" in getattr(value, "__dict__", {}):
                self._adopt(value)
        self._collect_exports(namespace)

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
        name = standard_name(spec)
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
            if ok:
                self._export_all()  # clients can call in once main has set the plugin up
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
        self._close_entities("shutdown")
        self._retire(list(self._subscriptions))
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
        table = export_table(impl, on_error=self._interface_failed)
        handle = self.core.register_interface(table.guid.encode("utf-8"), table.pointer)
        if handle == ffi.NULL:
            raise HookError(f"cannot register interface {table.guid!r}: another plugin "
                            "registered it first")
        self._exported.append((table, handle))

    def _bind_now(self, spec: _HookSpec) -> Subscription:
        if len(self._retired) >= 64:
            self._sweep()
        sub = Subscription(self, spec)
        handle = self._dchooks.bind_hook(spec.guid.encode("utf-8"), PYTHON_SUBSCRIBER,
                                         sub.call.common)
        if handle == ffi.NULL:
            raise HookError(f"cannot bind {_name_of(spec.fn)} to hook {spec.guid!r}: "
                            f"no such hook{unknown_hook_hint(spec.guid)}")
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
        self._retire([sub])
        sub._outs.clear()
        if len(self._retired) >= 64:
            self._sweep()
        return left

    def _release_all(self) -> None:
        """Undoes the load: exported methods, UI commands, subscriptions, hooks, interfaces
        (the C order)."""
        self._unexport_all()
        self._close_entities("unload")  # early: their close() may still use the ABI
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
        """An exception caught at the C boundary: to the host (an event), and to logging.
        Not a KeyboardInterrupt: that one is raised again in the main thread."""
        if isinstance(exc, KeyboardInterrupt):
            redeliver()
            return
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
