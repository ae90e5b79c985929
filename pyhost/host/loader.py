"""Opening plugins: dlopen + pluginInit for compiled ones, and the load order.

A plugin, whatever language it is written in, is seen by the host as a :class:`Plugin`: its
metadata and a ``main(state, core, data)`` to call for each lifecycle state. This module
opens compiled ones (rules in docs/abi.md, "Loading") and orders a set of plugins by their
dependencies; the host drives the lifecycle.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable, Protocol, Sequence

from pyhost.abi._ffi import ffi, lib
from pyhost.abi.meta import API_VERSION, STATE_NAMES, PluginMeta
from pyhost.host import binary
from pyhost.host.errors import PluginError
from pyhost.host.file_checks import check_regular, open_regular

__all__ = ["API_VERSION", "STATE_NAMES", "InspectionCache", "NativePlugin", "Plugin",
           "PluginError", "PluginMeta", "load_order"]


class Plugin(Protocol):
    """The host's view of an opened plugin, compiled or Python."""

    meta: PluginMeta
    path: Path
    kind: str  # "native" | "python"

    def main(self, state: int, core: Any, data: Any = None) -> bool: ...

    def close(self) -> None:
        """Releases the plugin's code; never called for one that refused to unload."""


def _text(ptr) -> str:
    return "" if ptr == ffi.NULL else ffi.string(ptr).decode("utf-8", "replace")


def inspect_plugin_file(path: str | os.PathLike[str],
                        inspected: "InspectionCache | None" = None) -> Path:
    """The resolved path of a plugin file that may be opened, in this process or in a
    runner: a regular file whose binary this host can load (checked before anything runs
    it). Raises PluginError. With ``inspected``, a file that passed before and has not
    changed since is not parsed again."""
    path = Path(path).resolve()
    if check_regular(path, "plugin") is None:
        raise PluginError(f"{path}: no such plugin file.")
    if inspected is None or not inspected.passed(path):
        try:
            binary.check_loadable(path)
        except binary.BinaryError as exc:
            raise PluginError(str(exc)) from None
        if inspected is not None:
            inspected.remember(path)
    return path


class NativePlugin:
    """A compiled plugin opened with dlopen; ``pluginInit`` has been called."""

    kind = "native"

    def __init__(self, path: Path, handle, main_fn, meta: PluginMeta):
        self.path = path
        self.meta = meta
        self._handle = handle
        self._main = main_fn

    @classmethod
    def open(cls, path: str | os.PathLike[str],
             inspected: "InspectionCache | None" = None) -> "NativePlugin":
        """Inspects, dlopens and initialises the library; raises PluginError, leaving nothing
        open, when it is not a plugin this host can load. With ``inspected``, a file that
        passed the inspection before and has not changed since is not parsed again."""
        path = inspect_plugin_file(path, inspected)
        name = path.name
        # As the reference host: lazy binding (a symbol missing on a path that never runs
        # does not stop the load) and global (libraries the plugin opens later, e.g. Lua C
        # modules of an embedded Lua, see the plugin's exported symbols).
        handle = lib.dlopen(os.fsencode(path), lib.RTLD_LAZY | lib.RTLD_GLOBAL)
        if handle == ffi.NULL:
            reason = _text(lib.dlerror())
            raise PluginError(f"{name} could not be opened: {reason}.")
        try:
            symbol = lib.dlsym(handle, b"pluginInit")
            if symbol == ffi.NULL:
                raise PluginError(f"{name} does not export pluginInit.")
            info = ffi.new("MetaData*")
            main_fn = ffi.cast("DCPLUGIN_INIT", symbol)(info)
            meta = _read_meta(name, info, main_fn)
        except BaseException:
            lib.dlclose(handle)
            raise
        return cls(path, handle, main_fn, meta)

    def main(self, state: int, core: Any, data: Any = None) -> bool:
        return self._main(state, core if core is not None else ffi.NULL,
                          data if data is not None else ffi.NULL) == 1

    def close(self) -> None:
        if self._handle is not None:
            lib.dlclose(self._handle)
            self._handle = None
            self._main = None


