"""The settings of one extension: its definitions and values while it runs, and the file that
keeps them between runs (``settings/pyhost-settings.json``).

AirDC++ forgets an extension's definitions when its process stops, and the extension posts
them again at start (``airdcpp-extension-settings`` then sends the values it saved itself).
pyhost does the same, and also keeps what it last saw in the file, so that ``pyhost
extension config`` can show and change settings while the extension is not running.

A change made with ``pyhost extension config`` is also recorded as *pending*: it is applied
to the running extension, as an ``extension_settings_updated`` event, when the extension
listens for that event (which the official library does right after loading its own saved
values, so the command line's change wins), or at once when the extension is running
already (the manager notices the file change). A change by another API session (a user)
supersedes a pending one.
"""
from __future__ import annotations

import contextlib
import json
import threading
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

from pyhost.host.file_checks import FileTypeError, open_regular
from pyhost.server.extensions.settings import Definition, parse_definitions
from pyhost.server.files import locked, write_json
from pyhost.server.protocol import ApiError

STORE_FILE = "pyhost-settings.json"
FORMAT_VERSION = 1


class SettingsStore:
    """``{"version": 1, "definitions": [...], "values": {...}, "pending": {...}}``; every
    change is a locked read-modify-write with an atomic rename (the command line and a
    running pyhost may both write it)."""

    def __init__(self, settings_dir: Path):
        self.path = Path(settings_dir) / STORE_FILE

    def read(self) -> dict:
        try:  # (a FIFO in its place would block for ever)
            with open_regular(self.path, "settings file") as f:
                data = json.loads(f.read().decode("utf-8"))
        except (OSError, ValueError, FileTypeError):
            data = {}
        if not isinstance(data, dict):
            data = {}
        return {"definitions": data.get("definitions") if isinstance(
                    data.get("definitions"), list) else None,
                "values": data.get("values") if isinstance(data.get("values"), dict) else {},
                "pending": data.get("pending") if isinstance(data.get("pending"),
                                                             dict) else {}}

    def stamp(self) -> Optional[tuple[int, int]]:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size

    @contextlib.contextmanager
    def change(self) -> Iterator[dict]:
        with locked(self.path):
            data = self.read()
            yield data
            write_json(self.path, {"version": FORMAT_VERSION, **data}, 0o600)

    def definitions(self) -> Optional[list[Definition]]:
        raw = self.read()["definitions"]
        if raw is None:
            return None
        try:
            return parse_definitions(raw)
        except ApiError:
            return None


class ExtensionSettings:
    """Definitions and values of a running extension (thread-safe). ``store`` is None for
    unmanaged extensions (nothing is kept between their connections)."""

    def __init__(self, store: Optional[SettingsStore]):
        self.store = store
        self._lock = threading.Lock()
        self.definitions: Optional[list[Definition]] = None
        self._values: dict[str, Any] = {}
        self.stamp: Optional[tuple[int, int]] = None

    @property
    def defined(self) -> bool:
        return self.definitions is not None and bool(self.definitions)

    def define(self, raw: Any) -> None:
        """POST settings/definitions: once; stored values that still fit are restored."""
        definitions = parse_definitions(raw)
        with self._lock:
            if self.defined:
                raise ApiError(409, "Setting definitions exist for this extension already.")
            self.definitions = definitions
            self._values = {}
            if self.store is not None:
                with self.store.change() as data:
                    data["definitions"] = [d.to_dict() for d in definitions]
                    self._values = _fitting(definitions, data["values"])
                    data["values"] = dict(self._values)
                self.stamp = self.store.stamp()

    def reset(self) -> None:
        with self._lock:
            self.definitions = None
            self._values = {}

    def values(self) -> dict:
        with self._lock:
            if not self.definitions:
                return {}
            return {d.key: self._values.get(d.key, d.default) for d in self.definitions}

    def patch(self, data: Any, by_owner: bool) -> dict:
        """PATCH settings: every key validated first, then all applied; returns the
        validated values (what ``extension_settings_updated`` carries)."""
        if not isinstance(data, dict):
            raise ApiError(400, "The settings must be a JSON object {key: value}.")
        with self._lock:
            definitions = {d.key: d for d in self.definitions or ()}
            checked = {}
            for key, value in data.items():
                d = definitions.get(key)
                if d is None:
                    raise ApiError(400, "Setting not found", key)
                checked[key] = d.validate(value)
            self._apply(checked, definitions)
            if self.store is not None:
                with self.store.change() as stored:
                    stored["values"] = dict(self._values)
                    if not by_owner:
                        for key in checked:
                            stored["pending"].pop(key, None)
                self.stamp = self.store.stamp()
        return checked

    def take_pending(self) -> dict:
        """Pending command-line changes that fit the definitions, applied now; {} if none."""
        if self.store is None:
            return {}
        with self._lock:
            if not self.definitions:
                return {}
            definitions = {d.key: d for d in self.definitions}
            with self.store.change() as stored:
                applied = {}
                for key, value in stored["pending"].items():
                    d = definitions.get(key)
                    if d is None:
                        continue
                    try:
                        applied[key] = d.validate(value)
                    except ApiError:
                        continue
                stored["pending"] = {}
                self._apply(applied, definitions)
                stored["values"] = dict(self._values)
            self.stamp = self.store.stamp()
            return applied

    def changed_on_disk(self) -> bool:
        return self.store is not None and self.defined and self.store.stamp() != self.stamp

    def _apply(self, checked: dict, definitions: dict) -> None:
        for key, value in checked.items():
            if value is None or value == definitions[key].default:
                self._values.pop(key, None)
            else:
                self._values[key] = value


def _fitting(definitions: list[Definition], values: dict) -> dict:
    out = {}
    for d in definitions:
        if d.key in values:
            try:
                value = d.validate(values[d.key])
            except ApiError:
                continue
            if value != d.default:
                out[d.key] = value
    return out


def set_from_command_line(store: SettingsStore, key: str, text: str,
                          parse: Callable[[str, Definition], Any]) -> tuple[Definition, Any]:
    """``pyhost extension config NAME KEY VALUE``: validated against the stored definitions,
    stored, and marked pending for the running extension."""
    definitions = store.definitions()
    if not definitions:
        raise ApiError(400, "The extension has not defined its settings yet (they are "
                            "known once it has run).")
    by_key = {d.key: d for d in definitions}
    d = by_key.get(key)
    if d is None:
        raise ApiError(400, f"The extension has no setting {key!r} (known: "
                            f"{', '.join(by_key)}).", key)
    value = d.validate(parse(text, d))
    with store.change() as data:
        if value is None or value == d.default:
            data["values"].pop(key, None)
        else:
            data["values"][key] = value
        data["pending"][key] = value
    return d, value
