"""The ``pyhost`` command: ``main`` builds the parser; each group of subcommands is a module
of this package with a ``register(subparsers, common)`` function (plugins, packages, run,
info, bench). It sits on top of every other room and nothing imports it."""
from pyhost.cli.errors import CommandError
from pyhost.cli.main import main

__all__ = ["CommandError", "main"]
