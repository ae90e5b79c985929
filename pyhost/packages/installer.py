"""Installing, updating and removing .dcext packages on a Host.

    result = packages.install(host, "chat_guard.dcext")   # validate, stage, move, ON_INSTALL
    packages.remove(host, result.record.guid)              # ON_UNINSTALL, files and rows gone

Layout, under the host's local data path (what DCConfig ``get_path(PATH_USER_LOCAL)`` gives,
``<home>/local``)::

    Plugins/
        .staging/              extraction and deletion area, emptied at the next host start
        {UUID}/
            <version>-<token>/ one directory per installed version; this is the plugin's
                               install path (DCConfig get_install_path)
                <library>      the platform's Plugin, by its file name (as DC++ installs it)
                <Files...>     the Files, keeping their relative paths

Rules:

- Package operations (and recovery) on one home are serialised by an flock on the home
  directory, so two processes never interleave their steps.
- Nothing is written before the package has passed every check of :mod:`pyhost.dcext` and
  the version check (a same or lower version of an installed UUID is refused).
- The files are extracted into ``.staging`` (same file system), fsynced, then the directory
  is renamed into ``{UUID}/`` in one atomic step, and only then does the registry learn
  about it (Host.install: ON_INSTALL, or for an update registry.update + ON_LOAD_RUNTIME).
- The registry row's ``path`` is the only truth: a version directory is installed iff a row
  points into it. Directories are deleted only once no row points into them, and always by
  an atomic rename into ``.staging`` first. So a SIGKILL at any moment leaves a registry
  whose every path exists; whatever is left over (a staging directory, an unreferenced
  version) is removed by :func:`recover`, which Host.start runs.
- An update goes into a new version directory, so the new library's path differs from the
  old one: glibc's dlopen returns an already-loaded library when given the same path
  string, so reusing the path would silently run the old code. The old version is
  unloaded (ON_UNLOAD) first; if it refuses (stays mapped until shutdown), the update is
  recorded in the registry and the new version loads at the next start, so that two
  versions of one plugin never run side by side. If the new version fails to load, the
  registry is rolled back to the old version, its files are still there, and it is loaded
  again.
"""
from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Union

from pyhost.host import plugin_files as files
from pyhost.host.events import PluginUpdated
from pyhost.host.file_checks import FileTypeError, open_regular
from pyhost.host.loader import NativePlugin, PluginError, PluginMeta
from pyhost.host.plugin_files import recover
from pyhost.host.registry import PluginRecord, UnknownPluginError
from pyhost.packages import dcext
from pyhost.packages.dcext import Limits, Package, Selection
from pyhost.packages.python_package import installed_entry, is_python_entry

if TYPE_CHECKING:
    from pyhost.host.host import Host

__all__ = ["InstallResult", "PackageError", "install", "is_package", "plugins_root",
           "recover", "remove"]

log = logging.getLogger("pyhost.packages")

# Written into each installed version directory: which package, and which file of it is
# the plugin, so that `pyhost repair` can rebuild a lost registry row from the disk alone.
INSTALL_NOTE = ".pyhost-install.json"



class PackageError(PluginError):
    """A package operation was refused or failed and was rolled back; one sentence."""


@dataclass(frozen=True)
class InstallResult:
    """What :func:`install` did.

    ``action`` is "installed", "updated", or "pending" (the update is recorded but the old
    version refused to unload, so the new one loads at the next start).
    """

    action: str
    record: PluginRecord
    package: Package
    selection: Selection
    directory: Path
    previous_version: Optional[float]
    loaded: bool

    def message(self) -> str:
        r = self.record
        what = f"{r.name} {r.version} ({r.guid}) from {self.package.label}, " \
               f"{self.selection.platform}"
        if self.action == "installed":
            return f"installed {what}"
        if self.action == "updated":
            return f"updated {r.name} from {self.previous_version} to {r.version} " \
                   f"({r.guid}) from {self.package.label}, {self.selection.platform}"
        return (f"updated {r.name} from {self.previous_version} to {r.version} "
                f"({r.guid}); version {self.previous_version} refused to unload, so "
                f"{r.version} loads at the next start")


def plugins_root(host: "Host") -> Path:
    """``<local data path>/Plugins`` of a host (not created here)."""
    return files.plugins_root(host.home)


def is_package(path: Union[str, os.PathLike]) -> bool:
    """Whether ``pyhost install`` should treat ``path`` as a package: a .dcext name, or a
    file that starts like a ZIP archive."""
    path = Path(path)
    if path.suffix.lower() == ".dcext":
        return True
    try:
        with open_regular(path, "plugin") as f:  # FileTypeError for a FIFO, a device...
            return f.read(4) in (b"PK\x03\x04", b"PK\x05\x06")
    except FileTypeError:
        if path.is_dir():
            return False
        raise
    except OSError:
        return False


# ---------------------------------------------------------------------------------------
# install / update


