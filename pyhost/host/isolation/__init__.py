"""Crash isolation: a compiled plugin in a process of its own, behind the same ABI.

The plugin is loaded by pyhost-runner (native/isolation/runner/), which hands it a DCCore
whose tables forward to the host over shared memory; the host forwards its hook calls and
the calls into the plugin's interfaces back. A crash, an abort, an exit or a missed
deadline ends only the runner: the host reports it (PluginCrashed, with a replay file of
the last calls), restarts it with back-off, and after too many crashes in a row marks the
plugin crashed. See docs/isolation.md.
"""
from pyhost.host.isolation.manager import Isolation
from pyhost.host.isolation.options import DEFAULT_DEADLINES, IsolationOptions
from pyhost.host.isolation.process import IsolatedPlugin

__all__ = ["DEFAULT_DEADLINES", "IsolatedPlugin", "Isolation", "IsolationOptions"]
