"""DCConfig: per-plugin settings persisted in the registry, host paths and the language.

Every value returned to a plugin is a native block owned by the plugin until it calls
``release`` (which, like ``copy``, is native code: see native/config_values.c). Reading a
setting that does not exist answers an empty/zero value of the requested type, never NULL.
The guid "CoreSetup" reads the host's own settings (plugins cannot write them).
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable, Optional, Protocol

from pyhost.abi._ffi import ffi, lib
from pyhost.abi.config_values import from_native, to_native
from pyhost.host.registry import Registry


class ConfigOwner(Protocol):
    """What DCConfig needs of its host: the home directory, the registry, and where an
    installed plugin's files are."""

    home: Path
    registry: Registry

    def install_dir(self, guid: str) -> Optional[Path]: ...

log = logging.getLogger("pyhost.config")

CORE_SETUP = "CoreSetup"

# ConfigType <-> the registry's setting type names.
TYPE_NAMES = {
    lib.CFG_TYPE_STRING: "string",
    lib.CFG_TYPE_INT: "int",
    lib.CFG_TYPE_BOOL: "bool",
    lib.CFG_TYPE_INT64: "int64",
}
ZERO = {"string": "", "int": 0, "bool": False, "int64": 0}

# Directories handed out by get_path, relative to the host's home.
PATH_DIRS = {
    lib.PATH_GLOBAL_CONFIG: "config",
    lib.PATH_USER_CONFIG: "config",
    lib.PATH_USER_LOCAL: "local",
    lib.PATH_RESOURCES: "resources",
    lib.PATH_LOCALE: "locale",
}

# The host's own settings, read by plugins with get_cfg("CoreSetup", name, ...).
CORE_DEFAULTS: dict[str, tuple[str, Any]] = {
    "Nick": ("string", "pyhost"),
    "Description": ("string", ""),
    "Language": ("string", "en-US"),
    "MaxHubs": ("int", 0),
    "TimestampsInChat": ("bool", True),
}


class ConfigService:
    """The DCConfig table of one host."""

    GUID = "generic.plugins.DCConfig"
    VERSION = 1

    def __init__(self, host: ConfigOwner):
        self._host = host
        self._callbacks: list[Any] = []  # keeps the C callbacks alive
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

    def _callback(self, ctype: str, fn: Callable, error: Any = None):
        def on_error(exc_type, exc, tb):
            log.error("DCConfig.%s failed", fn.__name__.lstrip("_"),
                      exc_info=(exc_type, exc, tb))
        cb = ffi.callback(ctype, fn, onerror=on_error) if error is None else \
            ffi.callback(ctype, fn, error=error, onerror=on_error)
        self._callbacks.append(cb)
        return cb

    # -- paths ---------------------------------------------------------------------------
    def path(self, kind: int) -> Path:
        """The directory for a PathType, created on demand."""
        sub = PATH_DIRS.get(kind)
        if sub is None:
            raise ValueError(f"unknown PathType {kind}")
        directory = self._host.home / sub
        directory.mkdir(parents=True, exist_ok=True)
        return directory

    def _get_path(self, kind):
        try:
            directory = self.path(kind)
        except ValueError:
            return _native_str("")
        return _native_str(str(directory) + "/")

    def _get_install_path(self, guid):
        directory = self._host.install_dir(_decode(guid))
        text = "" if directory is None else str(directory) + "/"
        return _native_str(text)

    def _get_language(self):
        return _native_str(self.read(CORE_SETUP, "Language", "string")[1] or "en-US")

    # -- settings ------------------------------------------------------------------------
    def read(self, guid: str, key: str, type_name: str | None = None) -> tuple[str, Any]:
        """A setting as (type, value); missing -> the requested type's zero value.

        With ``type_name`` None (CFG_TYPE_UNKNOWN) the stored type is used ("string" if
        there is nothing stored). A stored value of another type is converted when it can
        be, else reads as zero.
        """
        stored = self._host.registry.get_setting(guid, key)
        if stored is None and guid == CORE_SETUP:
            stored = CORE_DEFAULTS.get(key)
        if type_name is None:
            return stored if stored is not None else ("string", "")
        if stored is None:
            return type_name, ZERO[type_name]
        return type_name, _convert(stored, type_name)

    def write(self, guid: str, key: str, type_name: str | None, value: Any = None) -> None:
        """Stores a setting; ``type_name`` None removes it."""
        registry = self._host.registry
        if type_name is None:
            registry.remove_setting(guid, key)
        else:
            registry.set_setting(guid, key, type_name, value)

    def _get_cfg(self, guid, setting, kind):
        guid_s, key = _decode(guid), _decode(setting)
        if kind == lib.CFG_TYPE_UNKNOWN:
            type_name, value = self.read(guid_s, key, None)
        else:
            type_name = TYPE_NAMES.get(kind, "string")
            type_name, value = self.read(guid_s, key, type_name)
        return to_native(type_name, value)

    def _set_cfg(self, guid, setting, val):
        guid_s, key = _decode(guid), _decode(setting)
        if not guid_s or not key or val == ffi.NULL:
            log.warning("DCConfig.set_cfg ignored: guid, setting and value are required")
            return
        if guid_s == CORE_SETUP:
            log.warning("DCConfig.set_cfg ignored: plugins cannot change host settings (%s)",
                        key)
            return
        if val.type == lib.CFG_TYPE_REMOVE:
            self.write(guid_s, key, None)
            return
        typed = from_native(val)
        if typed is None:
            log.warning("DCConfig.set_cfg ignored: unknown value type %d for %s", val.type, key)
            return
        self.write(guid_s, key, *typed)


def _native_str(text: str):
    return ffi.cast("ConfigStr*", lib.phn_cfg_string(text.encode("utf-8")))


def _decode(ptr) -> str:
    return "" if ptr == ffi.NULL else ffi.string(ptr).decode("utf-8", "replace")


def _convert(stored: tuple[str, Any], type_name: str) -> Any:
    stored_type, value = stored
    if stored_type == type_name:
        return value
    try:
        if type_name == "string":
            return str(value).lower() if stored_type == "bool" else str(value)
        if type_name == "bool":
            return value in (True, 1, "1", "true", "True") if stored_type == "string" \
                else bool(value)
        number = int(value)
        if type_name == "int" and not -2**31 <= number < 2**31:
            return 0
        return number
    except (TypeError, ValueError):
        return ZERO[type_name]
