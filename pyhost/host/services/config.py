"""DCConfig: per-plugin settings, host paths and the language, as the reference host has them.

For plugins, settings are a per-plugin map of strings (what DC++ keeps). ``set_cfg`` stores
STRING as given (NULL as ""), INT and INT64 as decimal text, BOOL as "1" or "0"; REMOVE
deletes the key; a ``set_cfg`` for a guid that is not an installed plugin (or the plugin being
installed) is ignored. ``get_cfg`` converts the stored text -- "" when the key is missing --
to the requested type: STRING as is, INT with C ``atoi``, INT64 with ``strtoll(s, NULL, 10)``,
BOOL as ``s != "0"`` (so a missing BOOL reads True, and "false" reads True); any other
requested type answers NULL. The guid "CoreSetup" reads the host's own settings in their own
type whatever type is asked, and NULL for a name the host does not have; plugins cannot
write them.

The registry keeps each value with the type it was written as, so ``pyhost config`` can show
and edit it typed; a plugin always reads the value's text (INT 5 is "5", BOOL true is "1"),
so both views agree. Strings are UTF-8 text in the registry: bytes that are not valid UTF-8
are stored as U+FFFD (the one place a plugin can tell this host from the reference).

Every value returned to a plugin is a native block owned by the plugin until it calls
``release`` (native code, like ``copy``: see native/config_values.c). Paths are absolute and
end with the separator.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Callable, Optional, Protocol

from pyhost.abi._ffi import ffi, lib
from pyhost.abi.config_values import from_native, to_native
from pyhost.abi.interrupts import callback_errors
from pyhost.host.registry import Registry, RegistryError


class ConfigOwner(Protocol):
    """What DCConfig needs of its host: the home directory, the registry, and where an
    installed (or installing) plugin's files are (None: no such plugin)."""

    home: Path
    registry: Registry

    def install_dir(self, guid: str) -> Optional[Path]: ...

    def settings_need_row(self, guid: str) -> bool:
        """Whether a write for ``guid`` must find it installed (in the same transaction)."""

log = logging.getLogger("pyhost.config")

CORE_SETUP = "CoreSetup"

# Directories handed out by get_path, relative to the host's home.
PATH_DIRS = {
    lib.PATH_GLOBAL_CONFIG: "config",
    lib.PATH_USER_CONFIG: "config",
    lib.PATH_USER_LOCAL: "local",
    lib.PATH_RESOURCES: "resources",
    lib.PATH_LOCALE: "locale",
}
# Where the reference keeps a plugin's files: <USER_LOCAL path>Plugins/<guid>/.
PLUGINS_DIR = "Plugins"

# The host's own settings, read by plugins with get_cfg("CoreSetup", name, ...).
CORE_DEFAULTS: dict[str, tuple[str, Any]] = {
    "Nick": ("string", "pyhost"),
    "Description": ("string", ""),
    "Language": ("string", "en-US"),
    "MaxHubs": ("int", 0),
    "TimestampsInChat": ("bool", True),
}


def setting_text(stored: Optional[tuple[str, Any]]) -> str:
    """The text a plugin reads for a registry value: "" when missing, a bool as "1"/"0",
    numbers in decimal."""
    if stored is None:
        return ""
    type_name, value = stored
    if type_name == "bool":
        return "1" if value else "0"
    return str(value)


