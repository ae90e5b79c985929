"""``Registry``: the operations on the registry database, each one transaction."""

import dataclasses
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from .checks import check_integrity
from .records import (
    _BUSY_TIMEOUT_S,
    _PLUGIN_COLUMNS,
    DuplicatePluginError,
    InvalidValueError,
    PluginRecord,
    RegistryError,
    RegistryVersionError,
    UnknownPluginError,
    _check_setting,
    _record_from_row,
    _setting_from_db,
    _utc_now,
)
from .schema import MIGRATIONS


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
        """Problems found in the database, one sentence each; empty when all is well
        (see :func:`pyhost.host.registry.checks.check_integrity`)."""
        with self._read() as conn:
            return check_integrity(conn, self.schema_version)
