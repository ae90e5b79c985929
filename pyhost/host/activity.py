"""What the host's plugins are doing right now, in words: which plugin and which hook or
lifecycle state a thread is inside. For a watchdog deciding to end a process that does not
stop: it reads the threads' Python stacks (``sys._current_frames``), so it costs nothing
while all is well. ``Hook.run`` is a compiled builtin and Python subscribers are called by
the bridge's C trampoline, so neither leaves a frame of its own: the hook being run is the
``Hook`` held in a local named ``hook`` by the Python code that fired it (``host.fire``,
``host.tick``); a compiled subscriber is named from the subscriptions each plugin made, a
Python one by the plugin module whose frame is innermost."""
from __future__ import annotations

import sys
import threading
from typing import Any, Optional

from pyhost.abi.bus import Hook
from pyhost.host.loader import STATE_NAMES, NativePlugin
from pyhost.host.python_loader import PythonPlugin, plugin_of_module


def describe(host: Any) -> list[str]:
    """One phrase per thread that is inside plugin code, main thread first, e.g.
    "Hang in hook (a subscriber of dcpp.chat.onIncomingChat)" or "Slow (ON_UNLOAD)"."""
    frames = sys._current_frames()
    main_id = threading.main_thread().ident
    found = []
    for ident in sorted(frames, key=lambda i: i != main_id):
        what = _inside(host, frames[ident])
        if what and what not in found:
            found.append(what)
    return found


def _inside(host: Any, frame) -> Optional[str]:
    plugin_frame = None  # the innermost frame of a Python plugin's own module
    while frame is not None:
        code, local = frame.f_code, frame.f_locals
        owner = local.get("self")
        if plugin_frame is None:
            plugin_frame = plugin_of_module(frame.f_globals.get("__name__", ""))
        if code.co_name == "_call_python" and "sub" in local:  # a Python default procedure
            sub = local["sub"]
            name = plugin_frame or getattr(sub.fn, "__qualname__", "a Python subscriber")
            return f"{name} (a subscriber of {sub.hook_guid})"
        if code.co_name == "main" and isinstance(owner, (NativePlugin, PythonPlugin)):
            state = STATE_NAMES.get(local.get("state"), "its main")
            return f"{owner.meta.name} ({state})"
        hook = local.get("hook")
        if not isinstance(hook, Hook) and code.co_name == "run_many" and isinstance(owner, Hook):
            hook = owner
        if isinstance(hook, Hook):
            names = plugin_frame or " or ".join(subscribers(host, hook.guid)) or "a plugin"
            return f"{names} (a subscriber of {hook.guid})"
        frame = frame.f_back
    return None


def subscribers(host: Any, hook_guid: str) -> list[str]:
    """Names of the loaded plugins holding a subscription to ``hook_guid``."""
    names = []
    for entry in list(getattr(host, "_loaded", {}).values()):
        if hook_guid in entry.core.subscribed_hooks() and entry.plugin.meta.name not in names:
            names.append(entry.plugin.meta.name)
    return names
