"""The host's plugin-loading machinery: opening plugin files, calling main for a load or
unload state, loading a set of enabled plugins with their dependencies, and following
changes other processes make to the registry.

:class:`Lifecycle` is a base of :class:`pyhost.host.host.Host`; it works on the host's
state (``_loaded``, ``registry``, ``bus``, ``events``...), which Host.__init__ sets up.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Optional

from pyhost.abi._ffi import lib
from pyhost.host import python_loader
from pyhost.host.events import PluginFailed, PluginLoaded, PluginUnloaded
from pyhost.host.load_records import LoadRecorder
from pyhost.host.loader import STATE_NAMES, NativePlugin, Plugin, PluginError, load_order
from pyhost.host.plugin_core import PluginCore
from pyhost.host.registry import PluginRecord, RegistryError

log = logging.getLogger("pyhost.host")

# How each kind of plugin file is opened: compiled libraries, and Python plugins (a .py
# file, a package directory, or "entry-point:NAME" of the group pyhost.plugins).
Opener = Callable[[str], Plugin]
OPENERS: dict[str, Opener] = {"native": NativePlugin.open, "python": python_loader.open_plugin}


@dataclass
class _Loaded:
    plugin: Plugin
    core: PluginCore
    keep: list[Any] = field(default_factory=list)


def folded(guid: str) -> str:
    """A guid as the registry compares it (ASCII letters in either case are the same)."""
    return guid.lower()


class Lifecycle:
    """Loading and unloading plugins (see the module docstring)."""

    # -- opening --------------------------------------------------------------------------
    def _open(self, kind: str, path: str, record: Optional[PluginRecord] = None,
              isolated: bool = False) -> Plugin:
        """Opens a plugin file (in a runner process when ``isolated``); with ``record``,
        refuses a file that is another plugin."""
        opener = OPENERS.get(kind)
        if opener is None:
            raise PluginError(f"{path}: unknown plugin kind {kind!r}.")
        try:
            plugin = self.isolation.open(path, inspected=self._inspected) if isolated \
                else opener(path, inspected=self._inspected) if kind == "native" \
                else opener(path)
            if record is not None and folded(plugin.meta.guid) != folded(record.guid):
                plugin.close()
                raise PluginError(
                    f"{path} reports the guid {plugin.meta.guid}, but it is installed as "
                    f"{record.name} ({record.guid}); the file was replaced, so reinstall it.")
        except PluginError as exc:
            self.events.emit(PluginFailed, guid=record and record.guid, name=None,
                             path=str(path), reason=str(exc))
            raise
        return plugin

    def _save_inspected(self) -> None:
        """Persists the inspection cache for the installed plugins' files only."""
        self._inspected.save(r.path for r in self.registry.plugins())

    # -- dependencies ---------------------------------------------------------------------
    def _check_dependencies_loaded(self, plugin: Plugin, close: bool = True) -> None:
        if not self.running:
            self._load_enabled(only=[d for d in plugin.meta.dependencies
                                     if not self._is_loaded(d)])
        missing = [d for d in plugin.meta.dependencies if not self._is_loaded(d)]
        if missing:
            if close:
                plugin.close()
            reason = (f"{plugin.meta.name} depends on {', '.join(missing)}, "
                      "which is not loaded.")
            self.events.emit(PluginFailed, guid=plugin.meta.guid, name=plugin.meta.name,
                             path=str(plugin.path), reason=reason)
            raise PluginError(reason)

    def _is_loaded(self, guid: str) -> bool:
        return guid in self._loaded or any(folded(g) == folded(guid) for g in self._loaded)

    def _dependents(self, record: PluginRecord) -> list[str]:
        """Names of the loaded or enabled plugins that depend on ``record``."""
        key = folded(record.guid)
        names = {e.plugin.meta.name for e in self._loaded.values()
                 if key in map(folded, e.plugin.meta.dependencies)}
        names.update(r.name for r in self.registry.plugins()
                     if r.enabled and key in map(folded, r.dependencies))
        return sorted(names)

    # -- loading a set of enabled plugins -----------------------------------------------
    def _load_enabled(self, only: Optional[Iterable[str]] = None) -> None:
        """ON_LOAD for the enabled plugins not loaded yet, dependencies first; with
        ``only``, just those guids and what they depend on (opened as needed)."""
        records = {folded(r.guid): r for r in self.registry.plugins()
                   if r.enabled and not self._is_loaded(r.guid)}
        wanted = list(records) if only is None else [folded(g) for g in only]
        opened: dict[str, Plugin] = {}
        while wanted:
            key = wanted.pop(0)
            record = records.get(key)
            if record is None or key in opened:
                continue
            reason = self._load_records.skip_reason(record)
            if reason is not None:
                self.events.emit(PluginFailed, guid=record.guid, name=record.name,
                                 path=record.path, reason=reason)
                log.error("%s", reason)
                continue
            try:
                plugin = self._open_record(record)
            except PluginError as exc:
                log.error("%s", exc)
                continue
            opened[key] = plugin
            self._remember_dependencies(record, plugin)
            if only is not None:
                wanted.extend(folded(d) for d in plugin.meta.dependencies)
        in_order = [p for r in self.registry.plugins()
                    for p in [opened.get(folded(r.guid))] if p is not None]
        order, blocked = load_order(in_order, available=self._loaded)
        for plugin in in_order:
            reason = blocked.get(plugin.meta.guid)
            if reason is not None:
                plugin.close()
                self._fail(plugin, f"{plugin.meta.name} cannot load: {reason}.")
        for plugin in order:
            unmet = [d for d in plugin.meta.dependencies if not self._is_loaded(d)]
            if unmet:
                plugin.close()
                self._fail(plugin, f"{plugin.meta.name} cannot load: it depends on "
                                   f"{', '.join(unmet)}, which failed to load.")
                continue
            self._load(plugin, lib.ON_LOAD)

    def _remember_dependencies(self, record: PluginRecord, plugin: Plugin) -> None:
        """Keeps the registry's copy of what a plugin depends on up to date (rows written
        by an older pyhost have none)."""
        if tuple(record.dependencies) != tuple(plugin.meta.dependencies) \
                and folded(record.guid) == folded(plugin.meta.guid):
            try:
                self.registry.set_dependencies(record.guid, plugin.meta.dependencies)
            except RegistryError as exc:
                log.debug("cannot store the dependencies of %s: %s", record.name, exc)

    def _fail(self, plugin: Plugin, reason: str, quiet: bool = False) -> None:
        (log.debug if quiet else log.error)("%s", reason)
        self.events.emit(PluginFailed, guid=plugin.meta.guid, name=plugin.meta.name,
                         path=str(plugin.path), reason=reason)

    # -- one plugin -----------------------------------------------------------------------
    def _load(self, plugin: Plugin, state: int, quiet: bool = False) -> Optional[str]:
        """Calls main for a load state. Returns None when it loaded, else the reason (one
        sentence): the library is then closed and the failure reported (logged unless
        ``quiet``: the caller raises the reason itself)."""
        meta = plugin.meta
        core = PluginCore(self.bus, meta.name, lambda msg, m=meta: self._on_plugin_log(m, msg),
                          self._owners, self.rpc.own_tables(meta.guid, meta.name),
                          resolve=self.isolation.resolve)
        entry = _Loaded(plugin, core)
        self._loaded[meta.guid] = entry
        self.bus.set_plugin_present(meta.guid, True)
        recorded = self._load_records.start(meta.guid)
        try:
            ok = plugin.main(state, core.core, None)
        except Exception as exc:  # a Python plugin's main may raise
            log.debug("%s raised in %s", meta.name, STATE_NAMES[state], exc_info=True)
            ok = False
            reason = _exception_reason(meta.name, STATE_NAMES[state], exc)
        else:
            reason = (f"{meta.name} refused to load "
                      f"(its main returned False for {STATE_NAMES[state]}).")
        finally:
            if recorded:
                self._load_records.done(meta.guid)
            self.progress += 1
        if not ok:
            del self._loaded[meta.guid]
            busy = self.rpc.withdraw(meta.guid)
            self.bus.set_plugin_present(meta.guid, False)
            core.release_leftovers()
            self._close(entry, busy)
            self._fail(plugin, reason, quiet)
            return reason
        self.events.emit(PluginLoaded, guid=meta.guid, name=meta.name, version=meta.version,
                         state=STATE_NAMES[state])
        return None

    def _unload(self, guid: str, state: int, report: bool = True) -> None:
        entry = self._loaded.pop(guid)
        meta = entry.plugin.meta
        busy = self.rpc.withdraw(guid)  # its methods go; calls in them end before main runs
        try:
            ok = entry.plugin.main(state, None, None)
        except Exception:
            log.debug("%s raised in %s", meta.name, STATE_NAMES[state], exc_info=True)
            ok = False
        finally:
            self.progress += 1
        self.bus.set_plugin_present(guid, False)
        if ok:
            leftovers = entry.core.release_leftovers()
            if leftovers:
                log.warning("%s left %s behind at unload; released them", meta.name,
                            " and ".join(leftovers))
            self._close(entry, busy)
        else:
            # "I cannot be unloaded at runtime": keep it mapped until the host shuts down.
            self._mapped_until_exit.append(entry)
        if report:
            self.events.emit(PluginUnloaded, guid=guid, name=meta.name, kept_mapped=not ok)

    def _close(self, entry: _Loaded, busy: bool) -> None:
        """Unmaps a plugin, unless an exported method call still runs in its code (then it
        stays mapped until the host shuts down: services/rpc.py)."""
        if busy:
            self._mapped_until_exit.append(entry)
        else:
            entry.plugin.close()

    # -- other processes ------------------------------------------------------------------
    def sync_with_registry(self) -> list[str]:
        """Unloads (ON_UNLOAD) the loaded plugins that another process removed or disabled
        since the last look (SQLite's data_version says whether anything changed at all);
        returns their guids. Called on every timer tick; skipped while the host is busy."""
        if not self._lock.acquire(blocking=False):
            return []
        try:
            if self._closed or not self._loaded or not self.registry.changed_elsewhere():
                return []
            rows = {folded(r.guid): r for r in self.registry.plugins()}
            gone = []
            for guid in reversed(list(self._loaded)):
                if folded(guid) in self._installing:
                    continue
                row = rows.get(folded(guid))
                if row is not None and row.enabled:
                    continue
                name = self._loaded[guid].plugin.meta.name
                log.warning("%s was %s by another pyhost process; unloading it", name,
                            "removed" if row is None else "disabled")
                self._unload(guid, lib.ON_UNLOAD)
                gone.append(guid)
            return gone
        except RegistryError as exc:
            log.debug("cannot look at the registry: %s", exc)
            return []
        finally:
            self._lock.release()

    def settings_need_row(self, guid: str) -> bool:
        """For DCConfig: settings are written only for an installed plugin, checked in the
        write's own transaction (another process may have removed it a moment ago), except
        during the plugin's own ON_INSTALL, before its row exists."""
        return folded(guid) not in self._installing

    def _attach_records(self) -> None:
        self._load_records = LoadRecorder(self.registry)


def _exception_reason(name: str, state: str, exc: BaseException) -> str:
    """One sentence for an exception from a Python plugin's main."""
    text = " ".join(str(exc).split())
    if isinstance(exc, PluginError) and text.startswith(name):
        return text  # a sentence about it already ("X crashed in ON_LOAD (SIGSEGV).")
    if isinstance(exc, PluginError) or type(exc).__name__ in ("HookError", "ExportError",
                                                               "PluginDeclarationError"):
        return f"{name} cannot load: {text.rstrip('.')}."
    return f"{name} raised {exc!r} in {state}."
