"""ConfigValue (DCConfig's tagged value) to and from Python: (type name, value) pairs.

The type names are the registry's: "string", "int", "bool", "int64". Values made here are
single native blocks (native/config_values.c) owned by whoever receives them.
"""
from __future__ import annotations

from typing import Any

from pyhost.abi._ffi import ffi, lib


def to_native(type_name: str, value: Any):
    """A fresh native ConfigValue (owned by whoever receives it)."""
    if type_name == "string":
        return lib.phn_cfg_string(str(value).encode("utf-8"))
    if type_name == "int":
        return lib.phn_cfg_int(int(value))
    if type_name == "bool":
        return lib.phn_cfg_bool(1 if value else 0)
    return lib.phn_cfg_int64(int(value))


def from_native(val) -> tuple[str, Any] | None:
    """(type name, Python value) of a ConfigValue*, or None for REMOVE / unknown types."""
    t = val.type
    if t == lib.CFG_TYPE_STRING:
        ptr = ffi.cast("ConfigStr*", val).value
        return "string", "" if ptr == ffi.NULL else ffi.string(ptr).decode("utf-8", "replace")
    if t == lib.CFG_TYPE_INT:
        return "int", int(ffi.cast("ConfigInt*", val).value)
    if t == lib.CFG_TYPE_BOOL:
        return "bool", ffi.cast("ConfigBool*", val).value != 0
    if t == lib.CFG_TYPE_INT64:
        return "int64", int(ffi.cast("ConfigInt64*", val).value)
    return None
