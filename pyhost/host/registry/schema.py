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


#: Schema upgrade steps; ``MIGRATIONS[n]`` takes a connection from version n to n + 1.
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_migrate_0_to_1,)
#: The schema version this module writes (stored in ``PRAGMA user_version``).
SCHEMA_VERSION = len(MIGRATIONS)