def install(host: "Host", source: Union[str, os.PathLike, bytes, Package], *,
            limits: Optional[Limits] = None, name: Optional[str] = None,
            activate: bool = False, isolated: Optional[bool] = None) -> InstallResult:
    """Installs a package, or updates the installed plugin with its UUID to a higher version.

    ``source`` is a path, the package's bytes, or a :class:`~pyhost.dcext.Package` already
    read. Raises :class:`pyhost.dcext.InvalidPackageError` / ``IncompatiblePackageError``
    (nothing written), or :class:`PackageError` (refused, or failed and rolled back).
    ``activate``: see Host.install (an update is loaded even on a host not started).
    ``isolated``: its compiled plugin runs in a process of its own (as Host.install).
    """
    package = source if isinstance(source, Package) else \
        dcext.read_package(source, limits=limits, name=name)
    selection = package.select()
    _refuse_same_or_lower(package, _installed(host, package.uuid))
    root = plugins_root(host)
    created = [d for d in (root.parent, root) if not d.exists()]
    with files.HomeLock(host.home):
        try:
            return _install_locked(host, package, selection, root, activate, isolated)
        finally:
            files.clean_staging(root)
            for directory in reversed(created):  # only if nothing got installed
                try:
                    directory.rmdir()
                except OSError:
                    pass


def _install_locked(host: "Host", package: Package, selection: Selection,
                    root: Path, activate: bool = False,
                    isolated: Optional[bool] = None) -> InstallResult:
    files.checkpoint("locked")
    existing = _installed(host, package.uuid)  # again: another process may have won
    _refuse_same_or_lower(package, existing)
    package_dir = root / (existing.guid if existing is not None else package.uuid)
    version_dir = package_dir / f"{package.version}-{secrets.token_hex(4)}"
    try:
        staging = _extract(root, package, selection)
    except OSError as exc:
        raise _write_failure(package, exc) from None
    files.checkpoint("extracted")
    try:
        version_dir.parent.mkdir(exist_ok=True)
        os.rename(staging, version_dir)
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(exc, OSError):
            raise _write_failure(package, exc) from None
        raise
    files.fsync_dir(version_dir.parent)
    files.fsync_dir(staging.parent)
    files.checkpoint("moved")
    library = (version_dir / selection.library).resolve()
    if is_python_entry(selection.library):  # the module, or its package directory
        library = installed_entry(version_dir.resolve(), selection.library)
    try:
        meta = _check_identity(package, library, host if isolated else None)
        files.checkpoint("checked")
        if existing is None:
            result = _install_new(host, package, selection, library, isolated)
        else:
            result = _update(host, package, selection, library, existing, meta, activate,
                             isolated)
    except BaseException:
        files.discard_unless_referenced(host.registry, root, version_dir)
        raise
    files.checkpoint("committed")
    if existing is not None:
        old_dir = files.version_dir_of(root, existing.path)
        if old_dir is not None and old_dir != version_dir.resolve():
            files.discard_unless_referenced(host.registry, root, old_dir)
    return result


def _write_failure(package: Package, exc: OSError) -> PackageError:
    """A file system refusal while writing the package's files, as one sentence."""
    reason = (exc.strerror or str(exc)).lower()
    return PackageError(f"{package.label}: its files cannot be written ({reason}); nothing "
                        "was installed.")


def _installed(host: "Host", guid: str) -> Optional[PluginRecord]:
    try:
        return host.registry.get(guid)
    except UnknownPluginError:
        return None


def _refuse_same_or_lower(package: Package, existing: Optional[PluginRecord]) -> None:
    if existing is not None and package.version_number <= existing.version:
        raise PackageError(
            f"{package.label}: {existing.name} {existing.version} is already installed; "
            f"refusing version {package.version} (an update needs a higher version).")


def _check_identity(package: Package, library: Path, isolating: Optional["Host"] = None
                    ) -> PluginMeta:
    """Opens the extracted library (pluginInit only; in a runner process when
    ``isolating``) and checks it is what info.xml says."""
    plugin = _open(library) if isolating is None or _kind(library) != "native" else \
        isolating.isolation.open(library)
    try:
        meta = plugin.meta
    finally:
        plugin.close()
    if meta.guid != package.uuid:
        raise PackageError(f"{package.label}: the plugin reports the guid {meta.guid} but "
                           f"info.xml says {package.uuid}; nothing was installed.")
    if meta.version != package.version_number:
        raise PackageError(f"{package.label}: the plugin reports version {meta.version} but "
                           f"info.xml says {package.version}; nothing was installed.")
    return meta


def _kind(library: Path) -> str:
    """"python" for a Python plugin's entry (a .py module or a package directory)."""
    return "python" if library.suffix == ".py" or library.is_dir() else "native"


def _open(library: Path):
    if _kind(library) == "python":
        from pyhost.host.python_loader import open_plugin
        return open_plugin(library)
    return NativePlugin.open(library)


