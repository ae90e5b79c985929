"""Exported methods and plugin events of Python plugins, through ``pyhost.rpc.DCRpc``.

    from pyhost.plugin import Plugin, export, READONLY, RpcError

    plugin = Plugin(guid="{...}", name="Hub Stats", version=1.0)

    @export(level=READONLY)
    def totals():                       # clients call "hub_stats.totals"
        "Messages seen per hub."
        return {"adc://hub:411": 12}

    @export                             # level NORMAL
    def add(a, b):
        if not isinstance(a, int):
            raise RpcError("a must be an integer")   # a clean error, nothing reported
        plugin.emit("added", {"sum": a + b})         # to the clients listening
        return a + b

An exported function takes JSON values (a JSON array of arguments is passed by position,
an object by name) and returns one. It runs on one of the host's worker threads, several
calls possibly at once. Raising :class:`RpcError` fails the call with its message; any
other exception fails it with ``"<type>: <message>"`` and is reported to the host like a
subscriber's (a ``subscriber_exception`` event with the traceback).

Everything goes through the ABI: at each load, once ``main`` has accepted it, the plugin
queries ``pyhost.rpc.DCRpc`` through its DCCore (as a C plugin does) and registers each
function there; at unload it unregisters them. In a host without DCRpc (query answers NULL)
the plugin loads all the same: its functions are just not reachable, and ``emit`` returns
False.
"""
from __future__ import annotations

import inspect
import json
import logging
import threading
from typing import Any, Callable, Optional

from pyhost.abi import rpc as spec
from pyhost.abi._ffi import ffi
from pyhost.plugin.hooks import HookError, PluginDeclarationError

__all__ = ["ADMIN", "NONE", "NORMAL", "READONLY", "ExportError", "RpcError", "export"]

NONE, READONLY, NORMAL, ADMIN = spec.NONE, spec.READONLY, spec.NORMAL, spec.ADMIN
log = logging.getLogger("pyhost.plugin")


class RpcError(Exception):
    """Raised by an exported function: the call fails with this message (not reported as
    a plugin error: it is an answer, e.g. to bad arguments)."""


class ExportError(HookError):
    """The host refused to register an exported method (its log says why); the load
    fails with it, as with a hook that cannot be bound."""


class _ExportSpec:
    __slots__ = ("name", "level", "fn", "description")

    def __init__(self, name: str, level: int, fn: Callable):
        self.name, self.level, self.fn = name, level, fn
        doc = inspect.getdoc(fn) or ""
        self.description = doc.strip().splitlines()[0][:500] if doc.strip() else ""


def export(fn: Optional[Callable] = None, *, level: int = NORMAL,
           name: Optional[str] = None):
    """Marks a function as an exported method: ``@export``, ``@export(level=READONLY)``,
    ``@export(name="other_name")``. Module-level functions of a plugin's module are found
    by the loader; elsewhere use ``@plugin.export``."""
    if isinstance(level, bool) or not isinstance(level, int) or \
            not 0 <= level <= spec.MAX_LEVEL:
        raise PluginDeclarationError(f"export(level={level!r}): a level is an integer from 0 "
                                     f"(NONE) to {spec.MAX_LEVEL} (ADMIN).")

    def mark(target: Callable) -> Callable:
        if not callable(target):
            raise PluginDeclarationError(f"@export decorates {target!r}, which is not "
                                         "callable.")
        method = name or getattr(target, "__name__", "")
        if not spec.valid_method_name(method):
            raise PluginDeclarationError(f"@export: {method!r} is not a method name (1 to 64 "
                                         "letters, digits or '_', not starting with a digit).")
        target.__dict__["_pyhost_export"] = _ExportSpec(method, level, target)
        return target

    return mark if fn is None else mark(fn)


# Results handed to the host, by address, until it releases them (any plugin, any host).
_kept: dict[int, Any] = {}
_kept_lock = threading.Lock()
# Registrations unregistered while a call was still running in them: their callbacks must
# outlive that call (the C side returns through them).
_parked: list["_Live"] = []


def _keep(text: str):
    buffer = ffi.new("char[]", text.encode("utf-8", "replace"))
    with _kept_lock:
        _kept[int(ffi.cast("uintptr_t", buffer))] = buffer
    return buffer


def _release(result, common) -> None:
    with _kept_lock:
        _kept.pop(int(ffi.cast("uintptr_t", result)), None)


_release_cb = ffi.callback("DCRpcRelease", _release)


