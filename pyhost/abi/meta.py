"""MetaData and the plugin states, as Python values.

What a plugin says about itself in ``pluginInit`` (the ABI's MetaData), copied out of its
memory into a :class:`PluginMeta`, and the names of the lifecycle states main receives.
"""
from __future__ import annotations

from dataclasses import dataclass

from pyhost.abi._ffi import lib

API_VERSION = 8

STATE_NAMES = {
    lib.ON_INSTALL: "ON_INSTALL",
    lib.ON_LOAD: "ON_LOAD",
    lib.ON_LOAD_RUNTIME: "ON_LOAD_RUNTIME",
    lib.ON_CONFIGURE: "ON_CONFIGURE",
    lib.ON_UNLOAD: "ON_UNLOAD",
    lib.ON_UNINSTALL: "ON_UNINSTALL",
}


@dataclass(frozen=True)
class PluginMeta:
    """What a plugin says about itself (MetaData, copied out of the plugin's memory)."""

    guid: str
    name: str
    version: float
    author: str = ""
    description: str = ""
    website: str = ""
    dependencies: tuple[str, ...] = ()
    api_version: int = API_VERSION
