"""The DCCore each plugin receives, and the resources it holds through it.

The ABI's functions carry no caller, so pyhost gives every plugin its own DCCore: its
query_interface answers DCLog with a table bound to the plugin (messages carry its name),
DCHooks with a table that records the hooks, subscriptions and interfaces the plugin makes,
DCConfig with the host's table whose release names the plugin, and pyhost's own
pyhost.rpc.DCRpc with a table of the plugin's own (services/rpc.py). When a plugin's library
is closed, whatever it left behind is released first, so no function pointer into unmapped
code stays on the bus. run_hook and everything else go straight to the native bus.

Checked releases: destroy_hook, release_hook, release_interface and DCConfig.release are
checked by the native code against what the host handed out, without reading the handle.
A double release, a stack value or garbage is refused: one warning naming the plugin, and
the host goes on (the reference host crashes or corrupts its heap). run_hook is not checked.
"""
from __future__ import annotations

import logging
from typing import Any, Callable, Optional

from pyhost.abi._ffi import ffi, lib
from pyhost.abi.interrupts import callback_errors
from pyhost.abi.bus import Bus
from pyhost.host.services.log import GUID as LOG_GUID
from pyhost.host.services.log import VERSION as LOG_VERSION
from pyhost.host.services.log import PluginLog

HOOKS_GUID = b"generic.plugins.DCHooks"
HOOKS_VERSION = 8
CONFIG_GUID = b"generic.plugins.DCConfig"
CONFIG_VERSION = 1

log = logging.getLogger("pyhost.host")


def _addr(ptr) -> int:
    return int(ffi.cast("uintptr_t", ptr))


