"""pyhost: a plugin host for the DC plugin ABI (core version 8).

Load compiled C/C++ plugins written against the DC plugin SDK into a Python program, write
plugins in Python against the same C API, and fire hooks through a native event bus.
"""

__version__ = "0.1.0"

from pyhost import _aliases  # noqa: E402  (old flat import paths, see the module)

_aliases.install()

from pyhost.abi.bus import (  # noqa: E402  (re-exported names)
    BREAK,
    HANDLED,
    Bus,
    BusError,
    EventBatch,
    Hook,
    SubscriberError,
    Subscription,
)

__all__ = [
    "BREAK",
    "HANDLED",
    "Bus",
    "BusError",
    "EventBatch",
    "Hook",
    "SubscriberError",
    "Subscription",
    "__version__",
]
