"""What a hook's object and data are, so a hook call can cross into an isolated plugin.

A plugin running in its own process (pyhost.host.isolation) receives copies of a hook's
object and data, rebuilt on its side; a value can only be copied when its kind is known.
The standard hooks are declared here from :data:`pyhost.abi.hook_specs.SPECS`; a hook a
plugin creates is declared by whoever knows it:

- a Python plugin subscribing with ``@hook(guid, data=StringData)`` (pyhost.plugin does
  this), or creating a hook: ``declare_hook(guid, data="text")`` next to its create_hook;
- an application, with :func:`declare_hook`.

The kinds are those of hook_specs: "hub", "user", "connection", "udp", "queue", "host" (a
host-specific value passed through unchanged), "text", "tick", "tags", "display"
(StringData), "command", "bytes" (DataArray), or None (NULL). Undeclared values reach an
isolated plugin as NULL. The first declaration of a hook wins; a different later one is
refused.
"""
from __future__ import annotations

from typing import Optional

from pyhost.abi._ffi import ffi, lib
from pyhost.abi.hook_specs import SPECS

# The numbers of native/isolation/iso_proto.h (ISO_K_*).
KINDS: dict[Optional[str], int] = {
    None: 0, "hub": 1, "user": 2, "connection": 3, "udp": 4, "queue": 5, "host": 6,
    "text": 7, "tick": 8, "tags": 9, "display": 10, "command": 11, "bytes": 12,
}
UNKNOWN = 255
_NAMES = {number: name for name, number in KINDS.items()}


class HookTypeError(ValueError):
    """A declaration names an unknown kind, or contradicts an earlier one."""


def declare_hook(guid: str, object: Optional[str] = None, data: Optional[str] = None) -> None:
    """Declares the kinds of a hook's object and data (see the module docstring)."""
    for what, kind in (("object", object), ("data", data)):
        if kind not in KINDS:
            raise HookTypeError(f"hook {guid!r}: {what} kind {kind!r} is not one of "
                                f"{', '.join(str(k) for k in KINDS)}.")
    rc = lib.phn_iso_declare_hook(guid.encode("utf-8"), KINDS[object], KINDS[data])
    if rc == 1:
        known = hook_kinds(guid)
        raise HookTypeError(f"hook {guid!r} is already declared with object {known[0]!r} "
                            f"and data {known[1]!r}.")
    if rc != 0:
        raise MemoryError("out of memory declaring a hook")


def hook_kinds(guid: str) -> Optional[tuple[Optional[str], Optional[str]]]:
    """(object kind, data kind) of a declared hook, or None."""
    okind, dkind = ffi.new("int*"), ffi.new("int*")
    if lib.phn_iso_hook_kinds(guid.encode("utf-8"), okind, dkind) != 0:
        return None
    return _NAMES.get(okind[0]), _NAMES.get(dkind[0])


for _spec in SPECS:
    lib.phn_iso_declare_hook(_spec.guid.encode(), KINDS[_spec.object], KINDS[_spec.data])
