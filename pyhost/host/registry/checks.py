"""Checking a registry database: SQLite's own checks plus the registry's invariants."""

import sqlite3

from .records import SETTING_TYPES, InvalidValueError, _check_setting


def check_integrity(conn: sqlite3.Connection, schema_version: int) -> list[str]:
    """Problems found in the database, one sentence each; empty when all is well.

    Checks SQLite's own ``integrity_check``, the schema version, that positions are
    exactly 0 .. n-1, that enabled flags are 0/1, and that plugin kinds, versions,
    setting types and setting values are valid.
    """
    problems: list[str] = []
    conn.execute("BEGIN")  # one snapshot for every check below
    try:
        rows = [r[0] for r in conn.execute("PRAGMA integrity_check")]
        if rows != ["ok"]:
            problems.extend(f"SQLite integrity check: {r}." for r in rows)
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version != schema_version:
            problems.append(f"The schema version is {version}, expected {schema_version}.")
        positions = [r[0] for r in conn.execute(
            "SELECT position FROM plugins ORDER BY position")]
        if positions != list(range(len(positions))):
            problems.append(
                f"Plugin positions are not exactly 0..{len(positions) - 1}: {positions}.")
        for (guid, enabled) in conn.execute(
            "SELECT guid, enabled FROM plugins "
            "WHERE typeof(enabled) != 'integer' OR enabled NOT IN (0, 1)"
        ):
            problems.append(f"Plugin {guid!r} has enabled flag {enabled!r}, not 0 or 1.")
        for (guid, kind) in conn.execute(
            "SELECT guid, kind FROM plugins WHERE kind NOT IN ('native', 'python')"
        ):
            problems.append(f"Plugin {guid!r} has unknown kind {kind!r}.")
        for (guid, version_) in conn.execute(
            "SELECT guid, version FROM plugins WHERE typeof(version) != 'real'"
        ):
            problems.append(f"Plugin {guid!r} has a non-numeric version {version_!r}.")
        for (guid, key, type_, value) in conn.execute(
            "SELECT guid, key, type, value FROM settings"
        ):
            if type_ not in SETTING_TYPES:
                problems.append(f"Setting {key!r} of {guid!r} has unknown type {type_!r}.")
                continue
            if type_ == "bool" and isinstance(value, int):
                value = bool(value) if value in (0, 1) else value
            try:
                _check_setting(guid, key, type_, value)
            except InvalidValueError as exc:
                problems.append(str(exc))
    finally:
        conn.execute("COMMIT")
    return problems
