"""The host's home directory: checking it, and opening its registry safely.

A home is refused when it is not a usable directory (an empty path, a file). Its registry
is opened for writing, or read-only where the file system does not allow writing (reads
keep working there). A registry that is missing or empty while packages are installed under
``local/Plugins`` is never recreated silently: a new empty registry would disown every
package, and the next start would delete them. That is refused until ``pyhost repair``
has rebuilt the rows (or moved the packages aside).
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

from pyhost.host.file_checks import describe
from pyhost.host.loader import PluginError
from pyhost.host.plugin_files import installed_package_dirs, plugins_root
from pyhost.host.registry import (
    Registry,
    RegistryError,
    RegistryReadOnlyError,
    file_state,
)

REGISTRY_FILE = "registry.sqlite3"


class HomeError(PluginError):
    """The home directory cannot be used; one sentence."""


class RegistryMissingError(RegistryError):
    """Packages are installed but the registry that accounts for them is missing or empty."""


def home_path(home: str | os.PathLike[str]) -> Path:
    """``home`` as a Path, without creating anything; HomeError when it cannot be a home
    (an empty path, a file)."""
    text = os.fspath(home)
    if not text.strip():
        raise HomeError("The home directory is an empty path; give a directory with "
                        "--home DIR or $PYHOST_HOME.")
    path = Path(text).expanduser()
    if path.exists() and not path.is_dir():
        mode = path.stat().st_mode
        what = "a file" if stat.S_ISREG(mode) else describe(mode)
        raise HomeError(f"The home {path} is {what}, not a directory.")
    return path


def check_home(home: str | os.PathLike[str]) -> Path:
    """``home`` as an absolute Path, created if missing; HomeError when it cannot be one."""
    path = home_path(home)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise HomeError(f"Cannot create the home directory {path}: "
                        f"{(exc.strerror or str(exc)).lower()}.") from None
    # Absolute: plugins get paths under it (get_path), valid wherever the process goes.
    return Path(os.path.abspath(path))


def open_registry(home: Path) -> Registry:
    """The home's registry: read-write, else read-only when the file system forbids
    writing. RegistryMissingError when it is missing or empty but packages are installed."""
    path = home / REGISTRY_FILE
    state = file_state(str(path))
    if state != "present":
        packages = installed_package_dirs(plugins_root(home))
        if packages:
            raise RegistryMissingError(
                f"The registry {path} is {state} but {len(packages)} installed "
                f"package(s) exist under {plugins_root(home)}; run `pyhost repair` to "
                "rebuild it from them (or `pyhost repair --move-aside` to set them aside).")
    try:
        return Registry(path)
    except RegistryReadOnlyError:
        if state != "present":
            raise
        return Registry(path, readonly=True)
