"""Replaying events from a JSON Lines file: the plugin test bench.

Each line of the input is one event (schema version 1, documented with examples in
docs/testbench.md)::

    {"hook": "chat.onIncomingChat", "object": "adc://hub.example:1511", "data": "!ping"}

and for each event one JSON line comes out: the event number, the line, the hook, whether
it was handled, the replacement text (chat display) or tags (chat tags), the effects plugins
caused (every call to DCHub, DCConnection, DCQueue, DCUI, DCTagger, DCDataAccess, with its
arguments and result) and the plugins' DCLog lines::

    {"event": 1, "line": 1, "hook": "dcpp.chat.onIncomingChat", "handled": false,
     "effects": [{"interface": "DCHub", "function": "send_message", "args": {...}}],
     "log": [{"plugin": "App demo", "message": "..."}]}

A malformed line is reported as ``{"line": N, "error": "..."}`` and skipped; the run goes on,
whatever the damage: not JSON, nested too deeply, an integer too long to convert, text that
is not valid Unicode (a lone surrogate), NaN or Infinity (not JSON either), a line longer
than :data:`MAX_LINE` characters. An exception a plugin raises during an event, or a plugin
failing, is listed in that event's ``"errors"``.
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from pyhost.abi.hook_specs import HookSpec, spec
from pyhost.host.events import Category, PluginFailed, PluginLog, SubscriberException
from pyhost.testbench.replay_forms import (
    MAX_LINE,
    LineError,
    TooLong,
    _expect,
    _keys,
    _str,
    bounded_lines,
    parse_bytes,
    parse_connection,
    parse_hub,
    parse_line,
    parse_queue_item,
    parse_udp,
    parse_user,
)

SCHEMA = "pyhost-replay"
VERSION = 1

_EVENT_KEYS = {"v", "hook", "object", "data", "id"}
_ACTION_KEYS = {"v", "action", "guid", "name", "id"}


# Replay files shipped with pyhost (`pyhost run --replay example:NAME`).
EXAMPLES = Path(__file__).resolve().parent / "examples"


class ReplayError(Exception):
    """The replay cannot go on at all (e.g. a header asking for an unknown schema version)."""


@dataclass
class ReplaySummary:
    events: int = 0
    errors: int = 0          # malformed lines (reported and skipped)
    lines: int = 0
    error_lines: list[int] = field(default_factory=list)
    plugin_errors: int = 0   # exceptions raised and failures of plugins during the replay


# ---- the replay ------------------------------------------------------------------------------

class Replay:
    """Feeds events to a started host and reports what plugins did."""

    def __init__(self, host, out: Callable[[dict], None]):
        self.host = host
        self.out = out
        self.summary = ReplaySummary()
        self._log: list[dict] = []
        self._errors: list[dict] = []
        self._log_lock = threading.Lock()

    # -- capture ---------------------------------------------------------------------------
    def _on_event(self, event) -> None:
        with self._log_lock:
            if isinstance(event, PluginLog):
                self._log.append({"plugin": event.name, "message": event.message})
            elif isinstance(event, SubscriberException):
                self._errors.append({"plugin": event.plugin, "hook": event.hook,
                                     "subscriber": event.subscriber, "error": event.error})
            elif isinstance(event, PluginFailed):
                self._errors.append({"plugin": event.name, "error": event.reason})

    def _collect(self) -> tuple[list[dict], list[dict], list[str], list[dict]]:
        effects = [e.to_dict() for e in self.host.effects.drain()]
        with self._log_lock:
            logs, self._log = self._log, []
            errors, self._errors = self._errors, []
        warnings = self.host.app_services.poll_refusals()
        return effects, logs, warnings, errors

    # -- running ---------------------------------------------------------------------------
    def run(self, lines: Iterable[str | TooLong],
            should_stop: Callable[[], bool] = lambda: False) -> ReplaySummary:
        """Replays ``lines`` until they end or ``should_stop()`` says so (checked between
        events). Errors of plugins before the first line (start-up) are the caller's."""
        unsubscribe = self.host.events.subscribe(self._on_event, Category.LOG | Category.ERROR)
        for event in self.host.events.poll(Category.LOG):  # logged while plugins loaded
            self._on_event(event)
        try:
            effects, logs, warnings, errors = self._collect()
            if effects or logs or warnings or errors:
                self._emit({"event": 0, "startup": True}, effects, logs, warnings, errors)
            for number, raw in enumerate(lines, start=1):
                self.summary.lines = number
                self._line(number, raw)
                if should_stop():
                    break
        finally:
            unsubscribe()
        return self.summary

    def _emit(self, head: dict, effects, logs, warnings, errors=()) -> None:
        record = dict(head)
        record["effects"] = effects
        record["log"] = logs
        if warnings:
            record["warnings"] = warnings
        if errors:
            record["errors"] = list(errors)
            if not head.get("startup"):
                self.summary.plugin_errors += len(errors)
        self.out(record)

    def _line(self, number: int, raw: str | TooLong) -> None:
        if isinstance(raw, TooLong):
            self._error(number, f"longer than {raw.limit} characters; skipped unread")
            return
        text = raw.strip()
        if not text or text.startswith("#"):
            return
        try:
            event = parse_line(text)
            _expect(isinstance(event, dict), "an event must be a JSON object")
            if "pyhost_replay" in event:
                self._header(event)
                return
            version = event.get("v", VERSION)
            _expect(version == VERSION, f"schema version {version!r} is not supported "
                                        f"(this pyhost reads version {VERSION})")
            if "action" in event:
                prepared = self._prepare_action(event)
            else:
                prepared = self._prepare_event(event)
        except LineError as exc:
            self._error(number, str(exc))
            return
        self._run(number, event, prepared)

    def _header(self, header: dict) -> None:
        version = header.get("pyhost_replay")
        if not isinstance(version, int) or isinstance(version, bool) or version != VERSION:
            raise ReplayError(f"this file is pyhost-replay version {version!r}; this pyhost "
                              f"reads version {VERSION}")

    def _error(self, number: int, message: str) -> None:
        self.summary.errors += 1
        self.summary.error_lines.append(number)
        self.out({"line": number, "error": f"line {number}: {message}"})

    def _prepare_event(self, event: dict) -> tuple:
        _keys(event, _EVENT_KEYS, "the event")
        name = event.get("hook")
        _expect(isinstance(name, str), "an event needs \"hook\" (a standard hook's guid or "
                                       "short name) or \"action\"")
        try:
            s = spec(name)
        except KeyError:
            raise LineError(f"{name!r} is not a standard hook") from None
        what = s.short
        obj = self._object(s, event.get("object"), what)
        data = self._data(s, event.get("data"), what)
        return ("hook", s, obj, data)

    def _object(self, s: HookSpec, value: Any, what: str) -> Any:
        kind = s.object
        if kind is None:
            _expect(value is None, f"{what} has no object (it is NULL)")
            return None
        if kind == "host":
            _expect(value is None or (isinstance(value, int) and not isinstance(value, bool)
                                      and 0 <= value < 2**63),
                    f"{what}: the host-specific object must be null or an address (integer)")
            return value
        if kind == "user" and value is None and s.data in ("tags", "display"):
            return None  # a local message: no user
        _expect(value is not None, f"{what} needs an object ({kind})")
        if kind == "hub":
            return parse_hub(value, f"{what}: the hub")
        if kind == "user":
            return parse_user(value, f"{what}: the user")
        if kind == "connection":
            return parse_connection(value, f"{what}: the connection")
        if kind == "udp":
            return parse_udp(value, f"{what}: the UDP endpoint")
        return parse_queue_item(value, f"{what}: the queue item")

    def _data(self, s: HookSpec, value: Any, what: str) -> Any:
        kind = s.data
        if kind is None:
            _expect(value is None, f"{what} has no data (it is NULL)")
            return None
        if kind == "tick":
            if value is None:
                return (self.summary.events + 1) * 1000
            _expect(isinstance(value, int) and not isinstance(value, bool) and
                    0 <= value < 2**64, f"{what}: the tick must be an integer of milliseconds")
            return value
        if kind == "bytes":
            _expect(value is not None, f"{what} needs data")
            return parse_bytes(value, f"{what}: the data")
        if kind == "command":
            if isinstance(value, dict):
                _keys(value, {"command", "params"}, f"{what}: the command")
                command = _str(value, "command", f"{what}: the command", required=True)
                return {"command": command, "params": _str(value, "params", what) or ""}
            _expect(isinstance(value, str) and value.startswith("/"),
                    f"{what}: the data must be a command line starting with '/' or "
                    "{\"command\": ..., \"params\": ...}")
            return value
        _expect(isinstance(value, str), f"{what}: the data must be a string")
        return value

    def _prepare_action(self, event: dict) -> tuple:
        _keys(event, _ACTION_KEYS, "the action")
        action = event.get("action")
        _expect(action == "ui_command", f"unknown action {action!r} (known: \"ui_command\")")
        guid = _str(event, "guid", "ui_command", required=True)
        name = _str(event, "name", "ui_command", required=True)
        return ("ui_command", guid, name)

    def _run(self, number: int, event: dict, prepared: tuple) -> None:
        fire = self.host.fire
        head: dict[str, Any] = {"event": self.summary.events + 1, "line": number}
        if "id" in event:
            head["id"] = event["id"]  # NaN / Infinity never got here: not JSON
        if prepared[0] == "ui_command":
            _, guid, name = prepared
            command = self.host.app_services.command(guid, name)
            if command is None:
                self._error(number, f"no plugin added a UI command {name!r} for {guid}")
                return
            head["action"] = "ui_command"
            self.summary.events += 1
            command()
        else:
            _, s, obj, data = prepared
            if s.object in ("hub", "user", "queue", "connection") and obj is not None:
                try:
                    if s.object == "connection" and "user" in obj:
                        obj = dict(obj, user=fire.user(obj["user"]))
                    obj = {"hub": fire.hub, "user": fire.user, "queue": fire.queue_item,
                           "connection": fire.connection}[s.object](obj)
                except (TypeError, ValueError) as exc:
                    self._error(number, f"{s.short}: {exc}")
                    return
            head["hook"] = s.guid
            self.summary.events += 1
            result = fire.fire(s.guid, obj, data)
            isolation = getattr(self.host, "isolation", None)
            if isolation is not None:  # an isolated plugin that died: its report comes first
                isolation.settle()
            head["handled"] = result.handled
            if s.data == "display":
                head["replacement"] = result.replacement
            if s.data == "tags":
                head["tags"] = result.tags.to_dict() if result.tags is not None else None
            head["default"] = result.default  # what the application did (None: nothing)
        self._emit(head, *self._collect())


def replay(host, lines: Iterable[str | TooLong], out: Callable[[dict], None],
           should_stop: Callable[[], bool] = lambda: False) -> ReplaySummary:
    """Replays ``lines`` (JSON Lines, schema version 1) on a started host; each output
    record goes to ``out`` (a dict, ready for json.dumps)."""
    return Replay(host, out).run(lines, should_stop)


def finite(value: Any) -> Any:
    """``value`` with NaN and infinite floats as None: JSON has neither."""
    if isinstance(value, float) and value != value or value in (float("inf"), float("-inf")):
        return None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def dumps(record: dict) -> str:
    """One output record as its JSON line: always valid JSON (no NaN or Infinity)."""
    try:
        return json.dumps(record, separators=(", ", ": "), allow_nan=False)
    except ValueError:
        return json.dumps(finite(record), separators=(", ", ": "), allow_nan=False)


__all__ = ["MAX_LINE", "SCHEMA", "VERSION", "Replay", "ReplayError", "ReplaySummary",
           "TooLong", "bounded_lines", "dumps", "parse_line", "replay"]
