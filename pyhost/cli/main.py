"""The ``pyhost`` command.

Each group of subcommands lives in its own module of the ``pyhost.cli`` package with a
``register(subparsers)`` function; this module only builds the parser and applies the
conventions every command shares:

- ``--home DIR`` (or ``$PYHOST_HOME``) picks the state directory;
- plugin DCLog messages go to stderr, one line each, prefixed with the plugin's name, with
  control characters escaped (a plugin cannot drive the terminal);
- exit codes: 0 success, 2 bad input or a refused operation, 1 an unexpected failure;
  errors are one sentence on stderr, no traceback unless ``--debug``;
- SIGINT / SIGTERM stop the command cleanly, a second one (or 5 s without progress) at
  once (:mod:`pyhost.cli.stopping`);
- a thread a Python plugin left running does not keep the command from ending.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import os
import re
import sys
import threading
from typing import Sequence

from pyhost import __version__
from pyhost.cli import stopping
from pyhost.cli.common import escape_controls
from pyhost.cli.errors import EXIT_FAILURE, EXIT_OK, EXIT_REFUSED, CommandError

COMMAND_MODULES = (
    "pyhost.cli.plugins",
    "pyhost.cli.settings",
    "pyhost.cli.repair",
    "pyhost.cli.bench",
    "pyhost.cli.info",
    "pyhost.cli.run",
    "pyhost.cli.packages",
    "pyhost.cli.users",
    "pyhost.cli.extensions",
    "pyhost.cli.call",
)

class _PluginLogFormatter(logging.Formatter):
    """``<plugin name>: <message>`` for records of the pyhost.plugin.<name> loggers; with
    control characters escaped, except under --debug (where tracebacks keep their lines)."""

    def __init__(self, debug: bool):
        super().__init__()
        self.debug = debug

    def format(self, record: logging.LogRecord) -> str:
        name = record.name.removeprefix("pyhost.plugin.")
        text = f"{name}: {record.getMessage()}"
        return text if self.debug else escape_controls(text)


def _setup_logging(debug: bool) -> None:
    plugin_log = logging.getLogger("pyhost.plugin")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_PluginLogFormatter(debug))
    plugin_log.addHandler(handler)
    plugin_log.setLevel(logging.DEBUG if debug else logging.INFO)
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


_NEGATIVE_NUMBER = re.compile(r"-[0-9]")


def parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """argparse, plus: a command may take its positional arguments after options too
    (``config G --type int K V``) by naming the list they go to (positionals_anywhere)."""
    args, extra = parser.parse_known_args(argv)
    if extra:
        target = getattr(args, "positionals_anywhere", None)
        if target and all(not e.startswith("-") or _NEGATIVE_NUMBER.match(e) for e in extra):
            getattr(args, target).extend(extra)
        else:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def _check_text(argv: Sequence[str]) -> None:
    """Arguments are UTF-8 text: an invalid byte (decoded by Python as a lone surrogate)
    is refused here, before it can reach a file name, the registry or the terminal."""
    for n, arg in enumerate(argv, start=1):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            shown = arg.encode("utf-8", "surrogateescape").decode("ascii", "backslashreplace")
            raise CommandError(f"Argument {n} ({shown}) is not valid UTF-8 text.") from None


def main(argv: Sequence[str] | None = None) -> int:
    as_program = argv is None  # the `pyhost` process itself (not a call from Python)
    arguments = list(sys.argv[1:] if argv is None else argv)
    threads_before = set(threading.enumerate())
    try:
        code = _main(arguments)
    except KeyboardInterrupt:  # outside the command (parsing, installing the stopper)
        print("pyhost: interrupted", file=sys.stderr)
        code = 130
    _left_running(threads_before, code, as_program)
    return code


def _main(arguments: list[str]) -> int:
    try:
        _check_text(arguments)
    except CommandError as exc:
        print(f"pyhost: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    parser = build_parser()
    args = parse(parser, arguments)
    _setup_logging(args.debug)
    stopping.current = stopper = stopping.Stopper()
    try:
        with stopper:
            return _run(args)
    finally:
        stopping.current = None


def _run(args) -> int:
    try:
        if args.home is not None:  # every command, also those that do not open a host
            from pyhost.host.home import home_path
            home_path(args.home)
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
        # (a refusal may quote a plugin's name or a package's text)
        text = "\n".join(escape_controls(line) for line in str(exc).split("\n"))
        print(f"pyhost: {text}", file=sys.stderr)
        return EXIT_REFUSED
    except Exception as exc:  # an unexpected failure: one line, traceback with --debug
        if args.debug:
            raise
        print(f"pyhost: unexpected error: {exc!r} (run with --debug for details)",
              file=sys.stderr)
        return EXIT_FAILURE


def _left_running(before: set, code: int, as_program: bool) -> None:
    """Threads plugins started and left running (not daemon threads) would keep the
    interpreter from exiting: name them, and end the process without waiting."""
    from pyhost.host.python_loader import plugin_of_module
    stray = [t for t in threading.enumerate()
             if t not in before and t.is_alive() and not t.daemon]
    if not stray:
        return
    for thread in stray:
        target = getattr(thread, "_target", None)
        module = getattr(target, "__module__", None) or type(thread).__module__
        owner = plugin_of_module(module or "") or "a plugin"
        print(f"pyhost: {owner} left the thread {thread.name!r} running after it was "
              "unloaded; exiting without waiting for it.", file=sys.stderr)
    if as_program:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _refusals() -> tuple[type[BaseException], ...]:
    """Errors that mean "bad input or refused", whichever module raised them."""
    from pyhost.host.errors import PluginError
    from pyhost.host.registry import RegistryError
    return (PluginError, RegistryError)
