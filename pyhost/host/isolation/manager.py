"""A host's isolated plugins: opening them, finding their interfaces, collecting them."""
from __future__ import annotations

import threading
import weakref
from typing import Any, Optional

from pyhost.abi._ffi import ffi, lib
from pyhost.host.isolation.crashes import CrashHandler, CrashSite
from pyhost.host.isolation.options import IsolationOptions
from pyhost.host.isolation.process import IsolatedPlugin
from pyhost.host.loader import InspectionCache

# Where the text of a running onChatTags call is found for a crash's replay file: the tag
# sessions of every host's application services (pyhost.host.services.app_tables).
_TAG_SOURCES: "weakref.WeakSet[Any]" = weakref.WeakSet()


@ffi.callback("const char*(*)(void*)")
def _tag_text(tag_data):
    for services in list(_TAG_SOURCES):
        buffer = services.tag_text_buffer(tag_data)
        if buffer is not None:
            return buffer
    return ffi.NULL


lib.phn_iso_set_tag_text(_tag_text)


class Isolation:
    """The isolated plugins of one host (``host.isolation``)."""

    def __init__(self, site: CrashSite, bus, options: Optional[IsolationOptions] = None,
                 tag_source: Any = None):
        self.options = options or IsolationOptions()
        self._bus = bus
        self._handler = CrashHandler(site, self.options)
        self._plugins: "weakref.WeakSet[IsolatedPlugin]" = weakref.WeakSet()
        self._lock = threading.Lock()
        if tag_source is not None:
            _TAG_SOURCES.add(tag_source)

    def wanted(self, kind: str, flag: bool) -> bool:
        """Whether a plugin of this kind with this registry flag runs isolated."""
        if kind != "native" or self.options.mode == "none":
            return False
        return self.options.mode == "all" or flag

    def open(self, path, inspected: Optional[InspectionCache] = None) -> IsolatedPlugin:
        plugin = IsolatedPlugin.open(path, options=self.options, bus=self._bus,
                                     on_crash=self._handler, inspected=inspected)
        with self._lock:
            self._plugins.add(plugin)
        return plugin

    def resolve(self, guid, version: int):
        """An interface an isolated plugin registered before its description was known,
        registered now if it is known at last (PluginCore's query falls back on this)."""
        with self._lock:
            plugins = list(self._plugins)
        for plugin in plugins:
            with plugin.native_lock:
                if plugin.closed:
                    continue
                table = lib.phn_iso_plugin_resolve(plugin.native, guid, version)
            if table != ffi.NULL:
                return table
        return ffi.NULL

    def settle(self, timeout: float = 5.0) -> None:
        """Waits until every isolated plugin whose runner just died has been reported (its
        PluginCrashed event emitted), so what follows sees the crash in order."""
        with self._lock:
            plugins = list(self._plugins)
        for plugin in plugins:
            runner = plugin.runner
            if runner is not None and not plugin.closed:
                runner.settle(timeout)

    def close(self) -> None:
        """After every plugin is unloaded: frees what the isolated ones left in C."""
        lib.phn_iso_collect(self._bus.native, 1)
