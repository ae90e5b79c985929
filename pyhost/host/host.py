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
from pathlib import Path
from typing import Any, Iterable, Optional

import platformdirs

from pyhost import __version__
from pyhost.abi._ffi import ffi, lib
from pyhost.abi.bus import Bus, Hook, SubscriberError
from pyhost.abi.hook_specs import SPECS as HOOK_SPECS
from pyhost.host import plugin_files, python_loader
from pyhost.host.events import (
    EventStream,
    PluginConfigured,
    PluginInstalled,
    PluginLog,
    PluginRemoved,
    PluginUpdated,
    SubscriberException,
)
from pyhost.host.fire import StandardHooks
from pyhost.host.home import REGISTRY_FILE, check_home, open_registry
from pyhost.host.host_isolation import IsolationControls
from pyhost.host.isolation import Isolation, IsolationOptions
from pyhost.host.lifecycle import OPENERS, Lifecycle, _Loaded, folded
from pyhost.host.loader import InspectionCache, Plugin, PluginError
from pyhost.host.registry import PluginRecord, UnknownPluginError
from pyhost.host.services import log as log_service
from pyhost.host.services.app_tables import AppServices
from pyhost.host.services.config import ConfigService
from pyhost.host.services.rpc import GUID as RPC_GUID
from pyhost.host.services.rpc import RpcService
from pyhost.host.timers import Timer, tick_ms

log = logging.getLogger("pyhost.host")

HOST_NAME = f"pyhost {__version__}"
INSPECTION_CACHE_FILE = "inspected-binaries.json"

# Every standard hook of docs/abi.md exists from the start, so plugins can bind them.
STANDARD_HOOKS = tuple(spec.guid for spec in HOOK_SPECS)

__all__ = ["HOST_NAME", "OPENERS", "REGISTRY_FILE", "STANDARD_HOOKS", "Host", "default_home"]


def default_home() -> Path:
    """$PYHOST_HOME, else the platform's user data directory for pyhost."""
    env = os.environ.get("PYHOST_HOME")
    return Path(env) if env else Path(platformdirs.user_data_dir("pyhost", appauthor=False))


