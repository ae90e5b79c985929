"""``pyhost repair``: make the registry account for the packages on disk again.

1. A damaged registry is salvaged: what can still be read goes into a fresh file, and the
   damaged one is kept beside it (``registry.sqlite3.damaged-<time>``).
2. A missing or empty registry starts empty.
3. Every installed package directory (``Plugins/{UUID}/<version>/``) that no row accounts
   for gets its row back, from the install note the installer leaves in each version
   directory (or, for older installs, the one library in it that exports pluginInit, or
   its Python entry) and the plugin's own MetaData (pluginInit only: no lifecycle state is
   sent). With ``move_aside`` those directories are moved to ``local/Plugins-set-aside/``
   instead, untouched.

Runs under the home's package lock, so never beside another package operation. No plugin
is loaded or run beyond its pluginInit (a Python plugin's module is imported).
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from pyhost.host import binary
from pyhost.host import plugin_files as files
from pyhost.host.errors import PluginError
from pyhost.host.home import REGISTRY_FILE
from pyhost.host.registry import (
    PluginRecord,
    Registry,
    RegistryDamagedError,
    file_state,
    rebuild,
    salvage,
)
from pyhost.packages.installer import INSTALL_NOTE, _kind, _open
from pyhost.packages.python_package import is_python_entry

ASIDE_DIR = "Plugins-set-aside"


class RepairError(PluginError):
    """The repair cannot be done now (another process holds the package lock); one sentence."""


@dataclass
class RepairReport:
    actions: list[str] = field(default_factory=list)   # what was done, one sentence each
    problems: list[str] = field(default_factory=list)  # what could not be, one sentence each


def repair(home: Path, move_aside: bool = False) -> RepairReport:
    report = RepairReport()
    path = home / REGISTRY_FILE
    stamp = time.strftime("%Y%m%dT%H%M%S")
    with files.HomeLock(home, blocking=False) as lock:
        if not lock.acquired:
            raise RepairError("Another pyhost process is installing or removing a package "
                              "in this home; run `pyhost repair` again when it is done.")
        state = file_state(str(path))
        if state == "present":
            try:
                Registry(path).close()
            except RegistryDamagedError as exc:
                report.actions.append(f"The registry was damaged: {exc}")
                saved = salvage(str(path))
                report.problems.extend(saved.problems)
                aside = rebuild(str(path), saved, stamp)
                report.actions.append(
                    f"Recovered {len(saved.records)} plugin row(s) and {len(saved.settings)} "
                    f"setting(s) into a new registry; the damaged file is kept as {aside}.")
        else:
            report.actions.append(f"The registry {path} was {state}; starting a new one.")
        with Registry(path) as registry:
            _account_for_packages(home, registry, move_aside, stamp, report)
            for record in registry.plugins():
                if not record.path.startswith("entry-point:") and \
                        not Path(record.path).exists():
                    report.problems.append(
                        f"{record.name} ({record.guid}) points to {record.path}, which does "
                        f"not exist; `pyhost remove {record.guid}` removes its row.")
    if not report.actions:
        report.actions.append("The registry is healthy and accounts for every installed "
                              "package; nothing to repair.")
    return report


def _account_for_packages(home: Path, registry: Registry, move_aside: bool, stamp: str,
                          report: RepairReport) -> None:
    root = files.plugins_root(home)
    referenced = [Path(r.path).resolve() for r in registry.plugins()]
    for package_dir in files.installed_package_dirs(root):
        real = package_dir.resolve()
        if any(p.is_relative_to(real) for p in referenced):
            continue
        if move_aside:
            target = root.parent / ASIDE_DIR / f"{package_dir.name}-{stamp}"
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(package_dir, target)
            report.actions.append(f"Moved the package {package_dir.name} aside to {target}.")
            continue
        record = _record_from_disk(package_dir, report)
        if record is None:
            continue
        if record.guid in registry:
            existing = registry.get(record.guid)
            report.problems.append(
                f"{package_dir} holds {record.name} {record.version}, but its guid is "
                f"installed from {existing.path}; left as it is.")
            continue
        added = registry.add(record)
        report.actions.append(f"Rebuilt the row of {added.name} {added.version} "
                              f"({added.guid}) from {Path(added.path).parent}.")


def _record_from_disk(package_dir: Path, report: RepairReport) -> Optional[PluginRecord]:
    """The record of the newest version directory of a package that opens and says it is
    the plugin the directory is named after."""
    versions = sorted((v for v in package_dir.iterdir() if v.is_dir() and not v.is_symlink()),
                      key=lambda v: _version_of(v.name), reverse=True)
    for version_dir in versions:
        library = _library_in(version_dir)
        if library is None:
            report.problems.append(f"{version_dir} holds no plugin this host can load.")
            continue
        try:
            plugin = _open(library)
        except PluginError as exc:
            report.problems.append(f"{version_dir}: {exc}")
            continue
        try:
            meta = plugin.meta
        finally:
            plugin.close()
        if meta.guid.strip("{}").lower() != package_dir.name.strip("{}").lower():
            report.problems.append(f"{library} reports the guid {meta.guid}, not the "
                                   f"{package_dir.name} of its directory; not restored.")
            continue
        return PluginRecord(guid=meta.guid, name=meta.name, version=meta.version,
                            author=meta.author, description=meta.description,
                            website=meta.website, path=str(library), kind=_kind(library),
                            dependencies=meta.dependencies)
    return None


def _version_of(name: str) -> float:
    try:
        return float(name.split("-", 1)[0])
    except ValueError:
        return -1.0


def _library_in(version_dir: Path) -> Optional[Path]:
    note = version_dir / INSTALL_NOTE
    try:
        library = json.loads(note.read_text(encoding="utf-8"))["library"]
        if isinstance(library, str) and library and ".." not in Path(library).parts:
            path = version_dir / library
            if is_python_entry(library):
                from pyhost.packages.python_package import installed_entry
                path = installed_entry(version_dir, library)
            if path.exists():
                return path.resolve()
    except (OSError, ValueError, KeyError, TypeError):
        pass  # installed before the note existed, or the note is damaged: look
    found = []
    for candidate in sorted(version_dir.rglob("*")):
        if candidate.is_file() and not candidate.is_symlink():
            try:
                binary.check_loadable(candidate)
            except (binary.BinaryError, OSError):
                continue
            found.append(candidate)
    if len(found) == 1:
        return found[0].resolve()
    python = [p for p in version_dir.iterdir() if p.suffix == ".py" and p.is_file()]
    python += [p for p in version_dir.iterdir() if (p / "__init__.py").is_file()]
    return python[0].resolve() if len(found) == 0 and len(python) == 1 else None


def aside_root(home: Path) -> Path:
    return files.plugins_root(home).parent / ASIDE_DIR


__all__ = ["RepairError", "RepairReport", "aside_root", "repair"]