class InspectionCache:
    """Files that passed the pre-dlopen inspection, by (device, inode, size, mtime).

    Parsing an ELF with pyelftools costs milliseconds; a host starting with many plugins
    would spend most of its start-up re-checking files that have not changed since they were
    installed. A file replaced or modified in any way gets a new signature and is checked
    again. Kept as a small JSON file in the host's home; a missing or damaged one is empty.
    """

    def __init__(self, path: Path):
        self._path = path
        self._dirty = False
        self._passed = self._read(path)

    #: A cache larger than this is damage (a real one holds ~100 bytes per plugin).
    MAX_BYTES = 4 << 20

    @classmethod
    def _read(cls, path: Path) -> dict[str, tuple]:
        """The cache's entries; a missing or damaged file (whatever the damage: not JSON,
        nested thousands deep, huge, not a file at all) is an empty cache."""
        try:
            with open_regular(path, "cache") as f:
                text = f.read(cls.MAX_BYTES + 1)
            if len(text) > cls.MAX_BYTES:
                return {}
            loaded = json.loads(text)
            if not isinstance(loaded, dict):
                return {}
            return {k: tuple(v) for k, v in loaded.items()
                    if isinstance(k, str) and isinstance(v, list) and len(v) == 4
                    and all(isinstance(x, int) for x in v)}
        except Exception:  # RecursionError, MemoryError-free ValueErrors, OSError...
            return {}

    @staticmethod
    def _signature(path: Path) -> tuple:
        st = path.stat()
        return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)

    def passed(self, path: Path) -> bool:
        try:
            return self._passed.get(str(path)) == self._signature(path)
        except OSError:
            return False

    def remember(self, path: Path) -> None:
        self._passed[str(path)] = self._signature(path)
        self._dirty = True

    def save(self, keep: Iterable[str]) -> None:
        """Writes the cache if it changed, keeping only the files in ``keep`` (the installed
        plugins: a refused file leaves no trace). Atomic; a failure only costs speed."""
        keep = set(keep)
        stale = [p for p in self._passed if p not in keep]
        for path in stale:
            del self._passed[path]
        if not (self._dirty or stale):
            return
        tmp = self._path.with_name(self._path.name + ".tmp")
        try:
            tmp.write_text(json.dumps(self._passed))
            os.replace(tmp, self._path)
            self._dirty = False
        except OSError:
            tmp.unlink(missing_ok=True)


def _read_meta(name: str, info, main_fn) -> PluginMeta:
    """Validates what pluginInit filled in: main, guid, name, apiVersion 8."""
    if main_fn == ffi.NULL:
        raise PluginError(f"{name}: pluginInit returned no main function.")
    if info.guid == ffi.NULL or not _text(info.guid):
        raise PluginError(f"{name}: pluginInit did not set a guid.")
    if info.name == ffi.NULL or not _text(info.name):
        raise PluginError(f"{name}: pluginInit did not set a name.")
    if info.apiVersion != API_VERSION:
        rebuild = (f", and must be rebuilt against the API {API_VERSION} SDK (state numbers "
                   "and several tables changed)" if info.apiVersion < API_VERSION else "")
        raise PluginError(
            f"{name} was built for plugin API version {info.apiVersion}; "
            f"this host speaks version {API_VERSION}{rebuild}."
        )
    deps = []
    if info.numDependencies and info.dependencies == ffi.NULL:
        raise PluginError(f"{name}: numDependencies is {info.numDependencies} "
                          "but the dependency list is NULL.")
    for i in range(info.numDependencies):
        dep = info.dependencies[i]
        if dep == ffi.NULL:
            raise PluginError(f"{name}: dependency {i} is NULL.")
        deps.append(_text(dep))
    return PluginMeta(
        guid=_text(info.guid), name=_text(info.name), version=float(info.version),
        author=_text(info.author), description=_text(info.description),
        website=_text(info.web), dependencies=tuple(deps), api_version=info.apiVersion,
    )


def load_order(plugins: Sequence[Plugin], available: Iterable[str] = ()
               ) -> tuple[list[Plugin], dict[str, str]]:
    """Orders plugins so each comes after its dependencies.

    ``plugins`` is in the user's order, which is kept wherever dependencies allow (at each
    step the first plugin whose dependencies are met goes next). ``available`` names guids
    already loaded. Returns the order and, for each plugin that cannot load, the reason: a
    missing dependency, a dependency that is itself blocked, or a cycle.
    """
    by_guid = {p.meta.guid: p for p in plugins}
    met = set(available)
    blocked: dict[str, str] = {}

    # Missing dependencies, then whatever depends on a blocked plugin, to a fixed point.
    changed = True
    while changed:
        changed = False
        for p in plugins:
            guid = p.meta.guid
            if guid in blocked:
                continue
            for dep in p.meta.dependencies:
                if dep in met or (dep in by_guid and dep not in blocked):
                    continue
                if dep in blocked:
                    blocked[guid] = (f"it depends on {by_guid[dep].meta.name} ({dep}), "
                                     "which cannot load")
                else:
                    blocked[guid] = f"it depends on {dep}, which is not installed and enabled"
                changed = True
                break

    order: list[Plugin] = []
    pending = [p for p in plugins if p.meta.guid not in blocked]
    while pending:
        ready = next((p for p in pending
                      if all(d in met for d in p.meta.dependencies)), None)
        if ready is None:
            break
        order.append(ready)
        met.add(ready.meta.guid)
        pending.remove(ready)

    # What is left waits on itself: report the cycle each one is in (or leads to).
    for p in pending:
        cycle = _cycle_from(p, by_guid, pending)
        where = "is in" if p.meta.guid in cycle else "depends on"
        blocked[p.meta.guid] = f"it {where} a dependency cycle: " + " -> ".join(
            by_guid[g].meta.name for g in cycle)
    return order, blocked


def _cycle_from(start: Plugin, by_guid: dict[str, Plugin], pending: list[Plugin]
                ) -> list[str]:
    """The guids of the cycle reached by following unmet dependencies from ``start``."""
    left = {p.meta.guid for p in pending}
    path: list[str] = []
    guid = start.meta.guid
    while guid not in path:
        path.append(guid)
        guid = next(d for d in by_guid[guid].meta.dependencies if d in left)
    return path[path.index(guid):] + [guid]
