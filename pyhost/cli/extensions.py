"""``pyhost extension ...``: AirDC++ extensions installed in the home (docs/extensions.md).

    pyhost extension install FILE.tgz|DIR     (npm pack's layout; updates an installed one)
    pyhost extension list [--json]
    pyhost extension remove|enable|disable NAME
    pyhost extension start|stop|restart NAME  (the `pyhost run` of this home runs them)
    pyhost extension logs NAME [--error] [--old] [--lines N]
    pyhost extension config NAME [KEY [VALUE]]

Installed extensions run while ``pyhost run`` does (see :func:`start_for_run`).
"""
from __future__ import annotations

import json
import sys
from typing import Any

from pyhost.cli.common import home_of, path_argument, say
from pyhost.cli.errors import CommandError

STATES_WHILE_RUNNING = ("running", "restarting")


def register(subparsers, common) -> None:
    p = subparsers.add_parser("extension", parents=[common],
                              help="manage AirDC++ extensions (Node.js, Python processes)",
                              description="Install, list, remove, enable, disable, start, "
                                          "stop and configure AirDC++ extensions; enabled "
                                          "ones run while `pyhost run` does.")
    sub = p.add_subparsers(dest="extension_command", metavar="ACTION", required=True)
    q = sub.add_parser("install", parents=[common], help="install or update a package",
                       description="Install an extension from a .tgz made by `npm pack` "
                                   "(one top directory holding package.json) or from a "
                                   "directory; installing an installed name updates it.")
    q.add_argument("source", metavar="FILE.tgz|DIR", type=path_argument)
    q.set_defaults(handler=cmd_install)
    q = sub.add_parser("list", parents=[common], help="list installed extensions")
    q.add_argument("--json", action="store_true", help="machine-readable output")
    q.set_defaults(handler=cmd_list)
    for name, text, handler in (("remove", "uninstall (package, logs and settings)", cmd_remove),
                                ("enable", "run it with pyhost run (the default)", cmd_enable),
                                ("disable", "do not run it", cmd_disable),
                                ("start", "start it in the running pyhost", cmd_control),
                                ("stop", "stop it in the running pyhost", cmd_control),
                                ("restart", "restart it in the running pyhost", cmd_control)):
        q = sub.add_parser(name, parents=[common], help=text)
        q.add_argument("name")
        q.set_defaults(handler=handler)
    q = sub.add_parser("logs", parents=[common], help="show an extension's output log",
                       description="Print the extension's output.log (stdout) or, with "
                                   "--error, its error.log (stderr).")
    q.add_argument("name")
    q.add_argument("--error", action="store_true", help="error.log instead of output.log")
    q.add_argument("--old", action="store_true", help="the previous run's log (.old)")
    q.add_argument("--lines", type=int, metavar="N", help="only the last N lines")
    q.set_defaults(handler=cmd_logs)
    q = sub.add_parser("config", parents=[common], help="show or change an extension's settings",
                       description="Without KEY: every setting with its value. With KEY: "
                                   "that value. With KEY VALUE: change it (validated against "
                                   "the extension's definitions; a list or object as JSON). "
                                   "A running extension gets the change at once.")
    q.add_argument("name")
    q.add_argument("key", nargs="?")
    q.add_argument("value", nargs="?")
    q.add_argument("--json", action="store_true", help="machine-readable output")
    q.set_defaults(handler=cmd_config)


def _layout(args):
    from pyhost.server.extensions.layout import Layout
    return Layout(home_of(args))


def _refuse(fn):
    from pyhost.server.extensions.package import PackageError
    from pyhost.server.protocol import ApiError
    try:
        return fn()
    except PackageError as exc:
        raise CommandError(str(exc)) from None
    except ApiError as exc:
        raise CommandError(exc.message if exc.message.endswith(".") else exc.message + ".") \
            from None


def cmd_install(args) -> int:
    from pyhost.server.api.system import API_FEATURE_LEVEL
    from pyhost.server.extensions import installer
    info, updated = _refuse(lambda: installer.install(home_of(args), args.source,
                                                      API_FEATURE_LEVEL))
    say(f"{'Updated' if updated else 'Installed'} extension {info.name} {info.version} "
          f"({', '.join(info.engines)}).")
    return 0


