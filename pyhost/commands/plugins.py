"""Managing installed plugins: install (bare library), list, enable, disable, move,
configure, config, remove."""
from __future__ import annotations

import argparse
import json
import sys

from pyhost.cli import CommandError
from pyhost.host import Host


def open_host(args: argparse.Namespace, start: bool = False) -> Host:
    """The host for a command: ``--home`` or the default. Started (enabled plugins loaded)
    when the command needs plugins running; close it with ``shutdown()``."""
    host = Host(args.home, timers=False)
    if start:
        try:
            host.start()
        except BaseException:
            host.shutdown()
            raise
    return host


def register(subparsers, common) -> None:
    p = subparsers.add_parser("install", parents=[common], help="install a plugin",
                              description="Install a plugin library (.so) and load it "
                                          "(ON_INSTALL); a higher version of an installed "
                                          "plugin updates it.")
    p.add_argument("path", help="plugin file")
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


def _record_dict(record) -> dict:
    return {"guid": record.guid, "name": record.name, "version": record.version,
            "author": record.author, "description": record.description,
            "website": record.website, "path": record.path, "kind": record.kind,
            "enabled": record.enabled, "position": record.position}


def cmd_install(args) -> int:
    host = open_host(args, start=True)  # its dependencies must be loaded
    try:
        record = host.install(args.path)
    finally:
        host.shutdown()
    if args.json:
        print(json.dumps(_record_dict(record)))
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
        print(json.dumps([_record_dict(r) for r in records], indent=2))
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
        record = host.remove(args.guid, keep_settings=args.keep_settings)
    finally:
        host.shutdown()
    print(f"removed {record.name} {record.version}"
          + (" (settings kept)" if args.keep_settings else ""), file=sys.stdout)
    return 0
