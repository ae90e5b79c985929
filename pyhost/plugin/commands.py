"""UI commands of a Python plugin (``DCUI.add_command`` under its guid), a part of
:class:`~pyhost.plugin.Plugin`."""
from __future__ import annotations

from typing import Any, Callable

from pyhost.abi._ffi import ffi
from pyhost.abi.views import text


class Commands:
    """Needs of its plugin: ``table``, ``meta``, ``_commands``, ``_report``, ``_retire``."""

    def add_command(self, name: str, fn: Callable[[str], Any], icon: str = "") -> None:
        """``DCUI.add_command`` under this plugin's guid: ``fn(name)`` runs when the user
        picks the command. The callback lives as long as the command, which is removed at
        unload (``DCUI.remove_command``) or by :meth:`remove_command`."""
        ui = self.table("DCUI")
        plugin = self

        def command(name_c):
            try:
                fn(text(name_c))
            except BaseException as exc:  # never unwind into C
                plugin._report("dcpp.ui.DCUI", f"command {name!r}", exc)

        callback = ffi.callback("DCCommandFunc", command)
        ui.add_command(self.meta.guid, name, callback, icon or None)
        self._commands.append((name, callback))

    def remove_command(self, name: str) -> None:
        """``DCUI.remove_command`` for a command this plugin added."""
        for entry in [c for c in self._commands if c[0] == name]:
            self.table("DCUI").remove_command(self.meta.guid, name)
            self._commands.remove(entry)
            self._retire([entry[1]])
