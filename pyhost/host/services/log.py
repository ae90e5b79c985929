"""DCLog: each plugin gets its own DCLog table, so its messages carry its name.

The ABI's ``log(msg)`` has no caller argument; pyhost hands each plugin a DCCore whose
query_interface answers DCLog with a table bound to that plugin. Messages go to the Python
logger ``pyhost.plugin.<plugin name>`` and to the host's event stream.
"""
from __future__ import annotations

import logging
from typing import Callable

from pyhost.abi._ffi import ffi
from pyhost.abi.interrupts import callback_errors

GUID = "generic.plugins.DCLog"
VERSION = 1


class PluginLog:
    """One plugin's DCLog table."""

    def __init__(self, name: str, sink: Callable[[str], None]):
        self.logger = logging.getLogger(f"pyhost.plugin.{name}")
        self._sink = sink
        self._log = ffi.callback("void(*)(const char*)", self._on_log,
                                 onerror=callback_errors(self.logger, "DCLog.log"))
        self.table = ffi.new("DCLog*", {"apiVersion": VERSION, "log": self._log})

    def _on_log(self, msg) -> None:
        text = "" if msg == ffi.NULL else ffi.string(msg).decode("utf-8", "replace")
        self.logger.info("%s", text)
        self._sink(text)
