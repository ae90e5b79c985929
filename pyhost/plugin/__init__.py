"""Writing plugins in Python: the same ABI as C, with a thin Pythonic layer on top.

A Python plugin is a module (a ``.py`` file, a package directory, or an installed
distribution's ``pyhost.plugins`` entry point) that declares one :class:`Plugin`::

    from pyhost.plugin.plugin import Plugin, hook

    plugin = Plugin(guid="{...}", name="Hello", version=1.0, author="me",
                    settings={"greetings": 0})

    @hook("dcpp.chat.onIncomingChat")
    def on_chat(hub, message):              # HubData view, str
        if message == "!hello":
            plugin.settings["greetings"] += 1
            hub.local_message("hello back")
            return True                         # handled, as a C subscriber returning True

    @plugin.main
    def main(state, core, data):            # optional: the DCMAIN of C, same arguments
        plugin.log.info("state %d", state)
        return True

What the host sees is exactly a C plugin: MetaData from the declaration, and a main that
gets each lifecycle state with the plugin's own ``DCCore*``. Everything here goes through
that core: ``plugin.core`` is the cdata, ``plugin.query_interface(guid, version)`` the raw
``DCInterface*``; hooks are bound with the ``DCHooks`` table the core answers, settings are
``DCConfig`` under the plugin's guid, the logger writes to ``DCLog``.

Lifecycle, in order, for a load state (ON_INSTALL / ON_LOAD / ON_LOAD_RUNTIME): the hooks the
plugin declared are created, its interfaces registered, its ``@hook`` subscribers bound, then
its ``main`` runs. If any step fails (or main returns False or raises), everything done so far
is undone and the load fails. For ON_UNLOAD / ON_UNINSTALL main runs first; False means "I
cannot be unloaded" as in C (everything stays until the host shuts down), otherwise
subscriptions are released, hooks destroyed and interfaces released. ``main`` returning None
counts as True (only an explicit False refuses).

Hook subscribers get typed views (see :mod:`pyhost.views`) made lazily, and return what a
C subscriber returns: a false value (not handled), ``True``/``HANDLED`` (handled), ``BREAK``
(stop the dispatch: the C ``*bBreak = True``) or ``HANDLED | BREAK``. An exception never
reaches C: it is reported to the host (a ``SubscriberException`` event naming the plugin)
and counts as not handled.

Objects per hub and per connection (``@plugin.per_hub`` / ``@plugin.per_connection``, module
``pyhost.plugin.per_entity``): a class (or factory) called with each hub as it comes online,
whose ``@hook`` methods get only that hub's events, ``tick()`` each second and ``close()``
when the hub goes; see docs/python-plugins.md.
"""
from pyhost.plugin.exports import (  # noqa: F401  (exported methods, plugin events)
    ADMIN,
    NONE,
    NORMAL,
    READONLY,
    ExportError,
    RpcError,
    export,
)
from pyhost.plugin.per_entity import (  # noqa: F401  (objects per hub / per connection)
    DEFAULT_IDLE,
    PER_CONNECTION_HOOKS,
    PER_HUB_HOOKS,
    PerEntity,
)
from pyhost.plugin.plugin import *  # noqa: F401,F403  (the authoring API, see __all__)
from pyhost.plugin.plugin import __all__ as _api

__all__ = [*_api, "PerEntity", "PER_HUB_HOOKS", "PER_CONNECTION_HOOKS", "DEFAULT_IDLE",
           "export", "RpcError", "ExportError", "NONE", "READONLY", "NORMAL", "ADMIN"]
