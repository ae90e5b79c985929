"""The standard hooks of the ABI: guid, what their object and data are, and names.

One table (:data:`SPECS`) that everything else derives from: the hooks a host creates at
start, the typed views a Python subscriber receives, the methods of ``host.fire``, and the
hook names a replay file may use. Each hook is known by its guid
(``dcpp.chat.onIncomingChat``), its short name (``chat.onIncomingChat``) and its method name
(``incoming_chat``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class HookSpec:
    """One standard hook: its guid, short name, StandardHooks method, and what its object
    and data are ("hub", "user", "connection", "udp", "queue", "host" / "text", "tick",
    "tags", "display", "command", "bytes"; None = NULL)."""
    guid: str
    method: str
    object: Optional[str]
    data: Optional[str]

    @property
    def short(self) -> str:
        return self.guid.removeprefix("dcpp.")


SPECS: tuple[HookSpec, ...] = (
    HookSpec("dcpp.chat.onIncomingChat", "incoming_chat", "hub", "text"),
    HookSpec("dcpp.chat.onOutgoingChat", "outgoing_chat", "hub", "text"),
    HookSpec("dcpp.chat.onIncomingPM", "incoming_pm", "user", "text"),
    HookSpec("dcpp.chat.onOutgoingPM", "outgoing_pm", "user", "text"),
    HookSpec("dcpp.timer.onSecond", "timer_second", None, "tick"),
    HookSpec("dcpp.timer.onMinute", "timer_minute", None, "tick"),
    HookSpec("dcpp.hubs.onOnline", "hub_online", "hub", None),
    HookSpec("dcpp.hubs.onOffline", "hub_offline", "hub", None),
    HookSpec("dcpp.users.onOnline", "user_online", "user", None),
    HookSpec("dcpp.users.onOffline", "user_offline", "user", None),
    HookSpec("dcpp.network.onHubDataIn", "hub_data_in", "hub", "text"),
    HookSpec("dcpp.network.onHubDataOut", "hub_data_out", "hub", "text"),
    HookSpec("dcpp.network.onClientDataIn", "client_data_in", "connection", "text"),
    HookSpec("dcpp.network.onClientDataOut", "client_data_out", "connection", "text"),
    HookSpec("dcpp.network.onUDPDataIn", "udp_data_in", "udp", "text"),
    HookSpec("dcpp.network.onUDPDataOut", "udp_data_out", "udp", "text"),
    HookSpec("dcpp.queue.onAdded", "queue_added", "queue", None),
    HookSpec("dcpp.queue.onMoved", "queue_moved", "queue", None),
    HookSpec("dcpp.queue.onRemoved", "queue_removed", "queue", None),
    HookSpec("dcpp.queue.onFinished", "queue_finished", "queue", None),
    HookSpec("dcpp.ui.onCreated", "ui_created", "host", None),
    HookSpec("dcpp.ui.onChatTags", "chat_tags", "user", "tags"),
    HookSpec("dcpp.ui.onChatDisplay", "chat_display", "user", "display"),
    HookSpec("dcpp.ui.onChatCommand", "chat_command", "hub", "command"),
    HookSpec("dcpp.ui.onChatCommandPM", "chat_command_pm", "user", "command"),
    HookSpec("dcpp.dataaccessor.onHTTPResourceNotification", "http_notification", "host",
             "bytes"),
    HookSpec("dcpp.dataaccessor.onHTTPResourceNotificationFailed", "http_notification_failed",
             "host", "bytes"),
    HookSpec("dcpp.dataaccessor.onHTTPResourceStream", "http_stream", "host", "bytes"),
)

_BY_NAME: dict[str, HookSpec] = {}
for _spec in SPECS:
    _BY_NAME[_spec.guid] = _BY_NAME[_spec.short] = _BY_NAME[_spec.method] = _spec

def spec(name: str) -> HookSpec:
    """The standard hook named by guid ("dcpp.chat.onIncomingChat"), short name
    ("chat.onIncomingChat") or method name ("incoming_chat"); KeyError otherwise."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"{name!r} is not a standard hook") from None


def split_command(line: str) -> tuple[str, str]:
    """``/cmd some params`` -> ("cmd", "some params"), as the reference host splits it:
    the command is what follows the slash up to the first space, the params everything
    after that space (possibly empty)."""
    if not line.startswith("/"):
        raise ValueError(f"a chat command starts with '/': {line!r}")
    command, sep, params = line[1:].partition(" ")
    return command, params
