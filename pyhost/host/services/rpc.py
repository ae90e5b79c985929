"""``pyhost.rpc.DCRpc``: the host's side of exported methods and plugin events.

Each plugin gets its own DCRpc table from its DCCore (the ABI's calls carry no caller), so
what it registers is known to be its own. The service keeps every registered method by
its full name ``<namespace>.<name>`` (the namespace is the plugin's name, see
:func:`pyhost.abi.rpc.namespace_of`), calls them on a pool of worker threads, and tells the
host's event stream what happens: ``rpc_method_added`` / ``rpc_method_removed`` and the
plugins' own ``plugin_event``.

Calls go through the C function pointer the plugin registered, whatever the plugin is
written in (a Python plugin's method is a cffi callback behind the same pointer). Levels
are not checked here: the transports (the Web API, JSON-RPC) know who calls.

Unloading: :meth:`RpcService.withdraw` removes a plugin's methods (new calls are refused)
and waits, at most ``unload_grace`` seconds, for the calls already running in them; the
host does that before main gets ON_UNLOAD, and keeps the library mapped when a call is
still running after it (unmapping code a thread is executing would crash the process).
"""
from __future__ import annotations

import json
import logging
import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any, ClassVar, Optional

from pyhost.abi import rpc as spec
from pyhost.abi._ffi import ffi
from pyhost.host.events import Category, Event, EventStream
from pyhost.host.services.rpc_workers import DaemonPool

log = logging.getLogger("pyhost.rpc")

GUID = spec.GUID
VERSION = spec.VERSION
RESERVED_NAMESPACES = frozenset({"auth", "rpc"})  # JSON-RPC's own methods live there
DEFAULT_WORKERS = 8
DEFAULT_UNLOAD_GRACE = 5.0


# -- host events -----------------------------------------------------------------------

@dataclass(frozen=True)
class RpcMethodAdded(Event):
    """A plugin registered an exported method (``method`` is its full name)."""

    category: ClassVar[Category] = Category.PLUGIN
    guid: str
    name: str
    method: str
    level: int
    description: str


@dataclass(frozen=True)
class RpcMethodRemoved(Event):
    """An exported method went away: unregistered, or its plugin unloaded."""

    category: ClassVar[Category] = Category.PLUGIN
    guid: str
    name: str
    method: str


@dataclass(frozen=True)
class PluginEvent(Event):
    """An event a plugin emitted (``plugin.emit(event, data)``, DCRpc.emit)."""

    category: ClassVar[Category] = Category.PLUGIN
    guid: str
    name: str
    event: str
    data: Any = field(default=None)


# -- errors ----------------------------------------------------------------------------

class CallError(Exception):
    """A call that did not produce a result. ``kind``: ``not_found`` (no such method, or it
    went away before it ran), ``failed`` (the method reported a failure), ``bad_result``
    (its result is not JSON), ``bad_params`` (the arguments are not an array or object of
    JSON), ``timeout`` (set by the callers that wait with a budget)."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind
        self.message = message


# -- methods ---------------------------------------------------------------------------

@dataclass(eq=False)
class Method:
    """One registered method. ``fn``/``release``/``common`` are the plugin's pointers."""

    guid: str
    plugin_name: str
    namespace: str
    method: str
    level: int
    description: str
    fn: Any
    release: Any
    common: Any
    token: Any = None          # the cdata whose address is the handle
    inflight: int = 0
    withdrawn: bool = False

    @property
    def name(self) -> str:
        return f"{self.namespace}.{self.method}"

    def to_dict(self) -> dict:
        return {"name": self.name, "plugin": self.guid, "plugin_name": self.plugin_name,
                "namespace": self.namespace, "method": self.method, "level": self.level,
                "level_name": spec.level_name(self.level), "description": self.description}


