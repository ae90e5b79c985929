"""Managing installed plugins: install (bare library or Python plugin), list, enable,
disable, move, remove, configure.

A package manager does not run the packages it manages: these commands load no plugin,
except the one concerned when its lifecycle needs it (ON_INSTALL for install, ON_UNINSTALL
for remove, ON_CONFIGURE for configure), with the plugins it depends on. Plugins are named
by guid (braces and letter case optional) or by a unique prefix of their name.
"""
from __future__ import annotations

import json
from pathlib import Path

from pyhost.cli.common import (
    escape_controls,
    find_plugin,
    one_sentence,
    open_host,
    path_argument,
    record_dict,
    say,
)
from pyhost.cli.errors import CommandError
from pyhost.host.events import Category, PluginFailed
from pyhost.host.file_checks import check_regular
from pyhost.host.load_records import crashed, crashed_sentence
from pyhost.host.python_loader import ENTRY_POINT_PREFIX

PLUGIN_HELP = "the plugin: its guid (braces and letter case optional) or a unique " \
              "prefix of its name"


def register(subparsers, common) -> None:
    p = subparsers.add_parser("install", parents=[common], help="install a plugin",
                              description="Install a plugin and load it (ON_INSTALL): a "
                                          "compiled library (.so), a .dcext package, a "
                                          "Python plugin (.py file or package directory) or "
                                          "entry-point:NAME (group pyhost.plugins). A higher "
                                          "version of an installed plugin updates it. No "
                                          "other plugin is loaded, except those it depends "
                                          "on.")
    p.add_argument("path", type=path_argument,
                   help="plugin file, package, directory or entry-point:NAME")
    p.add_argument("--isolated", action="store_true",
                   help="run the compiled plugin in a process of its own (crash isolation; "
                        "see docs/isolation.md)")
    p.add_argument("--json", action="store_true", help="print the installed record as JSON")
    p.set_defaults(handler=cmd_install)

    p = subparsers.add_parser("list", parents=[common], help="list installed plugins",
                              description="List installed plugins in load order, with their "
                                          "status: enabled, disabled, missing file (the "
                                          "plugin's file is gone) or crashed (a pyhost "
                                          "process died while loading it; it is skipped).")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=cmd_list)

    for name, text in (("enable", "enable a plugin (loads it next start; also re-enables "
                                  "one that crashed)"),
                       ("disable", "disable a plugin (it is not loaded any more)")):
        p = subparsers.add_parser(name, parents=[common], help=text, description=text + ".")
        p.add_argument("guid", metavar="PLUGIN", help=PLUGIN_HELP)
        p.set_defaults(handler=cmd_enable if name == "enable" else cmd_disable)

    for name, text in (("isolate", "run a compiled plugin in a process of its own"),
                       ("unisolate", "run a plugin in the host's process again")):
        p = subparsers.add_parser(name, parents=[common], help=text,
                                  description=text + " from its next load (a running host "
                                  "moves a loaded one at once; see docs/isolation.md).")
        p.add_argument("guid", metavar="PLUGIN", help=PLUGIN_HELP)
        p.set_defaults(handler=cmd_isolate, isolate=name == "isolate")

    p = subparsers.add_parser("move", parents=[common], help="move a plugin in the load order",
                              description="Move a plugin up or down in the load order.")
    p.add_argument("guid", metavar="PLUGIN", help=PLUGIN_HELP)
    p.add_argument("direction", choices=("up", "down"))
    p.set_defaults(handler=cmd_move)

    p = subparsers.add_parser("remove", parents=[common], help="remove a plugin",
                              description="Remove a plugin (ON_UNINSTALL): its registry entry "
                                          "and settings are deleted. Only this plugin is "
                                          "loaded for that (not if it is disabled or "
                                          "crashed).")
    p.add_argument("guid", metavar="PLUGIN", help=PLUGIN_HELP)
    p.add_argument("--keep-settings", action="store_true",
                   help="keep the plugin's settings for a later reinstall")
    p.set_defaults(handler=cmd_remove)

    p = subparsers.add_parser("configure", parents=[common],
                              help="ask a plugin to configure itself (ON_CONFIGURE)",
                              description="Load the plugin (and the plugins it depends on) "
                                          "and send it ON_CONFIGURE. Exit status 2 if it "
                                          "cannot be loaded or answers False.")
    p.add_argument("guid", metavar="PLUGIN", help=PLUGIN_HELP)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=cmd_configure)