class PluginCore:
    """One plugin's DCCore, DCHooks and DCLog tables."""

    def __init__(self, bus: Bus, name: str, log_sink: Callable[[str], None],
                 owners: dict[tuple[str, int], "PluginCore"],
                 own_tables: Optional[dict[bytes, tuple[int, Callable[[], Any]]]] = None,
                 resolve: Callable[[Any, int], Any] | None = None):
        self._bus = bus.native
        # Asked when the bus has no table for a guid: an isolated plugin's interface whose
        # description became known after it registered (pyhost.host.isolation).
        self._resolve = resolve
        self.name = name
        # Interfaces whose table is this plugin's own (guid -> (version, factory)), made at
        # the first query and kept as long as this core: pyhost.rpc.DCRpc.
        self._own_tables = own_tables or {}
        self.own_tables: dict[bytes, Any] = {}
        self.log = PluginLog(name, log_sink)
        # Shared by all plugins of a host: whoever releases a handle, its owner forgets it.
        self._owners = owners
        self._callbacks: list[Any] = []
        self._hook_of: dict[int, str] = {}  # subscription address -> hook guid

        native_core, native_hooks = bus.core, bus.hooks_table
        self.hooks = ffi.new("DCHooks*")
        self.hooks.apiVersion = HOOKS_VERSION
        self.hooks.create_hook = self._cb("hookHandle(*)(const char*, DCHOOK)", self._create)
        self.hooks.destroy_hook = self._cb("Bool(*)(hookHandle)", self._destroy)
        self.hooks.bind_hook = self._cb("subsHandle(*)(const char*, DCHOOK, void*)", self._bind)
        self.hooks.run_hook = native_hooks.run_hook  # the hot path stays native
        self.hooks.release_hook = self._cb("size_t(*)(subsHandle)", self._release)

        self.core = ffi.new("DCCore*")
        self.core.apiVersion = native_core.apiVersion
        self.core.register_interface = self._cb("intfHandle(*)(const char*, dcptr_t)",
                                                self._register)
        self.core.query_interface = self._cb("DCInterface*(*)(const char*, uint32_t)",
                                             self._query)
        self.core.release_interface = self._cb("Bool(*)(intfHandle)", self._release_intf)
        self.core.has_plugin = native_core.has_plugin
        self.core.host_name = native_core.host_name
        self._config = None  # this plugin's DCConfig, made at its first query

    def _cb(self, ctype: str, fn: Callable):
        cb = ffi.callback(ctype, fn, onerror=callback_errors(
            log, f"{self.name}: {fn.__name__.lstrip('_')}"))
        self._callbacks.append(cb)
        return cb

    # -- DCCore --------------------------------------------------------------------------
    def _query(self, guid, version):
        if guid != ffi.NULL:
            name = ffi.string(guid)
            if name == LOG_GUID.encode() and version <= LOG_VERSION:
                return ffi.cast("DCInterface*", self.log.table)
            if name == HOOKS_GUID and version <= HOOKS_VERSION:
                return ffi.cast("DCInterface*", self.hooks)
            if name == CONFIG_GUID and version <= CONFIG_VERSION:
                config = self._config_table()
                if config is not None:
                    return ffi.cast("DCInterface*", config)
            own = self._own_tables.get(name)
            if own is not None and version <= own[0]:
                table = self.own_tables.get(name)
                if table is None:
                    table = self.own_tables[name] = own[1]()
                return table.pointer
        table = lib.phn_query_interface(self._bus, guid, version)
        if table == ffi.NULL and self._resolve is not None and guid != ffi.NULL:
            table = self._resolve(guid, version)
        return table

    def _config_table(self):
        """The host's DCConfig with a release that names this plugin when it refuses."""
        if self._config is None:
            host_table = lib.phn_query_interface(self._bus, CONFIG_GUID, CONFIG_VERSION)
            if host_table == ffi.NULL:
                return None
            self._config = ffi.new("DCConfig*", ffi.cast("DCConfig*", host_table)[0])
            self._config.release = self._cb("void(*)(ConfigValue*)", self._release_value)
        return self._config

    def _refused(self, call: str, handle, what: str) -> None:
        log.warning("%s: %s(%#x) ignored: %s", self.name, call, _addr(handle), what)

    def _release_value(self, value):
        if not lib.phn_cfg_free(value):
            self._refused("DCConfig.release", value, "not a value DCConfig handed out, or "
                          "released already")

    def _own(self, kind: str, handle) -> None:
        if handle != ffi.NULL:
            self._owners[(kind, _addr(handle))] = self

    def _disown(self, kind: str, handle) -> None:
        self._owners.pop((kind, _addr(handle)), None)

    def _register(self, guid, table):
        handle = lib.phn_register_interface(self._bus, guid, table)
        self._own("interface", handle)
        return handle

    def _release_intf(self, handle):
        ok = lib.phn_release_interface(self._bus, handle)
        if ok:
            self._disown("interface", handle)
        elif handle != ffi.NULL:
            self._refused("release_interface", handle, "not the handle of a registered "
                          "interface, or released already")
        return ok

    # -- DCHooks -------------------------------------------------------------------------
    def _create(self, guid, def_proc):
        handle = lib.phn_create_hook(self._bus, guid, def_proc)
        self._own("hook", handle)
        return handle

    def _destroy(self, handle):
        ok = lib.phn_destroy_hook(handle)
        if ok:
            self._disown("hook", handle)
        elif handle != ffi.NULL:
            self._refused("destroy_hook", handle, "not a live hook (destroyed already, or "
                          "never created)")
        return ok

    def _bind(self, guid, proc, common):
        handle = lib.phn_bind_hook(self._bus, guid, proc, common)
        self._own("subscription", handle)
        if handle != ffi.NULL:
            self._hook_of[_addr(handle)] = ffi.string(guid).decode("utf-8", "replace")
        return handle

    def _release(self, handle):
        if handle == ffi.NULL:
            return 0
        left = ffi.new("size_t*")
        if lib.phn_release_hook_checked(handle, left) != 0:
            self._refused("release_hook", handle, "not a live subscription (released "
                          "already, or never bound)")
            return 0
        self._disown("subscription", handle)
        self._hook_of.pop(_addr(handle), None)
        return left[0]

    def subscribed_hooks(self) -> set[str]:
        """The hooks this plugin holds subscriptions to (to name a stuck subscriber)."""
        mine = {key[1] for key, owner in list(self._owners.items())
                if owner is self and key[0] == "subscription"}
        return {guid for addr, guid in list(self._hook_of.items()) if addr in mine}

    # -- cleanup -------------------------------------------------------------------------
    def release_leftovers(self) -> list[str]:
        """Releases what the plugin left behind; returns e.g. ["2 subscription(s)"]."""
        mine = [key for key, owner in self._owners.items() if owner is self]
        counts: dict[str, int] = {}
        # Subscriptions before hooks, hooks before interfaces: the order a plugin would use.
        for kind in ("subscription", "hook", "interface"):
            for key in (k for k in mine if k[0] == kind):
                del self._owners[key]
                counts[kind] = counts.get(kind, 0) + 1
                if kind == "subscription":
                    self._hook_of.pop(key[1], None)
                    lib.phn_release_hook(ffi.cast("subsHandle", key[1]))
                elif kind == "hook":
                    lib.phn_destroy_hook(ffi.cast("hookHandle", key[1]))
                else:
                    lib.phn_release_interface(self._bus, ffi.cast("intfHandle", key[1]))
        return [f"{n} {kind}(s)" for kind, n in counts.items()]
