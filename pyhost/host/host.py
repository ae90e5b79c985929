"""The Host: one bus, one registry, the host services, and the plugins' lifecycle.

    with pyhost.Host(home="~/.local/share/pyhost") as host:   # loads the enabled plugins
        host.install("build/my_plugin.so")                      # ON_INSTALL
        host.hooks["dcpp.chat.onIncomingChat"].run(hub, msg)

Lifecycle (docs/abi.md): ON_INSTALL the first time a plugin is added, ON_LOAD at start, in an
order that satisfies dependencies, ON_LOAD_RUNTIME when enabled (or updated) while running,
ON_CONFIGURE on request, ON_UNLOAD on disable and at shutdown (reverse load order),
ON_UNINSTALL on removal. A plugin that answers False to an unload state stays mapped until
the host shuts down. Everything that happens is also reported on ``host.events``.
"""
from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import platformdirs

from pyhost import __version__
from pyhost.abi._ffi import ffi, lib
from pyhost.abi.bus import Bus, Hook, SubscriberError
from pyhost.abi.hook_specs import SPECS as HOOK_SPECS
from pyhost.host import plugin_files, python_loader
from pyhost.host.events import (
    EventStream,
    PluginConfigured,
    PluginFailed,
    PluginInstalled,
    PluginLoaded,
    PluginLog,
    PluginRemoved,
    PluginUnloaded,
    PluginUpdated,
    SubscriberException,
)
from pyhost.host.fire import StandardHooks
from pyhost.host.loader import (
    STATE_NAMES,
    InspectionCache,
    NativePlugin,
    Plugin,
    PluginError,
    load_order,
)
from pyhost.host.plugin_core import PluginCore
from pyhost.host.registry import PluginRecord, Registry, UnknownPluginError
from pyhost.host.services.app_tables import AppServices
from pyhost.host.services.config import ConfigService
from pyhost.host.timers import Timer, tick_ms

log = logging.getLogger("pyhost.host")

HOST_NAME = f"pyhost {__version__}"
REGISTRY_FILE = "registry.sqlite3"
INSPECTION_CACHE_FILE = "inspected-binaries.json"

# Every standard hook of docs/abi.md exists from the start, so plugins can bind them.
STANDARD_HOOKS = tuple(spec.guid for spec in HOOK_SPECS)

# How each kind of plugin file is opened: compiled libraries, and Python plugins (a .py
# file, a package directory, or "entry-point:NAME" of the group pyhost.plugins).
Opener = Callable[[str], Plugin]
OPENERS: dict[str, Opener] = {"native": NativePlugin.open, "python": python_loader.open_plugin}


def default_home() -> Path:
    """$PYHOST_HOME, else the platform's user data directory for pyhost."""
    env = os.environ.get("PYHOST_HOME")
    return Path(env) if env else Path(platformdirs.user_data_dir("pyhost", appauthor=False))


@dataclass
class _Loaded:
    plugin: Plugin
    core: PluginCore
    keep: list[Any] = field(default_factory=list)


