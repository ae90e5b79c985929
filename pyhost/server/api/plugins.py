"""``plugins``: pyhost's own area: the installed plugins, enable/disable, their settings.

``GET plugins``, ``GET plugins/<guid>`` (plugins_view); ``POST plugins/<guid>/enable`` and
``.../disable`` (plugins_edit); ``GET plugins/<guid>/settings`` and ``PATCH
plugins/<guid>/settings {key: value}`` (values: bool, int or string, stored as DCConfig
types; a key keeps the type it has). Listeners (all, or one plugin's with
``plugins/<guid>/listeners/<event>``): the host's plugin events by their kind
(``plugin_installed``, ``plugin_loaded``, ``plugin_failed``, ``plugin_unloaded``,
``plugin_updated``, ``plugin_removed``, ``plugin_configured``, ``plugin_log``) with the host
event as data, and ``plugin_settings_updated`` ``{guid, settings}`` after a PATCH.
"""
from __future__ import annotations

from typing import Any, Optional

from pyhost.host.events import Category, Event
from pyhost.host.loader import PluginError
from pyhost.host.registry import RegistryError
from pyhost.server.protocol import ApiError, body
from pyhost.server.routes import Call
from pyhost.server.subscriptions import add_listeners

EVENTS = ("plugin_installed", "plugin_loaded", "plugin_failed", "plugin_unloaded",
          "plugin_updated", "plugin_removed", "plugin_configured", "plugin_log",
          "plugin_settings_updated")
PATCH_SCHEMA = {"type": "object",
                "additionalProperties": {"type": ["boolean", "integer", "string"]}}
_INT32 = (-2**31, 2**31 - 1)
_INT64 = (-2**63, 2**63 - 1)


class PluginsApi:
    def __init__(self, server: Any):
        self.server = server
        self.host = server.host
        self._unsubscribe: Optional[Any] = None
        add_listeners(server, "plugins", "plugins_view", EVENTS, EVENTS, self._exists)
        r = server.routes
        r.add("GET", "plugins", "plugins_view", self.list, "Installed plugins, in load order")
        r.add("GET", "plugins/{id}", "plugins_view", self.get, "One plugin, by guid")
        r.add("POST", "plugins/{id}/enable", "plugins_edit", self.enable, "Enable a plugin")
        r.add("POST", "plugins/{id}/disable", "plugins_edit", self.disable,
              "Disable a plugin")
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

    def _object(self, record: Any) -> dict:
        return {"guid": record.guid, "name": record.name, "version": record.version,
                "author": record.author, "description": record.description,
                "website": record.website, "kind": record.kind, "enabled": record.enabled,
                "loaded": self.host.is_loaded(record.guid), "position": record.position}

    def list(self, call: Call) -> list:
        return [self._object(r) for r in self.host.plugins()]

    def get(self, call: Call) -> dict:
        return self._object(self._record(call))

    def enable(self, call: Call) -> dict:
        record = self._record(call)
        try:
            self.host.enable(record.guid)
        except PluginError as exc:
            raise ApiError(400, str(exc)) from None
        return self._object(self.host.plugin(record.guid))

    def disable(self, call: Call) -> dict:
        record = self._record(call)
        try:
            self.host.disable(record.guid)
        except PluginError as exc:
            raise ApiError(400, str(exc)) from None
        return self._object(self.host.plugin(record.guid))

    def settings(self, call: Call) -> dict:
        record = self._record(call)
        return {key: value for key, (_, value) in self.host.registry.settings(
            record.guid).items()}

    def patch_settings(self, call: Call) -> dict:
        record = self._record(call)
        data = body(call.data)
        current = self.host.registry.settings(record.guid)
        typed = {}
        for key, value in data.items():
            if not key or len(key) > 256 or not _encodable(key) or "\x00" in key:
                raise ApiError(400, "A setting name has 1 to 256 characters.", key[:100])
            known = current.get(key, (None, None))[0]
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


def register(server: Any) -> PluginsApi:
    return PluginsApi(server)


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return True