class Host(IsolationControls, Lifecycle):
    """A plugin host. Use it as a context manager, or call start() and shutdown().
    ``isolation``: pyhost.host.isolation.IsolationOptions (plugins in their own process).

    The home is refused (HomeError) when it is an empty path or a file; its registry is
    refused when damaged (RegistryDamagedError) or when it is missing or empty while
    packages are installed (RegistryMissingError): ``pyhost repair`` fixes both. On a
    read-only file system the registry is opened read-only: reads work, writes refuse.
    """

    def __init__(self, home: str | os.PathLike[str] | None = None, *, timers: bool = True,
                 events_maxlen: int = 10_000, app: Any = None,
                 isolation: IsolationOptions | None = None):
        self.home = check_home(home if home is not None else default_home())
        self.events = EventStream(events_maxlen)
        self.registry = open_registry(self.home)
        try:
            self.bus = Bus(host_name=HOST_NAME)
        except BaseException:
            self.registry.close()
            raise
        self.bus.on_subscriber_error = self._on_subscriber_error
        self.hooks: dict[str, Hook] = {g: self.bus.create_hook(g) for g in STANDARD_HOOKS}
        self.config = ConfigService(self)
        self.bus.register_interface(ConfigService.GUID, self.config.table)
        # Plugins get a DCLog of their own (plugin_core); this one holds the guid, so a
        # plugin's register_interface of it is refused as in the reference host. DCRpc is
        # per plugin too: its guid is held by a reservation (the registry answers NULL).
        self._host_log = log_service.PluginLog("pyhost", lambda text: None)
        self.bus.register_interface(log_service.GUID, self._host_log.table)
        self.bus.register_interface(RPC_GUID, lib.phn_reserved_interface())
        self._register_native_services()
        # The application's interfaces (DCHub, DCQueue, DCUI, ...; `app`, default: the
        # simulated world, pyhost.world) as registered ABI tables, and host.fire, which
        # fires every standard hook with correctly built objects and data.
        self.app_services = AppServices(self, app)
        self.app = self.app_services.app
        self.effects = self.app_services.effects
        self.fire = StandardHooks(self)
        self.rpc = RpcService(self.events)  # exported methods, plugin events (DCRpc)
        self.isolation = Isolation(self, self.bus, isolation, tag_source=self.app_services)
        self._python_runtime = python_loader.attach(self)  # pyhost.host.Runtime
        self._inspected = InspectionCache(self.home / INSPECTION_CACHE_FILE)
        self._owners: dict[tuple[str, int], Any] = {}  # handle -> its PluginCore
        self._loaded: dict[str, _Loaded] = {}  # in load order
        self._mapped_until_exit: list[_Loaded] = []
        self._installing: set[str] = set()  # folded guids in ON_INSTALL (no row yet)
        self._attach_records()
        # Plugin calls (main, for a lifecycle state) that returned: a watchdog tells a busy
        # host from a stuck one by it.
        self.progress = 0
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
    def start(self, only: Optional[Iterable[str]] = None) -> None:
        """Loads the enabled plugins (ON_LOAD, dependencies first) and starts the timers.

        With ``only`` (guids), loads just those and the plugins they depend on, and the
        host does not count as running (no timers, enable does not load): for a command
        about one plugin, which must not run every other one."""
        with self._lock:
            if self.running:
                return
            self._require_open()
            self._recover_packages()
            self._load_enabled(only)
            self._save_inspected()
            if only is not None:
                return
            self.running = True
            self.registry.changed_elsewhere()  # the reference for sync_with_registry
            if self._timer is not None:
                self._timer.start()

    def shutdown(self) -> None:
        """Stops the timers, unloads every plugin in reverse load order (ON_UNLOAD), closes
        the libraries that refused to unload, and frees the bus and the registry."""
        self.isolation.settle()  # a crash just before is reported first
        with self._lock:
            if self._closed:
                return
            if self._timer is not None:
                self._timer.stop()
            for guid in reversed(list(self._loaded)):
                self._unload(guid, lib.ON_UNLOAD)
            for entry in self._mapped_until_exit:
                entry.core.release_leftovers()
                if not self.rpc.busy(entry.plugin.meta.guid):  # else: a call runs in its code
                    entry.plugin.close()
            self._mapped_until_exit.clear()
            self.rpc.close()
            self.isolation.close()
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
        """Fires dcpp.timer.onSecond (and onMinute when ``minute``) with ``now_ms``, after
        unloading plugins another process removed or disabled (sync_with_registry)."""
        if self.running:
            self.sync_with_registry()
        self._tick_buffer[0] = tick_ms() if now_ms is None else now_ms
        for guid in ("dcpp.timer.onSecond", "dcpp.timer.onMinute")[:2 if minute else 1]:
            hook = self.hooks[guid]  # a local: pyhost.host.activity finds it in the stack
            hook.run(None, self._tick_buffer)

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
        return self._is_loaded(guid)

    def plugin(self, guid: str) -> PluginRecord:
        """The registry record of an installed plugin (its guid in any letter case); a
        PluginError if there is none."""
        try:
            return self.registry.get(guid)
        except UnknownPluginError:
            raise PluginError(f"No plugin with guid {guid} is installed.") from None

    def declared_settings(self, guid: str) -> dict[str, tuple[str, Any]]:
        """The settings a Python plugin declares with their defaults, ``{key: (type,
        value)}`` ({} for a compiled plugin, or when its file cannot be imported)."""
        record = self.plugin(guid)
        if record.kind != "python":
            return {}
        try:
            return python_loader.declared_settings(record.path)
        except PluginError as exc:
            log.debug("cannot read the settings %s declares: %s", record.name, exc)
            return {}

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
    def install(self, path: str | os.PathLike[str], kind: Optional[str] = None, *,
                activate: bool = False, isolated: Optional[bool] = None) -> PluginRecord:
        """Adds a plugin file (ON_INSTALL), or updates an installed one to a higher version
        (old unloaded, settings kept, new one ON_LOAD_RUNTIME). Raises PluginError and
        changes nothing when the file is refused. ``kind`` defaults to what the path is:
        "python" for a .py file, a package directory or entry-point:NAME, else "native".
        Only the plugin (and, when the host is not started, the plugins it depends on)
        is loaded. ``activate`` loads an update of an enabled plugin even when the host is
        not started, so that a new version that refuses to load is known now.
        ``isolated``: see IsolationControls."""
        with self._lock:
            self._require_open()
            if kind is None:
                kind = python_loader.kind_of(path) or "native"
            plugin, existing, flag = self._open_to_install(kind, str(path), isolated)
            if existing is None:
                record = self._install_new(plugin, flag)
            else:
                record = self._update(existing, plugin, activate, flag)
            self._save_inspected()
            return record

    def _install_new(self, plugin: Plugin, isolated: bool = False) -> PluginRecord:
        meta = plugin.meta
        self._check_dependencies_loaded(plugin)
        had_settings = bool(self.registry.settings(meta.guid))
        self._installing.add(folded(meta.guid))
        try:
            failure = self._load(plugin, lib.ON_INSTALL, quiet=True)
        finally:
            self._installing.discard(folded(meta.guid))
        if failure is not None:
            if not had_settings:  # leave nothing behind
                self.registry.remove_settings(meta.guid)
            raise PluginError(failure.replace(" refused to load ", " refused to install "))
        try:
            record = self.registry.add(self._record(plugin, isolated))
        except BaseException:
            self._unload(meta.guid, lib.ON_UNINSTALL, report=False)
            raise
        self.events.emit(PluginInstalled, guid=meta.guid, name=meta.name,
                         version=meta.version, path=str(plugin.path))
        return record

    def _update(self, existing: PluginRecord, plugin: Plugin, activate: bool = False,
                isolated: bool = False) -> PluginRecord:
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
        was_loaded = existing.guid in self._loaded
        if was_loaded:
            self._unload(existing.guid, lib.ON_UNLOAD)
        record = self._record_isolation(self.registry.update(self._record(plugin)), isolated)
        self.events.emit(PluginUpdated, guid=meta.guid, name=meta.name,
                         old_version=existing.version, new_version=meta.version)
        if existing.enabled and (self.running or was_loaded or activate):
            before = self.registry.settings(record.guid)
            failure = self._load(plugin, lib.ON_LOAD_RUNTIME, quiet=True)
            if failure is not None:
                self.registry.replace_settings(record.guid, before)  # what it wrote, undone
                raise PluginError(failure.replace(
                    f"{meta.name} refused to load",
                    f"{meta.name} {meta.version} was installed but refused to load"))
        else:
            plugin.close()
        return record

    @staticmethod
    def _record(plugin: Plugin, isolated: bool = False) -> PluginRecord:
        m = plugin.meta
        return PluginRecord(guid=m.guid, name=m.name, version=m.version, author=m.author,
                            description=m.description, website=m.website,
                            path=str(plugin.path), kind=plugin.kind,
                            dependencies=m.dependencies, isolated=isolated)

    # -- enable / disable / order / configure / remove ------------------------------------
    def enable(self, guid: str) -> None:
        """Enables a plugin (and forgets that it crashed a host); while running it loads
        now (ON_LOAD_RUNTIME)."""
        with self._lock:
            record = self.plugin(guid)
            if self.running and not self._is_loaded(record.guid):
                plugin = self._open_record(record)
                self._check_dependencies_loaded(plugin, close=True)
                failure = self._load(plugin, lib.ON_LOAD_RUNTIME, quiet=True)
                if failure is not None:
                    raise PluginError(failure)
                self._save_inspected()
            self.registry.set_enabled(record.guid, True)

    def disable(self, guid: str) -> None:
        """Disables a plugin; if loaded it is unloaded now (ON_UNLOAD). Refused while an
        enabled plugin depends on it."""
        with self._lock:
            record = self.plugin(guid)
            if record.enabled:
                self._refuse_if_needed(record, "disable")
            if record.guid in self._loaded:
                self._unload(record.guid, lib.ON_UNLOAD)
            self.registry.set_enabled(record.guid, False)

    def move(self, guid: str, direction: str) -> bool:
        """Moves a plugin "up" or "down" in the load order; False at either end."""
        if direction not in ("up", "down"):
            raise ValueError(f"direction must be 'up' or 'down', not {direction!r}")
        with self._lock:
            return self.registry.move(self.plugin(guid).guid, direction)

    def configure(self, guid: str) -> bool:
        """Sends ON_CONFIGURE to a loaded plugin; returns its answer."""
        with self._lock:
            record = self.plugin(guid)
            guid = record.guid
            entry = self._loaded.get(guid)
            if entry is None:
                raise PluginError(f"{record.name} is not loaded, so it cannot be configured.")
            result = entry.plugin.main(lib.ON_CONFIGURE, entry.core.core, None)
            self.events.emit(PluginConfigured, guid=guid, name=record.name, result=result)
            return result

    def remove(self, guid: str, keep_settings: bool = False) -> PluginRecord:
        """Removes a plugin: ON_UNINSTALL, then its registry row (and settings, unless
        ``keep_settings``). An enabled plugin that is not loaded is loaded for that
        (ON_LOAD, with what it depends on); a disabled one, or one that crashed a host,
        is removed without running it. Refused while an enabled plugin depends on it."""
        with self._lock:
            record = self.plugin(guid)
            guid = record.guid
            if record.enabled:
                self._refuse_if_needed(record, "remove")
            if guid not in self._loaded and record.enabled and not self.running:
                self._load_enabled(only=[guid])  # a crashed one is skipped here
            if guid in self._loaded:
                self._unload(guid, lib.ON_UNINSTALL)
            removed = self.registry.remove(guid, keep_settings=keep_settings)
            self.events.emit(PluginRemoved, guid=guid, name=record.name,
                             kept_settings=keep_settings)
            return removed

    def _refuse_if_needed(self, record: PluginRecord, action: str) -> None:
        needers = [n for n in self._dependents(record) if n != record.name]
        if needers:
            raise PluginError(f"Cannot {action} {record.name}: enabled plugin(s) "
                              f"{', '.join(needers)} depend on it; disable them first.")

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
            guid = next((g for g in self._loaded if folded(g) == folded(guid)), guid)
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

