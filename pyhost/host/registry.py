"""The persistent registry: installed plugins, their load order and their settings.

One SQLite database file (standard library ``sqlite3`` only) holds two tables:

``plugins``
    one row per installed plugin, keyed by its guid: the metadata its ``pluginInit``
    reported (name, version, author, description, website), the loadable file (``path``),
    its ``kind`` (``'native'`` or ``'python'``), whether it is ``enabled``, its ``position``
    in the user's load order (unique and dense: 0 .. n-1) and when it was installed.

``settings``
    the values plugins store through DCConfig ``set_cfg``, keyed by (guid, key), each with
    its DC type (``'string'``, ``'int'``, ``'bool'``, ``'int64'``). There is deliberately no
    foreign key to ``plugins``: settings outlive an update, may be kept by
    ``remove(guid, keep_settings=True)``, and the host keeps its own under the guid
    ``"CoreSetup"``.

Durability over speed: the database runs in WAL mode with ``synchronous=FULL``, and every
operation is a single ``BEGIN IMMEDIATE`` transaction, so killing the process at any moment
leaves either the whole operation or none of it (tests/test_registry.py kills a child
process at random points to check exactly that).

Threads: DCConfig calls arrive from plugin threads, so one connection is shared
(``check_same_thread=False``) and every use of it is serialised by one lock.

This module imports nothing from the rest of pyhost.
"""

import dataclasses
import math
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone

__all__ = [
    "CORE_SETUP_GUID",
    "KINDS",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "SETTING_TYPES",
    "DuplicatePluginError",
    "InvalidValueError",
    "PluginRecord",
    "Registry",
    "RegistryError",
    "RegistryVersionError",
    "UnknownPluginError",
]

#: The pseudo plugin guid under which the host keeps its own settings (ABI: ConfigType UNKNOWN).
CORE_SETUP_GUID = "CoreSetup"
#: What a plugin row's ``kind`` may be.
KINDS = ("native", "python")
#: The DC setting types (DCConfig ConfigType STRING, INT, BOOL, INT64).
SETTING_TYPES = ("string", "int", "bool", "int64")

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

_BUSY_TIMEOUT_S = 30.0


# ---------------------------------------------------------------------------------------
# Errors


class RegistryError(Exception):
    """Base class of every error the registry raises on purpose."""


class UnknownPluginError(RegistryError, KeyError):
    """No plugin with this guid is installed."""

    def __init__(self, guid: str):
        super().__init__(guid)
        self.guid = guid

    def __str__(self) -> str:  # KeyError would print the repr of its argument
        return f"No plugin with guid {self.guid!r} is installed."


class DuplicatePluginError(RegistryError):
    """``add`` of a guid that is already installed (an update must use ``update``)."""

    def __init__(self, guid: str):
        super().__init__(f"A plugin with guid {guid!r} is already installed.")
        self.guid = guid


class InvalidValueError(RegistryError, ValueError):
    """A record field or a setting that the registry refuses to store."""


class RegistryVersionError(RegistryError):
    """The database was written by a newer pyhost (its schema version is unknown here)."""


# ---------------------------------------------------------------------------------------
# Records


def _check_text(what: str, value: object, *, empty_ok: bool = True) -> str:
    if not isinstance(value, str):
        raise InvalidValueError(f"{what} must be a string, not {type(value).__name__}.")
    if not empty_ok:  # guids, setting names, paths: C strings in the ABI
        if not value:
            raise InvalidValueError(f"{what} must not be empty.")
        if "\0" in value:
            raise InvalidValueError(f"{what} must not contain a NUL character.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidValueError(
            f"{what} is not valid Unicode text (it contains a lone surrogate)."
        ) from None
    return value


