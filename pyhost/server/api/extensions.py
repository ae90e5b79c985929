"""``extensions``: AirDC++ extensions, managed (installed in the home, run as processes) and
unmanaged (API clients that registered themselves).

Endpoints (AirDC++'s, with its permissions): ``GET extensions`` and ``GET extensions/<name>``
(settings_view), ``POST extensions`` (register an unmanaged extension: its package.json;
admin), ``DELETE extensions/<name>`` (uninstall, or unregister; admin), ``PATCH
extensions/<name> {disabled}`` (admin), ``POST extensions/<name>/start|stop`` (admin),
``POST extensions/<name>/ready`` (its own session), ``GET|POST extensions/<name>/settings/
definitions`` and ``GET|PATCH extensions/<name>/settings`` (its own session, or
settings_view / settings_edit; definitions are posted by its own session only, once),
``GET extensions/engines/status``. pyhost adds ``POST extensions/<name>/restart`` (admin) and
``GET extensions/<name>/logs/<file>`` (the tail of a log; settings_view). Listeners:
``extension_added``, ``extension_removed`` and, per extension (or for all),
``extension_started``, ``extension_stopped``, ``extension_updated``,
``extension_settings_updated``, ``extension_package_updated``.

The extension object is AirDC++'s (``id, name, description, version, homepage, author,
disabled, running, private, logs, engines, managed, has_settings``) plus pyhost's ``state``
(running, stopped, restarting, crashed, failed), ``state_reason``, ``failures``,
``exit_code`` and ``pid``.
"""
from __future__ import annotations

import asyncio
import logging
import shutil
from typing import Any, Optional

from pyhost.server.extensions import control
from pyhost.server.extensions.layout import LOG_DIR
from pyhost.server.extensions.manager import Extension, ExtensionManager
from pyhost.server.protocol import ApiError, body, flag
from pyhost.server.routes import Call
from pyhost.server.sessions import MAX_INACTIVITY_S
from pyhost.server.subscriptions import add_listeners
from pyhost.server.users import ApiUser

log = logging.getLogger("pyhost.extensions")

TAIL_BYTES = 64 * 1024
EVENTS = ("extension_added", "extension_removed", "extension_installation_started",
          "extension_installation_succeeded", "extension_installation_failed")
ENTITY_EVENTS = ("extension_started", "extension_stopped", "extension_updated",
                 "extension_settings_updated", "extension_package_updated")
PACKAGE_SCHEMA = {"type": "object", "required": ["name", "version", "airdcpp"],
                  "properties": {"name": {"type": "string"}, "version": {"type": "string"},
                                 "airdcpp": {"type": "object"}}}