class PluginRpc:
    """The DCRpc table of one plugin (made at its first query, kept by its PluginCore so
    its callbacks live as long as the plugin's code can call them)."""

    def __init__(self, service: "RpcService", guid: str, name: str):
        self.service = service
        self.guid = guid
        self.name = name
        self.namespace = spec.namespace_of(name)
        self.detached = False          # the plugin unloaded: nothing more is accepted
        self.handles: dict[int, Method] = {}

        def on_error(exc_type, exc, tb):
            log.error("%s: DCRpc call failed", name, exc_info=(exc_type, exc, tb))

        self._callbacks = [
            ffi.callback("rpcHandle(*)(const char*, uint32_t, const char*, DCRpcMethod, "
                         "DCRpcRelease, void*)", self._register, onerror=on_error),
            ffi.callback("Bool(*)(rpcHandle)", self._unregister, onerror=on_error),
            ffi.callback("Bool(*)(const char*, const char*)", self._emit, onerror=on_error),
        ]
        self.table = ffi.new("DCRpc*", {"apiVersion": VERSION,
                                        "register_method": self._callbacks[0],
                                        "unregister_method": self._callbacks[1],
                                        "emit": self._callbacks[2]})

    @property
    def pointer(self):
        return ffi.cast("DCInterface*", self.table)

    def _refuse(self, what: str, why: str):
        log.warning("%s: DCRpc.%s refused: %s", self.name, what, why)
        return ffi.NULL

    def _register(self, name_c, level, description_c, fn, release, common):
        name = _text(name_c)
        if self.detached:
            return self._refuse(f"register_method({name!r})", "the plugin is unloading")
        if name is None or not spec.valid_method_name(name):
            return self._refuse(f"register_method({name!r})", "a method name is 1 to 64 "
                                "letters, digits or '_', not starting with a digit")
        if not 0 <= level <= spec.MAX_LEVEL:
            return self._refuse(f"register_method({name!r})",
                                f"level {level} is not from 0 to {spec.MAX_LEVEL}")
        if fn == ffi.NULL:
            return self._refuse(f"register_method({name!r})", "the method is NULL")
        description = (_text(description_c) or "")[:500]
        method = Method(self.guid, self.name, self.namespace, name, int(level), description,
                        fn, release, common, token=ffi.new("char*"))
        why = self.service._add(method)
        if why is not None:
            return self._refuse(f"register_method({name!r})", why)
        handle = ffi.cast("rpcHandle", method.token)
        self.handles[_addr(handle)] = method
        return handle

    def _unregister(self, handle):
        method = self.handles.pop(_addr(handle), None)
        if method is None:
            if handle != ffi.NULL:
                log.warning("%s: DCRpc.unregister_method(%#x) ignored: not a live method "
                            "of this plugin", self.name, _addr(handle))
            return 0
        self.service._remove(method)
        return 1

    def _emit(self, event_c, json_c):
        event = _text(event_c)
        if self.detached:
            return 0
        if event is None or not spec.valid_event_name(event):
            self._refuse(f"emit({event!r})", "an event name is 1 to 100 of A-Z a-z 0-9 "
                         "_ . : -")
            return 0
        raw = b"null" if json_c == ffi.NULL else ffi.string(json_c, spec.MAX_EVENT_BYTES + 1)
        if len(raw) > spec.MAX_EVENT_BYTES:
            self._refuse(f"emit({event!r})", "the data is larger than 64 KiB")
            return 0
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):
            self._refuse(f"emit({event!r})", "the data is not valid JSON text")
            return 0
        self.service.events.emit(PluginEvent, guid=self.guid, name=self.name, event=event,
                                 data=data)
        return 1

    def detach(self) -> list[Method]:
        """The plugin unloads: its methods go, nothing more is accepted."""
        self.detached = True
        methods = list(self.handles.values())
        for method in methods:
            self.service._remove(method)
        return methods


