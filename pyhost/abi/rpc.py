"""``pyhost.rpc.DCRpc``: pyhost's own optional interface for exported methods and plugin
events (declared in sdk_headers/dcplugin.h, "pyhost's own optional interfaces").

What both sides share: the guid and version, the access levels, and the rules for names.
The host implements the table (:mod:`pyhost.host.services.rpc`); plugins, C or Python
(:mod:`pyhost.plugin.exports`), query it through their DCCore like any interface.
"""
from __future__ import annotations

import re

GUID = "pyhost.rpc.DCRpc"
VERSION = 1

# Access levels, as Deluge has them: a caller whose level is below a method's is refused.
NONE, READONLY, NORMAL, ADMIN = 0, 1, 5, 10
LEVEL_NAMES = {NONE: "NONE", READONLY: "READONLY", NORMAL: "NORMAL", ADMIN: "ADMIN"}
MAX_LEVEL = ADMIN

MAX_JSON_BYTES = 1024 * 1024   # a method's arguments or result
# An event's data: events are kept in the host's event queue (10,000 of them), so small.
MAX_EVENT_BYTES = 64 * 1024
_METHOD = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_EVENT = re.compile(r"[A-Za-z0-9_.:-]{1,100}")
_NOT_WORD = re.compile(r"[^a-z0-9_]+")


def level_name(level: int) -> str:
    """``"NORMAL"`` for 5; levels between the named ones read ``"7"``."""
    return LEVEL_NAMES.get(level, str(level))


def valid_method_name(name: str) -> bool:
    return bool(_METHOD.fullmatch(name))


def valid_event_name(name: str) -> bool:
    return bool(_EVENT.fullmatch(name))


def namespace_of(plugin_name: str) -> str:
    """The prefix of a plugin's method names: its name in lower case, every run of other
    characters than letters, digits and ``_`` made one ``_`` ("Hub Stats" -> "hub_stats")."""
    space = _NOT_WORD.sub("_", plugin_name.lower()).strip("_")
    if not space:
        return "plugin"
    return "p_" + space if space[0].isdigit() else space
