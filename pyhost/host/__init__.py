"""The host: one bus, one registry, the host services, and the plugins' lifecycle.

- ``host``: ``Host``, the lifecycle written as a straight line (install, load, enable,
  disable, update, configure, remove, shutdown).
- ``loader``: opening compiled plugins (inspection, dlopen, pluginInit) and the load order;
  ``python_loader``: opening Python plugins (.py, package directory, entry point).
- ``binary``: ELF/PE inspection of a plugin file before anything is loaded.
- ``plugin_core``: each plugin's own DCCore (log attribution, leftovers released at unload).
- ``registry``: installed plugins and their settings (SQLite); ``plugin_files``: the
  installed packages' files on disk and their recovery after a crash.
- ``events``: the typed, bounded event stream; ``timers``: the timer hooks' clock;
  ``fire``: ``host.fire``, firing standard hooks with correctly built objects.
- ``services/``: the interfaces the host itself provides (DCConfig, DCLog) and the
  application's interfaces as ABI tables.

The host builds on ``pyhost.abi`` (the ABI) and ``pyhost.app`` (the application side), and
opens Python plugins written with ``pyhost.plugin``. Rooms above it (packages, testbench,
bench, cli) call it; it never imports them.
"""
from pyhost.host.host import STANDARD_HOOKS, Host, default_home
from pyhost.host.loader import PluginError

__all__ = ["Host", "PluginError", "STANDARD_HOOKS", "default_home"]
