"""The installed plugins' files under the host's home, and keeping them consistent.

Layout, under the local data path (what DCConfig ``get_path(PATH_USER_LOCAL)`` gives,
``<home>/local``)::

    Plugins/
        .staging/              extraction and deletion area, emptied at the next host start
        {UUID}/
            <version>-<token>/ one directory per installed version of a package

The registry row's ``path`` is the only truth: a version directory is installed iff a row
points into it. Directories are deleted only once no row points into them, and always by an
atomic rename into ``.staging`` first, so a crash never leaves a half-deleted directory
where a row could point. :func:`recover` (run by ``Host.start``) removes what interrupted
operations left behind. Package operations on one home are serialised by :class:`HomeLock`.
The package installer (:mod:`pyhost.packages.installer`) writes here; the host only recovers.
"""
from __future__ import annotations

import errno
import logging
import os
import re
import secrets
import shutil
from pathlib import Path
from typing import Callable, Optional

from pyhost.abi._ffi import lib
from pyhost.host.registry import Registry
from pyhost.host.services.config import PATH_DIRS

log = logging.getLogger("pyhost.packages")

PLUGINS_DIR = "Plugins"
STAGING_DIR = ".staging"

# Called between the steps of install/update/remove with the step's name. A no-op; the
# crash tests replace it to stop (or be killed) at every step.
checkpoint: Callable[[str], None] = lambda step: None

_GUID = re.compile(r"\{[0-9A-Fa-f]{8}-([0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}\}"
                   r"|[0-9A-Fa-f]{8}-([0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}")


def is_guid(text: str) -> bool:
    """Whether ``text`` is a UUID as info.xml may give it (and so a package directory name)."""
    return _GUID.fullmatch(text) is not None


def plugins_root(home: Path) -> Path:
    """``<local data path>/Plugins`` of a home (not created here)."""
    return home / PATH_DIRS[lib.PATH_USER_LOCAL] / PLUGINS_DIR


def installed_package_dirs(root: Path) -> list[Path]:
    """The ``Plugins/{UUID}`` directories (as install creates them) that hold at least one
    version directory, sorted; [] when there are none or they cannot be read."""
    found = []
    try:
        for package_dir in sorted(root.iterdir()):
            if is_guid(package_dir.name) and not package_dir.is_symlink() \
                    and package_dir.is_dir() \
                    and any(v.is_dir() and not v.is_symlink() for v in package_dir.iterdir()):
                found.append(package_dir)
    except OSError:
        return found
    return found


def recover(home: Path, registry: Registry) -> list[Path]:
    """Removes what interrupted package operations left: the staging area, and the version
    directories under ``Plugins/{UUID}/`` that no registry row points into (unless the
    UUID's row points outside Plugins altogether, e.g. after the home was moved: then
    nothing of it is touched). Returns what it removed. Skips (returns []) while another
    process holds the package lock. Never raises."""
    root = plugins_root(home)
    removed: list[Path] = []
    if not root.is_dir() or (registry.created and not len(registry)):
        return removed  # a registry created just now accounts for nothing: never judge
    try:
        with HomeLock(home, blocking=False) as lock:
            if not lock.acquired:
                return removed
            staging = root / STAGING_DIR
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
                removed.append(staging)
            rows = {r.guid: Path(r.path).resolve() for r in registry.plugins()}
            referenced = list(rows.values())
            real_root = root.resolve()
            for package_dir in sorted(root.iterdir()):
                # only what install creates: a directory named by a UUID
                if not is_guid(package_dir.name) or package_dir.is_symlink() \
                        or not package_dir.is_dir():
                    continue
                row_path = rows.get(package_dir.name)
                if row_path is not None and not row_path.is_relative_to(real_root):
                    # its row points elsewhere: a bare library installed over the package,
                    # or a home moved since (absolute paths); not ours to judge: keep it
                    continue
                for version_dir in sorted(package_dir.iterdir()):
                    if version_dir.is_symlink() or not version_dir.is_dir():
                        continue
                    if not any(p.is_relative_to(version_dir.resolve()) for p in referenced):
                        discard(root, version_dir)
                        removed.append(version_dir)
                if not any(package_dir.iterdir()):
                    package_dir.rmdir()
            clean_staging(root)
    except Exception:  # recovery must never stop a host from starting
        log.exception("cleaning up interrupted package operations failed")
    for path in removed:
        log.info("removed %s left by an interrupted package operation", path)
    return removed


class HomeLock:
    """An exclusive lock serialising package operations on one home, across processes: an
    flock on the home directory itself (released by the kernel if we die), so it creates
    no file. Where directories cannot be locked (Windows) a lock file in the home is used."""

    def __init__(self, home: Path, blocking: bool = True):
        self.home = home
        self.blocking = blocking
        self.acquired = False
        self._fd: Optional[int] = None

    def __enter__(self) -> "HomeLock":
        fd = _open_lock(self.home)
        try:
            _lock_fd(fd, self.blocking)
        except BlockingIOError:
            os.close(fd)
            return self
        except BaseException:
            os.close(fd)
            raise
        self._fd, self.acquired = fd, True
        return self

    def __exit__(self, *exc) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the lock
            self._fd, self.acquired = None, False


try:
    import fcntl

    def _open_lock(home: Path) -> int:
        return os.open(home, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))

    def _lock_fd(fd: int, blocking: bool) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
except ImportError:  # Windows
    import msvcrt

    def _open_lock(home: Path) -> int:
        return os.open(home / ".packages.lock", os.O_RDWR | os.O_CREAT, 0o644)

    def _lock_fd(fd: int, blocking: bool) -> None:
        try:
            msvcrt.locking(fd, msvcrt.LK_LOCK if blocking else msvcrt.LK_NBLCK, 1)
        except OSError as exc:
            if not blocking:
                raise BlockingIOError(errno.EAGAIN, "locked") from exc
            raise


def _referenced(registry: Registry) -> list[Path]:
    return [Path(r.path).resolve() for r in registry.plugins()]


def version_dir_of(root: Path, path: str) -> Optional[Path]:
    """``Plugins/{UUID}/<version>`` holding ``path``, or None if it is not under Plugins."""
    try:
        rel = Path(path).resolve().relative_to(root.resolve())
    except ValueError:
        return None
    if len(rel.parts) < 3 or rel.parts[0].startswith("."):
        return None
    return root.resolve() / rel.parts[0] / rel.parts[1]


def discard_unless_referenced(registry: Registry, root: Path, directory: Path) -> None:
    directory = directory.resolve()
    if any(p.is_relative_to(directory) for p in _referenced(registry)):
        return
    discard(root, directory)
    parent = directory.parent
    if parent != root.resolve() and parent.is_dir() and not any(parent.iterdir()):
        try:
            parent.rmdir()
        except OSError:
            pass


def discard(root: Path, directory: Path) -> None:
    """Deletes a directory: an atomic rename into the staging area, then rmtree there, so a
    crash never leaves a half-deleted directory where the registry could point."""
    staging_root = root / STAGING_DIR
    staging_root.mkdir(parents=True, exist_ok=True)
    trash = staging_root / f"trash-{secrets.token_hex(6)}"
    try:
        os.rename(directory, trash)
    except FileNotFoundError:
        return
    fsync_dir(directory.parent)
    checkpoint("discarded")
    shutil.rmtree(trash, ignore_errors=True)


def clean_staging(root: Path) -> None:
    try:
        (root / STAGING_DIR).rmdir()  # only when empty
    except OSError:
        pass


def fsync_dir(path: Path) -> None:
    """Makes a directory's entries durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
