"""``plugins``: pyhost's own area: the installed plugins, enable/disable, their settings.

``GET plugins``, ``GET plugins/<guid>`` (plugins_view); ``POST plugins/<guid>/enable`` and
``.../disable``, ``POST plugins/<guid>/move {direction: "up"|"down"}`` (plugins_edit);
``DELETE plugins/<guid>`` (admin: ON_UNINSTALL, registry row, settings, package files);
``GET plugins/<guid>/settings`` and ``PATCH plugins/<guid>/settings {key: value}`` (values:
bool, int or string, stored as DCConfig types; a key keeps the type it has, or its declared
default's); ``GET plugins/<guid>/settings/definitions`` (the settings as AirDC++ setting
definitions, for forms: a Python plugin's declared ones and those stored). Listeners (all,
or one plugin's with ``plugins/<guid>/listeners/<event>``): the host's plugin events by
their kind (``plugin_installed``, ``plugin_loaded``, ``plugin_failed``, ``plugin_unloaded``,
``plugin_updated``, ``plugin_removed``, ``plugin_configured``, ``plugin_log``, and
``plugin_event``: what a plugin emitted) with the host event as data,
``plugin_settings_updated`` ``{guid, settings}`` after a PATCH, ``plugin_moved`` ``{guid,
direction, order}`` after a move. Uploading a plugin file: :mod:`pyhost.server.api.uploads`.
"""
from __future__ import annotations

from typing import Any, Optional

from urllib.parse import quote

from pyhost.host.events import Category, Event, PluginFailed, PluginLoaded
from pyhost.host.loader import PluginError
from pyhost.host.registry import RegistryError
from pyhost.server.plugin_ui import ui_dir
from pyhost.server.protocol import ApiError, body, choice
from pyhost.server.routes import Call
from pyhost.server.subscriptions import add_listeners

EVENTS = ("plugin_installed", "plugin_loaded", "plugin_failed", "plugin_unloaded",
          "plugin_updated", "plugin_removed", "plugin_configured", "plugin_log",
          "plugin_event", "plugin_settings_updated", "plugin_moved")
MOVE_SCHEMA = {"type": "object", "required": ["direction"],
               "properties": {"direction": {"type": "string", "enum": ["up", "down"]}}}
PATCH_SCHEMA = {"type": "object",
                "additionalProperties": {"type": ["boolean", "integer", "string"]}}
_INT32 = (-2**31, 2**31 - 1)
_INT64 = (-2**63, 2**63 - 1)


