"""chat_commands.py -- answers chat commands typed in a hub window.

The first Python sample (docs/python-plugins.md): one hook, the DCHub interface through a
view's method, and a counter kept in settings.

  /commands       lists the commands, and how many times it was asked for
  /hello [NAME]   says hello back

Both answers are local messages (DCHub.local_message): they are shown in the hub's window
and never sent to the hub. Any other command is left to the host and other plugins.
"""
from pyhost.plugin.plugin import MSG_SYSTEM, Plugin, hook

plugin = Plugin(
    guid="{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000501}",
    name="Chat commands",
    version=1.0,
    author="pyhost developers",
    description="Answers /commands and /hello in hub windows",
    website="https://example.invalid/pyhost",
    settings={"commands_asked": 0},
)

HELP = {
    "commands": "lists these commands",
    "hello [name]": "says hello back",
}


@hook("dcpp.ui.onChatCommand")
def on_chat_command(hub, command):
    """HubData view, CommandData view -> True when the command was ours (handled)."""
    name = (command.command or "").lstrip("/")
    if name == "commands":
        plugin.settings["commands_asked"] += 1
        asked = plugin.settings["commands_asked"]
        lines = [f"/{usage} - {what}" for usage, what in HELP.items()]
        hub.local_message("Commands: " + "; ".join(lines) + f" (asked {asked} times)",
                          MSG_SYSTEM)
        return True
    if name == "hello":
        hub.local_message(f"Hello, {command.params or 'world'}!", MSG_SYSTEM)
        return True
    return False
