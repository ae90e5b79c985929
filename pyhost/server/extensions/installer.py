"""Installing, updating and removing extensions in a home, as AirDC++ does: the package is
unpacked into a temporary directory of the home and judged there (archive rules, then
package.json and its main file); only then is it moved into ``extensions/<name>/package``.
A refused package leaves nothing behind. Installing a name that exists updates it: the
package directory is replaced, its logs and settings are kept.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Optional

from pyhost.server.extensions import archive, package
from pyhost.server.extensions.layout import LOG_DIR, SETTINGS_DIR, Layout
from pyhost.server.extensions.package import PackageError, PackageInfo


def install(home: str | os.PathLike[str], source: str | os.PathLike[str],
            feature_level: int) -> tuple[PackageInfo, bool]:
    """Installs a .tgz or a package directory; returns (package, updated)."""
    layout = Layout(home)
    source = Path(source)
    if not source.exists():
        raise PackageError(f"There is no file or directory {source}.")
    layout.home.mkdir(parents=True, exist_ok=True)
    created_base = not layout.base.exists()
    scratch = Path(tempfile.mkdtemp(prefix=".extension-install-", dir=layout.home))
    try:
        if source.is_dir():
            unpacked = archive.copy_directory(_package_root(source), scratch)
        else:
            unpacked = archive.unpack_tgz(source, scratch)
        info = package.load(unpacked, feature_level)
        updated = _move_into_place(layout, info.name, unpacked)
        return info, updated
    except BaseException:
        if created_base:
            _rmdir_if_empty(layout.base)
        raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def remove(home: str | os.PathLike[str], name: str) -> None:
    """Deletes an installed extension with its logs and settings."""
    layout = Layout(home)
    layout.require(name)
    root = layout.root(name)
    # Renamed first so that a half-deleted directory never looks installed.
    doomed = root.with_name(f".removing-{name}-{os.getpid()}")
    os.replace(root, doomed)
    shutil.rmtree(doomed, ignore_errors=True)


def _package_root(source: Path) -> Path:
    """A directory holding package.json, or npm pack's layout (one directory holding it)."""
    if (source / "package.json").is_file():
        return source
    entries = [e for e in source.iterdir() if not e.name.startswith(".")]
    if len(entries) == 1 and entries[0].is_dir() and not entries[0].is_symlink() and \
            (entries[0] / "package.json").is_file():
        return entries[0]
    raise PackageError(f"{source} holds no package.json (neither directly nor in one top "
                       "directory).")


def _move_into_place(layout: Layout, name: str, unpacked: Path) -> bool:
    root = layout.root(name)
    target = layout.package(name)
    updated = target.is_dir()
    root.mkdir(parents=True, exist_ok=True)
    old: Optional[Path] = None
    if updated:
        old = root / f".package-old-{os.getpid()}"
        os.replace(target, old)
    try:
        os.replace(unpacked, target)
    except BaseException:
        if old is not None:
            os.replace(old, target)
        elif not any(root.iterdir()):
            root.rmdir()
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    (root / LOG_DIR).mkdir(exist_ok=True)
    (root / SETTINGS_DIR).mkdir(exist_ok=True)
    return updated


def _rmdir_if_empty(path: Path) -> None:
    try:
        path.rmdir()
    except OSError:
        pass
