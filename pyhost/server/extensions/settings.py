"""Extension setting definitions and values, validated the way AirDC++ validates them.

A definition: ``key`` and ``title`` (non-empty strings), ``type`` (boolean, number, string,
text, password, url, email, file_path, existing_file_path, directory_path, hub_url,
hinted_user, list), ``item_type`` (required for list: a number, one of the string types,
hinted_user, or struct with ``definitions``, which may not hold lists), ``default_value``
(required unless ``optional``), ``optional`` (not allowed for boolean and number), ``help``,
``min``/``max`` (numbers; default 0 and 2^31-1, so negative numbers need an explicit min),
``options`` (enum ``[{id, name}]`` for string, number and lists of them; the default value
must be one of them).

A value: booleans and numbers are never null; a number is an integer within min..max;
strings and lists that are not optional must not be empty; list items must not be empty;
struct items are objects (missing fields take their default, unknown ones are dropped);
directory paths end with a separator; a hinted user is ``{cid, hub_url, nicks?}``.
Errors are :class:`ApiError` 400 with the offending field, like AirDC++'s.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Optional

from pyhost.server.protocol import ApiError

MAX_INT = 2**31 - 1
STRING_TYPES = ("string", "text", "password", "url", "email", "file_path",
                "existing_file_path", "directory_path", "hub_url")
TYPES = ("boolean", "number", "list", "struct", "hinted_user") + STRING_TYPES
LIST_ITEM_TYPES = ("number", "hinted_user", "struct") + STRING_TYPES
MAX_DEFINITIONS = 500


@dataclass
class Definition:
    key: str
    title: str
    type: str
    default: Any
    optional: bool = False
    help: str = ""
    min: int = 0
    max: int = MAX_INT
    item_type: Optional[str] = None
    options: list = field(default_factory=list)        # [(id, name)]
    fields: list["Definition"] = field(default_factory=list)  # struct item definitions

    def to_dict(self) -> dict:
        """The definition as AirDC++ serializes it back."""
        out: dict[str, Any] = {"key": self.key, "title": self.title, "type": self.type,
                               "default_value": self.default}
        if self.help:
            out["help"] = self.help
        if self.optional:
            out["optional"] = True
        if self.options:
            out["options"] = [{"id": i, "name": n} for i, n in self.options]
        if self.type == "number":
            out["min"] = self.min
            if self.max != MAX_INT:
                out["max"] = self.max
        if self.type == "list":
            out["item_type"] = self.item_type
            if self.item_type == "struct":
                out["definitions"] = [f.to_dict() for f in self.fields]
        return out

    def validate(self, value: Any) -> Any:
        """The value as stored, or ApiError(400, field=key)."""
        converted = _convert(value, self, self.optional)
        if self.options:
            _check_options(converted, self)
        return converted


def parse_definitions(data: Any) -> list[Definition]:
    if not isinstance(data, list):
        raise ApiError(400, "The setting definitions must be a list.")
    if len(data) > MAX_DEFINITIONS:
        raise ApiError(400, f"At most {MAX_DEFINITIONS} setting definitions.")
    out: list[Definition] = []
    for item in data:
        definition = parse_definition(item)
        if any(d.key == definition.key for d in out):
            raise ApiError(400, f"Duplicate setting definition key {definition.key} detected.",
                           "type")
        out.append(definition)
    return out


def parse_definition(data: Any, in_list: bool = False) -> Definition:
    if not isinstance(data, dict):
        raise ApiError(400, "A setting definition must be an object.")
    key = _text(data, "key")
    title = _text(data, "title")
    kind = _type(data, "type", required=True)
    item_type = _type(data, "item_type", required=kind == "list")
    if in_list and kind == "list":
        raise ApiError(400, f"Field of type {kind} can't be used for list item.", "type")
    optional = _flag(data, "optional")
    if optional and kind in ("boolean", "number"):
        raise ApiError(400, f"Field of type {kind} can't be optional.", "optional")
    help_text = data.get("help", "")
    if help_text is None:
        help_text = ""
    if not isinstance(help_text, str):
        raise ApiError(400, "Field 'help' must be a string.", "help")
    lo, hi = _int(data, "min", 0), _int(data, "max", MAX_INT)
    fields: list[Definition] = []
    if kind == "list" and item_type == "struct":
        raw = data.get("definitions")
        if not isinstance(raw, list) or not raw:
            raise ApiError(400, "A list of struct items needs its 'definitions'.",
                           "definitions", "missing_field")
        fields = [parse_definition(d, in_list=True) for d in raw]
    if "default_value" not in data and not optional:
        raise ApiError(400, f"Field 'default_value' is missing ({key}).", "default_value",
                       "missing_field")
    definition = Definition(key, title, kind, None, optional, help_text, lo, hi, item_type,
                            [], fields)
    definition.default = _convert(data.get("default_value"), definition, True)
    if _options_allowed(kind, item_type) and data.get("options") is not None:
        raw = data["options"]
        if not isinstance(raw, list):
            raise ApiError(400, "Field 'options' must be a list.", "options")
        for opt in raw:
            if not isinstance(opt, dict):
                raise ApiError(400, "An enum option must be an object {id, name}.", "options")
            definition.options.append((_option_id(opt, kind), _text(opt, "name")))
    if definition.options:
        _check_options(definition.default, definition)
    return definition


# ---- values --------------------------------------------------------------------------------------

def _convert(value: Any, d: Definition, optional: bool) -> Any:
    kind = d.type
    if kind in ("number", "hinted_user") or kind in STRING_TYPES:
        return _scalar(value, d.key, kind, optional, d.min, d.max)
    if kind == "boolean":
        if value is None:
            raise ApiError(400, "Field can't be empty.", d.key)
        if not isinstance(value, bool):
            raise ApiError(400, "The value must be true or false.", d.key)
        return value
    if kind == "list":
        if value is None:
            if not optional:
                raise ApiError(400, "Field can't be null.", d.key)
            return []
        if not isinstance(value, list):
            raise ApiError(400, "The value must be a list.", d.key)
        if not value and not optional:
            raise ApiError(400, "Field can't be empty.", d.key)
        if d.item_type == "struct":
            return [_struct(item, d) for item in value]
        if d.item_type in LIST_ITEM_TYPES:
            return [_scalar(item, d.key, d.item_type, False, d.min, d.max) for item in value]
        raise ApiError(400, f"type {d.item_type} is not supported for list items", d.key)
    if kind == "struct":
        raise ApiError(400, "object type is supported only for list items", d.key)
    raise ApiError(400, f"Invalid item type {kind}.", d.key)


def _struct(item: Any, d: Definition) -> dict:
    if not isinstance(item, dict) or not item:
        raise ApiError(400, "A list item must be a non-empty object.", d.key)
    out = {}
    for f in d.fields:  # unknown properties are dropped, as in AirDC++
        out[f.key] = f.validate(item[f.key] if f.key in item else f.default)
    return out


def _scalar(value: Any, key: str, kind: str, optional: bool, lo: int, hi: int) -> Any:
    if kind == "number":
        if value is None:
            raise ApiError(400, "Field can't be empty.", key)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ApiError(400, "The value must be an integer.", key)
        if not lo <= value <= hi:
            raise ApiError(400, f"Value {value} is not in range {lo} - {hi}", key)
        return value
    if kind == "hinted_user":
        return None if value is None else _hinted_user(value, key)
    # strings
    if value is None:
        if not optional:
            raise ApiError(400, "Field can't be null.", key)
        return ""
    if not isinstance(value, str):
        raise ApiError(400, "The value must be a string.", key)
    value = value.split("\x00", 1)[0]
    if not value and not optional:
        raise ApiError(400, "Field can't be empty.", key)
    if kind == "directory_path" and value and not value.endswith(os.sep):
        value += os.sep
    return value


def _hinted_user(value: Any, key: str) -> dict:
    if not isinstance(value, dict):
        raise ApiError(400, "A hinted user must be an object {cid, hub_url}.", key)
    cid, hub = value.get("cid"), value.get("hub_url")
    if not isinstance(cid, str) or not cid or not isinstance(hub, str):
        raise ApiError(400, "A hinted user needs a cid and a hub_url.", key)
    nicks = value.get("nicks", "")
    return {"nicks": nicks if isinstance(nicks, str) else "", "cid": cid, "hub_url": hub}


def _check_options(value: Any, d: Definition) -> None:
    ids = [i for i, _ in d.options]
    if d.type == "list":
        if any(v not in ids for v in value):
            raise ApiError(400, "All values can't be found from enum options", d.key)
    elif value not in ids:
        raise ApiError(400, "Value is not one of the enum options", d.key)


def _options_allowed(kind: str, item_type: Optional[str]) -> bool:
    return kind in ("string", "number") or (kind == "list" and item_type in ("string",
                                                                            "number"))


def _option_id(opt: dict, kind: str) -> Any:
    value = opt.get("id")
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ApiError(400, "An enum option's id must be an integer.", "id")
        return value
    if not isinstance(value, str) or not value:
        raise ApiError(400, "An enum option's id must be a non-empty string.", "id")
    return value


# ---- definition fields ------------------------------------------------------------------------

def _text(data: dict, key: str) -> str:
    value = data.get(key)
    if value is None:
        raise ApiError(400, f"Field '{key}' is missing.", key, "missing_field")
    if not isinstance(value, str) or not value or len(value) > 4096:
        raise ApiError(400, f"Field '{key}' must be a non-empty string.", key)
    return value


def _type(data: dict, key: str, required: bool) -> Optional[str]:
    value = data.get(key)
    if value is None:
        if required:
            raise ApiError(400, f"Field '{key}' is missing.", key, "missing_field")
        return None
    if value not in TYPES:
        raise ApiError(400, f'Invalid item type "{str(value)[:60]}"', key)
    return value


def _flag(data: dict, key: str) -> bool:
    value = data.get(key, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ApiError(400, f"Field '{key}' must be true or false.", key)
    return value


def _int(data: dict, key: str, default: int) -> int:
    value = data.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or abs(value) > MAX_INT:
        raise ApiError(400, f"Field '{key}' must be an integer.", key)
    return value
