"""Where pyhost's own files are: the compiled sample plugins and the SDK header."""
from __future__ import annotations

import json

from pyhost.abi.paths import sample_plugins, sdk_include_dir
from pyhost.cli.errors import CommandError


def register(subparsers, common) -> None:
    p = subparsers.add_parser(
        "samples", parents=[common], help="list the compiled sample plugins",
        description="List the sample plugins shipped with pyhost (samples, then the test "
                    "fixtures), each with what it is, or print one's path "
                    "(e.g. pyhost install \"$(pyhost samples dev_plugin)\").")
    p.add_argument("name", nargs="?", help="print only this sample's path")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=cmd_samples)

    p = subparsers.add_parser(
        "include-dir", parents=[common], help="print the SDK header directory",
        description="Print the directory holding dcplugin.h, for compiling plugins: "
                    "gcc -shared -fPIC -I\"$(pyhost include-dir)\" my_plugin.c -o my_plugin.so")
    p.set_defaults(handler=lambda args: print(sdk_include_dir()) or 0)


# What each file in sample_plugins/ is. Samples show how to write a plugin; test fixtures
# exist to exercise one path of the host (a refusal, a broken plugin, a benchmark).
SAMPLES = {
    "app_demo": "uses DCHub, DCQueue, DCTagger, DCUI, DCConnection and DCDataAccess",
    "chat_guard": "drops incoming chat that contains a banned word",
    "cpp_greeter": "C++17: RAII subscriptions and settings, answers /hello",
    "dev_plugin": "a well-behaved plugin: hooks, settings, logging, lifecycle",
    "dep_base": "registers an interface that dep_child uses",
    "dep_child": "depends on dep_base and calls its interface",
    "interop_c_owner": "creates a hook and registers an interface for other plugins",
    "interop_c_user": "depends on a Python plugin; binds its hook, calls its interface",
    "chat_commands.py": "Python: answers /commands and /hello in hub windows",
    "dev_plugin.py": "Python port of dev_plugin: hooks, settings, logging, lifecycle",
    "interop_py": "Python package: binds a C hook and interface, offers its own to C",
    "hub_stats.py": "Python: statistics per hub (one object per hub), shown by /stats",
    "rpc_demo": "exports methods and emits events through pyhost.rpc.DCRpc",
    "notes": "Python package: exported methods, events, settings and its own web UI",
}
FIXTURES = {
    "dev_plugin_v2": "dev_plugin built as version 2.0, to test updates",
    "refuses_load": "returns False from every load state",
    "refuses_unload": "returns False from ON_UNLOAD and ON_UNINSTALL",
    "dep_cycle_a": "depends on dep_cycle_b, which depends on it",
    "dep_cycle_b": "depends on dep_cycle_a, which depends on it",
    "dep_missing": "depends on a guid that no plugin has",
    "wrong_api": "declares plugin API version 7",
    "no_init": "exports plugin_init instead of pluginInit",
    "null_main": "its pluginInit returns NULL",
    "no_guid": "leaves MetaData.guid NULL",
    "bench_firer": "fires hooks in a C loop for pyhost bench",
    "bench_load": "one of many identical plugins for the load benchmark",
    "hostile": "segfaults, aborts, loops or exits on request (crash isolation)",
}


def _description(name: str, path) -> str:
    """What a sample is: from the tables above, else its module docstring's first line."""
    text = SAMPLES.get(name) or FIXTURES.get(name)
    if text:
        return text
    source = path / "__init__.py" if path.is_dir() else path
    if source.suffix == ".py":
        try:
            import ast
            doc = ast.get_docstring(ast.parse(source.read_text(encoding="utf-8"))) or ""
            return doc.split("\n", 1)[0].split(" -- ", 1)[-1].rstrip(".")
        except (OSError, SyntaxError, ValueError):
            pass
    return ""


def cmd_samples(args) -> int:
    samples = sample_plugins()
    if args.name:
        if args.name not in samples:
            raise CommandError(f"There is no sample plugin named {args.name!r}; "
                               f"`pyhost samples` lists them.")
        print(samples[args.name])
        return 0
    groups = {"samples": {n: p for n, p in samples.items() if n not in FIXTURES},
              "test fixtures": {n: p for n, p in samples.items() if n in FIXTURES}}
    if args.json:
        print(json.dumps({group: {name: {"path": str(path),
                                         "description": _description(name, path)}
                                  for name, path in members.items()}
                          for group, members in groups.items()}, indent=2))
        return 0
    width = max((len(n) for n in samples), default=0)
    for group, members in groups.items():
        print(f"{group.capitalize()}:" if group == "samples" else
              "\nTest fixtures (plugins that exercise one path of the host):")
        for name, path in members.items():
            print(f"  {name:<{width}}  {_description(name, path)}")
            print(f"  {'':<{width}}  {path}")
    return 0
