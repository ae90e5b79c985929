"""Helpers the command modules share: the home a command is about, opening the host for a
command, finding the plugin a user names, a record as JSON."""
from __future__ import annotations

import argparse
import difflib
import logging
import os
import re
import sys
from pathlib import Path
from typing import Iterable, Optional

from pyhost.cli import stopping
from pyhost.cli.errors import CommandError
from pyhost.host.host import Host, default_home
from pyhost.host.registry import PluginRecord


def home_of(args: argparse.Namespace) -> Path:
    """The absolute home of a command: ``--home`` or the default."""
    return Path(os.path.abspath(Path(args.home).expanduser() if args.home else default_home()))


def open_host(args: argparse.Namespace, start: bool = False,
              only: Optional[Iterable[str]] = None, **options) -> Host:
    """The host for a command: ``--home`` or the default. ``start`` loads every enabled
    plugin (a command that runs them); ``only`` loads just those guids and what they
    depend on (a command about one plugin). ``options`` go to Host (isolation=...).
    Close it with ``shutdown()``."""
    host = Host(args.home, timers=False, **options)
    stopping.watch(host)
    if start or only is not None:
        try:
            host.start(only=only if not start else None)
        except BaseException:
            host.shutdown()
            raise
    return host


def path_argument(text: str) -> str:
    """The argparse type of a file or directory argument: the empty string, which the
    file system would take as the current directory, names none."""
    if not text:
        raise argparse.ArgumentTypeError("the empty string names no file or directory")
    return text


# C0 and C1 control characters and DEL, but not tab.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def escape_controls(text: str) -> str:
    """``text`` with control characters written as escapes (``\\x1b``, ``\\n``)."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


def say(text: str) -> None:
    """Prints one line of a command's text output: what plugins and packages named (names,
    descriptions, settings) cannot send the terminal escape sequences."""
    print(escape_controls(text))


_BRACES = re.compile(r"^\{?(.*?)\}?$", re.S)


def _bare(guid: str) -> str:
    """A guid without its braces, in lower case: how people may type it."""
    return _BRACES.match(guid.strip()).group(1).lower()


def find_plugin(host: Host, text: str) -> PluginRecord:
    """The installed plugin ``text`` names: its guid with or without braces, in any letter
    case, or a prefix of its name that no other plugin's name starts with (any case). A
    CommandError otherwise, suggesting close matches and `pyhost list`."""
    records = host.plugins()
    wanted = _bare(text)
    for record in records:
        if _bare(record.guid) == wanted:
            return record
    lowered = text.strip().lower()
    by_name = [r for r in records if r.name.lower() == lowered] or \
              [r for r in records if lowered and r.name.lower().startswith(lowered)]
    if len(by_name) == 1:
        return by_name[0]
    if len(by_name) > 1:
        names = "; ".join(f"{r.name} {r.guid}" for r in by_name)
        raise CommandError(f"{text!r} names several installed plugins ({names}); give more "
                           "of the name, or the guid.")
    names = {r.name.lower(): r for r in records}
    guids = {_bare(r.guid): r for r in records}
    close = [names[n] for n in difflib.get_close_matches(lowered, list(names), 3, 0.6)]
    close += [guids[g] for g in difflib.get_close_matches(wanted, list(guids), 3, 0.7)
              if guids[g] not in close]
    hint = (" Did you mean " + " or ".join(f"{r.name} {r.guid}" for r in close[:3]) + "?"
            if close else "")
    raise CommandError(f"No installed plugin is named {text!r}; run `pyhost list` to see "
                       f"them.{hint}")


def password_line() -> str:
    """The first line of stdin without its newline (``--password-stdin``); refused when it
    is not UTF-8 text (a password is sent and hashed as UTF-8)."""
    try:
        line = sys.stdin.readline()
        line.encode("utf-8")
    except UnicodeError:
        raise CommandError("The password on stdin is not valid UTF-8 text.") from None
    return line[:-1] if line.endswith("\n") else line


class _DropAll(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return False


class one_sentence:
    """While a command whose failure is raised as its refusal runs, the host's own error
    log lines about that failure are dropped: the refusal says it once (--debug keeps
    them)."""

    def __init__(self, args):
        self._keep = getattr(args, "debug", False)
        self._filter = _DropAll()

    def __enter__(self):
        if not self._keep:
            logging.getLogger("pyhost.host").addFilter(self._filter)
        return self

    def __exit__(self, *exc):
        logging.getLogger("pyhost.host").removeFilter(self._filter)


def record_dict(record) -> dict:
    return {"guid": record.guid, "name": record.name, "version": record.version,
            "author": record.author, "description": record.description,
            "website": record.website, "path": record.path, "kind": record.kind,
            "enabled": record.enabled, "position": record.position,
            "isolated": record.isolated, "crashed": record.crashed}
