"""A Python plugin's logger: standard ``logging`` records sent to its DCLog table."""
from __future__ import annotations

import logging
from typing import Any

# -- the logger -------------------------------------------------------------------------------

class _DCLogHandler(logging.Handler):
    """Sends a plugin's log records to its DCLog table (to Python logging when unloaded)."""

    def __init__(self, plugin: Any):
        super().__init__()
        self.plugin = plugin
        self.setFormatter(logging.Formatter("%(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        table = self.plugin._dclog
        try:
            message = self.format(record)
            if record.levelno >= logging.WARNING:
                message = f"{record.levelname.lower()}: {message}"
            if table is None:
                logging.getLogger(f"pyhost.plugin.{self.plugin.meta.name}").log(
                    record.levelno, "%s", message)
            else:
                table.log(message.encode("utf-8", "replace"))
        except Exception:
            self.handleError(record)


def _make_logger(plugin: Any) -> logging.Logger:
    # One Logger per Plugin object, outside logging's registry: two loads of the same
    # plugin (two hosts, or a reload) must not share handlers, and it goes with the plugin.
    logger = logging.Logger(f"pyhost.python.{plugin.meta.name}", logging.INFO)
    logger.addHandler(_DCLogHandler(plugin))
    logger.propagate = False  # the host logs DCLog messages itself
    return logger
