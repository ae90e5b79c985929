"""The ``pyhost`` command.

Each group of subcommands lives in its own module of the ``pyhost.cli`` package with a
``register(subparsers)`` function; this module only builds the parser and applies the
conventions every command shares:

- ``--home DIR`` (or ``$PYHOST_HOME``) picks the state directory;
- plugin DCLog messages go to stderr, one line each, prefixed with the plugin's name;
- exit codes: 0 success, 2 bad input or a refused operation, 1 an unexpected failure;
  errors are one sentence on stderr, no traceback unless ``--debug``.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from typing import Sequence

from pyhost import __version__
from pyhost.cli.errors import EXIT_FAILURE, EXIT_OK, EXIT_REFUSED, CommandError

COMMAND_MODULES = (
    "pyhost.cli.plugins",
    "pyhost.cli.bench",
    "pyhost.cli.info",
    "pyhost.cli.run",
    "pyhost.cli.packages",
    "pyhost.cli.users",
)


class _PluginLogFormatter(logging.Formatter):
    """``<plugin name>: <message>`` for records of the pyhost.plugin.<name> loggers."""

    def format(self, record: logging.LogRecord) -> str:
        name = record.name.removeprefix("pyhost.plugin.")
        return f"{name}: {record.getMessage()}"


def _setup_logging(debug: bool) -> None:
    plugin_log = logging.getLogger("pyhost.plugin")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_PluginLogFormatter())
    plugin_log.addHandler(handler)
    plugin_log.setLevel(logging.INFO)
    plugin_log.propagate = False
    # pyhost's own diagnostics: warnings and errors only, unless --debug.
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING,
                        format="pyhost: %(message)s", stream=sys.stderr)


def _common_options(defaults: bool) -> argparse.ArgumentParser:
    """--home and --debug, accepted before or after the command name. On subcommands
    their defaults are suppressed so they never overwrite a value given before."""
    common = argparse.ArgumentParser(add_help=False)
    kw = {} if defaults else {"default": argparse.SUPPRESS}
    common.add_argument("--home", metavar="DIR",
                        help="state directory (default: $PYHOST_HOME or the user data dir)",
                        **kw)
    common.add_argument("--debug", action="store_true",
                        help="show tracebacks and pyhost's debug messages", **kw)
    return common


def build_parser() -> argparse.ArgumentParser:
    common = _common_options(defaults=False)
    parser = argparse.ArgumentParser(
        prog="pyhost", parents=[_common_options(defaults=True)],
        description="A plugin host for the DC plugin ABI (v8): install, run and test "
                    "compiled and Python plugins.")
    parser.add_argument("--version", action="version", version=f"pyhost {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(args.debug)
    try:
        return int(args.handler(args) or EXIT_OK)
    except KeyboardInterrupt:
        print("pyhost: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `pyhost list | head`): stop quietly, as the docs of
        # the signal module advise for SIGPIPE.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILURE
    except (CommandError, *_refusals()) as exc:
        if args.debug:
            logging.exception("refused")
        print(f"pyhost: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except Exception as exc:  # an unexpected failure: one line, traceback with --debug
        if args.debug:
            raise
        print(f"pyhost: unexpected error: {exc!r} (run with --debug for details)",
              file=sys.stderr)
        return EXIT_FAILURE


def _refusals() -> tuple[type[BaseException], ...]:
    """Errors that mean "bad input or refused", whichever module raised them."""
    from pyhost.host.loader import PluginError
    from pyhost.host.registry import RegistryError
    return (PluginError, RegistryError)