class PluginsApi:
    def __init__(self, server: Any):
        self.server = server
        self.host = server.host
        self._unsubscribe: Optional[Any] = None
        self._failures: dict[str, str] = {}  # guid -> why it last failed to load
        add_listeners(server, "plugins", "plugins_view", EVENTS, EVENTS, self._exists)
        r = server.routes
        r.add("GET", "plugins", "plugins_view", self.list, "Installed plugins, in load order")
        r.add("GET", "plugins/{id}", "plugins_view", self.get, "One plugin, by guid")
        r.add("POST", "plugins/{id}/enable", "plugins_edit", self.enable, "Enable a plugin")
        r.add("POST", "plugins/{id}/disable", "plugins_edit", self.disable,
              "Disable a plugin")
        r.add("POST", "plugins/{id}/move", "plugins_edit", self.move,
              "Move a plugin up or down in the load order", body=MOVE_SCHEMA)
        r.add("DELETE", "plugins/{id}", "admin", self.remove,
              "Remove a plugin (ON_UNINSTALL, its settings and package files)")
        r.add("GET", "plugins/{id}/settings/definitions", "plugins_view", self.definitions,
              "A plugin's settings as setting definitions (for forms)")
        r.add("GET", "plugins/{id}/settings", "plugins_view", self.settings,
              "A plugin's settings")
        r.add("PATCH", "plugins/{id}/settings", "plugins_edit", self.patch_settings,
              "Change a plugin's settings", body=PATCH_SCHEMA)

    def start(self) -> None:
        self._unsubscribe = self.host.events.subscribe(self._on_event,
                                                       Category.PLUGIN | Category.LOG)

    def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()

    def _on_event(self, event: Event) -> None:
        if isinstance(event, PluginFailed) and event.guid:
            self._failures[event.guid] = event.reason
        elif isinstance(event, PluginLoaded):
            self._failures.pop(event.guid, None)
        if event.kind in EVENTS:
            self.server.listeners.publish(event.kind, event.to_dict(),
                                          getattr(event, "guid", None))

    def _exists(self, guid: str) -> bool:
        return guid in self.host.registry

    def _record(self, call: Call) -> Any:
        try:
            return self.host.plugin(call.params["id"])
        except PluginError:
            raise ApiError(404, f"No plugin with guid {call.params['id'][:100]} is "
                                "installed.") from None

    def describe(self, record: Any) -> dict:
        """A plugin as the API shows it. ``status``: loaded, disabled, or failed (enabled
        but not loaded: the running host could not load it; ``error`` says why when the
        server saw it happen); ``ui``: the address of its own UI part, or None."""
        loaded = self.host.is_loaded(record.guid)
        error = None if loaded else self._failures.get(record.guid)
        status = "loaded" if loaded else "failed" if record.enabled else "disabled"
        ui = ui_dir(self.host, record)
        return {"guid": record.guid, "name": record.name, "version": record.version,
                "author": record.author, "description": record.description,
                "website": record.website, "kind": record.kind, "enabled": record.enabled,
                "loaded": loaded, "position": record.position, "status": status,
                "error": error,
                "ui": f"/plugin-ui/{quote(record.guid, safe='')}/" if ui else None}

    def list(self, call: Call) -> list:
        return [self.describe(r) for r in self.host.plugins()]

    def get(self, call: Call) -> dict:
        return self.describe(self._record(call))

    def enable(self, call: Call) -> dict:
        record = self._record(call)
        try:
            self.host.enable(record.guid)
        except PluginError as exc:
            raise ApiError(400, str(exc)) from None
        return self.describe(self.host.plugin(record.guid))

    def disable(self, call: Call) -> dict:
        record = self._record(call)
        try:
            self.host.disable(record.guid)
        except PluginError as exc:
            raise ApiError(400, str(exc)) from None
        return self.describe(self.host.plugin(record.guid))

    def move(self, call: Call) -> dict:
        record = self._record(call)
        direction = choice(body(call.data), "direction", ("up", "down"), None)
        moved = self.host.move(record.guid, direction)
        order = [r.guid for r in self.host.plugins()]
        if moved:
            self.server.listeners.publish("plugin_moved", {"guid": record.guid,
                                                           "direction": direction,
                                                           "order": order}, record.guid)
        return {"moved": moved, "order": order}

    def remove(self, call: Call) -> None:
        from pyhost import packages  # its package files go too
        record = self._record(call)
        try:
            packages.remove(self.host, record.guid)
        except PluginError as exc:
            raise ApiError(400, str(exc)) from None
        self._failures.pop(record.guid, None)

    def definitions(self, call: Call) -> list:
        record = self._record(call)
        declared = self.host.declared_settings(record.guid)
        stored = self.host.registry.settings(record.guid)
        out = [_definition(key, kind, value) for key, (kind, value) in declared.items()]
        out += [_definition(key, kind, None) for key, (kind, _) in stored.items()
                if key not in declared]
        return out

    def settings(self, call: Call) -> dict:
        record = self._record(call)
        return {key: value for key, (_, value) in self.host.registry.settings(
            record.guid).items()}

    def patch_settings(self, call: Call) -> dict:
        record = self._record(call)
        data = body(call.data)
        current = self.host.registry.settings(record.guid)
        declared = self.host.declared_settings(record.guid) if any(
            key not in current for key in data) else {}
        typed = {}
        for key, value in data.items():
            if not key or len(key) > 256 or not _encodable(key) or "\x00" in key:
                raise ApiError(400, "A setting name has 1 to 256 characters.", key[:100])
            known = current.get(key, declared.get(key, (None, None)))[0]
            typed[key] = (_type_for(key, value, known), value)
        try:
            for key, (kind, value) in typed.items():
                self.host.registry.set_setting(record.guid, key, kind, value)
        except (ValueError, RegistryError) as exc:
            raise ApiError(400, str(exc)) from None
        settings = self.settings(call)
        self.server.listeners.publish("plugin_settings_updated",
                                      {"guid": record.guid, "settings": settings},
                                      record.guid)
        return settings


def _type_for(key: str, value: Any, known: Optional[str]) -> str:
    """The DCConfig type a JSON value is stored as (the setting's own type if it has one)."""
    if isinstance(value, bool):
        kind = "bool"
    elif isinstance(value, int):
        kind = "int" if _INT32[0] <= value <= _INT32[1] and known != "int64" else "int64"
        if not _INT64[0] <= value <= _INT64[1]:
            raise ApiError(400, f"{key} does not fit in 64 bits.", key)
    elif isinstance(value, str):
        if "\x00" in value or len(value) > 65536 or not _encodable(value):
            raise ApiError(400, f"{key} must be text without NUL, at most 65536 "
                                "characters.", key)
        kind = "string"
    else:
        raise ApiError(400, f"{key} must be true/false, an integer or a string.", key)
    if known is not None and known != kind and {known, kind} != {"int", "int64"}:
        raise ApiError(400, f"{key} is a {known} setting; got a {kind}.", key)
    return kind


def _definition(key: str, kind: str, default: Any) -> dict:
    """One setting as an AirDC++ setting definition (what the web page's forms read)."""
    if kind == "bool":
        out = {"type": "boolean", "default_value": bool(default)}
    elif kind in ("int", "int64"):
        lo, hi = _INT32 if kind == "int" else _INT64
        out = {"type": "number", "default_value": int(default or 0), "min": lo, "max": hi}
    else:
        out = {"type": "string", "default_value": "" if default is None else str(default),
               "optional": True}
    return {"key": key, "title": key, **out}


def register(server: Any) -> PluginsApi:
    return PluginsApi(server)


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return True