class ConfigService:
    """The DCConfig table of one host."""

    GUID = "generic.plugins.DCConfig"
    VERSION = 1

    def __init__(self, host: ConfigOwner):
        self._host = host
        self._callbacks: list[Any] = []  # keeps the C callbacks alive
        self._write_failures: set[str] = set()  # reasons a write failed, said once each
        self.table = ffi.new("DCConfig*")
        self.table.apiVersion = self.VERSION
        self.table.get_path = self._callback("ConfigStr*(*)(PathType)", self._get_path)
        self.table.get_install_path = self._callback(
            "ConfigStr*(*)(const char*)", self._get_install_path)
        self.table.set_cfg = self._callback(
            "void(*)(const char*, const char*, ConfigValue*)", self._set_cfg)
        self.table.get_cfg = self._callback(
            "ConfigValue*(*)(const char*, const char*, ConfigType)", self._get_cfg)
        self.table.get_language = self._callback("ConfigStr*(*)(void)", self._get_language)
        self.table.copy = ffi.addressof(lib, "phn_cfg_copy")
        self.table.release = ffi.addressof(lib, "phn_cfg_release")

    def _callback(self, ctype: str, fn: Callable):
        cb = ffi.callback(ctype, fn, onerror=callback_errors(
            log, f"DCConfig.{fn.__name__.lstrip('_')}"))
        self._callbacks.append(cb)
        return cb

    # -- paths ---------------------------------------------------------------------------
    def _home(self) -> Path:
        return Path(os.path.abspath(self._host.home))

    def path(self, kind: int) -> Path:
        """The absolute directory for a PathType, created on demand."""
        sub = PATH_DIRS.get(kind)
        if sub is None:
            raise ValueError(f"unknown PathType {kind}")
        directory = self._home() / sub
        directory.mkdir(parents=True, exist_ok=True)
        return directory

    def install_path(self, guid: str) -> Path:
        """The absolute directory of an installed plugin's files; for any other guid the
        reference's <USER_LOCAL path>Plugins/<guid> (not created)."""
        directory = self._host.install_dir(guid)
        if directory is not None and directory.is_absolute():
            return directory
        return self._home() / PATH_DIRS[lib.PATH_USER_LOCAL] / PLUGINS_DIR / guid

    def _get_path(self, kind):
        try:
            directory = self.path(kind)
        except ValueError:
            return _native_str("")
        return _native_str(_with_separator(directory))

    def _get_install_path(self, guid):
        return _native_str(_with_separator(self.install_path(_decode(guid))))

    def _get_language(self):
        stored = self.core_setting("Language")
        return _native_str(setting_text(stored) or "en-US")

    # -- settings ------------------------------------------------------------------------
    def text(self, guid: str, key: str) -> str:
        """What a plugin's setting reads as text ("" when it is missing)."""
        return setting_text(self._host.registry.get_setting(guid, key))

    def core_setting(self, key: str) -> Optional[tuple[str, Any]]:
        """A host setting as (type, value), None when the host has no such setting."""
        stored = self._host.registry.get_setting(CORE_SETUP, key)
        return stored if stored is not None else CORE_DEFAULTS.get(key)

    def _get_cfg(self, guid, setting, kind):
        guid_s, key = _decode(guid), _decode(setting)
        if guid_s == CORE_SETUP:
            stored = self.core_setting(key)
            return ffi.NULL if stored is None else to_native(*stored)
        return lib.phn_cfg_from_text(self.text(guid_s, key).encode("utf-8"), kind)

    def _set_cfg(self, guid, setting, val):
        guid_s, key = _decode(guid), _decode(setting)
        if not guid_s or not key or val == ffi.NULL:
            log.warning("DCConfig.set_cfg ignored: guid, setting and value are required")
            return
        if guid_s == CORE_SETUP or self._host.install_dir(guid_s) is None:
            log.warning("DCConfig.set_cfg of %r ignored: %s is not an installed plugin", key,
                        guid_s)
            return
        registry = self._host.registry
        # "Installed" again, in the write's own transaction: another process may have
        # removed the plugin since (its row is gone, but it still runs here).
        need_row = self._host.settings_need_row(guid_s)
        typed = from_native(val) if val.type != lib.CFG_TYPE_REMOVE else None
        if typed is None and val.type != lib.CFG_TYPE_REMOVE:
            log.warning("DCConfig.set_cfg ignored: unknown value type %d for %s", val.type, key)
            return
        try:
            if typed is None:
                registry.remove_setting(guid_s, key, if_installed=need_row)
            elif not registry.set_setting(guid_s, key, *typed, if_installed=need_row):
                log.warning("DCConfig.set_cfg of %r ignored: %s is no longer installed", key,
                            guid_s)
        except RegistryError as exc:  # a read-only home, a full disk: said once
            if str(exc) not in self._write_failures:
                self._write_failures.add(str(exc))
                log.warning("DCConfig.set_cfg of %r not stored: %s", key, exc)


def _with_separator(directory: Path) -> str:
    return os.path.join(str(directory), "")


def _native_str(text: str):
    return ffi.cast("ConfigStr*", lib.phn_cfg_string(text.encode("utf-8")))


def _decode(ptr) -> str:
    return "" if ptr == ffi.NULL else ffi.string(ptr).decode("utf-8", "replace")