class ExtensionsApi:
    def __init__(self, server: Any):
        self.server = server
        self.manager = ExtensionManager(server)
        self.manager.load()
        self.manager.on_change.append(self._changed)
        self._control_session: Any = None
        server.on_disconnect.append(lambda conn, session: session is not None and
                                    self.manager.session_closed(session))
        add_listeners(server, "extensions", "settings_view", EVENTS + ENTITY_EVENTS,
                      ENTITY_EVENTS, self._exists, on_add=self._listener_added)
        r, admin = server.routes, "admin"
        r.add("GET", "extensions", "settings_view", self.list, "Every extension")
        r.add("POST", "extensions", admin, self.register,
              "Register this client as an unmanaged extension (its package.json)",
              body=PACKAGE_SCHEMA)
        r.add("GET", "extensions/engines/status", "settings_view", self.engines,
              "The engines extensions run with, and the command found for each")
        r.add("GET", "extensions/{id}", "settings_view", self.get, "One extension")
        r.add("PATCH", "extensions/{id}", admin, self.patch, "Enable or disable an extension",
              body={"type": "object", "properties": {"disabled": {"type": "boolean"}}})
        r.add("DELETE", "extensions/{id}", admin, self.remove,
              "Uninstall a managed extension, unregister an unmanaged one")
        r.add("POST", "extensions/{id}/start", admin, self.start_one, "Start an extension")
        r.add("POST", "extensions/{id}/stop", admin, self.stop, "Stop an extension")
        r.add("POST", "extensions/{id}/restart", admin, self.restart,
              "Stop and start an extension (pyhost)")
        r.add("POST", "extensions/{id}/ready", None, self.ready,
              "The extension has finished its start-up (its own session)")
        r.add("GET", "extensions/{id}/settings/definitions", None, self.definitions,
              "The extension's setting definitions")
        r.add("POST", "extensions/{id}/settings/definitions", None, self.define,
              "Define the extension's settings (its own session, once)", body={"type": "array"})
        r.add("GET", "extensions/{id}/settings", None, self.values,
              "The extension's setting values")
        r.add("PATCH", "extensions/{id}/settings", None, self.change,
              "Change setting values (validated against the definitions)",
              body={"type": "object"})
        r.add("GET", "extensions/{id}/logs/{file}", "settings_view", self.log_tail,
              "The last 64 KiB of one of the extension's logs (pyhost)")

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        """The server listens: the address extensions get as --apiUrl (plain HTTP only, as
        in AirDC++; a wildcard address is reached through loopback)."""
        server = self.server
        if server.ssl_context is not None:
            self.manager.launch_problem = ("extensions need a plain HTTP listener (the Web API "
                                           "is served over TLS here)")
            return
        host = server.address
        if host in ("0.0.0.0", ""):
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        if ":" in host:
            host = f"[{host}]"
        self.manager.api_url = f"{host}:{server.port}/api/v1/"

    def enable_control(self) -> None:
        """Lets the command line of this home reach this server (``pyhost run`` does)."""
        server = self.server
        if self.manager.api_url is None:
            return
        session = server.sessions.create(ApiUser("pyhost-cli", ("admin",)), MAX_INACTIVITY_S,
                                         kind="control")
        self._control_session = session
        control.write(server.host.home, "http://" + self.manager.api_url, session.token)

    def before_stop(self) -> None:
        self.manager.stop_all()
        session, self._control_session = self._control_session, None
        if session is not None:
            control.remove(self.server.host.home, session.token)
            self.server.sessions.remove(session)

    def close(self) -> None:
        self.manager.stop_all()

    # -- events --------------------------------------------------------------------------
    def _changed(self, event: str, ext: Extension, data: Any) -> None:
        publish = self.server.listeners.publish
        if event == "extension_settings_updated":
            publish(event, data, ext.name)
        elif event in ("extension_added", "extension_removed"):
            publish(event, serialize(ext, self.manager))
        else:
            publish(event, serialize(ext, self.manager), ext.name)
            if event != "extension_updated":  # started, stopped, package updated
                publish("extension_updated", {"running": ext.running, "state": ext.state},
                        ext.name)

    def _exists(self, name: str) -> bool:
        try:
            self.manager.get(name)
        except ApiError:
            return False
        return True

    def _listener_added(self, call: Call, event: str, entity: Optional[str]) -> None:
        """The official settings library listens to its settings right after sending its
        saved values: then is the moment for pending command-line changes."""
        if event != "extension_settings_updated" or entity is None:
            return
        try:
            ext = self.manager.get(entity)
        except ApiError:
            return
        if ext.session is not call.session:
            return

        def apply() -> None:
            applied = ext.settings.take_pending()
            if applied:
                self.manager.notify("extension_settings_updated", ext, applied)
        asyncio.get_running_loop().run_in_executor(self.server.executor, apply)

    # -- endpoints -----------------------------------------------------------------------
    def _name(self, call: Call) -> str:
        return call.params["id"]

    def _ext(self, call: Call) -> Extension:
        return self.manager.get(self._name(call))

    def _owner_or(self, call: Call, ext: Extension, permission: str) -> None:
        if ext.session is call.session or call.session.allows(permission):
            return
        raise ApiError(403, f"Permission denied: this needs the extension's own session or the "
                            f"{permission} permission.")

    def list(self, call: Call) -> list:
        return [serialize(e, self.manager) for e in self.manager.all()]

    def get(self, call: Call) -> dict:
        return serialize(self._ext(call), self.manager)

    def register(self, call: Call) -> dict:
        return serialize(self.manager.register_remote(call.session, body(call.data)),
                         self.manager)

    def engines(self, call: Call) -> dict:
        out = {}
        for name, commands in self.manager.options.engines.items():
            found = None
            for command in commands:
                found = shutil.which(command.split()[0] if isinstance(command, str)
                                     else command[0])
                if found:
                    break
            out[name] = found
        return out

    def patch(self, call: Call) -> None:
        data = body(call.data)
        self._ext(call)  # an unknown name is a 404 whatever the data
        if data.get("disabled") is None:  # (the only field: a PATCH without it did nothing)
            raise ApiError(400, "Field 'disabled' is missing.", "disabled", "missing_field")
        self.manager.set_disabled(self._name(call), flag(data, "disabled"))

    def remove(self, call: Call) -> None:
        ext = self._ext(call)
        if ext.managed:
            self.manager.uninstall(ext.name)
        else:
            self.manager.unregister(ext)

    def start_one(self, call: Call) -> None:
        self.manager.start(self._name(call))

    def stop(self, call: Call) -> None:
        self.manager.stop(self._name(call))

    def restart(self, call: Call) -> None:
        self.manager.restart(self._name(call))

    def ready(self, call: Call) -> None:
        ext = self._ext(call)
        self._owner_or(call, ext, "admin")
        self.manager.mark_ready(ext)

    def definitions(self, call: Call) -> list:
        ext = self._ext(call)
        self._owner_or(call, ext, "settings_view")
        return [d.to_dict() for d in ext.settings.definitions or ()]

    def define(self, call: Call) -> None:
        ext = self._ext(call)
        if ext.session is not call.session:
            raise ApiError(409, "Setting definitions may only be posted by the owning session.")
        ext.settings.define(call.data)
        self.server.listeners.publish("extension_updated", {"has_settings": True}, ext.name)

    def values(self, call: Call) -> dict:
        ext = self._ext(call)
        self._owner_or(call, ext, "settings_view")
        return ext.settings.values()

    def change(self, call: Call) -> None:
        ext = self._ext(call)
        self._owner_or(call, ext, "settings_edit")
        checked = ext.settings.patch(call.data, by_owner=ext.session is call.session)
        if checked:
            self.manager.notify("extension_settings_updated", ext, checked)

    def log_tail(self, call: Call) -> dict:
        ext = self._ext(call)
        name = call.params["file"]
        logs = self.manager.layout.logs(ext.name) if ext.managed else None
        if logs is None or name not in _log_files(logs):
            raise ApiError(404, f"{ext.name} has no log {name[:100]!r}.")
        path = logs / name
        size = path.stat().st_size
        with open(path, "rb") as f:
            f.seek(max(0, size - TAIL_BYTES))
            data = f.read(TAIL_BYTES)
        return {"name": name, "size": size, "truncated": size > TAIL_BYTES,
                "text": data.decode("utf-8", "replace")}


def _log_files(logs) -> dict:
    try:
        return {p.name: p for p in logs.iterdir() if p.is_file() and not p.is_symlink()
                and (p.name.endswith(".log") or p.name.endswith(".log.old"))}
    except OSError:
        return {}


def serialize(ext: Extension, manager: ExtensionManager) -> dict:
    info = ext.info
    logs = []
    if ext.managed:
        for name, path in sorted(_log_files(manager.layout.root(ext.name) / LOG_DIR).items()):
            if name.endswith(".log"):
                logs.append({"name": name, "type": {"id": "file", "content_type": "other",
                                                    "str": "log"},
                             "size": path.stat().st_size})
    proc = ext.process
    return {"id": ext.name, "name": ext.name, "description": info.description,
            "version": info.version, "homepage": info.homepage, "author": info.author,
            "disabled": manager.disabled(ext), "running": ext.running, "private": info.private,
            "logs": logs, "engines": list(info.engines), "managed": ext.managed,
            "has_settings": ext.settings.defined,
            "state": ext.state, "state_reason": ext.reason, "failures": ext.failures,
            "exit_code": ext.exit_code, "pid": proc.pid if proc is not None else None}


def register(server: Any) -> ExtensionsApi:
    return ExtensionsApi(server)