def status(layout, name: str) -> dict:
    """What ``list`` shows of one installed extension."""
    from pyhost.server.extensions import package
    from pyhost.server.extensions.control import pid_alive
    state = layout.read_state(name)
    current = state.get("state", "stopped")
    if current in STATES_WHILE_RUNNING and not pid_alive(state.get("host_pid")):
        current = "stopped"
    out: dict[str, Any] = {"name": name, "enabled": not layout.disabled(name),
                           "state": current, "reason": state.get("reason", "") or "",
                           "exit_code": state.get("exit_code"),
                           "failures": state.get("failures", 0)}
    try:
        info = package.parse(package.read_package_json(layout.package(name)), 10**6)
        out.update(version=info.version, description=info.description, author=info.author,
                   engines=list(info.engines), signal_ready=info.signal_ready,
                   min_feature_level=info.min_feature_level)
    except package.PackageError as exc:
        out.update(state="broken", reason=str(exc))
    return out


def cmd_list(args) -> int:
    layout = _layout(args)
    rows = [status(layout, n) for n in layout.names()]
    if args.json:
        print(json.dumps(rows))
        return 0
    if not rows:
        print("No extensions installed (add one with: pyhost extension install FILE.tgz).")
    for row in rows:
        flags = "" if row["enabled"] else ", disabled"
        say(f"{row['name']} {row.get('version', '?')} [{row['state']}{flags}] "
              f"{row.get('description', '')}".rstrip())
        if row["state"] in ("crashed", "failed", "broken") and row["reason"]:
            say(f"  {row['reason']}")
    return 0


def cmd_remove(args) -> int:
    """Through the running pyhost when there is one (it stops the process first)."""
    from pyhost.server.extensions import control, installer
    home = home_of(args)
    _refuse(lambda: _layout(args).require(args.name))
    if control.read(home) is not None:
        try:
            control.request(home, "DELETE", f"extensions/{args.name}")
            print(f"Removed extension {args.name}.")
            return 0
        except control.ControlError as exc:
            if not str(exc).startswith("There is no extension"):
                raise CommandError(str(exc)) from None
    _refuse(lambda: installer.remove(home, args.name))
    print(f"Removed extension {args.name}.")
    return 0


def cmd_enable(args) -> int:
    _refuse(lambda: _layout(args).set_disabled(args.name, False))
    print(f"Enabled extension {args.name} (it runs with pyhost run).")
    return 0


def cmd_disable(args) -> int:
    _refuse(lambda: _layout(args).set_disabled(args.name, True))
    print(f"Disabled extension {args.name}.")
    return 0


def cmd_control(args) -> int:
    from pyhost.server.extensions import control
    _refuse(lambda: _layout(args).require(args.name))
    action = args.extension_command
    try:
        control.request(home_of(args), "POST", f"extensions/{args.name}/{action}")
    except control.ControlError as exc:
        raise CommandError(str(exc)) from None
    print(f"{action.capitalize()}{'p' if action == 'stop' else ''}ed extension {args.name}.")
    return 0


def cmd_logs(args) -> int:
    from pyhost.server.extensions.layout import ERROR_LOG, OUTPUT_LOG
    layout = _layout(args)
    _refuse(lambda: layout.require(args.name))
    name = (ERROR_LOG if args.error else OUTPUT_LOG) + (".old" if args.old else "")
    path = layout.logs(args.name) / name
    if args.lines is not None and args.lines < 0:
        raise CommandError("--lines must be a positive number.")
    from pyhost.host.file_checks import FileTypeError, open_regular
    try:
        with open_regular(path, "log") as f:  # (a FIFO would block for ever)
            data = f.read()
    except FileNotFoundError:
        raise CommandError(f"{args.name} has no {name} yet (it has not run).") from None
    except (OSError, FileTypeError) as exc:
        raise CommandError(str(exc) if isinstance(exc, FileTypeError) else
                           f"Cannot read {path}: {exc.strerror or exc}.") from None
    text = data.decode("utf-8", "replace")
    if args.lines is not None:
        text = "".join(text.splitlines(keepends=True)[-args.lines:] if args.lines else [])
    sys.stdout.write(text)
    return 0


