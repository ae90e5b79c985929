"""``settings``: the server settings clients read. ``POST settings/get {keys: [...]}`` answers
``{key: value}``; ``POST settings/set {key: value, ...}`` changes them (kept in memory for
this run). Keys: ``ping_interval`` and ``ping_timeout`` (seconds; the WebSocket heartbeat of
new sockets, and what AirDC++ extensions read to size their alive checks) and
``session_inactivity`` (minutes before an idle session without a socket expires), and
pyhost's ``rpc_timeout`` (seconds an exported method call may take before its caller gets a
time-out; docs/exported-methods.md)."""
from __future__ import annotations

from typing import Any

from pyhost.server.protocol import ApiError, body
from pyhost.server.routes import Call

GET_SCHEMA = {"type": "object", "required": ["keys"],
              "properties": {"keys": {"type": "array", "items": {"type": "string"}}}}
SET_SCHEMA = {"type": "object", "additionalProperties": {"type": "integer"}}
LIMITS = {"ping_interval": (1, 3600), "ping_timeout": (1, 3600),
          "session_inactivity": (1, 7 * 24 * 60), "rpc_timeout": (1, 3600)}


class SettingsApi:
    def __init__(self, server: Any):
        self.server = server
        r = server.routes
        r.add("POST", "settings/get", "settings_view", self.get, "Read server settings",
              body=GET_SCHEMA)
        r.add("POST", "settings/set", "settings_edit", self.set, "Change server settings",
              body=SET_SCHEMA)

    def values(self) -> dict:
        s = self.server
        return {"ping_interval": int(s.heartbeat), "ping_timeout": int(s.heartbeat * 2),
                "session_inactivity": int(s.sessions.default_inactivity // 60),
                "rpc_timeout": max(1, round(s.rpc_timeout))}

    async def get(self, call: Call) -> dict:
        keys = body(call.data).get("keys")
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise ApiError(400, "Field 'keys' must be a list of setting names.", "keys")
        values = self.values()
        for key in keys:
            if key not in values:
                raise ApiError(404, f"There is no setting {key[:100]!r} (known: "
                                    f"{', '.join(values)}).", "keys")
        return {key: values[key] for key in keys}

    async def set(self, call: Call) -> None:
        data = body(call.data)
        for key, value in data.items():
            if key not in LIMITS:
                raise ApiError(404, f"There is no setting {key[:100]!r} (known: "
                                    f"{', '.join(LIMITS)}).", key)
            lo, hi = LIMITS[key]
            if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
                raise ApiError(400, f"{key} must be an integer from {lo} to {hi}.", key)
        for key, value in data.items():
            if key == "ping_interval":
                self.server.heartbeat = float(value)
            elif key == "ping_timeout":
                self.server.heartbeat = value / 2
            elif key == "rpc_timeout":
                self.server.rpc_timeout = float(value)
            else:
                self.server.sessions.default_inactivity = value * 60.0


def register(server: Any) -> SettingsApi:
    return SettingsApi(server)
