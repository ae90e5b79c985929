"""A Python plugin's settings: a typed mapping over DCConfig under the plugin's guid."""
from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any, Iterator

from pyhost.abi._ffi import ffi, lib
from pyhost.abi.config_values import from_native

__all__ = ["Int64", "Settings"]

# -- settings -----------------------------------------------------------------------------------

_INT32 = (-2**31, 2**31 - 1)


class Int64(int):
    """An int stored as DCConfig INT64 even when it is small: ``settings={"n": Int64(0)}``."""


class Settings(MutableMapping):
    """The plugin's settings, stored by the host through DCConfig under the plugin's guid.

    DCConfig keeps a map of strings per plugin (see docs/abi.md). A value is written as the
    DCConfig type of the key's declared default, else of the value: ``bool`` -> BOOL ("1" /
    "0"), ``int`` -> INT (INT64 when it does not fit in 32 bits, or for an :class:`Int64`),
    ``str`` -> STRING. It is read back through DCConfig's own conversions, as the type of
    the key's declared default: ``bool`` -> BOOL (text != "0"), ``int`` -> INT64 (strtoll),
    ``str`` -> STRING. Values persist across restarts and updates.

    ``defaults`` (given to :class:`Plugin`) are what a key reads while it is unset. DCConfig
    cannot tell a missing key from an empty string, so a key whose text is "" is unset: a
    declared key then reads its default, an undeclared one raises KeyError. An undeclared
    key reads back as ``str`` (the text DCConfig keeps): declare a default to give it a
    type. DCConfig cannot list a plugin's settings, so iteration covers the declared keys.
    """

    def __init__(self, plugin: Any, defaults: dict[str, Any]):
        self._plugin = plugin
        self.defaults = dict(defaults)
        for key, value in self.defaults.items():
            _config_type(key, value)  # refuse a default DCConfig cannot store

    def _table(self):
        table = self._plugin._config
        if table is None:
            raise RuntimeError(f"{self._plugin.meta.name}: settings are only available "
                               "while the plugin is loaded (DCConfig comes with its core).")
        return table

    def _read(self, key: str, kind: int) -> Any:
        """get_cfg(guid, key, kind) as a Python value (None if the host answers NULL)."""
        table = self._table()
        value = table.get_cfg(self._plugin._guid_c, key.encode("utf-8"), kind)
        if value == ffi.NULL:
            return None
        try:
            typed = from_native(value)  # the host's own decoding of a ConfigValue
        finally:
            table.release(value)
        return None if typed is None else typed[1]

    def _text(self, key: str) -> str:
        return self._read(key, lib.CFG_TYPE_STRING) or ""

    def __getitem__(self, key: str) -> Any:
        text = self._text(key)
        if key not in self.defaults:
            if not text:
                raise KeyError(key)
            return text
        default = self.defaults[key]
        if not text:
            return default
        kind = _config_type(key, default)
        if kind == lib.CFG_TYPE_STRING:
            return text
        # ints read as INT64 whatever they were written as: a Python int has no 32-bit limit
        value = self._read(key, lib.CFG_TYPE_BOOL if kind == lib.CFG_TYPE_BOOL
                           else lib.CFG_TYPE_INT64)
        return default if value is None else value

    def __setitem__(self, key: str, value: Any) -> None:
        kind = _config_type(key, self.defaults.get(key, value))
        kind = max(kind, _config_type(key, value)) if kind in (lib.CFG_TYPE_INT,
                                                               lib.CFG_TYPE_INT64) else kind
        keep = []
        if kind == lib.CFG_TYPE_STRING:
            buffer = ffi.new("char[]", str(value).encode("utf-8"))
            keep.append(buffer)
            cv = ffi.new("ConfigStr*", {"type": kind, "value": buffer})
        elif kind == lib.CFG_TYPE_BOOL:
            cv = ffi.new("ConfigBool*", {"type": kind, "value": 1 if value else 0})
        elif kind == lib.CFG_TYPE_INT:
            cv = ffi.new("ConfigInt*", {"type": kind, "value": int(value)})
        else:
            cv = ffi.new("ConfigInt64*", {"type": kind, "value": int(value)})
        self._table().set_cfg(self._plugin._guid_c, key.encode("utf-8"),
                              ffi.cast("ConfigValue*", cv))

    def __delitem__(self, key: str) -> None:
        if not self._text(key):
            raise KeyError(key)
        cv = ffi.new("ConfigValue*", {"type": lib.CFG_TYPE_REMOVE})
        self._table().set_cfg(self._plugin._guid_c, key.encode("utf-8"), cv)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self.defaults))

    def __len__(self) -> int:
        return len(self.defaults)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        return key in self.defaults or bool(self._text(key))

    def __repr__(self) -> str:
        return f"<Settings of {self._plugin.meta.name}>"


def _config_type(key: str, value: Any) -> int:
    if isinstance(value, bool):
        return lib.CFG_TYPE_BOOL
    if isinstance(value, Int64):
        return lib.CFG_TYPE_INT64
    if isinstance(value, int):
        return lib.CFG_TYPE_INT if _INT32[0] <= value <= _INT32[1] else lib.CFG_TYPE_INT64
    if isinstance(value, str):
        return lib.CFG_TYPE_STRING
    raise TypeError(f"setting {key!r}: DCConfig stores str, int and bool, "
                    f"not {type(value).__name__}")
