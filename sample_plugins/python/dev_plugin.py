"""dev_plugin.py -- the Python port of sample_plugins/dev_plugin.c, behaviour for behaviour.

Read the two side by side (docs/python-plugins.md walks through them). The differences are
the ones Python brings: the metadata is one declaration, the subscriptions are bound and
released by pyhost around ``main``, settings are a mapping. The same settings, log lines and
results come out, so the tests run one list of checks against both plugins.

Behaviour (settings are stored under this plugin's guid, like the C plugin's under its own):
  - ON_INSTALL / ON_LOAD / ON_LOAD_RUNTIME: fails (False) if DCConfig 1 or DCLog 1 is missing
    (DCHooks 8 is checked by pyhost before main). Logs "Dev plugin <version> loaded
    (<state>)", increments INT64 "loads", sets STRING "last_state" to "install" / "load" /
    "load_runtime" and STRING "config_path" to DCConfig.get_path(PATH_USER_CONFIG).
  - dcpp.chat.onIncomingChat: increments INT "chat_seen"; True (handled) only for "!version".
  - dcpp.timer.onSecond: stores the tick in INT64 "last_tick".
  - ON_CONFIGURE: sets BOOL "configured" and logs "configure requested".
  - ON_UNLOAD / ON_UNINSTALL: logs "unloading" / "uninstalling" (pyhost releases the
    subscriptions after main returns).
"""
from pyhost.plugin.plugin import (
    ON_CONFIGURE,
    ON_INSTALL,
    ON_LOAD,
    ON_LOAD_RUNTIME,
    ON_UNINSTALL,
    ON_UNLOAD,
    Int64,
    Plugin,
    ffi,
    hook,
    lib,
)

VERSION = 1.0

plugin = Plugin(
    guid="{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000502}",
    name="Dev plugin (Python)",
    version=VERSION,
    author="pyhost developers",
    description="Python port of dev_plugin.c: hooks, settings, logging, lifecycle",
    website="https://example.invalid/pyhost",
    settings={"loads": Int64(0), "chat_seen": 0, "last_tick": Int64(0), "configured": False},
)

STATE_TEXT = {ON_INSTALL: "install", ON_LOAD: "load", ON_LOAD_RUNTIME: "load_runtime"}


@hook("dcpp.chat.onIncomingChat")
def on_incoming_chat(hub, message):
    plugin.settings["chat_seen"] += 1
    return message == "!version"


@hook("dcpp.timer.onSecond")
def on_timer_second(obj, tick):
    if tick is not None:
        plugin.settings["last_tick"] = tick
    return False


def user_config_path() -> str:
    """DCConfig.get_path through the raw table, exactly as C does it (and released)."""
    config = plugin.interface("DCConfig")
    path = config.get_path(lib.PATH_USER_CONFIG)
    try:
        return ffi.string(path.value).decode() if path and path.value else ""
    finally:
        config.release(ffi.cast("ConfigValue*", path))


@plugin.main
def main(state, core, data):
    if state in STATE_TEXT:
        if plugin.interface("DCConfig") is None or plugin.interface("DCLog") is None:
            return False
        plugin.log.info("Dev plugin %s loaded (%s)", VERSION, STATE_TEXT[state])
        plugin.settings["loads"] += 1
        plugin.settings["last_state"] = STATE_TEXT[state]
        plugin.settings["config_path"] = user_config_path()
    elif state == ON_CONFIGURE:
        plugin.settings["configured"] = True
        plugin.log.info("configure requested")
    elif state == ON_UNLOAD:
        plugin.log.info("unloading")
    elif state == ON_UNINSTALL:
        plugin.log.info("uninstalling")
    return True