class Host:
    """A plugin host. Use it as a context manager, or call start() and shutdown()."""

    def __init__(self, home: str | os.PathLike[str] | None = None, *, timers: bool = True,
                 events_maxlen: int = 10_000, app: Any = None):
        # Absolute: plugins get paths under it (get_path), valid wherever the process goes.
        home = Path(home).expanduser() if home is not None else default_home()
        self.home = Path(os.path.abspath(home))
        self.home.mkdir(parents=True, exist_ok=True)
        self.events = EventStream(events_maxlen)
        self.registry = Registry(self.home / REGISTRY_FILE)
        try:
            self.bus = Bus(host_name=HOST_NAME)
        except BaseException:
            self.registry.close()
            raise
        self.bus.on_subscriber_error = self._on_subscriber_error
        self.hooks: dict[str, Hook] = {g: self.bus.create_hook(g) for g in STANDARD_HOOKS}
        self.config = ConfigService(self)
        self.bus.register_interface(ConfigService.GUID, self.config.table)
        self._register_native_services()
        # The application's interfaces (DCHub, DCQueue, DCUI, ...; `app`, default: the
        # simulated world, pyhost.world) as registered ABI tables, and host.fire, which
        # fires every standard hook with correctly built objects and data.
        self.app_services = AppServices(self, app)
        self.app = self.app_services.app
        self.effects = self.app_services.effects
        self.fire = StandardHooks(self)
        self._python_runtime = python_loader.attach(self)  # pyhost.host.Runtime
        self._inspected = InspectionCache(self.home / INSPECTION_CACHE_FILE)
        self._owners: dict[tuple[str, int], PluginCore] = {}
        self._loaded: dict[str, _Loaded] = {}  # in load order
        self._mapped_until_exit: list[_Loaded] = []
        self._lock = threading.RLock()
        self._timer = Timer(self.tick) if timers else None
        self._tick_buffer = ffi.new("uint64_t*")
        self.running = False
        self._closed = False

    def _register_native_services(self) -> None:
        """Services written in C whose tables need no host context."""
        utils_table = getattr(lib, "phn_utils_table", None)
        if utils_table is not None:
            self.bus.register_interface("dcpp.utils.DCUtils", utils_table())

    # -- running -------------------------------------------------------------------------
    def start(self) -> None:
        """Loads the enabled plugins (ON_LOAD, dependencies first) and starts the timers."""
        with self._lock:
            if self.running:
                return
            self._require_open()
            self._recover_packages()
            self._load_enabled()
            self._save_inspected()
            self.running = True
            if self._timer is not None:
                self._timer.start()

    def shutdown(self) -> None:
        """Stops the timers, unloads every plugin in reverse load order (ON_UNLOAD), closes
        the libraries that refused to unload, and frees the bus and the registry."""
        with self._lock:
            if self._closed:
                return
            if self._timer is not None:
                self._timer.stop()
            for guid in reversed(list(self._loaded)):
                self._unload(guid, lib.ON_UNLOAD)
            for entry in self._mapped_until_exit:
                entry.core.release_leftovers()
                entry.plugin.close()
            self._mapped_until_exit.clear()
            self.running = False
            self._closed = True
            self.app_services.close()  # no plugin library is mapped any more
            self.bus.close()
            self.registry.close()

    def __enter__(self) -> "Host":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()

    def tick(self, now_ms: Optional[int] = None, minute: bool = False) -> None:
        """Fires dcpp.timer.onSecond (and onMinute when ``minute``) with ``now_ms``."""
        self._tick_buffer[0] = tick_ms() if now_ms is None else now_ms
        self.hooks["dcpp.timer.onSecond"].run(None, self._tick_buffer)
        if minute:
            self.hooks["dcpp.timer.onMinute"].run(None, self._tick_buffer)

    @property
    def host_name(self) -> str:
        return self.bus.host_name

    # -- queries -------------------------------------------------------------------------
    def plugins(self) -> list[PluginRecord]:
        """Installed plugins in the user's order."""
        return self.registry.plugins()

    def loaded(self) -> list[str]:
        """Guids of the loaded plugins, in load order."""
        return list(self._loaded)

    def is_loaded(self, guid: str) -> bool:
        return guid in self._loaded

    def plugin(self, guid: str) -> PluginRecord:
        """The registry record of an installed plugin; PluginError if there is none."""
        try:
            return self.registry.get(guid)
        except UnknownPluginError:
            raise PluginError(f"No plugin with guid {guid} is installed.") from None

    def install_dir(self, guid: str) -> Optional[Path]:
        """The directory holding an installed plugin's files."""
        entry = self._loaded.get(guid)  # also during ON_INSTALL, before its registry row exists
        if entry is not None:
            return Path(entry.plugin.path).parent
        try:
            return Path(self.registry.get(guid).path).parent
        except UnknownPluginError:
            return None

    # -- install / update ----------------------------------------------------------------
    def install(self, path: str | os.PathLike[str], kind: str = "native") -> PluginRecord:
        """Adds a plugin file (ON_INSTALL), or updates an installed one to a higher version
        (old unloaded, settings kept, new one ON_LOAD_RUNTIME). Raises PluginError and
        changes nothing when the file is refused."""
        with self._lock:
            self._require_open()
            plugin = self._open(kind, str(path))
            try:
                existing = self.registry.get(plugin.meta.guid)
            except UnknownPluginError:
                existing = None
            if existing is None:
                record = self._install_new(plugin)
            else:
                record = self._update(existing, plugin)
            self._save_inspected()
            return record

    def _install_new(self, plugin: Plugin) -> PluginRecord:
        meta = plugin.meta
        self._check_dependencies_loaded(plugin)
        had_settings = bool(self.registry.settings(meta.guid))
        if not self._load(plugin, lib.ON_INSTALL):
            if not had_settings:  # leave nothing behind
                self.registry.remove_settings(meta.guid)
            raise PluginError(f"{meta.name} refused to install "
                              "(its main returned False for ON_INSTALL).")
        try:
            record = self.registry.add(self._record(plugin))
        except BaseException:
            self._unload(meta.guid, lib.ON_UNINSTALL, report=False)
            raise
        self.events.emit(PluginInstalled, guid=meta.guid, name=meta.name,
                         version=meta.version, path=str(plugin.path))
        return record

    def _update(self, existing: PluginRecord, plugin: Plugin) -> PluginRecord:
        meta = plugin.meta
        if meta.version <= existing.version:
            plugin.close()
            raise PluginError(
                f"{existing.name} {existing.version} is already installed; refusing "
                f"version {meta.version} (an update needs a higher version).")
        if existing.enabled:
            try:
                self._check_dependencies_loaded(plugin)
            except PluginError:
                plugin.close()
                raise
        was_loaded = meta.guid in self._loaded
        if was_loaded:
            self._unload(meta.guid, lib.ON_UNLOAD)
        record = self.registry.update(self._record(plugin))
        self.events.emit(PluginUpdated, guid=meta.guid, name=meta.name,
                         old_version=existing.version, new_version=meta.version)
        if existing.enabled and (self.running or was_loaded):
            if not self._load(plugin, lib.ON_LOAD_RUNTIME):
                raise PluginError(f"{meta.name} {meta.version} was installed but refused to "
                                  "load (its main returned False for ON_LOAD_RUNTIME).")
        else:
            plugin.close()
        return record

    @staticmethod
    def _record(plugin: Plugin) -> PluginRecord:
        m = plugin.meta
        return PluginRecord(guid=m.guid, name=m.name, version=m.version, author=m.author,
                            description=m.description, website=m.website,
                            path=str(plugin.path), kind=plugin.kind)

    # -- enable / disable / order / configure / remove ------------------------------------
    def enable(self, guid: str) -> None:
        """Enables a plugin; while running it loads now (ON_LOAD_RUNTIME)."""
        with self._lock:
            record = self.plugin(guid)
            if self.running and guid not in self._loaded:
                plugin = self._open(record.kind, record.path, record)
                self._check_dependencies_loaded(plugin, close=True)
                if not self._load(plugin, lib.ON_LOAD_RUNTIME):
                    raise PluginError(f"{record.name} refused to load "
                                      "(its main returned False for ON_LOAD_RUNTIME).")
                self._save_inspected()
            self.registry.set_enabled(guid, True)

    def disable(self, guid: str) -> None:
        """Disables a plugin; if loaded it is unloaded now (ON_UNLOAD)."""
        with self._lock:
            record = self.plugin(guid)
            if guid in self._loaded:
                self._refuse_if_needed(record, "disable")
                self._unload(guid, lib.ON_UNLOAD)
            self.registry.set_enabled(guid, False)

    def move(self, guid: str, direction: str) -> bool:
        """Moves a plugin "up" or "down" in the load order; False at either end."""
        if direction not in ("up", "down"):
            raise ValueError(f"direction must be 'up' or 'down', not {direction!r}")
        with self._lock:
            self.plugin(guid)
            return self.registry.move(guid, direction)

    def configure(self, guid: str) -> bool:
        """Sends ON_CONFIGURE to a loaded plugin; returns its answer."""
        with self._lock:
            record = self.plugin(guid)
            entry = self._loaded.get(guid)
            if entry is None:
                raise PluginError(f"{record.name} is not loaded, so it cannot be configured.")
            result = entry.plugin.main(lib.ON_CONFIGURE, entry.core.core, None)
            self.events.emit(PluginConfigured, guid=guid, name=record.name, result=result)
            return result

    def remove(self, guid: str, keep_settings: bool = False) -> PluginRecord:
        """Removes a plugin: ON_UNINSTALL if loaded, then its registry row (and settings,
        unless ``keep_settings``)."""
        with self._lock:
            record = self.plugin(guid)
            if guid in self._loaded:
                self._refuse_if_needed(record, "remove")
                self._unload(guid, lib.ON_UNINSTALL)
            removed = self.registry.remove(guid, keep_settings=keep_settings)
            self.events.emit(PluginRemoved, guid=guid, name=record.name,
                             kept_settings=keep_settings)
            return removed

    def _refuse_if_needed(self, record: PluginRecord, action: str) -> None:
        needers = [e.plugin.meta.name for g, e in self._loaded.items()
                   if record.guid in e.plugin.meta.dependencies]
        if needers:
            raise PluginError(f"Cannot {action} {record.name}: loaded plugin(s) "
                              f"{', '.join(needers)} depend on it; disable them first.")

    # -- loading machinery ---------------------------------------------------------------
    def _open(self, kind: str, path: str, record: Optional[PluginRecord] = None) -> Plugin:
        """Opens a plugin file; with ``record``, refuses a file that is another plugin."""
        opener = OPENERS.get(kind)
        if opener is None:
            raise PluginError(f"{path}: unknown plugin kind {kind!r}.")
        try:
            plugin = opener(path, inspected=self._inspected) if kind == "native" \
                else opener(path)
            if record is not None and plugin.meta.guid != record.guid:
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

    def _check_dependencies_loaded(self, plugin: Plugin, close: bool = True) -> None:
        missing = [d for d in plugin.meta.dependencies if d not in self._loaded]
        if missing:
            if close:
                plugin.close()
            reason = (f"{plugin.meta.name} depends on {', '.join(missing)}, "
                      "which is not loaded.")
            self.events.emit(PluginFailed, guid=plugin.meta.guid, name=plugin.meta.name,
                             path=str(plugin.path), reason=reason)
            raise PluginError(reason)

    def _load_enabled(self) -> None:
        opened: list[Plugin] = []
        for record in self.registry.plugins():
            if not record.enabled or record.guid in self._loaded:
                continue
            try:
                opened.append(self._open(record.kind, record.path, record))
            except PluginError as exc:
                log.error("%s", exc)
        order, blocked = load_order(opened, available=self._loaded)
        for plugin in opened:
            reason = blocked.get(plugin.meta.guid)
            if reason is not None:
                plugin.close()
                self._fail(plugin, f"{plugin.meta.name} cannot load: {reason}.")
        for plugin in order:
            unmet = [d for d in plugin.meta.dependencies if d not in self._loaded]
            if unmet:
                plugin.close()
                self._fail(plugin, f"{plugin.meta.name} cannot load: it depends on "
                                   f"{', '.join(unmet)}, which failed to load.")
                continue
            self._load(plugin, lib.ON_LOAD)

    def _fail(self, plugin: Plugin, reason: str) -> None:
        log.error("%s", reason)
        self.events.emit(PluginFailed, guid=plugin.meta.guid, name=plugin.meta.name,
                         path=str(plugin.path), reason=reason)

    def _load(self, plugin: Plugin, state: int) -> bool:
        """Calls main for a load state; on False the library is closed and it is reported."""
        meta = plugin.meta
        core = PluginCore(self.bus, meta.name, lambda msg, m=meta: self._on_plugin_log(m, msg),
                          self._owners)
        entry = _Loaded(plugin, core)
        self._loaded[meta.guid] = entry
        self.bus.set_plugin_present(meta.guid, True)
        try:
            ok = plugin.main(state, core.core, None)
        except Exception as exc:  # a Python plugin's main may raise
            log.exception("%s raised in %s", meta.name, STATE_NAMES[state])
            ok = False
            reason = f"{meta.name} raised {exc!r} in {STATE_NAMES[state]}."
        else:
            reason = (f"{meta.name} refused to load "
                      f"(its main returned False for {STATE_NAMES[state]}).")
        if not ok:
            del self._loaded[meta.guid]
            self.bus.set_plugin_present(meta.guid, False)
            core.release_leftovers()
            plugin.close()
            self._fail(plugin, reason)
            return False
        self.events.emit(PluginLoaded, guid=meta.guid, name=meta.name, version=meta.version,
                         state=STATE_NAMES[state])
        return True

    def _unload(self, guid: str, state: int, report: bool = True) -> None:
        entry = self._loaded.pop(guid)
        meta = entry.plugin.meta
        try:
            ok = entry.plugin.main(state, None, None)
        except Exception:
            log.exception("%s raised in %s", meta.name, STATE_NAMES[state])
            ok = False
        self.bus.set_plugin_present(guid, False)
        if ok:
            leftovers = entry.core.release_leftovers()
            if leftovers:
                log.warning("%s left %s behind at unload; released them", meta.name,
                            " and ".join(leftovers))
            entry.plugin.close()
        else:
            # "I cannot be unloaded at runtime": keep it mapped until the host shuts down.
            self._mapped_until_exit.append(entry)
        if report:
            self.events.emit(PluginUnloaded, guid=guid, name=meta.name, kept_mapped=not ok)

    # -- event sinks ---------------------------------------------------------------------
    def _on_plugin_log(self, meta, message: str) -> None:
        self.events.emit(PluginLog, guid=meta.guid, name=meta.name, message=message)

    def _on_subscriber_error(self, error: SubscriberError) -> None:
        self.events.emit(SubscriberException, hook=error.hook, subscriber=error.subscriber,
                         plugin=None, error=repr(error.exception), traceback=error.traceback)

    # -- .dcext packages (pyhost.packages drives these) ------------------------------------
    def _recover_packages(self) -> None:
        """Removes what an interrupted package install/update/remove left on disk (staging
        directories, unreferenced versions); never raises."""
        plugin_files.recover(self.home, self.registry)

    def unload(self, guid: str) -> bool:
        """Unloads a loaded plugin (ON_UNLOAD) without touching the registry, e.g. before its
        files are replaced. Returns False when it refused and stays mapped until shutdown,
        True otherwise (also when it was not loaded)."""
        with self._lock:
            entry = self._loaded.get(guid)
            if entry is None:
                return True
            self._unload(guid, lib.ON_UNLOAD)
            return entry not in self._mapped_until_exit

    def _require_open(self) -> None:
        if self._closed:
            raise PluginError("This host has been shut down.")

    def __repr__(self) -> str:
        return f"<Host {self.home} loaded={len(self._loaded)}>"

