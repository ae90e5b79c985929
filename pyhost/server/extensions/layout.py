"""Where installed extensions live: ``<home>/extensions/<name>/`` holding ``package/`` (the
package as installed), ``logs/`` (``output.log`` and ``error.log`` of the running process,
the previous run's as ``.old``) and ``settings/`` (the extension's own files, given to it as
``--settingsPath``, plus ``DISABLED`` when it is disabled, as in AirDC++, and pyhost's
``pyhost-settings.json``). ``state.json`` at the extension's root records what the last
``pyhost run`` saw (running, stopped, crashed and why) for ``pyhost extension list``.
"""
from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from pyhost.host.file_checks import FileTypeError, open_regular
from pyhost.server.extensions.package import NAME_PREFIX, PackageError, check_name
from pyhost.server.files import write_json

EXTENSIONS_DIR = "extensions"
PACKAGE_DIR = "package"
LOG_DIR = "logs"
SETTINGS_DIR = "settings"
DISABLED_FLAG = "DISABLED"
STATE_FILE = "state.json"
OUTPUT_LOG = "output.log"
ERROR_LOG = "error.log"


class Layout:
    """The paths of one home's extensions."""

    def __init__(self, home: str | os.PathLike[str]):
        self.home = Path(home)
        self.base = self.home / EXTENSIONS_DIR

    def root(self, name: str) -> Path:
        return self.base / check_name(name)

    def package(self, name: str) -> Path:
        return self.root(name) / PACKAGE_DIR

    def logs(self, name: str) -> Path:
        return self.root(name) / LOG_DIR

    def settings(self, name: str) -> Path:
        return self.root(name) / SETTINGS_DIR

    def exists(self, name: str) -> bool:
        return self.package(name).is_dir()

    def require(self, name: str) -> None:
        try:
            found = self.exists(name)
        except PackageError:  # a name no package may have (not package.json's fault)
            raise PackageError(f"There is no installed extension {name!r}: extension names "
                               f"start with {NAME_PREFIX!r} (`pyhost extension list` shows "
                               "them).") from None
        if not found:
            raise PackageError(f"There is no installed extension {name}.")

    def names(self) -> list[str]:
        """The installed extensions (directories holding a package/), sorted."""
        if not self.base.is_dir():
            return []
        out = []
        for entry in sorted(self.base.iterdir()):
            try:
                if entry.is_dir() and not entry.is_symlink() and \
                        (entry / PACKAGE_DIR).is_dir():
                    out.append(check_name(entry.name))
            except PackageError:
                continue  # not ours (a stray directory): ignored
        return out

    # -- enabled / disabled (AirDC++'s flag file) ----------------------------------------
    def disabled(self, name: str) -> bool:
        return (self.settings(name) / DISABLED_FLAG).exists()

    def set_disabled(self, name: str, disabled: bool) -> None:
        self.require(name)
        flag = self.settings(name) / DISABLED_FLAG
        if disabled:
            flag.parent.mkdir(parents=True, exist_ok=True)
            flag.touch()
        else:
            with contextlib.suppress(FileNotFoundError):
                flag.unlink()

    # -- the last run's view -------------------------------------------------------------
    def read_state(self, name: str) -> dict:
        try:  # (a FIFO in its place would block for ever)
            with open_regular(self.root(name) / STATE_FILE, "state file") as f:
                data = json.loads(f.read().decode("utf-8"))
        except (OSError, ValueError, FileTypeError):
            return {}
        return data if isinstance(data, dict) else {}

    def write_state(self, name: str, state: dict) -> None:
        write_json(self.root(name) / STATE_FILE, state)

