"""``pyhost call PLUGIN.METHOD [ARG ...]``: call a plugin's exported method on a running host
(``pyhost run --listen``), through its Web API (pyhost.client).

Where the host is: ``--url URL``, else ``$PYHOST_URL``, else the ``pyhost run`` of the same
home (``--home``), else http://127.0.0.1:5600.
Who calls: ``--user NAME`` (or ``$PYHOST_USER``) with the password from ``$PYHOST_PASSWORD``,
``--password-stdin`` or a prompt; else a session token from ``$PYHOST_TOKEN``; else, when
the host is the run of the same home, that run's own admin session for its command line
(whoever can read the home controls its host); else nobody (only methods of level NONE).
Tokens and passwords are never taken as arguments: other users of the machine could read
them in the process list.

Each ARG is JSON when it parses as JSON (``2``, ``true``, ``"2"``, ``[1,2]``), else a string;
``--params JSON`` gives the whole array or object instead. The result is printed as JSON (a
string as plain text unless ``--json``). Exit status 0, or 2 with one sentence when the host
cannot be reached or refuses the call (unknown method, level, the method failed, timeout).
"""
from __future__ import annotations

import getpass
import json
import os
import sys
from typing import Any

from pyhost.cli.common import home_of, password_line
from pyhost.cli.errors import CommandError

DEFAULT_URL = "http://127.0.0.1:5600"
MAX_TIMEOUT = 10**6  # seconds; far longer waits overflow the clocks asyncio schedules on


def register(subparsers, common) -> None:
    p = subparsers.add_parser(
        "call", parents=[common], help="call a plugin's exported method on a running host",
        description="Call PLUGIN.METHOD (a plugin's exported method) on a host running "
                    "with --listen. The host: --url, $PYHOST_URL, the `pyhost run` of the "
                    "same --home, or " + DEFAULT_URL + ". "
                    "Credentials: --user/$PYHOST_USER with $PYHOST_PASSWORD, "
                    "--password-stdin or a prompt; or $PYHOST_TOKEN; else the admin session "
                    "of the run of the same home; else anonymous. "
                    "Each ARG is JSON if it parses, else a string.")
    p.add_argument("method", metavar="PLUGIN.METHOD", nargs="?",
                   help="e.g. notes.add (the plugin by its method namespace or guid)")
    p.add_argument("args", metavar="ARG", nargs="*", help="positional arguments")
    p.add_argument("--params", metavar="JSON",
                   help="all arguments as one JSON array (positional) or object (named)")
    p.add_argument("--list", action="store_true", help="list the exported methods instead")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--url", metavar="URL", help="the host's address (default: $PYHOST_URL, "
                   "the run of this home, or " + DEFAULT_URL + ")")
    p.add_argument("--user", metavar="NAME", help="log in as this Web API user")
    p.add_argument("--password-stdin", action="store_true",
                   help="read the password from the first line of stdin")
    p.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS",
                   help="how long to wait for an answer (default 60)")
    p.set_defaults(handler=cmd_call)


def _arguments(args) -> Any:
    if args.params is not None:
        if args.args:
            raise CommandError("Give the arguments either as ARG ... or as --params, "
                               "not both.")
        try:
            params = json.loads(args.params)
        except ValueError:
            raise CommandError("--params is not valid JSON.") from None
        if not isinstance(params, (list, dict)):
            raise CommandError("--params must be a JSON array or object.")
        return params
    out = []
    for text in args.args:
        try:
            out.append(json.loads(text))
        except ValueError:
            out.append(text)
    return out


def _credentials(args) -> dict:
    user = args.user or os.environ.get("PYHOST_USER")
    if user:
        if args.password_stdin:
            password = password_line()
        elif "PYHOST_PASSWORD" in os.environ:
            password = os.environ["PYHOST_PASSWORD"]
        elif sys.stdin.isatty():
            password = getpass.getpass(f"Password of {user}: ")
        else:
            raise CommandError(f"No password for {user}: set $PYHOST_PASSWORD or use "
                               "--password-stdin.")
        return {"username": user, "password": password}
    token = os.environ.get("PYHOST_TOKEN")
    return {"token": token} if token else {}


def _where(args) -> tuple[str, dict]:
    """The host's address and how to log in to it."""
    from pyhost.server.extensions import control

    if args.url is not None and not args.url.strip():
        # (an unset shell variable: not a reason to call whatever host runs here instead)
        raise CommandError("--url is empty: give the host's address, http://HOST:PORT.")
    url = args.url or os.environ.get("PYHOST_URL")
    credentials = _credentials(args)
    if url is None:
        running = control.read(home_of(args))  # the `pyhost run` of this home, if alive
        if running is not None:
            url = running["url"]
            credentials = credentials or {"token": running["token"]}
    return url or DEFAULT_URL, credentials


def cmd_call(args) -> int:
    from pyhost.client import ApiError, Client, ClientError

    if not args.list and not args.method:
        raise CommandError("Name the method to call: pyhost call PLUGIN.METHOD [ARG ...] "
                           "(or --list).")
    if args.method and not args.list:
        plugin, _, method = args.method.rpartition(".")
        if not plugin or not method:
            raise CommandError(f"{args.method!r} is not PLUGIN.METHOD (e.g. notes.add).")
    if not 0 < args.timeout <= MAX_TIMEOUT:  # also refuses nan
        raise CommandError(f"--timeout must be a number of seconds above 0 and at most "
                           f"{MAX_TIMEOUT}, not {args.timeout:g}.")
    params = None if args.list else _arguments(args)
    url, credentials = _where(args)
    try:
        with Client(url, timeout=args.timeout, **credentials) as client:
            if args.list:
                return _print_list(client.methods(), args.json)
            if isinstance(params, dict):
                result = client.call(args.method, **params)
            else:
                result = client.call(args.method, *params)
    except ApiError as exc:
        raise CommandError(exc.message.rstrip(".") + ".") from None
    except (ClientError, ValueError) as exc:
        raise CommandError(str(exc).rstrip(".") + ".") from None
    if args.json or not isinstance(result, str):
        print(json.dumps(result, indent=None if args.json else 2, ensure_ascii=False))
    else:
        print(result)
    return 0


def _print_list(methods: list, as_json: bool) -> int:
    if as_json:
        print(json.dumps(methods, indent=2, ensure_ascii=False))
        return 0
    if not methods:
        print("no exported methods")
    for m in methods:
        mark = " " if m.get("callable") else "-"
        print(f"{mark} {m['name']:<32} {m['level_name']:<9} {m.get('description', '')}")
    return 0