def _install_new(host: "Host", package: Package, selection: Selection,
                 library: Path, isolated: Optional[bool] = None) -> InstallResult:
    try:
        record = host.install(library, kind=_kind(library), isolated=isolated)
    except PluginError as exc:
        raise PackageError(f"{package.label}: {str(exc).rstrip('.')}; nothing was "
                           "installed.") from exc
    return InstallResult("installed", record, package, selection, library.parent, None,
                         host.is_loaded(record.guid))


def _update(host: "Host", package: Package, selection: Selection, library: Path,
            existing: PluginRecord, meta: PluginMeta, activate: bool = False,
            isolated: Optional[bool] = None) -> InstallResult:
    guid = existing.guid
    was_loaded = host.is_loaded(guid)
    gone = host.unload(guid) if was_loaded else True
    files.checkpoint("unloaded")
    if not gone:
        # The old code stays mapped (and subscribed) until shutdown: record the update, and
        # let the new version load at the next start rather than run both side by side.
        record = host.registry.update(PluginRecord(
            guid=guid, name=meta.name, version=meta.version, author=meta.author,
            description=meta.description, website=meta.website, path=str(library),
            kind=_kind(library)))
        host.events.emit(PluginUpdated, guid=guid, name=meta.name,
                         old_version=existing.version, new_version=meta.version)
        return InstallResult("pending", record, package, selection, library.parent,
                             existing.version, False)
    try:
        record = host.install(library, kind=_kind(library), activate=activate,
                              isolated=isolated)
    except BaseException as exc:
        _restore(host, existing, was_loaded)
        if isinstance(exc, PluginError):
            reason = str(exc).replace(" was installed but refused", " refused")
            raise PackageError(
                f"{package.label}: the update was rolled back and {existing.name} "
                f"{existing.version} stays installed: {reason}") from exc
        raise
    return InstallResult("updated", record, package, selection, library.parent,
                         existing.version, host.is_loaded(guid))


def _restore(host: "Host", existing: PluginRecord, was_loaded: bool) -> None:
    """Puts the old version back in the registry (and loads it again if it was loaded)."""
    try:
        if host.registry.get(existing.guid).path != existing.path:
            host.registry.update(existing)
    except UnknownPluginError:
        return
    if was_loaded and host.running and not host.is_loaded(existing.guid):
        try:
            host.enable(existing.guid)
        except PluginError as exc:
            log.error("could not reload %s %s after a failed update: %s", existing.name,
                      existing.version, exc)


# ---------------------------------------------------------------------------------------
# remove


def remove(host: "Host", guid: str, *, keep_settings: bool = False) -> PluginRecord:
    """Removes an installed plugin (ON_UNINSTALL, registry row, settings unless
    ``keep_settings``), and its package files when it was installed from a package.
    A plugin installed as a bare library keeps its file (it is the user's)."""
    root = plugins_root(host)
    record = host.plugin(guid)  # PluginError for an unknown guid
    if files.version_dir_of(root, record.path) is None:
        return host.remove(guid, keep_settings=keep_settings)
    with files.HomeLock(host.home):
        files.checkpoint("locked")
        record = host.plugin(guid)
        version_dir = files.version_dir_of(root, record.path)
        removed = host.remove(guid, keep_settings=keep_settings)
        files.checkpoint("unregistered")
        if version_dir is not None:
            package_dir = version_dir.parent
            files.discard_unless_referenced(host.registry, root, package_dir)
        files.clean_staging(root)
        return removed


def _extract(root: Path, package: Package, selection: Selection) -> Path:
    """Writes the selected files into a fresh staging directory (fsynced) and returns it."""
    staging_root = root / files.STAGING_DIR
    staging_root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="install-", dir=staging_root))
    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) \
            | getattr(os, "O_BINARY", 0)
        directories = {staging}
        for target, member in selection.files.items():
            dest = staging.joinpath(*target.split("/"))
            if dest.parent not in directories:
                dest.parent.mkdir(parents=True, exist_ok=True)
                directories.update([dest.parent, *dest.parent.parents])
            mode = 0o755 if target == selection.library else 0o644
            fd = os.open(dest, flags, mode)
            with os.fdopen(fd, "wb") as f:
                f.write(package.read(member))
                f.flush()
                os.fsync(f.fileno())
            files.checkpoint("extract-file")
        note = {"uuid": package.uuid, "name": package.name, "version": package.version,
                "platform": selection.platform, "library": selection.library}
        if INSTALL_NOTE not in selection.files:  # a package's own file of that name wins
            fd = os.open(staging / INSTALL_NOTE, flags, 0o644)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(note, f)
                f.flush()
                os.fsync(f.fileno())
        for directory in sorted(d for d in directories if d.is_relative_to(staging)):
            files.fsync_dir(directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return staging


