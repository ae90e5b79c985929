"""The registry's schema and its migrations (``PRAGMA user_version`` is the version)."""

import sqlite3
from collections.abc import Callable

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


# Version 2: guids compare without regard to ASCII letter case (a package UUID written in
# another case is the same plugin); each plugin row records whether a host process is in
# one of its load states (``load_state`` 'loading', with that process's ``load_pid``) or
# died there ('crashed'), and the guids it depends on (a JSON array; '[]' for rows of
# version 1 until a host opens the plugin again), so that a command about one plugin knows
# who depends on it without running any plugin code. SQLite cannot change a column's collation in place: both
# tables are rebuilt. Rows that now collide (the same guid in two cases, which version 1
# allowed) are merged: the plugin row with the highest version wins and keeps the first
# position; positions are renumbered 0..n-1; settings of the winner's spelling win.

_PLUGINS_V2 = """
    CREATE TABLE plugins_v2 (
        guid         TEXT    NOT NULL PRIMARY KEY COLLATE NOCASE CHECK (guid <> ''),
        name         TEXT    NOT NULL,
        version      REAL    NOT NULL,
        author       TEXT    NOT NULL DEFAULT '',
        description  TEXT    NOT NULL DEFAULT '',
        website      TEXT    NOT NULL DEFAULT '',
        path         TEXT    NOT NULL,
        kind         TEXT    NOT NULL CHECK (kind IN ('native', 'python')),
        enabled      INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
        position     INTEGER NOT NULL UNIQUE,
        installed_at TEXT    NOT NULL,
        load_state   TEXT    CHECK (load_state IN ('loading', 'crashed')),
        load_pid     INTEGER,
        dependencies TEXT    NOT NULL DEFAULT '[]'
    )
"""

_SETTINGS_V2 = """
    CREATE TABLE settings_v2 (
        guid  TEXT NOT NULL COLLATE NOCASE CHECK (guid <> ''),
        key   TEXT NOT NULL CHECK (key <> ''),
        type  TEXT NOT NULL CHECK (type IN ('string', 'int', 'bool', 'int64')),
        value      NOT NULL,
        PRIMARY KEY (guid, key),
        CHECK (
            (type = 'string' AND typeof(value) = 'text')
            OR (type = 'int' AND typeof(value) = 'integer'
                AND value BETWEEN -2147483648 AND 2147483647)
            OR (type = 'bool' AND typeof(value) = 'integer' AND value IN (0, 1))
            OR (type = 'int64' AND typeof(value) = 'integer')
        )
    ) WITHOUT ROWID
"""

_V1_COLUMNS = ("guid, name, version, author, description, website, path, kind, enabled, "
               "position, installed_at")


def _migrate_1_to_2(conn: sqlite3.Connection) -> None:
    conn.execute(_PLUGINS_V2)
    rows = conn.execute(f"SELECT {_V1_COLUMNS} FROM plugins ORDER BY position").fetchall()
    winners: dict[str, list] = {}
    first_position: dict[str, int] = {}
    for row in rows:
        folded = row[0].lower()
        first_position.setdefault(folded, row[9])
        if folded not in winners or row[2] > winners[folded][2]:
            winners[folded] = list(row)
    ordered = sorted(winners.items(), key=lambda item: first_position[item[0]])
    for position, (_, row) in enumerate(ordered):
        row[9] = position
        conn.execute(f"INSERT INTO plugins_v2 ({_V1_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                     row)
    conn.execute("DROP TABLE plugins")
    conn.execute("ALTER TABLE plugins_v2 RENAME TO plugins")

    conn.execute(_SETTINGS_V2)
    spelled = {row[0].lower(): row[0] for _, row in ordered}
    # The winner's spelling last, so it replaces a setting of the same key in another case.
    settings = conn.execute("SELECT guid, key, type, value FROM settings").fetchall()
    settings.sort(key=lambda s: s[0] == spelled.get(s[0].lower(), s[0]))
    for setting in settings:
        conn.execute("INSERT OR REPLACE INTO settings_v2 (guid, key, type, value) "
                     "VALUES (?, ?, ?, ?)", setting)
    conn.execute("DROP TABLE settings")
    conn.execute("ALTER TABLE settings_v2 RENAME TO settings")


def _migrate_2_to_3(conn: sqlite3.Connection) -> None:
    """Version 3: whether a plugin runs in a process of its own (crash isolation)."""
    conn.execute("ALTER TABLE plugins ADD COLUMN isolated INTEGER NOT NULL DEFAULT 0 "
                 "CHECK (isolated IN (0, 1))")


#: Schema upgrade steps; ``MIGRATIONS[n]`` takes a connection from version n to n + 1.
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_migrate_0_to_1,
                                                                 _migrate_1_to_2,
                                                                 _migrate_2_to_3)
#: The schema version this module writes (stored in ``PRAGMA user_version``).
SCHEMA_VERSION = len(MIGRATIONS)