@dataclasses.dataclass(frozen=True, kw_only=True)
class PluginRecord:
    """One installed plugin (one row of the ``plugins`` table).

    ``position`` and ``installed_at`` are owned by the registry: ``add`` appends the plugin
    at the end of the load order and stamps ``installed_at`` with the current UTC time
    unless one is given; ``update`` keeps both (and ``enabled``) from the existing row.
    """

    guid: str
    name: str
    version: float
    author: str = ""
    description: str = ""
    website: str = ""
    path: str
    kind: str = "native"
    enabled: bool = True
    position: int | None = None
    installed_at: str | None = None

    def __post_init__(self) -> None:
        _check_text("The plugin guid", self.guid, empty_ok=False)
        _check_text(f"The name of plugin {self.guid!r}", self.name)
        for attr in ("author", "description", "website"):
            _check_text(f"The {attr} of plugin {self.guid!r}", getattr(self, attr))
        if isinstance(self.path, os.PathLike):
            object.__setattr__(self, "path", os.fspath(self.path))
        _check_text(f"The path of plugin {self.guid!r}", self.path, empty_ok=False)
        version = self.version
        if isinstance(version, bool) or not isinstance(version, (int, float)):
            raise InvalidValueError(
                f"The version of plugin {self.guid!r} must be a number, "
                f"not {type(version).__name__}."
            )
        version = float(version)
        if not math.isfinite(version):
            raise InvalidValueError(
                f"The version of plugin {self.guid!r} must be a finite number, not {version}."
            )
        object.__setattr__(self, "version", version)
        if self.kind not in KINDS:
            raise InvalidValueError(
                f"The kind of plugin {self.guid!r} must be 'native' or 'python', "
                f"not {self.kind!r}."
            )
        if not isinstance(self.enabled, bool):
            raise InvalidValueError(
                f"The enabled flag of plugin {self.guid!r} must be True or False, "
                f"not {self.enabled!r}."
            )
        if self.position is not None and (
            isinstance(self.position, bool)
            or not isinstance(self.position, int)
            or self.position < 0
        ):
            raise InvalidValueError(
                f"The position of plugin {self.guid!r} must be a non-negative integer, "
                f"not {self.position!r}."
            )
        if self.installed_at is not None:
            _check_text(f"The install time of plugin {self.guid!r}", self.installed_at)


_PLUGIN_COLUMNS = (
    "guid, name, version, author, description, website, path, kind, enabled, position, "
    "installed_at"
)


def _record_from_row(row: Sequence) -> PluginRecord:
    (guid, name, version, author, description, website, path, kind, enabled, position,
     installed_at) = row
    return PluginRecord(
        guid=guid, name=name, version=version, author=author, description=description,
        website=website, path=path, kind=kind, enabled=bool(enabled), position=position,
        installed_at=installed_at,
    )


def _utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


# ---------------------------------------------------------------------------------------
# Settings values


def _check_setting(guid: object, key: object, type_: object, value: object) -> object:
    """Validate one setting; return the value as it is stored (bool -> 0/1)."""
    _check_text("The guid of a setting", guid, empty_ok=False)
    _check_text(f"The name of a setting of {guid!r}", key, empty_ok=False)
    where = f"setting {key!r} of {guid!r}"
    if type_ not in SETTING_TYPES:
        raise InvalidValueError(
            f"The type of {where} must be one of {', '.join(SETTING_TYPES)}, not {type_!r}."
        )
    if type_ == "string":
        return _check_text(f"The value of string {where}", value)
    if type_ == "bool":
        if not isinstance(value, bool):
            raise InvalidValueError(
                f"The value of bool {where} must be True or False, not {value!r}."
            )
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidValueError(
            f"The value of {type_} {where} must be an integer, not {type(value).__name__}."
        )
    lo, hi = (INT32_MIN, INT32_MAX) if type_ == "int" else (INT64_MIN, INT64_MAX)
    if not lo <= value <= hi:
        raise InvalidValueError(
            f"The value {value} of {type_} {where} is outside the {type_} range "
            f"{lo} .. {hi}."
        )
    return int(value)


def _setting_from_db(type_: str, value: object) -> tuple[str, object]:
    return (type_, bool(value)) if type_ == "bool" else (type_, value)


# ---------------------------------------------------------------------------------------
# Schema and migrations
#
# MIGRATIONS[n] upgrades a database from schema version n to n + 1; it runs inside the
# opening transaction together with the ``PRAGMA user_version`` bump, so an interrupted
# upgrade leaves the old version intact. To change the schema, append a function: never
# edit one that has shipped. (No executescript() here: it would COMMIT mid-transaction.)

_SCHEMA_V1 = (
    """
    CREATE TABLE plugins (
        guid         TEXT    NOT NULL PRIMARY KEY CHECK (guid <> ''),
        name         TEXT    NOT NULL,
        version      REAL    NOT NULL,
        author       TEXT    NOT NULL DEFAULT '',
        description  TEXT    NOT NULL DEFAULT '',
        website      TEXT    NOT NULL DEFAULT '',
        path         TEXT    NOT NULL,
        kind         TEXT    NOT NULL CHECK (kind IN ('native', 'python')),
        enabled      INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
        position     INTEGER NOT NULL UNIQUE,
        installed_at TEXT    NOT NULL
    )
    """,
    # No foreign key to plugins on purpose: settings outlive updates, removals with
    # keep_settings, and include the host's own ("CoreSetup").
    """
    CREATE TABLE settings (
        guid  TEXT NOT NULL CHECK (guid <> ''),
        key   TEXT NOT NULL CHECK (key <> ''),
        type  TEXT NOT NULL CHECK (type IN ('string', 'int', 'bool', 'int64')),
        value      NOT NULL,  -- no declared type = no affinity: stored exactly as bound
        PRIMARY KEY (guid, key),
        CHECK (
            (type = 'string' AND typeof(value) = 'text')
            OR (type = 'int' AND typeof(value) = 'integer'
                AND value BETWEEN -2147483648 AND 2147483647)
            OR (type = 'bool' AND typeof(value) = 'integer' AND value IN (0, 1))
            OR (type = 'int64' AND typeof(value) = 'integer')
        )
    ) WITHOUT ROWID
    """,
)