class RpcService:
    """Every exported method of one host, and the workers that call them."""

    def __init__(self, events: EventStream, workers: int = DEFAULT_WORKERS,
                 unload_grace: float = DEFAULT_UNLOAD_GRACE):
        self.events = events
        self.unload_grace = unload_grace
        self._cond = threading.Condition()
        self._methods: dict[str, Method] = {}
        self._owners: dict[str, str] = {}        # namespace -> guid
        self._tables: dict[str, PluginRpc] = {}   # guid -> the loaded plugin's table
        self._inflight: dict[str, int] = {}       # guid -> calls running in its code
        self._pool = DaemonPool(workers, "pyhost-rpc")

    # -- the plugins' side -------------------------------------------------------------
    def table_for(self, guid: str, name: str) -> PluginRpc:
        """A new table for a plugin being loaded (its DCCore answers DCRpc with it)."""
        table = PluginRpc(self, guid, name)
        with self._cond:
            self._tables[guid] = table
        return table

    def own_tables(self, guid: str, name: str) -> dict[bytes, tuple[int, Any]]:
        """What a plugin's DCCore answers for DCRpc: (version, factory of its table)."""
        return {GUID.encode(): (VERSION, lambda: self.table_for(guid, name))}

    def _add(self, method: Method) -> Optional[str]:
        with self._cond:
            if method.namespace in RESERVED_NAMESPACES:
                return f"the name {method.namespace!r} is reserved: rename the plugin"
            owner = self._owners.get(method.namespace)
            if owner is not None and owner != method.guid:
                return (f"another loaded plugin ({owner}) exports methods as "
                        f"{method.namespace}.*")
            if method.name in self._methods:
                return f"{method.name} is registered already"
            self._methods[method.name] = method
            self._owners[method.namespace] = method.guid
        self.events.emit(RpcMethodAdded, guid=method.guid, name=method.plugin_name,
                         method=method.name, level=method.level,
                         description=method.description)
        return None

    def _remove(self, method: Method) -> None:
        with self._cond:
            if method.withdrawn:
                return
            method.withdrawn = True
            if self._methods.get(method.name) is method:
                del self._methods[method.name]
            if not any(m.namespace == method.namespace for m in self._methods.values()):
                self._owners.pop(method.namespace, None)
        self.events.emit(RpcMethodRemoved, guid=method.guid, name=method.plugin_name,
                         method=method.name)

    # -- the host's side ---------------------------------------------------------------
    def withdraw(self, guid: str, wait: Optional[float] = None) -> bool:
        """Removes a plugin's methods and waits for its running calls (at most ``wait``,
        default ``unload_grace`` seconds). True when some are still running."""
        with self._cond:
            table = self._tables.pop(guid, None)
        if table is not None:
            table.detach()
        deadline = time.monotonic() + (self.unload_grace if wait is None else wait)
        with self._cond:
            while self._inflight.get(guid, 0):
                left = deadline - time.monotonic()
                if left <= 0:
                    log.warning("%s: %d exported method call(s) still running after %.1f s; "
                                "its code stays loaded until the host exits",
                                table.name if table else guid, self._inflight[guid],
                                self.unload_grace if wait is None else wait)
                    return True
                self._cond.wait(left)
        return False

    def busy(self, guid: str) -> bool:
        with self._cond:
            return bool(self._inflight.get(guid, 0))

    def close(self) -> None:
        self._pool.close()

    # -- clients' side -----------------------------------------------------------------
    def methods(self) -> list[Method]:
        with self._cond:
            return sorted(self._methods.values(), key=lambda m: m.name)

    def find(self, plugin: str, method: str) -> Optional[Method]:
        """A method by plugin (its guid or namespace) and method name."""
        with self._cond:
            table = self._tables.get(plugin)
            namespace = table.namespace if table is not None else plugin
            return self._methods.get(f"{namespace}.{method}")

    def lookup(self, full_name: str) -> Optional[Method]:
        """A method by its full name ``<namespace>.<name>``."""
        namespace, _, method = full_name.rpartition(".")
        return self.find(namespace, method) if namespace else None

    def submit(self, method: Method, params: Any = None) -> Future:
        """Runs the method on a worker thread; the future's result is the method's result
        (a JSON value), or CallError. Cancel the future to drop a call still queued."""
        text = _params_text(params)
        return self._pool.submit(self.invoke, method, text)

    def call(self, method: Method, params: Any = None, timeout: float = 30.0) -> Any:
        """submit() and wait at most ``timeout`` seconds (CallError "timeout")."""
        future = self.submit(method, params)
        try:
            return future.result(timeout)
        except FutureTimeout:
            if future.cancel():  # still queued: it never ran
                raise CallError("timeout", f"{method.name} was not started within "
                                          f"{timeout:g} s: every call worker was busy with "
                                          "other calls.") from None
            raise CallError("timeout", f"{method.name} did not answer within "
                                      f"{timeout:g} s.") from None

    def invoke(self, method: Method, params_text: str) -> Any:
        """Calls the method on this thread (the GIL is released while C code runs)."""
        with self._cond:
            if method.withdrawn:
                raise CallError("not_found", f"{method.name} is no longer available "
                                            "(its plugin unloaded).")
            method.inflight += 1
            self._inflight[method.guid] = self._inflight.get(method.guid, 0) + 1
        try:
            failed = ffi.new("Bool*", 0)
            out = method.fn(ffi.new("char[]", params_text.encode("utf-8")), failed,
                            method.common)
            raw = None
            if out != ffi.NULL:
                raw = ffi.string(out, spec.MAX_JSON_BYTES + 1)
                if method.release != ffi.NULL:
                    method.release(out, method.common)
        finally:
            with self._cond:
                method.inflight -= 1
                left = self._inflight[method.guid] - 1
                if left:
                    self._inflight[method.guid] = left
                else:
                    del self._inflight[method.guid]
                self._cond.notify_all()
        return _result(method, bool(failed[0]), raw)


def _result(method: Method, failed: bool, raw: Optional[bytes]) -> Any:
    if failed:
        message = " ".join((raw or b"").decode("utf-8", "replace").split())[:2000]
        raise CallError("failed", message or f"{method.name} failed.")
    if raw is None:
        return None
    if len(raw) > spec.MAX_JSON_BYTES:
        raise CallError("bad_result", f"{method.name} returned more than 1 MiB.")
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise CallError("bad_result", f"{method.name} returned text that is not "
                                     "JSON.") from None


def _params_text(params: Any) -> str:
    if params is None:
        params = []
    if not isinstance(params, (list, dict)):
        raise CallError("bad_params", "The arguments must be a JSON array (positional) or "
                                     "object (named).")
    try:
        # ASCII output: any str encodes to UTF-8, even one holding a lone surrogate
        text = json.dumps(params, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        raise CallError("bad_params", "The arguments are not JSON values.") from None
    if len(text) > spec.MAX_JSON_BYTES:
        raise CallError("bad_params", "The arguments are larger than 1 MiB.")
    return text


def _text(pointer) -> Optional[str]:
    if pointer == ffi.NULL:
        return None
    return ffi.string(pointer).decode("utf-8", "replace")


def _addr(pointer) -> int:
    return int(ffi.cast("uintptr_t", pointer))
