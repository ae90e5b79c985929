"""``Registry``: the operations on the registry database, each one transaction."""

import dataclasses
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from . import opening
from .checks import check_integrity
from .records import (
    _PLUGIN_COLUMNS,
    DuplicatePluginError,
    InvalidValueError,
    PluginRecord,
    RegistryError,
    RegistryReadOnlyError,
    RegistryVersionError,
    UnknownPluginError,
    _check_setting,
    _dependencies_to_db,
    _record_from_row,
    _setting_from_db,
    _utc_now,
)
from .schema import MIGRATIONS


class Registry:
    """The registry database at ``path`` (created, with its parent directory, if missing).

    Every public method is one transaction and is safe to call from any thread.
    Use as a context manager, or call ``close()``.

    ``readonly=True`` opens an existing registry without ever writing to it (a home on a
    read-only file system): reads work, writes raise RegistryReadOnlyError. Unless
    ``check=False``, opening runs SQLite's integrity check and refuses a damaged file
    (RegistryDamagedError; ``pyhost repair`` salvages it). Failures of the file system
    are RegistryErrors whose sentence names the cause (read-only file system, no space
    left on device). ``created`` says whether this open created the schema (the file was
    missing or empty).
    """

    #: Override in a subclass (or tests) to add schema steps; see ``MIGRATIONS``.
    migrations: Sequence[Callable[[sqlite3.Connection], None]] = MIGRATIONS

    def __init__(self, path: str | os.PathLike[str], *, readonly: bool = False,
                 check: bool = True):
        self.path = os.fspath(path)
        self.readonly = readonly
        self.created = False
        self._lock = threading.RLock()
        self._data_version: int | None = None
        in_memory = self.path == ":memory:" or self.path.startswith("file::memory:")
        try:
            if not in_memory and not readonly:
                os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
            if readonly and opening.file_state(self.path) == "missing":
                raise FileNotFoundError(2, "no such file", self.path)
            conn = opening.connect(self.path, readonly)
        except (OSError, sqlite3.Error) as exc:
            if isinstance(exc, FileNotFoundError) and readonly:
                raise RegistryError(f"There is no registry at {self.path}.") from None
            raise opening.translate(exc, self.path, "open") from exc
        self._conn: sqlite3.Connection | None = conn
        try:
            try:
                if not in_memory and conn.execute("PRAGMA user_version").fetchone()[0] == 0:
                    foreign = opening.foreign(conn, self.path)  # checked before any write
                    if foreign is not None:
                        raise foreign
                if readonly:
                    mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
                else:
                    mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
                    conn.execute("PRAGMA synchronous=FULL")
                conn.execute("PRAGMA foreign_keys=ON")
            except sqlite3.DatabaseError as exc:
                raise opening.translate(exc, self.path, "open") from exc
            if mode.lower() != "wal" and not in_memory and not readonly:
                raise RegistryError(
                    f"The registry {self.path} cannot use SQLite's WAL journal "
                    f"(got {mode!r}); is it on a network file system?"
                )
            self.journal_mode = mode.lower()
            if check and not in_memory:
                damage = opening.damage(conn, self.path)
                if damage is not None:
                    raise damage
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
        mode = ", read-only" if self.readonly else ""
        return f"<Registry {self.path!r} ({state}{mode})>"

    @property
    def schema_version(self) -> int:
        """The schema version this class writes: the number of migration steps."""
        return len(self.migrations)

    def _migrate(self) -> None:
        target = self.schema_version
        with self._read() as conn:
            current = conn.execute("PRAGMA user_version").fetchone()[0]
        self.created = current == 0
        if current == target:
            return
        if self.readonly and current < target:
            raise RegistryReadOnlyError(
                f"The registry {self.path} has schema version {current} and needs an "
                f"upgrade to {target}, which cannot be written "
                f"({opening.why_not_writable(self.path)}).")
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

    def changed_elsewhere(self) -> bool:
        """Whether another connection (another process, usually) committed a change since
        the previous call (SQLite's ``PRAGMA data_version``); False on the first call."""
        with self._read() as conn:
            version = conn.execute("PRAGMA data_version").fetchone()[0]
        previous, self._data_version = self._data_version, version
        return previous is not None and previous != version

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
                raise opening.translate(exc, self.path, "read") from exc

    @contextmanager
    def _write(self, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """One write transaction: BEGIN IMMEDIATE ... COMMIT, ROLLBACK on any exception.

        ``durable=False`` commits without waiting for the disk (synchronous=NORMAL): the
        change survives the process dying at once, maybe not a power cut. For bookkeeping
        written around every plugin load, where an fsync each would cost start-up time.
        """
        with self._lock:
            conn = self._require_open()
            if self.readonly:
                raise RegistryReadOnlyError(
                    f"Cannot write to the registry {self.path}: "
                    f"{opening.why_not_writable(self.path)}.")
            try:
                if not durable:
                    conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise opening.translate(exc, self.path, "write to") from exc
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise opening.translate(exc, self.path, "write to") from exc
                raise
            finally:
                if not durable:
                    conn.execute("PRAGMA synchronous=FULL")

    @staticmethod
    def _installed(conn: sqlite3.Connection, guid: str) -> bool:
        return conn.execute("SELECT 1 FROM plugins WHERE guid = ?", (guid,)).fetchone() \
            is not None

    @staticmethod
    def _position_of(conn: sqlite3.Connection, guid: str) -> int:
        row = conn.execute("SELECT position FROM plugins WHERE guid = ?", (guid,)).fetchone()
        if row is None:
            raise UnknownPluginError(guid)
        return row[0]

    # -- plugins ---------------------------------------------------------------------

    def add(self, record: PluginRecord) -> PluginRecord:
        """Install ``record`` at the end of the load order; return the stored row.

        ``record.position`` is ignored; ``installed_at`` defaults to now; a "crashed"
        load state is kept (a repaired registry remembers it), "loading" is not.
        Raises DuplicatePluginError if the guid is already installed.
        """
        installed_at = record.installed_at or _utc_now()
        load_state = "crashed" if record.load_state == "crashed" else None
        with self._write() as conn:
            if conn.execute("SELECT 1 FROM plugins WHERE guid = ?", (record.guid,)).fetchone():
                raise DuplicatePluginError(record.guid)
            position = conn.execute("SELECT count(*) FROM plugins").fetchone()[0]
            conn.execute(
                f"INSERT INTO plugins ({_PLUGIN_COLUMNS}) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,NULL,?,?)",
                (record.guid, record.name, record.version, record.author,
                 record.description, record.website, record.path, record.kind,
                 int(record.enabled), position, installed_at, load_state,
                 _dependencies_to_db(record.dependencies), int(record.isolated)),
            )
        return dataclasses.replace(record, position=position, installed_at=installed_at,
                                   load_state=load_state, load_pid=None)

    def update(self, record: PluginRecord) -> PluginRecord:
        """Replace the metadata, path and kind of an installed plugin; return the stored row.

        ``enabled``, ``position``, ``installed_at`` and the plugin's settings are kept
        (the record's values for those fields are ignored). Guids compare without regard
        to letter case: the row takes the record's spelling. A crash record is cleared (it
        was about the replaced code). No version policy here: refusing a downgrade is the
        loader's decision.
        """
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE plugins SET guid = ?, name = ?, version = ?, author = ?, "
                "description = ?, website = ?, path = ?, kind = ?, dependencies = ?, "
                "load_state = NULL, load_pid = NULL WHERE guid = ?",
                (record.guid, record.name, record.version, record.author, record.description,
                 record.website, record.path, record.kind,
                 _dependencies_to_db(record.dependencies), record.guid),
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
        """Enable or disable ``guid``; return whether the flag changed. Enabling also
        forgets that the plugin crashed a host (the user asks to try it again)."""
        if not isinstance(enabled, bool):
            raise InvalidValueError(f"enabled must be True or False, not {enabled!r}.")
        with self._write() as conn:
            row = conn.execute("SELECT enabled, load_state FROM plugins WHERE guid = ?",
                               (guid,)).fetchone()
            if row is None:
                raise UnknownPluginError(guid)
            if enabled and row[1] == "crashed":
                conn.execute("UPDATE plugins SET load_state = NULL, load_pid = NULL "
                             "WHERE guid = ?", (guid,))
            if bool(row[0]) == enabled:
                return enabled and row[1] == "crashed"
            conn.execute("UPDATE plugins SET enabled = ? WHERE guid = ?", (int(enabled), guid))
            return True

    def set_isolated(self, guid: str, isolated: bool) -> bool:
        """Run ``guid`` in a process of its own or not; return whether the flag changed."""
        if not isinstance(isolated, bool):
            raise InvalidValueError(f"isolated must be True or False, not {isolated!r}.")
        with self._write() as conn:
            row = conn.execute("SELECT isolated FROM plugins WHERE guid = ?", (guid,)).fetchone()
            if row is None:
                raise UnknownPluginError(guid)
            conn.execute("UPDATE plugins SET isolated = ? WHERE guid = ?", (int(isolated), guid))
            return bool(row[0]) != isolated

    def set_crashed(self, guid: str) -> bool:
        """An isolated plugin crashed too often in a row: skipped as crashed until enabled
        again (like a plugin a host died in). Returns whether the row exists."""
        with self._write() as conn:
            cur = conn.execute("UPDATE plugins SET load_state = 'crashed', load_pid = NULL "
                               "WHERE guid = ?", (guid,))
            return cur.rowcount == 1

    def set_dependencies(self, guid: str, dependencies: Sequence[str]) -> bool:
        """Stores what ``guid`` depends on (as its pluginInit said) when it differs from
        the stored list; returns whether it changed anything."""
        text = _dependencies_to_db(PluginRecord(guid=guid, name="", version=0.0, path="-",
                                                dependencies=dependencies).dependencies)
        with self._write() as conn:
            cur = conn.execute("UPDATE plugins SET dependencies = ? WHERE guid = ? AND "
                               "dependencies IS NOT ?", (text, guid, text))
            return cur.rowcount == 1

    # -- load states: a host process dying inside a plugin's load is remembered ----------

    def mark_loading(self, guid: str, pid: int) -> bool:
        """Record that process ``pid`` is entering a load state of ``guid`` (False if the
        plugin has no row, e.g. during its ON_INSTALL). Not fsynced: it only has to
        survive this process dying, not the machine."""
        with self._write(durable=False) as conn:
            cur = conn.execute("UPDATE plugins SET load_state = 'loading', load_pid = ? "
                               "WHERE guid = ?", (pid, guid))
            return cur.rowcount == 1

    def mark_loaded(self, guid: str) -> None:
        """The load state returned (whatever it answered): nothing to remember."""
        with self._write(durable=False) as conn:
            conn.execute("UPDATE plugins SET load_state = NULL, load_pid = NULL "
                         "WHERE guid = ? AND load_state = 'loading'", (guid,))

    def mark_crashed(self, guid: str, pid: int | None) -> bool:
        """A host process (``pid``, if known) died in a load state of ``guid``: remember it
        as crashed until the user enables it again. False if the row changed meanwhile."""
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE plugins SET load_state = 'crashed' WHERE guid = ? AND "
                "(load_state = 'loading' AND load_pid IS ?)", (guid, pid))
            return cur.rowcount == 1

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

    def set_setting(self, guid: str, key: str, type: str, value: object, *,
                    if_installed: bool = False) -> bool:
        """Store ``value`` of DC ``type`` ('string', 'int', 'bool', 'int64') under (guid, key).

        Replaces any previous value, whatever its type. Raises InvalidValueError (a
        ValueError) if the value does not fit the type: 'int' is int32, 'int64' is int64,
        'bool' takes only True/False, 'string' any text without lone surrogates.
        With ``if_installed``, stores only when ``guid`` is an installed plugin, checked in
        the same transaction (a removal by another process cannot slip in between);
        returns whether it stored.
        """
        stored = _check_setting(guid, key, type, value)
        with self._write() as conn:
            if if_installed and not self._installed(conn, guid):
                return False
            conn.execute(
                "INSERT INTO settings (guid, key, type, value) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (guid, key) DO UPDATE SET type = excluded.type, "
                "value = excluded.value",
                (guid, key, type, stored),
            )
        return True

    def get_setting(self, guid: str, key: str) -> tuple[str, object] | None:
        """``(type, value)`` of a setting, or None if it is not set."""
        with self._read() as conn:
            row = conn.execute(
                "SELECT type, value FROM settings WHERE guid = ? AND key = ?", (guid, key)
            ).fetchone()
        return None if row is None else _setting_from_db(*row)

    def remove_setting(self, guid: str, key: str, *, if_installed: bool = False) -> bool:
        """Delete one setting; return whether it existed (and, with ``if_installed``, the
        guid is an installed plugin: checked in the same transaction)."""
        with self._write() as conn:
            if if_installed and not self._installed(conn, guid):
                return False
            cur = conn.execute("DELETE FROM settings WHERE guid = ? AND key = ?", (guid, key))
            return cur.rowcount > 0

    def settings(self, guid: str) -> dict[str, tuple[str, object]]:
        """Every setting of ``guid`` as ``{key: (type, value)}``, sorted by key."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT key, type, value FROM settings WHERE guid = ? ORDER BY key", (guid,)
            ).fetchall()
        return {key: _setting_from_db(type_, value) for key, type_, value in rows}

    def replace_settings(self, guid: str, settings: dict[str, tuple[str, object]]) -> None:
        """Makes ``settings`` ({key: (type, value)}, as :meth:`settings` returns them) the
        only settings of ``guid``, in one transaction (undoing what a failed load wrote)."""
        checked = [(key, type_, _check_setting(guid, key, type_, value))
                   for key, (type_, value) in settings.items()]
        with self._write() as conn:
            conn.execute("DELETE FROM settings WHERE guid = ?", (guid,))
            conn.executemany("INSERT INTO settings (guid, key, type, value) VALUES (?,?,?,?)",
                             [(guid, key, type_, value) for key, type_, value in checked])

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