def _migrate_0_to_1(conn: sqlite3.Connection) -> None:
    for statement in _SCHEMA_V1:
        conn.execute(statement)


#: Schema upgrade steps; ``MIGRATIONS[n]`` takes a connection from version n to n + 1.
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_migrate_0_to_1,)
#: The schema version this module writes (stored in ``PRAGMA user_version``).
SCHEMA_VERSION = len(MIGRATIONS)


# ---------------------------------------------------------------------------------------
# The registry


class Registry:
    """The registry database at ``path`` (created, with its parent directory, if missing).

    Every public method is one transaction and is safe to call from any thread.
    Use as a context manager, or call ``close()``.
    """

    #: Override in a subclass (or tests) to add schema steps; see ``MIGRATIONS``.
    migrations: Sequence[Callable[[sqlite3.Connection], None]] = MIGRATIONS

    def __init__(self, path: str | os.PathLike[str]):
        self.path = os.fspath(path)
        self._lock = threading.RLock()
        in_memory = self.path == ":memory:" or self.path.startswith("file::memory:")
        if not in_memory:
            parent = os.path.dirname(os.path.abspath(self.path))
            os.makedirs(parent, exist_ok=True)
        try:
            conn = sqlite3.connect(
                self.path,
                timeout=_BUSY_TIMEOUT_S,
                isolation_level=None,  # we issue BEGIN/COMMIT ourselves
                check_same_thread=False,
            )
        except sqlite3.Error as exc:
            raise RegistryError(f"Cannot open the registry {self.path}: {exc}.") from exc
        self._conn: sqlite3.Connection | None = conn
        try:
            try:
                mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
                conn.execute("PRAGMA synchronous=FULL")
                conn.execute("PRAGMA foreign_keys=ON")
            except sqlite3.DatabaseError as exc:
                raise RegistryError(
                    f"{self.path} is not a pyhost registry (SQLite says: {exc})."
                ) from exc
            if mode.lower() != "wal" and not in_memory:
                raise RegistryError(
                    f"The registry {self.path} cannot use SQLite's WAL journal "
                    f"(got {mode!r}); is it on a network file system?"
                )
            self.journal_mode = mode.lower()
            self._migrate()
        except BaseException:
            self._conn = None
            conn.close()
            raise

    # -- lifecycle -------------------------------------------------------------------

    def close(self) -> None:
        """Close the database (idempotent). Later calls raise RegistryError."""
        with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None:
                conn.close()

    def __enter__(self) -> "Registry":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._conn is None else "open"
        return f"<Registry {self.path!r} ({state})>"

    @property
    def schema_version(self) -> int:
        """The schema version this class writes: the number of migration steps."""
        return len(self.migrations)

    def _migrate(self) -> None:
        target = self.schema_version
        with self._read() as conn:
            current = conn.execute("PRAGMA user_version").fetchone()[0]
        if current == target:
            return
        with self._write() as conn:
            # Re-read under the write lock: another process may have migrated meanwhile.
            current = conn.execute("PRAGMA user_version").fetchone()[0]
            if current > target:
                raise RegistryVersionError(
                    f"The registry {self.path} has schema version {current}, newer than "
                    f"the {target} this pyhost understands; upgrade pyhost."
                )
            for step in range(current, target):
                self.migrations[step](conn)
            conn.execute(f"PRAGMA user_version = {int(target)}")

    # -- transactions ----------------------------------------------------------------

    def _require_open(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RegistryError(f"The registry {self.path} is closed.")
        return self._conn

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            conn = self._require_open()
            try:
                yield conn
            except sqlite3.Error as exc:
                raise RegistryError(f"Reading the registry {self.path} failed: {exc}.") from exc

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: BEGIN IMMEDIATE ... COMMIT, ROLLBACK on any exception."""
        with self._lock:
            conn = self._require_open()
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise RegistryError(
                    f"Cannot write to the registry {self.path}: {exc}."
                ) from exc
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise RegistryError(
                        f"Writing to the registry {self.path} failed: {exc}."
                    ) from exc
                raise

    @staticmethod
    def _position_of(conn: sqlite3.Connection, guid: str) -> int:
        row = conn.execute("SELECT position FROM plugins WHERE guid = ?", (guid,)).fetchone()
        if row is None:
            raise UnknownPluginError(guid)
        return row[0]

    # -- plugins ---------------------------------------------------------------------

    def add(self, record: PluginRecord) -> PluginRecord:
        """Install ``record`` at the end of the load order; return the stored row.

        ``record.position`` is ignored; ``installed_at`` defaults to now.
        Raises DuplicatePluginError if the guid is already installed.
        """
        installed_at = record.installed_at or _utc_now()
        with self._write() as conn:
            if conn.execute("SELECT 1 FROM plugins WHERE guid = ?", (record.guid,)).fetchone():
                raise DuplicatePluginError(record.guid)
            position = conn.execute("SELECT count(*) FROM plugins").fetchone()[0]
            conn.execute(
                f"INSERT INTO plugins ({_PLUGIN_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (record.guid, record.name, record.version, record.author,
                 record.description, record.website, record.path, record.kind,
                 int(record.enabled), position, installed_at),
            )
        return dataclasses.replace(record, position=position, installed_at=installed_at)

    def update(self, record: PluginRecord) -> PluginRecord:
        """Replace the metadata, path and kind of an installed plugin; return the stored row.

        ``enabled``, ``position``, ``installed_at`` and the plugin's settings are kept
        (the record's values for those fields are ignored). No version policy here:
        refusing a downgrade is the loader's decision.
        """
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE plugins SET name = ?, version = ?, author = ?, description = ?, "
                "website = ?, path = ?, kind = ? WHERE guid = ?",
                (record.name, record.version, record.author, record.description,
                 record.website, record.path, record.kind, record.guid),
            )
            if cur.rowcount != 1:
                raise UnknownPluginError(record.guid)
            row = conn.execute(
                f"SELECT {_PLUGIN_COLUMNS} FROM plugins WHERE guid = ?", (record.guid,)
            ).fetchone()
        return _record_from_row(row)

    def remove(self, guid: str, keep_settings: bool = False) -> PluginRecord:
        """Uninstall ``guid``, close the gap in the load order; return the removed row.

        Its settings are deleted too unless ``keep_settings``.
        """
        with self._write() as conn:
            row = conn.execute(
                f"SELECT {_PLUGIN_COLUMNS} FROM plugins WHERE guid = ?", (guid,)
            ).fetchone()
            if row is None:
                raise UnknownPluginError(guid)
            removed = _record_from_row(row)
            conn.execute("DELETE FROM plugins WHERE guid = ?", (guid,))
            # Shift the tail down by one. UNIQUE(position) is checked row by row, so go
            # through negative values (q -> -q-1 -> q-1) to never collide whatever the
            # order SQLite visits the rows in.
            conn.execute(
                "UPDATE plugins SET position = -position - 1 WHERE position > ?",
                (removed.position,),
            )
            conn.execute("UPDATE plugins SET position = -position - 2 WHERE position < 0")
            if not keep_settings:
                conn.execute("DELETE FROM settings WHERE guid = ?", (guid,))
        return removed

    def get(self, guid: str) -> PluginRecord:
        """The installed plugin ``guid``; raises UnknownPluginError."""
        with self._read() as conn:
            row = conn.execute(
                f"SELECT {_PLUGIN_COLUMNS} FROM plugins WHERE guid = ?", (guid,)
            ).fetchone()
        if row is None:
            raise UnknownPluginError(guid)
        return _record_from_row(row)

    def __contains__(self, guid: object) -> bool:
        if not isinstance(guid, str):
            return False
        with self._read() as conn:
            row = conn.execute("SELECT 1 FROM plugins WHERE guid = ?", (guid,)).fetchone()
        return row is not None

    def __len__(self) -> int:
        with self._read() as conn:
            return conn.execute("SELECT count(*) FROM plugins").fetchone()[0]

    def plugins(self) -> list[PluginRecord]:
        """Every installed plugin, in the user's load order."""
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT {_PLUGIN_COLUMNS} FROM plugins ORDER BY position"
            ).fetchall()
        return [_record_from_row(row) for row in rows]

    def set_enabled(self, guid: str, enabled: bool) -> bool:
        """Enable or disable ``guid``; return whether the flag changed."""
        if not isinstance(enabled, bool):
            raise InvalidValueError(f"enabled must be True or False, not {enabled!r}.")
        with self._write() as conn:
            row = conn.execute("SELECT enabled FROM plugins WHERE guid = ?", (guid,)).fetchone()
            if row is None:
                raise UnknownPluginError(guid)
            if bool(row[0]) == enabled:
                return False
            conn.execute("UPDATE plugins SET enabled = ? WHERE guid = ?", (int(enabled), guid))
            return True

    def move(self, guid: str, direction: str) -> bool:
        """Swap ``guid`` with its neighbour: "up" = loads earlier, "down" = later.

        Returns whether it moved (False at either end of the order).
        """
        if direction not in ("up", "down"):
            raise InvalidValueError(f"A plugin moves 'up' or 'down', not {direction!r}.")
        with self._write() as conn:
            position = self._position_of(conn, guid)
            count = conn.execute("SELECT count(*) FROM plugins").fetchone()[0]
            other = position - 1 if direction == "up" else position + 1
            if not 0 <= other < count:
                return False
            conn.execute("UPDATE plugins SET position = -1 WHERE guid = ?", (guid,))
            conn.execute(
                "UPDATE plugins SET position = ? WHERE position = ?", (position, other)
            )
            conn.execute("UPDATE plugins SET position = ? WHERE guid = ?", (other, guid))
            return True

    # -- settings --------------------------------------------------------------------
    # Settings do not require the guid to be installed (see the module docstring).

    def set_setting(self, guid: str, key: str, type: str, value: object) -> None:
        """Store ``value`` of DC ``type`` ('string', 'int', 'bool', 'int64') under (guid, key).

        Replaces any previous value, whatever its type. Raises InvalidValueError (a
        ValueError) if the value does not fit the type: 'int' is int32, 'int64' is int64,
        'bool' takes only True/False, 'string' any text without lone surrogates.
        """
        stored = _check_setting(guid, key, type, value)
        with self._write() as conn:
            conn.execute(
                "INSERT INTO settings (guid, key, type, value) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (guid, key) DO UPDATE SET type = excluded.type, "
                "value = excluded.value",
                (guid, key, type, stored),
            )

    def get_setting(self, guid: str, key: str) -> tuple[str, object] | None:
        """``(type, value)`` of a setting, or None if it is not set."""
        with self._read() as conn:
            row = conn.execute(
                "SELECT type, value FROM settings WHERE guid = ? AND key = ?", (guid, key)
            ).fetchone()
        return None if row is None else _setting_from_db(*row)

    def remove_setting(self, guid: str, key: str) -> bool:
        """Delete one setting; return whether it existed."""
        with self._write() as conn:
            cur = conn.execute("DELETE FROM settings WHERE guid = ? AND key = ?", (guid, key))
            return cur.rowcount > 0

    def settings(self, guid: str) -> dict[str, tuple[str, object]]:
        """Every setting of ``guid`` as ``{key: (type, value)}``, sorted by key."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT key, type, value FROM settings WHERE guid = ? ORDER BY key", (guid,)
            ).fetchall()
        return {key: _setting_from_db(type_, value) for key, type_, value in rows}

    def remove_settings(self, guid: str) -> int:
        """Delete every setting of ``guid``; return how many there were."""
        with self._write() as conn:
            return conn.execute("DELETE FROM settings WHERE guid = ?", (guid,)).rowcount

    # -- checking --------------------------------------------------------------------

    def check_integrity(self) -> list[str]:
        """Problems found in the database, one sentence each; empty when all is well.

        Checks SQLite's own ``integrity_check``, the schema version, that positions are
        exactly 0 .. n-1, that enabled flags are 0/1, and that plugin kinds, versions,
        setting types and setting values are valid.
        """
        problems: list[str] = []
        with self._read() as conn:
            conn.execute("BEGIN")  # one snapshot for every check below
            try:
                rows = [r[0] for r in conn.execute("PRAGMA integrity_check")]
                if rows != ["ok"]:
                    problems.extend(f"SQLite integrity check: {r}." for r in rows)
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                if version != self.schema_version:
                    problems.append(
                        f"The schema version is {version}, expected {self.schema_version}."
                    )
                positions = [r[0] for r in conn.execute(
                    "SELECT position FROM plugins ORDER BY position")]
                if positions != list(range(len(positions))):
                    problems.append(
                        f"Plugin positions are not exactly 0..{len(positions) - 1}: "
                        f"{positions}."
                    )
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
                        problems.append(
                            f"Setting {key!r} of {guid!r} has unknown type {type_!r}."
                        )
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