class _Live:
    """One registered method while the plugin is loaded."""

    def __init__(self, plugin: Any, export_spec: _ExportSpec):
        self.spec = export_spec
        self.inflight = 0
        self._lock = threading.Lock()
        self.handle = None
        self.signature = _signature(export_spec.fn)
        self.callback = ffi.callback("DCRpcMethod", self._call)
        self._plugin = plugin

    def _call(self, params, failed, common):
        with self._lock:
            self.inflight += 1
        try:
            ok, text = self._run(params)
        finally:
            with self._lock:
                self.inflight -= 1
        if not ok:
            failed[0] = 1
        return _keep(text)

    def _run(self, params) -> tuple[bool, str]:
        fn, name = self.spec.fn, self.spec.name
        try:
            args = json.loads(ffi.string(params)) if params != ffi.NULL else []
            positional, named = (args, {}) if isinstance(args, list) else ((), args)
            if self.signature is not None:
                try:
                    self.signature.bind(*positional, **named)
                except TypeError as exc:
                    return False, f"Invalid arguments for {name}: {exc}."
            result = fn(*positional, **named)
            return True, json.dumps(result, allow_nan=False)
        except RpcError as exc:
            return False, str(exc) or f"{name} failed."
        except BaseException as exc:  # never unwinds into C: reported, and a clean error
            self._plugin._report(spec.GUID, f"exported method {name}", exc)
            return False, f"{type(exc).__name__}: {exc}"


def _signature(fn: Callable) -> Optional[inspect.Signature]:
    try:
        return inspect.signature(fn)
    except (TypeError, ValueError):  # some builtins have none: let the call decide
        return None


class Exporting:
    """The part of :class:`~pyhost.plugin.Plugin` that exports methods and emits events."""

    def export(self, fn: Optional[Callable] = None, *, level: int = NORMAL,
               name: Optional[str] = None):
        """``@plugin.export`` (same options as :func:`export`), for functions that are not
        at the top level of the plugin's module; registered now when the plugin is loaded."""
        mark = export(level=level, name=name)

        def decorate(target: Callable) -> Callable:
            mark(target)
            self._adopt_export(target)
            return target

        return decorate if fn is None else decorate(fn)

    @property
    def exported(self) -> list[str]:
        """Names of the methods this plugin exports (declared)."""
        return [s.name for s in self.__dict__.get("_export_specs", ())]

    def emit(self, event: str, data: Any = None) -> bool:
        """Sends a plugin event to the clients listening to this plugin's events. ``data``
        must be JSON-compatible. False when the host has no DCRpc, or refused the event (a
        bad name: 1 to 100 of ``A-Z a-z 0-9 _ . : -``, or data over 64 KiB)."""
        table = self._dcrpc()
        try:
            text = json.dumps(data, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"emit({event!r}): the data is not JSON-compatible "
                             f"({exc}).") from None
        if table is None:
            return False
        return bool(table.emit(str(event).encode("utf-8", "replace"), text.encode("utf-8")))

    # -- the plugin's lifecycle ----------------------------------------------------------
    def _adopt_export(self, fn: Callable) -> None:
        export_spec = fn.__dict__.get("_pyhost_export")
        specs = self.__dict__.setdefault("_export_specs", [])
        if export_spec is None or any(s is export_spec for s in specs):
            return
        if any(s.name == export_spec.name for s in specs):
            raise PluginDeclarationError(f"{self.meta.name} exports two methods named "
                                         f"{export_spec.name!r}.")
        specs.append(export_spec)
        if self.loaded and self.__dict__.get("_exports_on"):
            self._export_one(export_spec)

    def _collect_exports(self, namespace: dict[str, Any]) -> None:
        for value in list(namespace.values()):
            if callable(value) and "_pyhost_export" in getattr(value, "__dict__", {}):
                self._adopt_export(value)

    def _dcrpc(self):
        table = self.__dict__.get("_dcrpc_table")
        if table is None:
            pointer = self._query(spec.GUID, spec.VERSION)  # raises when not loaded
            if pointer is None:
                return None
            table = self.__dict__["_dcrpc_table"] = ffi.cast("DCRpc*", pointer)
        return table

    def _export_all(self) -> None:
        """At load, once main accepted it: registers every exported function."""
        self.__dict__["_exports_on"] = True
        specs = self.__dict__.get("_export_specs", ())
        if specs and self._dcrpc() is None:
            log.info("%s: this host has no %s; its exported methods are not reachable",
                     self.meta.name, spec.GUID)
            return
        for export_spec in specs:
            self._export_one(export_spec)

    def _export_one(self, export_spec: _ExportSpec) -> None:
        table = self._dcrpc()
        if table is None:
            return
        live = _Live(self, export_spec)
        description = export_spec.description.encode("utf-8", "replace")
        handle = table.register_method(export_spec.name.encode(), export_spec.level,
                                       description, live.callback, _release_cb, ffi.NULL)
        if handle == ffi.NULL:
            raise ExportError(f"the host refused to export {export_spec.name!r} (the "
                              "host's log says why)")
        live.handle = handle
        self.__dict__.setdefault("_exports_live", []).append(live)

    def _unexport_all(self) -> None:
        """At unload (or a failed load): unregisters them; forgets the table."""
        table = self.__dict__.pop("_dcrpc_table", None)
        self.__dict__["_exports_on"] = False
        for live in self.__dict__.pop("_exports_live", []):
            if table is not None and live.handle is not None:
                table.unregister_method(live.handle)
            live.handle = None
            if live.inflight:
                _parked.append(live)
        _parked[:] = [live for live in _parked if live.inflight]
