"""``pyhost user add|remove|list|passwd``: the Web API's users (``<home>/api-users.json``).

Passwords come from a prompt (asked twice) or, for scripts, one line on stdin with
``--password-stdin``; they are hashed with scrypt and never stored or printed.
"""
from __future__ import annotations

import getpass
import json
import sys

from pyhost.cli.common import password_line
from pyhost.cli.errors import CommandError


def register(subparsers, common) -> None:
    p = subparsers.add_parser("user", parents=[common], help="manage Web API users",
                              description="Add, remove, list Web API users and change their "
                                          "passwords or permissions.")
    sub = p.add_subparsers(dest="user_command", metavar="ACTION", required=True)

    def with_password(q):
        q.add_argument("--password-stdin", action="store_true",
                       help="read the password from the first line of stdin")

    perms = ("comma-separated permissions (default for add: admin); known: "
             "admin, plugins_view, plugins_edit, settings_view, settings_edit, events_view, "
             "events_edit, hubs_view, hubs_send, hubs_edit, private_chat_view, "
             "private_chat_send, private_chat_edit")
    q = sub.add_parser("add", parents=[common], help="add a user")
    q.add_argument("name")
    q.add_argument("--permissions", metavar="LIST", default="admin", help=perms)
    with_password(q)
    q.set_defaults(handler=cmd_add)
    q = sub.add_parser("remove", parents=[common], help="remove a user")
    q.add_argument("name")
    q.set_defaults(handler=cmd_remove)
    q = sub.add_parser("list", parents=[common], help="list users and their permissions")
    q.add_argument("--json", action="store_true", help="machine-readable output")
    q.set_defaults(handler=cmd_list)
    q = sub.add_parser("passwd", parents=[common],
                       help="change a user's password (and/or --permissions)")
    q.add_argument("name")
    q.add_argument("--permissions", metavar="LIST", help=perms)
    q.add_argument("--keep-password", action="store_true",
                   help="only change --permissions")
    with_password(q)
    q.set_defaults(handler=cmd_passwd)


def _store(args):
    from pyhost.cli.common import home_of
    from pyhost.server.users import UserStore
    return UserStore(home_of(args))


def _password(args) -> str:
    if args.password_stdin:
        password = password_line()
        if not password:
            raise CommandError("No password on stdin (--password-stdin reads one line).")
        return password
    if not sys.stdin.isatty():
        raise CommandError("No terminal to ask the password on: use --password-stdin.")
    first = getpass.getpass("Password: ")
    if not first:
        raise CommandError("The password is empty.")
    if getpass.getpass("Password again: ") != first:
        raise CommandError("The passwords differ; nothing was changed.")
    return first


def _refuse(fn):
    from pyhost.server.users import UserError
    try:
        return fn()
    except UserError as exc:
        raise CommandError(str(exc)) from None


def cmd_add(args) -> int:
    from pyhost.server.users import check_name, check_permissions
    store = _store(args)
    _refuse(lambda: (check_name(args.name), check_permissions(args.permissions.split(","))))
    if _refuse(lambda: store.get(args.name)) is not None:
        raise CommandError(f"A user named {args.name} exists already.")
    password = _password(args)
    user = _refuse(lambda: store.add(args.name, password, args.permissions.split(",")))
    print(f"Added user {user.name} ({', '.join(user.permissions)}).")
    return 0


def cmd_remove(args) -> int:
    store = _store(args)
    _refuse(lambda: store.remove(args.name))
    print(f"Removed user {args.name}.")
    return 0


def cmd_list(args) -> int:
    users = _refuse(lambda: _store(args).users())
    if args.json:
        print(json.dumps([u.to_dict() for u in users]))
    elif not users:
        print("No Web API users (add one with: pyhost user add NAME).")
    else:
        for user in users:
            print(f"{user.name}: {', '.join(user.permissions)}")
    return 0


def cmd_passwd(args) -> int:
    from pyhost.server.users import check_permissions
    store = _store(args)
    if _refuse(lambda: store.get(args.name)) is None:
        raise CommandError(f"There is no user named {args.name}.")
    if args.keep_password and args.permissions is None:
        raise CommandError("Nothing to change: --keep-password without --permissions.")
    if args.permissions is not None:
        _refuse(lambda: check_permissions(args.permissions.split(",")))
    if not args.keep_password:
        password = _password(args)
        _refuse(lambda: store.set_password(args.name, password))
    if args.permissions is not None:
        _refuse(lambda: store.set_permissions(args.name, args.permissions.split(",")))
    print(f"Changed user {args.name}.")
    return 0
