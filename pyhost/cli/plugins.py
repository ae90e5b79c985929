"""Managing installed plugins: install (bare library), list, enable, disable, move,
configure, config, remove."""
from __future__ import annotations

import json
import sys

from pyhost.cli.common import open_host, record_dict
from pyhost.cli.errors import CommandError
from pyhost.host.host import Host


def register(subparsers, common) -> None:
    p = subparsers.add_parser("install", parents=[common], help="install a plugin",
                              description="Install a plugin and load it (ON_INSTALL): a "
                                          "compiled library (.so), a .dcext package, a "
                                          "Python plugin (.py file or package directory) or "
                                          "entry-point:NAME (group pyhost.plugins). A higher "
                                          "version of an installed plugin updates it.")
    p.add_argument("path", help="plugin file, package, directory or entry-point:NAME")
    p.add_argument("--json", action="store_true", help="print the installed record as JSON")
    p.set_defaults(handler=cmd_install)

    p = subparsers.add_parser("list", parents=[common], help="list installed plugins",
                              description="List installed plugins in load order.")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=cmd_list)

    for name, text in (("enable", "enable a plugin (loads it next start)"),
                       ("disable", "disable a plugin (ON_UNLOAD if loaded)")):
        p = subparsers.add_parser(name, parents=[common], help=text, description=text + ".")
        p.add_argument("guid")
        p.set_defaults(handler=cmd_enable if name == "enable" else cmd_disable)

    p = subparsers.add_parser("move", parents=[common], help="move a plugin in the load order",
                              description="Move a plugin up or down in the load order.")
    p.add_argument("guid")
    p.add_argument("direction", choices=("up", "down"))
    p.set_defaults(handler=cmd_move)

    p = subparsers.add_parser("remove", parents=[common], help="remove a plugin",
                              description="Remove a plugin (ON_UNINSTALL): its registry entry "
                                          "and settings are deleted.")
    p.add_argument("guid")
    p.add_argument("--keep-settings", action="store_true",
                   help="keep the plugin's settings for a later reinstall")
    p.set_defaults(handler=cmd_remove)

    _register_settings(subparsers, common)  # configure, config


def cmd_install(args) -> int:
    from pyhost.cli.packages import install_package, is_package
    if is_package(args.path):  # a .dcext package: pyhost.packages does the work
        return install_package(args)
    from pyhost.host import python_loader
    kind = python_loader.kind_of(args.path) or "native"  # .py file, package, entry point
    host = open_host(args, start=True)  # its dependencies must be loaded
    try:
        record = host.install(args.path, kind=kind)
    finally:
        host.shutdown()
    if args.json:
        print(json.dumps(record_dict(record)))
    else:
        print(f"installed {record.name} {record.version} ({record.guid})")
    return 0


def cmd_list(args) -> int:
    host = open_host(args)
    try:
        records = host.plugins()
    finally:
        host.shutdown()
    if args.json:
        print(json.dumps([record_dict(r) for r in records], indent=2))
        return 0
    if not records:
        print("no plugins installed")
    for r in records:
        state = "enabled " if r.enabled else "disabled"
        print(f"{r.position:>3}  {state}  {r.name} {r.version}  {r.guid}  [{r.kind}]")
    return 0


def _known(host: Host, guid: str):
    return host.plugin(guid)  # a clear PluginError for an unknown guid


def cmd_enable(args) -> int:
    host = open_host(args)
    try:
        host.enable(args.guid)
        print(f"enabled {_known(host, args.guid).name}")
    finally:
        host.shutdown()
    return 0


def cmd_disable(args) -> int:
    host = open_host(args)
    try:
        host.disable(args.guid)
        print(f"disabled {_known(host, args.guid).name}")
    finally:
        host.shutdown()
    return 0


def cmd_move(args) -> int:
    host = open_host(args)
    try:
        moved = host.move(args.guid, args.direction)
        name = _known(host, args.guid).name
    finally:
        host.shutdown()
    print(f"moved {name} {args.direction}" if moved
          else f"{name} is already at the {'top' if args.direction == 'up' else 'bottom'}")
    return 0


def cmd_remove(args) -> int:
    host = open_host(args, start=True)  # loaded, so it gets ON_UNINSTALL
    try:
        from pyhost import packages
        record = packages.remove(host, args.guid, keep_settings=args.keep_settings)
    finally:
        host.shutdown()
    print(f"removed {record.name} {record.version}"
          + (" (settings kept)" if args.keep_settings else ""), file=sys.stdout)
    return 0


# -- configure / config ---------------------------------------------------------------------

SETTING_TYPES = ("string", "int", "bool", "int64")
_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")


