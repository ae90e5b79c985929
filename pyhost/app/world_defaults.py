"""What the simulated DC client does with each standard hook unless a plugin handled it:
the world's ``default_action`` (see :class:`~pyhost.app.application.DefaultActions`).

Each action returns a report: ``{"action": ..., <where>, <what>, "done": bool}``, with
``"result"`` when there is more to say. ``done`` is False when a plugin handled the event and
the world skipped its own processing. Hooks that are notifications (hubs / users online and
offline, queue, timers, ui.onCreated, ui.onChatTags, dataaccessor) have no action: None.
"""
from __future__ import annotations

from typing import Any, Callable, Optional

from pyhost.app.application import HookOutcome, MsgType
from pyhost.app.world_entities import ChatLine
from pyhost.app.world_protocol import apply_line

CLIENT_COMMANDS = {
    "clear": "clears this window",
    "help": "lists the client's own commands",
    "me": "<text>: says the text in the third person",
}
HELP = "Client commands: " + ", ".join(f"/{name} ({what})"
                                      for name, what in CLIENT_COMMANDS.items())


def default_action(world: Any, outcome: HookOutcome) -> Optional[dict]:
    action = _ACTIONS.get(outcome.hook)
    return None if action is None else action(world, outcome)


def _report(action: str, outcome: HookOutcome, done: Optional[bool] = None, **fields) -> dict:
    report = {"action": action, **fields}
    report["done"] = not outcome.handled if done is None else done
    return report


# ---- chat and private messages ------------------------------------------------------------------

def _hub(world: Any, outcome: HookOutcome):
    hub = world._find_hub(outcome.object)
    if hub is None:
        raise LookupError(f"no hub {outcome.object.url}")
    return hub


def _user(world: Any, outcome: HookOutcome):
    user = world._find_user(outcome.object)
    if user is None:
        raise LookupError(f"no user {outcome.object.nick}")
    return user


def _incoming_chat(world: Any, o: HookOutcome) -> dict:
    nick, third = world._speaker_of(o)
    report = _report("show_chat", o, hub=o.object.url, text=o.data)
    if nick:
        report["from"] = nick
    if not o.handled:
        with world._lock:
            _hub(world, o).chat.append(ChatLine(o.data, third, nick))
    return report


def _outgoing_chat(world: Any, o: HookOutcome) -> dict:
    if not o.handled:
        with world._lock:
            hub = _hub(world, o)
            hub.chat.append(ChatLine(o.data, False, hub.nick))
    return _report("send_chat", o, hub=o.object.url, text=o.data)


def _incoming_pm(world: Any, o: HookOutcome) -> dict:
    _, third = world._speaker_of(o)
    if not o.handled:
        with world._lock:
            user = _user(world, o)
            user.pms.append(ChatLine(o.data, third, user.nick))
    return _report("show_pm", o, user=o.object.nick, text=o.data)


def _outgoing_pm(world: Any, o: HookOutcome) -> dict:
    report = _report("send_pm", o, user=o.object.nick, text=o.data)
    if not o.handled:
        with world._lock:
            user = _user(world, o)
            if user.online:
                user.pms.append(ChatLine(o.data, False, world.nick))
            else:
                report.update(done=False, result=f"{user.nick} is offline")
    return report


# ---- protocol lines ---------------------------------------------------------------------------

def _hub_line_in(world: Any, o: HookOutcome) -> dict:
    report = _report("apply_line", o, hub=o.object.url, line=o.data)
    if not o.handled:
        with world._lock:
            hub = _hub(world, o)
            hub.received.append(o.data)
        result = apply_line(world, hub, o.data)
        if result is not None:
            report["result"] = result
    return report


def _hub_line_out(world: Any, o: HookOutcome) -> dict:
    if not o.handled:
        with world._lock:
            _hub(world, o).sent.append(o.data)
    return _report("send_line", o, hub=o.object.url, line=o.data)


def _connection(world: Any, o: HookOutcome):
    conn = world._find_connection(o.object)
    if conn is None:
        raise LookupError(f"no connection {o.object.ip}:{o.object.port}")
    return conn


