"""Where pyhost's own files are: the compiled sample plugins and the SDK header."""
from __future__ import annotations

import json

from pyhost.abi.paths import sample_plugins, sdk_include_dir
from pyhost.cli.errors import CommandError


def register(subparsers, common) -> None:
    p = subparsers.add_parser(
        "samples", parents=[common], help="list the compiled sample plugins",
        description="List the sample plugins shipped with pyhost, or print one's path "
                    "(e.g. pyhost install \"$(pyhost samples dev_plugin)\").")
    p.add_argument("name", nargs="?", help="print only this sample's path")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=cmd_samples)

    p = subparsers.add_parser(
        "include-dir", parents=[common], help="print the SDK header directory",
        description="Print the directory holding dcplugin.h, for compiling plugins: "
                    "gcc -shared -fPIC -I\"$(pyhost include-dir)\" my_plugin.c -o my_plugin.so")
    p.set_defaults(handler=lambda args: print(sdk_include_dir()) or 0)


def cmd_samples(args) -> int:
    samples = sample_plugins()
    if args.name:
        if args.name not in samples:
            raise CommandError(f"There is no sample plugin named {args.name!r}; "
                               f"`pyhost samples` lists them.")
        print(samples[args.name])
    elif args.json:
        print(json.dumps({name: str(path) for name, path in samples.items()}, indent=2))
    else:
        for name, path in samples.items():
            print(f"{name:<20} {path}")
    return 0