def cmd_config(args) -> int:
    from pyhost.server.extensions import setting_values
    layout = _layout(args)
    _refuse(lambda: layout.require(args.name))
    store = setting_values.SettingsStore(layout.settings(args.name))
    if args.value is not None:
        d, value = _refuse(lambda: setting_values.set_from_command_line(
            store, args.key, args.value, parse_value))
        print(f"{args.name}: {d.key} = {json.dumps(value)}")
        return 0
    definitions = store.definitions()
    if not definitions:
        raise CommandError(f"{args.name} has not defined its settings yet (they are known "
                           "once it has run).")
    stored = store.read()["values"]
    values = {d.key: stored.get(d.key, d.default) for d in definitions}
    if args.key is not None:
        if args.key not in values:
            raise CommandError(f"{args.name} has no setting {args.key!r} (known: "
                               f"{', '.join(values)}).")
        print(json.dumps(values[args.key]))
        return 0
    if args.json:
        print(json.dumps({"definitions": [d.to_dict() for d in definitions],
                          "values": values}))
        return 0
    for d in definitions:
        print(f"{d.key} = {json.dumps(values[d.key])}  ({d.type}"
              f"{', ' + d.item_type if d.item_type else ''}: {d.title})")
    return 0


def parse_value(text: str, definition: Any) -> Any:
    """A command-line value for a definition: text for the string types, JSON otherwise
    (true/false, numbers, lists, objects), and JSON text for a string if it parses as one."""
    from pyhost.server.extensions.settings import STRING_TYPES
    if definition.type in STRING_TYPES:
        if text.startswith('"'):
            try:
                value = json.loads(text)
                if isinstance(value, str):
                    return value
            except ValueError:
                pass
        return text
    try:
        return json.loads(text)
    except ValueError:
        raise CommandError(f"{definition.key} is a {definition.type}: give it as JSON "
                           f"(e.g. {_example(definition)}), not {text!r}.") from None


def _example(definition: Any) -> str:
    return {"boolean": "true", "number": "5", "list": '["a", "b"]',
            "hinted_user": '{"cid": "...", "hub_url": "..."}'}.get(definition.type, '"text"')


# ---- pyhost run ---------------------------------------------------------------------------------

def add_run_options(parser) -> None:
    parser.add_argument("--no-extensions", action="store_true",
                        help="do not run the enabled extensions")
    parser.add_argument("--extension-timeout", type=float, default=5.0, metavar="SECONDS",
                        help="how long start-up waits for extensions to be ready (1-60, "
                             "default 5)")


def check_run_options(args) -> None:
    if not 1 <= args.extension_timeout <= 60:
        raise CommandError("--extension-timeout must be from 1 to 60 seconds.")


def start_for_run(host, args, server):
    """Starts the enabled extensions of the home (and the Web API on loopback port 5600 for
    them when --listen was not given), then waits until they are ready. Returns the server.
    The server stops them when it stops (before its sockets close). A run with a Web API
    always lets the home's command line reach it (`pyhost extension`, `pyhost call`)."""
    from pyhost.server.extensions.layout import Layout
    layout = Layout(host.home)
    if args.no_extensions or not any(not layout.disabled(n) for n in layout.names()):
        if server is not None:
            server.modules["extensions"].enable_control()
        return server
    created = server is None
    if server is None:
        from pyhost.server import ServerError, serve
        from pyhost.server.app import DEFAULT_PORT
        try:
            server = serve(host, f"127.0.0.1:{DEFAULT_PORT}")
        except ServerError as exc:
            raise CommandError(f"{exc} Extensions need the Web API: give another address "
                               "with --listen, or --no-extensions.") from None
        print(f"pyhost: Web API on {server.url} (for the extensions)", file=sys.stderr,
              flush=True)
    try:
        api = server.modules["extensions"]
        manager = api.manager
        manager.options.ready_timeout = args.extension_timeout
        manager.options.debug = bool(getattr(args, "debug", False))
        api.enable_control()
        started = manager.start_enabled()
        if started:
            print(f"pyhost: extensions: {', '.join(e.name for e in started)}",
                  file=sys.stderr, flush=True)
            from pyhost.cli import stopping
            stopper = stopping.current
            manager.wait_ready(cancel=(lambda: False) if stopper is None
                               else stopper.requested.is_set)
    except BaseException:
        if created:
            server.stop()  # the caller never saw it
        raise
    return server