def _client_line_in(world: Any, o: HookOutcome) -> dict:
    if not o.handled:
        with world._lock:
            _connection(world, o).received.append(o.data)
    return _report("receive_line", o, connection=f"{o.object.ip}:{o.object.port}",
                   line=o.data)


def _client_line_out(world: Any, o: HookOutcome) -> dict:
    if not o.handled:
        with world._lock:
            _connection(world, o).sent.append(o.data)
    return _report("send_line", o, connection=f"{o.object.ip}:{o.object.port}", line=o.data)


def _udp_in(world: Any, o: HookOutcome) -> dict:
    ip, port = o.object
    if not o.handled:
        with world._lock:
            world.udp_received.append((ip, port, o.data.encode("utf-8")))
    return _report("receive_udp", o, udp=f"{ip}:{port}", data=o.data)


def _udp_out(world: Any, o: HookOutcome) -> dict:
    ip, port = o.object
    if not o.handled:
        with world._lock:
            world.udp_sent.append((ip, port, o.data.encode("utf-8")))
    return _report("send_udp", o, udp=f"{ip}:{port}", data=o.data)


# ---- the UI -----------------------------------------------------------------------------------

def _chat_display(world: Any, o: HookOutcome) -> dict:
    """Always displayed: handled means "display StringData.out instead" (when it is set)."""
    replaced = o.handled and o.replacement is not None
    text = o.replacement if replaced else o.data
    nick = o.object.nick if o.object is not None else ""
    with world._lock:
        world.displayed.append(ChatLine(text, False, nick))
    report = {"action": "display", "text": text, "done": True, "replaced": replaced}
    if nick:
        report = {"action": "display", "user": nick, **report}
    return report


def _command(world: Any, o: HookOutcome, window: list, status: Callable[[str], None],
             say: Callable[[str], None], where: dict) -> dict:
    command, params = o.data
    known = command in CLIENT_COMMANDS
    report = _report("run_command" if known else "unknown_command", o, **where,
                     command=command, params=params)
    if o.handled:
        return report
    with world._lock:
        if command == "me" and params:
            say(params)
            result = "said in the third person"
        elif command == "me":
            status("Usage: /me <text>")
            result = "no text: usage shown"
        elif command == "clear":
            result = f"cleared {len(window)} line{'' if len(window) == 1 else 's'}"
            window.clear()
        elif command == "help":
            status(HELP)
            result = "listed the client's commands"
        else:
            status(f"Unknown command: /{command}")
            result = "unknown to the client: said so"
    report["result"] = result
    return report


def _chat_command(world: Any, o: HookOutcome) -> dict:
    with world._lock:
        hub = _hub(world, o)
    return _command(world, o, hub.chat,
                    lambda text: hub.status.append((text, MsgType.SYSTEM)),
                    lambda text: hub.chat.append(ChatLine(text, True, hub.nick)),
                    {"hub": hub.url})


def _chat_command_pm(world: Any, o: HookOutcome) -> dict:
    with world._lock:
        user = _user(world, o)
    return _command(world, o, user.pms,
                    lambda text: user.pms.append(ChatLine(text)),
                    lambda text: user.pms.append(ChatLine(text, True, world.nick)),
                    {"user": user.nick})


_ACTIONS: dict[str, Callable[[Any, HookOutcome], dict]] = {
    "dcpp.chat.onIncomingChat": _incoming_chat,
    "dcpp.chat.onOutgoingChat": _outgoing_chat,
    "dcpp.chat.onIncomingPM": _incoming_pm,
    "dcpp.chat.onOutgoingPM": _outgoing_pm,
    "dcpp.network.onHubDataIn": _hub_line_in,
    "dcpp.network.onHubDataOut": _hub_line_out,
    "dcpp.network.onClientDataIn": _client_line_in,
    "dcpp.network.onClientDataOut": _client_line_out,
    "dcpp.network.onUDPDataIn": _udp_in,
    "dcpp.network.onUDPDataOut": _udp_out,
    "dcpp.ui.onChatDisplay": _chat_display,
    "dcpp.ui.onChatCommand": _chat_command,
    "dcpp.ui.onChatCommandPM": _chat_command_pm,
}
