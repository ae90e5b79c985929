"""``pyhost config``: read and write a plugin's settings in the registry.

    pyhost config PLUGIN                      every setting (and a Python plugin's defaults)
    pyhost config PLUGIN KEY                  one setting
    pyhost config PLUGIN KEY VALUE [--type T] store one
    pyhost config PLUGIN --unset KEY          remove one

Options may come anywhere among the arguments. Integers are ASCII digits with an optional
leading minus (``-?[0-9]+``): ``1_000``, ``+5`` or other scripts' digits are not integers.
A write checks that the plugin is installed in the same transaction.
"""
from __future__ import annotations

import json
import re

from pyhost.cli.common import escape_controls, find_plugin, open_host, say
from pyhost.cli.errors import CommandError

SETTING_TYPES = ("string", "int", "bool", "int64")
_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")
_INTEGER = re.compile(r"-?[0-9]+", re.ASCII)
_KEY_GIVEN_APART = "\0"  # `KEY --unset`: the key is the positional one


def register(subparsers, common) -> None:
    p = subparsers.add_parser(
        "config", parents=[common], help="read or write a plugin's settings",
        usage="pyhost config PLUGIN [KEY [VALUE]] [--type TYPE] [--unset KEY] [--json]",
        description="With PLUGIN only: list the plugin's settings (for a Python plugin also "
                    "the defaults it declares). With KEY: print one. With KEY VALUE: store "
                    "it, as --type, else as the type the setting already has (or its "
                    "declared default has), else guessed (true/false -> bool, an integer "
                    "-?[0-9]+ -> int, or int64 beyond 32 bits, anything else -> string). "
                    "--unset KEY removes it. Options may come anywhere. Plugins read every "
                    "setting as DCConfig text (a bool as 1 or 0, numbers in decimal).")
    p.add_argument("guid", metavar="PLUGIN",
                   help="the plugin: its guid (braces and letter case optional) or a unique "
                        "prefix of its name")
    # default=None: optional (argparse's usage error listed it as required); [] when absent
    p.add_argument("setting", nargs="*", metavar="KEY [VALUE]", default=None,
                   help="a setting, a value")
    p.add_argument("--type", choices=SETTING_TYPES, help="the type to store VALUE as")
    p.add_argument("--unset", metavar="KEY", nargs="?", const=_KEY_GIVEN_APART,
                   help="remove the setting KEY (`--unset KEY`, or `KEY --unset`)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    # main() appends positionals that came after an option (argparse stops at the first).
    p.set_defaults(handler=cmd_config, positionals_anywhere="setting")


def _show(type_name: str, value) -> str:
    return ("true" if value else "false") if type_name == "bool" else str(value)


def _integer(text: str, bits: int) -> int | None:
    if not _INTEGER.fullmatch(text):
        return None
    number = int(text, 10)
    return number if -2**(bits - 1) <= number < 2**(bits - 1) else None


def parse_setting(text: str, type_name: str | None, current: str | None) -> tuple[str, object]:
    """(type, value) for a VALUE typed on the command line; CommandError if it does not fit."""
    wanted = type_name or current
    if wanted is None:  # guess
        lowered = text.lower()
        if lowered in ("true", "false"):
            return "bool", lowered == "true"
        for guess, bits in (("int", 32), ("int64", 64)):
            number = _integer(text, bits)
            if number is not None:
                return guess, number
        return "string", text
    if wanted == "string":
        return "string", text
    hint = "" if type_name else "; use --type to store another type"
    if wanted == "bool":
        lowered = text.lower()
        if lowered in _TRUE or lowered in _FALSE:
            return "bool", lowered in _TRUE
        raise CommandError(f"{text!r} is not a bool (true or false){hint}.")
    bits = 32 if wanted == "int" else 64
    number = _integer(text, bits)
    if number is None:
        raise CommandError(f"{text!r} is not an {wanted} ({bits}-bit integer written with "
                           f"the digits 0-9){hint}.")
    return wanted, number


def cmd_config(args) -> int:
    if len(args.setting) > 2:
        raise CommandError(f"config takes at most KEY and VALUE, not {len(args.setting)} "
                           "arguments; quote a VALUE that has spaces.")
    key, value = (args.setting + [None, None])[:2]
    if args.unset == _KEY_GIVEN_APART:
        if key is None:
            raise CommandError("--unset and --type need a KEY.")
        if value is not None:
            raise CommandError("Give either a VALUE or --unset, not both.")
        args.unset, key = key, None
    elif args.unset is not None and key is not None:
        raise CommandError("Give either KEY [VALUE] or --unset KEY, not both.")
    if args.type and key is None:
        raise CommandError("--unset and --type need a KEY.")
    if args.type and value is None:
        raise CommandError("--type needs a VALUE to store.")
    host = open_host(args)
    try:
        record = find_plugin(host, args.guid)
        registry = host.registry
        defaults = host.declared_settings(record.guid)
        if args.unset is not None:
            if registry.get_setting(record.guid, args.unset) is None:
                raise CommandError(f"{record.name} has no setting {args.unset!r} stored.")
            if not registry.remove_setting(record.guid, args.unset, if_installed=True):
                raise CommandError(f"{record.name} is no longer installed; nothing changed.")
            _print(args, {"guid": record.guid, "key": args.unset, "removed": True},
                   f"removed {args.unset}")
            return 0
        if key is None:
            _list(args, record, registry.settings(record.guid), defaults)
            return 0
        current = registry.get_setting(record.guid, key)
        if value is None:
            if current is None and key not in defaults:
                raise CommandError(f"{record.name} has no setting {key!r}.")
            type_name, shown = current if current is not None else defaults[key]
            _print(args, {"guid": record.guid, "key": key, "type": type_name,
                          "value": shown, **({} if current is not None else {"default": True})},
                   _show(type_name, shown) + ("" if current is not None else "  (default)"))
            return 0
        known = current[0] if current is not None else defaults.get(key, (None,))[0]
        type_name, parsed = parse_setting(value, args.type, known)
        if not registry.set_setting(record.guid, key, type_name, parsed, if_installed=True):
            raise CommandError(f"{record.name} is no longer installed; nothing was stored.")
        _print(args, {"guid": record.guid, "key": key, "type": type_name, "value": parsed},
               f"{key} = {_show(type_name, parsed)} ({type_name})")
        return 0
    finally:
        host.shutdown()


def _print(args, as_json: dict, as_text: str) -> None:
    if args.json:
        print(json.dumps(as_json))
    else:
        say(as_text)


def _list(args, record, settings: dict, defaults: dict) -> None:
    if args.json:
        print(json.dumps({"guid": record.guid, "settings": {
            k: {"type": t, "value": v} for k, (t, v) in settings.items()},
            "defaults": {k: {"type": t, "value": v} for k, (t, v) in defaults.items()}},
            indent=2))
        return
    rows = [(escape_controls(k), t, _show(t, v), "") for k, (t, v) in settings.items()]
    rows += [(escape_controls(k), t, _show(t, v), "(default)")
             for k, (t, v) in defaults.items() if k not in settings]
    if not rows:
        say(f"{record.name} has no settings")
        return
    width = max(len(k) for k, *_ in rows)
    for k, t, shown, note in sorted(rows):
        say(f"{k:<{width}}  {t:<6}  {shown}" + (f"  {note}" if note else ""))
