"""hub_stats.py -- statistics per hub, kept by one plugin object per hub (@plugin.per_hub).

Each hub that comes online gets a HubStats object. It counts that hub's chat lines (in and
out), protocol lines (in and out), users coming and going, and the seconds it has been
followed (its tick). Typed in a hub's window:

  /stats        this hub's statistics, as a local message (nothing is sent to the hub)
  /stats all    one line per hub the plugin follows

Hubs whose url starts with one of the comma-separated prefixes of the setting "ignore" get no
object: the factory returns None for them, so /stats is not answered there. Settings belong
to the plugin, not to the objects: "hubs_followed" counts, across restarts, how many hub
objects were ever made. When a hub goes offline (or the plugin unloads) its object is closed
and logs its final statistics.
"""
from pyhost.plugin import MSG_SYSTEM, Plugin, hook

plugin = Plugin(
    guid="{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000503}",
    name="Hub stats",
    version=1.0,
    author="pyhost developers",
    description="Statistics per hub, shown by /stats in the hub's window",
    website="https://example.invalid/pyhost",
    settings={"ignore": "", "hubs_followed": 0},
)


class HubStats:
    """The statistics of one hub. Every method runs on the thread that fired the event."""

    def __init__(self, hub):
        self.url = hub.url      # the view is valid for this call only: keep what we need
        self.chat_in = self.chat_out = 0
        self.lines_in = self.lines_out = 0
        self.joined = self.left = 0
        self.seconds = 0
        plugin.settings["hubs_followed"] += 1

    @hook("dcpp.chat.onIncomingChat")
    def on_chat_in(self, hub, message):
        self.chat_in += 1           # not handled: the client shows the message

    @hook("dcpp.chat.onOutgoingChat")
    def on_chat_out(self, hub, message):
        self.chat_out += 1

    @hook("dcpp.network.onHubDataIn")
    def on_line_in(self, hub, line):
        self.lines_in += 1

    @hook("dcpp.network.onHubDataOut")
    def on_line_out(self, hub, line):
        self.lines_out += 1

    @hook("dcpp.users.onOnline")
    def on_user_online(self, user, _):
        self.joined += 1            # only users of this hub (their hubHint is its url)

    @hook("dcpp.users.onOffline")
    def on_user_offline(self, user, _):
        self.left += 1

    @hook("dcpp.ui.onChatCommand")
    def on_command(self, hub, command):
        if command.command != "stats":
            return False            # not ours: other plugins and the client go on
        if (command.params or "").strip() == "all":
            lines = [stats.summary() for stats in plugin.live_objects(follow)]
        else:
            lines = [self.summary()]
        for line in lines:
            hub.local_message(line, MSG_SYSTEM)
        return True                 # handled: the client does not say "unknown command"

    def tick(self):
        self.seconds += 1

    def close(self):
        plugin.log.info("no longer following %s", self.summary())

    def summary(self) -> str:
        return (f"{self.url}: chat {self.chat_in} in / {self.chat_out} out, protocol lines "
                f"{self.lines_in} in / {self.lines_out} out, users +{self.joined} "
                f"-{self.left}, followed for {self.seconds}s")


@plugin.per_hub(cls=HubStats)
def follow(hub):
    """A hub came online (or sent its first event since the plugin loaded)."""
    ignored = [p.strip() for p in plugin.settings["ignore"].split(",") if p.strip()]
    if any(hub.url.startswith(prefix) for prefix in ignored):
        return None
    return HubStats(hub)
