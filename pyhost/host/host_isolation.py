"""The Host's side of crash isolation: isolating a plugin, and what a crash does to it.

A mixin of :class:`pyhost.host.host.Host` (it uses the host's lock, registry, loaded
plugins and events); the isolation machinery itself is pyhost.host.isolation, which calls
back through :meth:`isolation_lock`, :meth:`is_loaded_plugin` and :meth:`drop_crashed`.
"""
from __future__ import annotations

import logging
from typing import Any

from pyhost.abi._ffi import lib
from pyhost.host.events import PluginFailed, PluginUnloaded
from pyhost.host.isolation import IsolatedPlugin
from pyhost.host.loader import PluginError
from pyhost.host.registry import RegistryError, UnknownPluginError

log = logging.getLogger("pyhost.host")


class IsolationControls:
    """``host.isolate(guid)`` / ``host.unisolate(guid)``, the crash handler's hooks, and
    where an install runs: ``Host.install(path, isolated=True)`` runs a compiled plugin in
    a process of its own; ``isolated=None`` keeps an update where the installed version
    runs (in the host's process for a new plugin)."""

    def isolate(self, guid: str) -> bool:
        """Runs a compiled plugin in a process of its own from now on (a loaded one is
        reloaded there: ON_UNLOAD, then ON_LOAD_RUNTIME). Returns whether it changed."""
        return self._set_isolated(guid, True)

    def unisolate(self, guid: str) -> bool:
        """Runs the plugin in the host's process again (reloaded the same way)."""
        return self._set_isolated(guid, False)

    def _set_isolated(self: Any, guid: str, flag: bool) -> bool:
        with self._lock:
            record = self.plugin(guid)
            guid = record.guid  # as the registry spells it
            if record.kind != "native":
                raise PluginError(f"{record.name} is a {record.kind} plugin; only compiled "
                                  "plugins can run in a process of their own.")
            entry = self._loaded.get(guid)
            want = self.isolation.wanted(record.kind, flag)
            reload = entry is not None and getattr(entry.plugin, "isolated", False) != want
            if reload:
                self._refuse_if_needed(record, "isolate" if flag else "unisolate")
                plugin = self._open(record.kind, record.path, record, isolated=want)
            changed = self.registry.set_isolated(record.guid, flag)
            if reload:
                self._unload(record.guid, lib.ON_UNLOAD)
                failure = self._load(plugin, lib.ON_LOAD_RUNTIME, quiet=True)
                if failure is not None:
                    raise PluginError(failure)
                self._save_inspected()
            return changed

    def _open_to_install(self: Any, kind: str, path: str, isolated):
        """Opens a file being installed in the process it will run in: (plugin, the installed
        record of its guid or None, the isolated flag to record). An update of an isolated
        plugin stays isolated unless ``isolated`` says otherwise (its pluginInit ran once in
        the host's process to find out which plugin it is, unless isolated=True)."""
        if isolated and kind != "native":
            raise PluginError(f"{path} is a {kind} plugin; only compiled plugins can run in "
                              "a process of their own.")
        plugin = self._open(kind, path, isolated=self.isolation.wanted(kind, bool(isolated)))
        try:
            existing = self.registry.get(plugin.meta.guid)
        except UnknownPluginError:
            existing = None
        flag = bool(isolated) if isolated is not None or existing is None else existing.isolated
        flag = flag and kind == "native"  # only compiled plugins run in a process of their own
        now = getattr(plugin, "isolated", False)
        if now != self.isolation.wanted(kind, flag):
            plugin.close()
            plugin = self._open(kind, path, isolated=not now)
        return plugin, existing, flag

    def _open_record(self: Any, record):
        """Opens an installed plugin's file where it runs (its process or a runner)."""
        return self._open(record.kind, record.path, record,
                          isolated=self.isolation.wanted(record.kind, record.isolated))

    def _record_isolation(self: Any, record, isolated: bool):
        """An updated plugin's record, with its isolated flag set as wanted."""
        if record.isolated == isolated:
            return record
        self.registry.set_isolated(record.guid, isolated)
        return self.registry.get(record.guid)

    # -- called by the crash handler (pyhost.host.isolation.crashes) -----------------------
    def isolation_lock(self: Any):
        return self._lock

    def is_loaded_plugin(self: Any, plugin: IsolatedPlugin) -> bool:
        entry = self._loaded.get(plugin.meta.guid) if plugin.meta is not None else None
        return entry is not None and entry.plugin is plugin

    def drop_crashed(self: Any, plugin: IsolatedPlugin, reason: str) -> None:
        """Unloads a plugin whose process cannot run it any more (no ON_UNLOAD: nothing is
        there to receive it), marks it crashed in the registry (disabled until enabled)."""
        guid = plugin.meta.guid
        entry = self._loaded.get(guid)
        if entry is None or entry.plugin is not plugin:
            return
        del self._loaded[guid]
        self.bus.set_plugin_present(guid, False)
        entry.core.release_leftovers()
        plugin.close()
        try:
            self.registry.set_crashed(guid)
        except RegistryError as exc:
            log.error("cannot record that %s crashed: %s", plugin.name, exc)
        self.events.emit(PluginUnloaded, guid=guid, name=plugin.name, kept_mapped=False)
        self.events.emit(PluginFailed, guid=guid, name=plugin.name, path=str(plugin.path),
                         reason=reason)
