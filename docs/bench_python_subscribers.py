"""Cost of one event from C into a Python plugin's subscriber (docs/python-plugins.md).

    python docs/bench_python_subscribers.py

Fires 1000-event native batches (Hook.run_many: the loop is in C) at one subscriber per
hook, best of 7 rounds of 30 batches, and prints ns per event for: the bus's own Python
subscriber, a plugin's raw subscriber, typed subscribers (views, str message), and methods
of a per-hub object (@plugin.per_hub): the same typed call plus the routing to the hub's
object (one field read and one dict lookup; a user's event also reads its hubHint).
"""
import tempfile
import textwrap
import time
from pathlib import Path

from pyhost.abi._ffi import ffi
from pyhost.abi.bus import EventBatch
from pyhost.host.host import Host

PLUGIN = '''
from pyhost.plugin.plugin import Plugin, hook
plugin = Plugin(guid="{6b0c3c1e-0000-4000-8000-00000000be01}", name="bench", version=1.0)

@hook("dcpp.chat.onIncomingChat")
def typed(hub, message):
    return None

@hook("dcpp.chat.onOutgoingChat", raw=True)
def raw(obj, data):
    return None

@hook("dcpp.hubs.onOnline")
def view_only(hub, data):
    return None

@hook("dcpp.chat.onIncomingPM")
def reads(user, message):
    return user.nick == message
'''

PER_HUB_PLUGIN = '''
from pyhost.plugin import Plugin, hook
plugin = Plugin(guid="{6b0c3c1e-0000-4000-8000-00000000be02}", name="bench per hub",
                version=1.0)

@plugin.per_hub
class PerHub:
    def __init__(self, hub):
        pass

    @hook("dcpp.network.onHubDataIn")
    def line(self, hub, line):
        return None

    @hook("dcpp.chat.onOutgoingPM")
    def pm(self, user, message):
        return user.nick == message
'''


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        plugin = Path(tmp) / "bench_plugin.py"
        plugin.write_text(textwrap.dedent(PLUGIN))
        per_hub = Path(tmp) / "bench_per_hub.py"
        per_hub.write_text(textwrap.dedent(PER_HUB_PLUGIN))
        with Host(Path(tmp) / "home", timers=False) as host:
            host.install(plugin, kind="python")
            url = ffi.new("char[]", b"adc://hub.example.org")
            hub = ffi.new("HubData*", {"url": url, "object": ffi.cast("void*", 0x1234)})
            nick = ffi.new("char[]", b"ada")
            user = ffi.new("UserData*", {"nick": nick, "hubHint": url})
            msg = ffi.new("char[]", b"hello world, a typical chat line")
            host.bus.create_hook("bench.bus")
            host.bus.bind("bench.bus", lambda o, d, c: None)
            best = measure(host, {
                "pyhost.bus subscriber fn(obj, data, common)": ("bench.bus", hub, msg),
                "plugin @hook(raw=True) fn(void*, void*)": ("dcpp.chat.onOutgoingChat", hub, msg),
                "plugin @hook hubs.onOnline (HubData view)": ("dcpp.hubs.onOnline", hub, None),
            })
            # The per-hub plugin subscribes to hubs.onOnline too: installed after that row.
            # The rows compared with its methods are measured in the same rounds.
            host.install(per_hub, kind="python")
            host.bus.hook("dcpp.hubs.onOnline").run(hub, ffi.NULL)  # makes the hub's object
            best.update(measure(host, {
                "plugin @hook chat.onIncomingChat (view+str)": ("dcpp.chat.onIncomingChat",
                                                               hub, msg),
                "  same, onIncomingPM, also reads user.nick": ("dcpp.chat.onIncomingPM", user,
                                                              msg),
                "per-hub object method (HubData view+str)": ("dcpp.network.onHubDataIn", hub,
                                                            msg),
                "  per-hub, a user's PM, reads user.nick": ("dcpp.chat.onOutgoingPM", user,
                                                           msg),
            }))
            for name, seconds in best.items():
                print(f"{name:46s} {seconds * 1e9:6.0f} ns/event")


def measure(host, cases: dict) -> dict:
    """Best of 7 rounds of 30 native batches of 1000 events: seconds per event."""
    n = 1000
    best = {name: float("inf") for name in cases}
    for _ in range(7):
        for name, (guid, obj, data) in cases.items():
            batch = EventBatch([(obj, data)] * n)
            hook = host.bus.hook(guid)
            start = time.perf_counter()
            for _ in range(30):
                hook.run_many(batch)
            best[name] = min(best[name], (time.perf_counter() - start) / (30 * n))
    return best


if __name__ == "__main__":
    main()
