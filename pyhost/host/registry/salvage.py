"""Reading what a damaged registry file still holds, and writing it into a fresh one.

Used by ``pyhost repair``. The damaged file is never written: it is copied (with its
write-ahead log) and read from the copy, a table at a time and, where a scan breaks on a
damaged page, row by row (plugins by rowid; settings in both key orders and per plugin).
Every row is validated as the registry would validate it; what fails is reported, not
kept.
"""

import dataclasses
import os
import shutil
import sqlite3
import tempfile

from .opening import file_state
from .records import (
    _BASE_COLUMNS,
    PluginRecord,
    RegistryError,
    _check_setting,
    _dependencies_from_db,
    _setting_from_db,
)
from .store import Registry

_PROBE_ROWIDS = 20_000  # plugins rows probed one by one when the table scan breaks


@dataclasses.dataclass
class Salvaged:
    records: list  # PluginRecord, in their old load order
    settings: list  # (guid, key, type, value) as the registry API takes them
    problems: list  # one sentence each

    @property
    def empty(self) -> bool:
        return not self.records and not self.settings


def salvage(path: str) -> Salvaged:
    """Whatever can be read from the registry file at ``path`` (which is not modified)."""
    result = Salvaged([], [], [])
    if file_state(path) != "present":
        return result
    with tempfile.TemporaryDirectory(prefix="pyhost-salvage-") as scratch:
        copy = os.path.join(scratch, "registry.sqlite3")
        shutil.copyfile(path, copy)
        if os.path.exists(path + "-wal"):
            shutil.copyfile(path + "-wal", copy + "-wal")
        try:
            conn = sqlite3.connect(copy, isolation_level=None)
        except sqlite3.Error as exc:
            result.problems.append(f"SQLite cannot open the file at all ({exc}).")
            return result
        try:
            rows = _plugin_rows(conn, result.problems)
            _keep_plugins(rows, result)
            _keep_settings(_setting_rows(conn, [r.guid for r in result.records],
                                         result.problems), result)
        finally:
            conn.close()
    return result


def _plugin_rows(conn, problems) -> list:
    found: dict[int, tuple] = {}
    for extra in (", load_state, dependencies", ""):
        columns = "rowid, " + _BASE_COLUMNS + extra
        try:
            for row in conn.execute(f"SELECT {columns} FROM plugins"):
                found[row[0]] = row[1:]
            return list(found.values())
        except sqlite3.OperationalError as exc:
            if "no such column" in str(exc) and extra:
                continue  # a version 1 file
            problems.append(f"The plugins table cannot be read ({exc}).")
            return []
        except sqlite3.DatabaseError as exc:
            problems.append(f"The plugins table is damaged ({exc}); reading it row by row.")
            for rowid in range(1, _PROBE_ROWIDS):
                try:
                    row = conn.execute(f"SELECT {columns} FROM plugins WHERE rowid = ?",
                                       (rowid,)).fetchone()
                except sqlite3.DatabaseError:
                    continue
                if row is not None:
                    found[row[0]] = row[1:]
            return list(found.values())
    return list(found.values())


def _keep_plugins(rows, result: Salvaged) -> None:
    kept: dict[str, PluginRecord] = {}
    for row in sorted(rows, key=lambda r: (r[9] if isinstance(r[9], int) else 1 << 62)):
        (guid, name, version, author, description, website, path, kind, enabled, _, 
         installed_at, *later) = row
        deps = _dependencies_from_db(later[1]) if len(later) > 1 else ()
        try:
            record = PluginRecord(
                guid=guid, name=name, version=version, author=author or "",
                description=description or "", website=website or "", path=path, kind=kind,
                enabled=bool(enabled) if enabled in (0, 1) else True,
                installed_at=installed_at if isinstance(installed_at, str) else None,
                load_state="crashed" if later and later[0] == "crashed" else None,
                dependencies=deps)
        except (RegistryError, TypeError, ValueError) as exc:
            result.problems.append(f"A plugin row could not be kept: {exc}")
            continue
        key = record.guid.lower()
        if key not in kept or record.version > kept[key].version:
            kept[key] = record
    result.records = list(kept.values())


def _setting_rows(conn, guids, problems) -> list:
    found: dict[tuple, tuple] = {}
    queries = [("SELECT guid, key, type, value FROM settings", ()),
               ("SELECT guid, key, type, value FROM settings ORDER BY guid DESC, key DESC",
                ())]
    queries += [("SELECT guid, key, type, value FROM settings WHERE guid = ?", (g,))
                for g in [*guids, "CoreSetup"]]
    broken = False
    for sql, params in queries:
        try:
            for row in conn.execute(sql, params):
                found[(str(row[0]).lower(), row[1])] = row
            if not broken and not params:
                break  # a whole scan worked: that is everything
        except sqlite3.OperationalError as exc:
            problems.append(f"The settings table cannot be read ({exc}).")
            return []
        except sqlite3.DatabaseError as exc:
            if not broken:
                problems.append(f"The settings table is damaged ({exc}); reading what "
                                "its undamaged pages hold.")
            broken = True
    return list(found.values())


def _keep_settings(rows, result: Salvaged) -> None:
    for guid, key, type_, value in rows:
        try:
            if type_ == "bool" and value in (0, 1):
                value = bool(value)
            _check_setting(guid, key, type_, value)
        except (RegistryError, TypeError, ValueError) as exc:
            result.problems.append(f"A setting could not be kept: {exc}")
            continue
        result.settings.append((guid, key, *_setting_from_db(type_, value)))


def rebuild(path: str, salvaged: Salvaged, stamp: str) -> str | None:
    """Writes ``salvaged`` into a fresh registry that replaces the file at ``path``; the old
    file (and its write-ahead log) is kept beside it as ``<path>.damaged-<stamp>``, whose
    name is returned (None when there was no old file)."""
    fresh = path + ".rebuilt"
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(fresh + suffix):
            os.unlink(fresh + suffix)
    with Registry(fresh) as registry:
        for record in salvaged.records:
            registry.add(dataclasses.replace(record, position=None))
        for guid, key, type_, value in salvaged.settings:
            registry.set_setting(guid, key, type_, value)
    aside = None
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            aside = f"{path}.damaged-{stamp}"
            os.replace(path + suffix, aside + suffix)
    os.replace(fresh, path)
    directory = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return aside
