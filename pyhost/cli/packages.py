""".dcext packages: pack and inspect; ``pyhost install`` hands packages to install_package.

Exit codes follow the CLI conventions: 0 success, 2 an invalid or refused package (one
sentence on stderr), 1 an unexpected failure.
"""
from __future__ import annotations

import argparse
import json

from pyhost.cli.common import one_sentence, open_host, path_argument, record_dict, say
from pyhost.cli.errors import CommandError
from pyhost.packages import dcext
from pyhost.packages.packer import pack
from pyhost.packages.installer import is_package

__all__ = ["install_package", "is_package", "register"]


def register(subparsers, common) -> None:
    p = subparsers.add_parser(
        "pack", parents=[common], help="build a .dcext package from a directory",
        description="Build a .dcext package from DIR: its info.xml and the files info.xml "
                    "names. The package is validated exactly as 'inspect' would before it "
                    "replaces FILE; an invalid one is refused and nothing is written.")
    p.add_argument("directory", metavar="DIR", type=path_argument,
                   help="directory holding info.xml")
    p.add_argument("-o", "--output", metavar="FILE", type=path_argument,
                   help="package to write (default: DIR.dcext beside DIR)")
    p.add_argument("--json", action="store_true", help="describe the package as JSON")
    p.set_defaults(handler=cmd_pack)

    p = subparsers.add_parser(
        "inspect", parents=[common], help="validate and describe a .dcext package",
        description="Validate a .dcext package and describe it: metadata, each plugin "
                    "binary's real format, class and machine, whether it exports pluginInit, "
                    "and which one this host would load. Exit status 0 when the package is "
                    "valid (even if it has no plugin for this host), 2 when it is not.")
    p.add_argument("path", metavar="FILE", type=path_argument, help="the .dcext file")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=cmd_inspect)


def cmd_inspect(args) -> int:
    try:
        package = dcext.read_package(args.path)
    except dcext.DcextError as exc:
        if args.json:
            print(json.dumps({"valid": False, "file": args.path, "error": str(exc),
                              "code": exc.code}, indent=2))
        raise CommandError(str(exc)) from None
    if args.json:
        print(json.dumps(package.to_dict(), indent=2))
    else:
        for line in package.describe():
            say(line)
    return 0


def cmd_pack(args) -> int:
    try:
        target, package = pack(args.directory, args.output)
    except dcext.DcextError as exc:
        raise CommandError(str(exc)) from None
    except OSError as exc:
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        raise CommandError(f"cannot pack {args.directory}: {exc.strerror or exc}{where}.") \
            from None
    if args.json:
        print(json.dumps(dict(package.to_dict(), file=str(target)), indent=2))
    else:
        say(f"packed {package.name} {package.version} ({package.uuid}) for "
              f"{', '.join(package.platforms)} into {target}")
    return 0


def install_package(args: argparse.Namespace) -> int:
    """``pyhost install FILE.dcext`` (called by the install command for packages)."""
    from pyhost import packages

    # Validate before the host even starts: a bad package must not run any plugin code.
    try:
        package = dcext.read_package(args.path)
        package.select()
    except dcext.DcextError as exc:
        raise CommandError(str(exc)) from None
    host = open_host(args)  # only this plugin (and what it depends on) is loaded
    try:
        # A failure is reported once, in the refusal's sentence (which includes the host's
        # reason), not a second time by the host's own error log.
        with one_sentence(args):
            result = packages.install(host, package, activate=True,
                                      isolated=True if getattr(args, "isolated", False) else None)
    except dcext.DcextError as exc:
        raise CommandError(str(exc)) from None
    finally:
        host.shutdown()
    if getattr(args, "json", False):
        print(json.dumps(dict(record_dict(result.record), action=result.action,
                              package=result.package.label,
                              platform=result.selection.platform,
                              directory=str(result.directory),
                              previous_version=result.previous_version,
                              loaded=result.loaded)))
    else:
        say(result.message())
    return 0