def _register_settings(subparsers, common) -> None:
    p = subparsers.add_parser("configure", parents=[common],
                              help="ask a plugin to configure itself (ON_CONFIGURE)",
                              description="Load the enabled plugins and send ON_CONFIGURE to "
                                          "one of them. Exit status 2 if it is not loaded or "
                                          "answers False.")
    p.add_argument("guid")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=cmd_configure)

    p = subparsers.add_parser(
        "config", parents=[common], help="read or write a plugin's settings",
        description="With GUID only: list the plugin's settings. With KEY: print one. With "
                    "KEY VALUE: store it, as --type, else as the type the setting already has, "
                    "else guessed (true/false -> bool, an integer -> int, or int64 beyond "
                    "32 bits, anything else -> string). --unset KEY removes it. Plugins read "
                    "every setting as DCConfig text (a bool as 1 or 0, numbers in decimal).")
    p.add_argument("guid")
    p.add_argument("key", nargs="?")
    p.add_argument("value", nargs="?")
    p.add_argument("--type", choices=SETTING_TYPES, help="the type to store VALUE as")
    p.add_argument("--unset", action="store_true", help="remove KEY")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=cmd_config)


def cmd_configure(args) -> int:
    host = open_host(args, start=True)
    try:
        name = _known(host, args.guid).name
        ok = host.configure(args.guid)
    finally:
        host.shutdown()
    if args.json:
        print(json.dumps({"guid": args.guid, "name": name, "result": ok}))
    if not ok:
        raise CommandError(f"{name} did not configure (its main returned False for "
                           "ON_CONFIGURE).")
    if not args.json:
        print(f"configured {name}")
    return 0


def _show(type_name: str, value) -> str:
    return ("true" if value else "false") if type_name == "bool" else str(value)


def parse_setting(text: str, type_name: str | None, current: str | None) -> tuple[str, object]:
    """(type, value) for a VALUE typed on the command line; CommandError if it does not fit."""
    wanted = type_name or current
    if wanted is None:  # guess
        lowered = text.lower()
        if lowered in ("true", "false"):
            return "bool", lowered == "true"
        try:
            number = int(text, 10)
        except ValueError:
            return "string", text
        if -2**31 <= number < 2**31:
            return "int", number
        if -2**63 <= number < 2**63:
            return "int64", number
        return "string", text
    if wanted == "string":
        return "string", text
    if wanted == "bool":
        lowered = text.lower()
        if lowered in _TRUE or lowered in _FALSE:
            return "bool", lowered in _TRUE
        raise CommandError(f"{text!r} is not a bool (true or false)"
                           + ("" if type_name else "; use --type to store another type") + ".")
    bits = 32 if wanted == "int" else 64
    try:
        number = int(text, 10)
    except ValueError:
        number = None
    if number is None or not -2**(bits - 1) <= number < 2**(bits - 1):
        raise CommandError(f"{text!r} is not an {wanted} ({bits}-bit integer)"
                           + ("" if type_name else "; use --type to store another type") + ".")
    return wanted, number


def cmd_config(args) -> int:
    if args.value is not None and args.unset:
        raise CommandError("Give either a VALUE or --unset, not both.")
    if (args.unset or args.type) and args.key is None:
        raise CommandError("--unset and --type need a KEY.")
    if args.type and args.value is None:
        raise CommandError("--type needs a VALUE to store.")
    host = open_host(args)
    try:
        name = _known(host, args.guid).name
        registry = host.registry
        if args.key is None:
            settings = registry.settings(args.guid)
            if args.json:
                print(json.dumps({"guid": args.guid, "settings": {
                    k: {"type": t, "value": v} for k, (t, v) in settings.items()}}, indent=2))
            elif not settings:
                print(f"{name} has no settings")
            else:
                width = max(len(k) for k in settings)
                for key, (type_name, value) in settings.items():
                    print(f"{key:<{width}}  {type_name:<6}  {_show(type_name, value)}")
            return 0
        current = registry.get_setting(args.guid, args.key)
        if args.unset:
            if current is None:
                raise CommandError(f"{name} has no setting {args.key!r}.")
            registry.remove_setting(args.guid, args.key)
            if args.json:
                print(json.dumps({"guid": args.guid, "key": args.key, "removed": True}))
            else:
                print(f"removed {args.key}")
            return 0
        if args.value is None:
            if current is None:
                raise CommandError(f"{name} has no setting {args.key!r}.")
            type_name, value = current
            if args.json:
                print(json.dumps({"guid": args.guid, "key": args.key, "type": type_name,
                                  "value": value}))
            else:
                print(_show(type_name, value))
            return 0
        type_name, value = parse_setting(args.value, args.type,
                                         None if current is None else current[0])
        registry.set_setting(args.guid, args.key, type_name, value)
        if args.json:
            print(json.dumps({"guid": args.guid, "key": args.key, "type": type_name,
                              "value": value}))
        else:
            print(f"{args.key} = {_show(type_name, value)} ({type_name})")
        return 0
    finally:
        host.shutdown()
