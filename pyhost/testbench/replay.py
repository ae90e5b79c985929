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

A malformed line is reported as ``{"line": N, "error": "..."}`` and skipped; the run goes on.
"""
from __future__ import annotations

import base64
import binascii
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Optional

from pyhost.abi.hook_specs import HookSpec, spec
from pyhost.app.application import ProtocolType
from pyhost.host.events import Category, PluginLog

SCHEMA = "pyhost-replay"
VERSION = 1

_PROTOCOLS = {"adc": ProtocolType.ADC, "nmdc": ProtocolType.NMDC, "dht": ProtocolType.DHT}
_EVENT_KEYS = {"v", "hook", "object", "data", "id"}
_ACTION_KEYS = {"v", "action", "guid", "name", "id"}


# Replay files shipped with pyhost (`pyhost run --replay example:NAME`).
EXAMPLES = Path(__file__).resolve().parent / "examples"


class ReplayError(Exception):
    """The replay cannot go on at all (e.g. a header asking for an unknown schema version)."""


class LineError(ValueError):
    """One line is malformed; it is reported and skipped."""


@dataclass
class ReplaySummary:
    events: int = 0
    errors: int = 0
    lines: int = 0
    error_lines: list[int] = field(default_factory=list)


# ---- validating the JSON forms ---------------------------------------------------------------

def _expect(cond: bool, message: str) -> None:
    if not cond:
        raise LineError(message)


def _str(d: Mapping, key: str, what: str, required: bool = False) -> Optional[str]:
    value = d.get(key)
    if value is None:
        _expect(not required, f"{what} needs {key!r}")
        return None
    _expect(isinstance(value, str), f"{what}: {key!r} must be a string")
    return value


def _int(d: Mapping, key: str, what: str, lo: int = 0, hi: int = 2**64 - 1) -> Optional[int]:
    value = d.get(key)
    if value is None:
        return None
    _expect(isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi,
            f"{what}: {key!r} must be an integer from {lo} to {hi}")
    return value


def _bool(d: Mapping, key: str, what: str) -> Optional[bool]:
    value = d.get(key)
    if value is None:
        return None
    _expect(isinstance(value, bool), f"{what}: {key!r} must be true or false")
    return value


def _protocol(d: Mapping, what: str) -> Optional[ProtocolType]:
    value = d.get("protocol")
    if value is None:
        return None
    if isinstance(value, str) and value.lower() in _PROTOCOLS:
        return _PROTOCOLS[value.lower()]
    _expect(isinstance(value, int) and not isinstance(value, bool) and value in (0, 1, 2),
            f"{what}: protocol must be \"adc\", \"nmdc\" or \"dht\"")
    return ProtocolType(value)


def _keys(d: Mapping, allowed: set[str], what: str) -> None:
    unknown = sorted(set(d) - allowed)
    if unknown:
        raise LineError(f"{what}: unknown field {unknown[0]!r}")


def _drop_none(d: dict) -> dict:
    return {k: v for k, v in d.items() if v is not None}


def parse_hub(value: Any, what: str = "the hub") -> dict | str:
    if isinstance(value, str):
        _expect(bool(value), f"{what}: the url is empty")
        return value
    _expect(isinstance(value, dict), f"{what} must be a url or an object with a url")
    _keys(value, {"url", "ip", "port", "protocol", "is_op", "is_secure"}, what)
    return _drop_none({"url": _str(value, "url", what, required=True),
                       "ip": _str(value, "ip", what),
                       "port": _int(value, "port", what, 0, 65535),
                       "protocol": _protocol(value, what),
                       "is_op": _bool(value, "is_op", what),
                       "is_secure": _bool(value, "is_secure", what)})


def parse_user(value: Any, what: str = "the user") -> dict | str:
    if isinstance(value, str):
        _expect(bool(value), f"{what}: the nick is empty")
        return value
    _expect(isinstance(value, dict), f"{what} must be a nick or an object with a nick or cid")
    _keys(value, {"nick", "cid", "hub", "hub_url", "sid", "protocol", "is_op"}, what)
    fields = _drop_none({"nick": _str(value, "nick", what), "cid": _str(value, "cid", what),
                         "hub_url": _str(value, "hub", what) or _str(value, "hub_url", what),
                         "sid": _int(value, "sid", what, 0, 2**32 - 1),
                         "protocol": _protocol(value, what),
                         "is_op": _bool(value, "is_op", what)})
    _expect("nick" in fields or "cid" in fields, f"{what} needs a nick or a cid")
    return fields


def parse_connection(value: Any, what: str = "the connection") -> dict:
    _expect(isinstance(value, dict), f"{what} must be an object with an ip")
    _keys(value, {"ip", "port", "protocol", "is_op", "is_secure", "user"}, what)
    fields = _drop_none({"ip": _str(value, "ip", what, required=True),
                         "port": _int(value, "port", what, 0, 65535),
                         "protocol": _protocol(value, what),
                         "is_op": _bool(value, "is_op", what),
                         "is_secure": _bool(value, "is_secure", what)})
    if value.get("user") is not None:
        fields["user"] = parse_user(value["user"], f"{what}'s user")
    return fields


def parse_udp(value: Any, what: str = "the UDP endpoint") -> dict:
    _expect(isinstance(value, dict), f"{what} must be an object with an ip and a port")
    _keys(value, {"ip", "port"}, what)
    return {"ip": _str(value, "ip", what, required=True),
            "port": _int(value, "port", what, 0, 65535) or 0}


def parse_queue_item(value: Any, what: str = "the queue item") -> dict | str:
    if isinstance(value, str):
        _expect(bool(value), f"{what}: the target is empty")
        return value
    _expect(isinstance(value, dict), f"{what} must be a target or an object with a target")
    _keys(value, {"target", "hash", "size", "location", "is_file_list"}, what)
    return _drop_none({"target": _str(value, "target", what, required=True),
                       "hash": _str(value, "hash", what),
                       "size": _int(value, "size", what),
                       "location": _str(value, "location", what),
                       "is_file_list": _bool(value, "is_file_list", what)})


def parse_bytes(value: Any, what: str = "the data") -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8")
    _expect(isinstance(value, dict) and set(value) == {"base64"} and
            isinstance(value["base64"], str),
            f"{what} must be a string or {{\"base64\": \"...\"}}")
    try:
        return base64.b64decode(value["base64"], validate=True)
    except (binascii.Error, ValueError):
        raise LineError(f"{what}: invalid base64") from None


# ---- the replay ------------------------------------------------------------------------------

class Replay:
    """Feeds events to a started host and reports what plugins did."""

    def __init__(self, host, out: Callable[[dict], None]):
        self.host = host
        self.out = out
        self.summary = ReplaySummary()
        self._log: list[dict] = []
        self._log_lock = threading.Lock()
        self._version_seen = False

    # -- capture ---------------------------------------------------------------------------
    def _on_log(self, event) -> None:
        if isinstance(event, PluginLog):
            with self._log_lock:
                self._log.append({"plugin": event.name, "message": event.message})

    def _collect(self) -> tuple[list[dict], list[dict], list[str]]:
        effects = [e.to_dict() for e in self.host.effects.drain()]
        with self._log_lock:
            logs, self._log = self._log, []
        warnings = self.host.app_services.poll_refusals()
        return effects, logs, warnings

    # -- running ---------------------------------------------------------------------------
    def run(self, lines: Iterable[str]) -> ReplaySummary:
        unsubscribe = self.host.events.subscribe(self._on_log, Category.LOG)
        for event in self.host.events.poll(Category.LOG):  # logged while plugins loaded
            self._on_log(event)
        try:
            effects, logs, warnings = self._collect()
            if effects or logs or warnings:
                self._emit({"event": 0, "startup": True}, effects, logs, warnings)
            for number, raw in enumerate(lines, start=1):
                self.summary.lines = number
                self._line(number, raw)
        finally:
            unsubscribe()
        return self.summary

    def _emit(self, head: dict, effects, logs, warnings) -> None:
        record = dict(head)
        record["effects"] = effects
        record["log"] = logs
        if warnings:
            record["warnings"] = warnings
        self.out(record)

    def _line(self, number: int, raw: str) -> None:
        text = raw.strip()
        if not text or text.startswith("#"):
            return
        try:
            try:
                event = json.loads(text)
            except json.JSONDecodeError as exc:
                raise LineError(f"not JSON ({exc.msg} at column {exc.colno})") from None
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
        self._version_seen = True

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
            head["id"] = event["id"]
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
            head["handled"] = result.handled
            if s.data == "display":
                head["replacement"] = result.replacement
            if s.data == "tags":
                head["tags"] = result.tags.to_dict() if result.tags is not None else None
            head["default"] = result.default  # what the application did (None: nothing)
        self._emit(head, *self._collect())


def replay(host, lines: Iterable[str], out: Callable[[dict], None]) -> ReplaySummary:
    """Replays ``lines`` (JSON Lines, schema version 1) on a started host; each output
    record goes to ``out`` (a dict, ready for json.dumps)."""
    return Replay(host, out).run(lines)


def dumps(record: dict) -> str:
    """One output record as its JSON line."""
    return json.dumps(record, separators=(", ", ": "))


__all__ = ["SCHEMA", "VERSION", "Replay", "ReplayError", "ReplaySummary", "replay", "dumps"]
