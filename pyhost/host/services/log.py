"""DCLog: each plugin gets its own DCLog table, so its messages carry its name.

The ABI's ``log(msg)`` has no caller argument; pyhost hands each plugin a DCCore whose
query_interface answers DCLog with a table bound to that plugin. Messages go to the Python
logger ``pyhost.plugin.<plugin name>`` and to the host's event stream.
"""
from __future__ import annotations

import logging
from typing import Callable

from pyhost.abi._ffi import ffi
from pyhost.abi.interrupts import redeliver

GUID = "generic.plugins.DCLog"
VERSION = 1


class PluginLog:
    """One plugin's DCLog table."""

    def __init__(self, name: str, sink: Callable[[str], None]):
        self.logger = logging.getLogger(f"pyhost.plugin.{name}")
        self._sink = sink

        def on_error(exc_type, exc, tb):
            if issubclass(exc_type, KeyboardInterrupt):
                redeliver()  # never swallowed: raised again once C returns
                return None
            self.logger.error("DCLog.log failed: %r", exc)
            self.logger.debug("DCLog.log failed", exc_info=(exc_type, exc, tb))

        self._log = ffi.callback("void(*)(const char*)", self._on_log, onerror=on_error)
        self.table = ffi.new("DCLog*", {"apiVersion": VERSION, "log": self._log})

    def _on_log(self, msg) -> None:
        text = "" if msg == ffi.NULL else ffi.string(msg).decode("utf-8", "replace")
        self.logger.info("%s", text)
        self._sink(text)
