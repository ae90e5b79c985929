"""What a replay line may hold: reading lines with a length cap, parsing one line's JSON
safely (any damage is a :class:`LineError`, never an exception that ends the replay), and
validating the JSON forms of hubs, users, connections, queue items and data (schema
version 1, docs/testbench.md)."""
from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any, Mapping, Optional

from pyhost.app.application import ProtocolType

#: The longest line read, in characters; a longer one is reported and skipped unread.
MAX_LINE = 1 << 20
#: How deeply an event's JSON may nest (a real one nests 4 levels at most).
MAX_DEPTH = 64

_PROTOCOLS = {"adc": ProtocolType.ADC, "nmdc": ProtocolType.NMDC, "dht": ProtocolType.DHT}


class LineError(ValueError):
    """One line is malformed; it is reported and skipped."""


@dataclass(frozen=True)
class TooLong:
    """Stands for a line longer than the limit, which was skipped without being kept."""

    limit: int


def bounded_lines(stream, limit: int = MAX_LINE):
    """The lines of a text stream, each at most ``limit`` characters; a longer one comes
    as :class:`TooLong` (its rest is read and dropped, so memory stays bounded)."""
    while True:
        line = stream.readline(limit + 1)
        if not line:
            return
        if len(line) > limit and not line.endswith("\n"):
            while True:
                rest = stream.readline(limit)
                if not rest or rest.endswith("\n"):
                    break
            yield TooLong(limit)
        else:
            yield line


def _refuse_constant(name: str):
    raise LineError(f"{name} is not a JSON value")


def _check_tree(value: Any) -> None:
    """Every string valid Unicode, no deeper than MAX_DEPTH (without recursing)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise LineError(f"nested more than {MAX_DEPTH} levels deep")
        if isinstance(item, str):
            items = (item,)
        elif isinstance(item, dict):
            items = tuple(item)
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            items = ()
            stack.extend((v, depth + 1) for v in item)
        else:
            continue
        for text in items:
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                raise LineError("text that is not valid Unicode (a lone surrogate such as "
                                f"{_surrogate(text)})") from None


def _surrogate(text: str) -> str:
    bad = next(c for c in text if "\ud800" <= c <= "\udfff")
    return f"\\u{ord(bad):04x}"


def parse_line(text: str) -> Any:
    """One line's JSON, or LineError saying in a few words what is wrong with it."""
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise LineError(f"not JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise LineError("not usable JSON (nested too deeply)") from None
    except ValueError as exc:  # e.g. an integer of thousands of digits
        raise LineError(f"not usable JSON ({' '.join(str(exc).split())})") from None
    _check_tree(value)
    return value


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
