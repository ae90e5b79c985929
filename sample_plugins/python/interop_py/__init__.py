"""interop_py -- the Python side of the interop samples (see ../../interop.h).

A package plugin (this directory): it depends on the C plugin interop_c_owner, binds the hook
that plugin created and calls the interface it registered; it creates its own hook and
registers its own interface, which the C plugin interop_c_user uses.

Behaviour the tests rely on (settings under this plugin's guid):
  - Load fails unless sample.interop.CMath 1 is there; INT "product" = mul(6, 7) and STRING
    "cmath_name" = name().
  - sample.interop.onPing (StringData): INT "py_calls" += 1; for "shout TEXT" sets out to
    TEXT upper-cased and returns HANDLED; for "py-break" returns HANDLED | BREAK; for
    "py-raise" raises RuntimeError; otherwise returns None (not handled).
  - Chat "!greet NAME" fires sample.python.onGreeting with NAME and stores BOOL
    "greet_handled" = the result; returns True.
  - Registers sample.python.Calculator 1 (tables.Calculator).
"""
from pyhost.abi.hook_types import declare_hook
from pyhost.plugin.plugin import BREAK, HANDLED, LOAD_STATES, Plugin, StringData, hook

from .tables import Calculator, CMath

C_OWNER = "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000504}"

plugin = Plugin(
    guid="{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000503}",
    name="Interop Python",
    version=1.0,
    author="pyhost developers",
    description="Binds a C hook and interface; creates a hook and an interface for C",
    website="https://example.invalid/pyhost",
    dependencies=[C_OWNER],
    settings={"py_calls": 0, "greet_handled": False},
)

greeting = plugin.create_hook("sample.python.onGreeting")
# What it carries (object NULL, data a C string), so plugins in other processes get it too.
declare_hook("sample.python.onGreeting", data="text")
calculator = plugin.provide(Calculator())


@hook("sample.interop.onPing", data=StringData)
def on_ping(obj, ping):
    plugin.settings["py_calls"] += 1
    text = ping.text or ""
    if text.startswith("shout "):
        ping.out = text[len("shout "):].upper()
        return HANDLED
    if text == "py-break":
        return HANDLED | BREAK
    if text == "py-raise":
        raise RuntimeError("interop_py was asked to raise")
    return None


@hook("dcpp.chat.onIncomingChat")
def on_chat(hub, message):
    if message and message.startswith("!greet "):
        plugin.settings["greet_handled"] = greeting.run(None, message[len("!greet "):])
        return True
    return False


@plugin.main
def main(state, core, data):
    if state in LOAD_STATES:  # ON_INSTALL, ON_LOAD, ON_LOAD_RUNTIME
        cmath = plugin.interface(CMath)
        if cmath is None:
            plugin.log.error("sample.interop.CMath is missing")
            return False
        plugin.settings["product"] = cmath.mul(6, 7)
        plugin.settings["cmath_name"] = cmath.name()
    return True