def cmd_install(args) -> int:
    from pyhost.cli.packages import install_package, is_package
    if not args.path.startswith(ENTRY_POINT_PREFIX):
        check_regular(args.path, "plugin", directory_ok=True)
    if is_package(args.path):  # a .dcext package: pyhost.packages does the work
        return install_package(args)
    host = open_host(args)
    try:
        with one_sentence(args):
            # the kind is what the path is; an update is loaded (and rolled back if the new
            # version refuses), nothing else
            record = host.install(args.path, activate=True,
                                  isolated=True if args.isolated else None)
    finally:
        host.shutdown()
    if args.json:
        print(json.dumps(record_dict(record)))
    else:
        say(f"installed {record.name} {record.version} ({record.guid})")
    return 0


def status(record) -> str:
    """enabled, disabled, missing file or crashed."""
    if crashed(record):
        return "crashed"
    if not record.path.startswith(ENTRY_POINT_PREFIX) and not Path(record.path).exists():
        return "missing file"
    return "enabled" if record.enabled else "disabled"


def cmd_list(args) -> int:
    host = open_host(args)
    try:
        records = host.plugins()
    finally:
        host.shutdown()
    if args.json:
        print(json.dumps([dict(record_dict(r), status=status(r)) for r in records], indent=2))
        return 0
    if not records:
        print("no plugins installed")
        return 0
    rows = [("#", "status", "name", "version", "kind", "guid")]
    rows += [(str(r.position), status(r), escape_controls(r.name), str(r.version),
              f"{r.kind}, isolated" if r.isolated else r.kind, r.guid) for r in records]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) if i else cell.rjust(w)
                        for i, (cell, w) in enumerate(zip(row, widths))).rstrip())
    for r in records:
        if crashed(r):
            say(crashed_sentence(r))
    return 0


def cmd_enable(args) -> int:
    host = open_host(args)
    try:
        record = find_plugin(host, args.guid)
        host.enable(record.guid)
    finally:
        host.shutdown()
    say(f"enabled {record.name}")
    return 0


def cmd_disable(args) -> int:
    host = open_host(args)
    try:
        record = find_plugin(host, args.guid)
        host.disable(record.guid)
    finally:
        host.shutdown()
    say(f"disabled {record.name}")
    return 0


def cmd_isolate(args) -> int:
    host = open_host(args)
    try:
        record = find_plugin(host, args.guid)
        with one_sentence(args):
            changed = host.isolate(record.guid) if args.isolate else \
                host.unisolate(record.guid)
    finally:
        host.shutdown()
    where = "in a process of its own" if args.isolate else "in the host's process"
    say(f"{record.name} runs {where}" + ("" if changed else " already"))
    return 0


def cmd_move(args) -> int:
    host = open_host(args)
    try:
        record = find_plugin(host, args.guid)
        moved = host.move(record.guid, args.direction)
    finally:
        host.shutdown()
    say(f"moved {record.name} {args.direction}" if moved else
          f"{record.name} is already at the {'top' if args.direction == 'up' else 'bottom'}")
    return 0


def cmd_remove(args) -> int:
    from pyhost import packages
    host = open_host(args)
    try:
        record = find_plugin(host, args.guid)
        with one_sentence(args):
            removed = packages.remove(host, record.guid, keep_settings=args.keep_settings)
    finally:
        host.shutdown()
    say(f"removed {removed.name} {removed.version}"
        + (" (settings kept)" if args.keep_settings else ""))
    return 0


def cmd_configure(args) -> int:
    host = open_host(args)
    try:
        record = find_plugin(host, args.guid)
        if crashed(record):
            raise CommandError(crashed_sentence(record))
        if not record.enabled:
            raise CommandError(f"{record.name} is disabled; `pyhost enable {record.guid}` "
                               "first.")
        with one_sentence(args):
            host.start(only=[record.guid])
        if not host.is_loaded(record.guid):
            reasons = [e.reason for e in host.events.poll(Category.ERROR)
                       if isinstance(e, PluginFailed)]
            raise CommandError(reasons[-1] if reasons else
                               f"{record.name} could not be loaded, so it cannot be "
                               "configured.")
        ok = host.configure(record.guid)
    finally:
        host.shutdown()
    if args.json:
        print(json.dumps({"guid": record.guid, "name": record.name, "result": ok}))
    if not ok:
        raise CommandError(f"{record.name} did not configure (its main returned False for "
                           "ON_CONFIGURE).")
    if not args.json:
        say(f"configured {record.name}")
    return 0
