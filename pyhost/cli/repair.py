"""``pyhost repair``: recover a damaged, missing or empty registry (see
:mod:`pyhost.packages.repair`)."""
from __future__ import annotations

import json

from pyhost.host.home import check_home
from pyhost.host.host import default_home


def register(subparsers, common) -> None:
    p = subparsers.add_parser(
        "repair", parents=[common], help="recover a damaged or lost registry",
        description="Make the registry account for the installed packages again: a damaged "
                    "registry is salvaged into a new one (the damaged file is kept beside "
                    "it); a missing or empty one is started anew; then every package under "
                    "local/Plugins that no row accounts for gets its row back, from its "
                    "files and its plugin's MetaData (no plugin is loaded). With "
                    "--move-aside those packages are moved to local/Plugins-set-aside/ "
                    "instead. Run it while no other pyhost process uses the home.")
    p.add_argument("--move-aside", action="store_true",
                   help="move unaccounted packages aside instead of rebuilding their rows")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=cmd_repair)


def cmd_repair(args) -> int:
    from pyhost.packages.repair import repair
    home = check_home(args.home if args.home is not None else default_home())
    report = repair(home, move_aside=args.move_aside)
    if args.json:
        print(json.dumps({"actions": report.actions, "problems": report.problems}, indent=2))
        return 0
    for line in report.actions:
        print(line)
    for line in report.problems:
        print(f"not repaired: {line}")
    return 0
