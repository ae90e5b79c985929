"""Opening the registry's SQLite file, and saying in words why SQLite or the file system
refused it (read-only file system, no space left, a damaged file), instead of SQLite's
codes."""

import errno
import os
import sqlite3
import stat
from urllib.parse import quote

from .file_kinds import describe
from .records import (
    _BUSY_TIMEOUT_S,
    RegistryDamagedError,
    RegistryError,
    RegistryReadOnlyError,
    RegistryStorageError,
)

# SQLite's primary result codes (the low byte of an extended code).
_SQLITE_PERM, _SQLITE_BUSY, _SQLITE_LOCKED = 3, 5, 6
_SQLITE_READONLY, _SQLITE_IOERR, _SQLITE_CORRUPT = 8, 10, 11
_SQLITE_FULL, _SQLITE_CANTOPEN, _SQLITE_NOTADB = 13, 14, 26

REPAIR_HINT = "run `pyhost repair` to recover what can be read"


def file_state(path: str) -> str:
    """``"missing"``, ``"empty"`` (0 bytes and no write-ahead log holding anything) or
    ``"present"``: whether a registry file holds anything SQLite could read."""
    try:
        size = os.stat(path).st_size
    except FileNotFoundError:
        return "missing"
    if size:
        return "present"
    try:
        return "present" if os.stat(path + "-wal").st_size else "empty"
    except OSError:
        return "empty"


def why_not_writable(path: str) -> str:
    """Why a file in ``path``'s directory cannot be written, in a few words."""
    directory = os.path.dirname(os.path.abspath(path))
    while directory and not os.path.exists(directory):
        directory = os.path.dirname(directory)
    try:
        if os.statvfs(directory).f_flag & os.ST_RDONLY:
            return "read-only file system"
    except (OSError, AttributeError):
        pass
    if os.path.exists(path) and not os.access(path, os.W_OK):
        return "permission denied"
    if not os.access(directory, os.W_OK):
        return "permission denied"
    return "read-only"


def _primary(exc: sqlite3.Error) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)
    return None if code is None else code & 0xFF


def translate(exc: BaseException, path: str, doing: str) -> RegistryError:
    """The RegistryError for a failure of SQLite or of the file system while ``doing``
    (e.g. "write to", "open") the registry at ``path``: one sentence that names the cause."""
    if isinstance(exc, OSError):
        return _from_errno(exc.errno, path, doing, exc.strerror or str(exc))
    code = _primary(exc) if isinstance(exc, sqlite3.Error) else None
    if code in (_SQLITE_READONLY, _SQLITE_PERM):
        return RegistryReadOnlyError(
            f"Cannot {doing} the registry {path}: {why_not_writable(path)}.")
    if code == _SQLITE_FULL:
        return RegistryStorageError(f"Cannot {doing} the registry {path}: no space left "
                                    "on device.")
    if code == _SQLITE_CORRUPT:
        return RegistryDamagedError(f"The registry {path} is damaged (SQLite: {exc}); "
                                    f"{REPAIR_HINT}.")
    if code == _SQLITE_NOTADB:
        return RegistryDamagedError(f"{path} is not a pyhost registry (SQLite: {exc}); "
                                    f"if it was one, {REPAIR_HINT}.")
    if code in (_SQLITE_CANTOPEN, _SQLITE_IOERR):
        try:
            mode = os.stat(path).st_mode
        except OSError:
            mode = None
        if mode is not None and not stat.S_ISREG(mode):  # SQLite's words would not say
            return RegistryError(f"Cannot {doing} the registry {path}: it is "
                                 f"{describe(mode)}, not a file.")
    if code == _SQLITE_CANTOPEN:
        reason = why_not_writable(path)
        if reason != "read-only":  # the file or its WAL index cannot be created
            return RegistryReadOnlyError(f"Cannot {doing} the registry {path}: {reason}.")
        return RegistryStorageError(f"Cannot {doing} the registry {path}: {exc}.")
    if code in (_SQLITE_BUSY, _SQLITE_LOCKED):
        return RegistryStorageError(f"Cannot {doing} the registry {path}: another process "
                                    f"holds it locked for too long (SQLite: {exc}).")
    if code == _SQLITE_IOERR:
        return RegistryStorageError(f"Cannot {doing} the registry {path}: input/output "
                                    f"error (SQLite: {exc}).")
    return RegistryError(f"Cannot {doing} the registry {path}: {exc}.")


def _from_errno(number: int | None, path: str, doing: str, text: str) -> RegistryError:
    if number in (errno.EROFS, errno.EACCES, errno.EPERM):
        return RegistryReadOnlyError(f"Cannot {doing} the registry {path}: "
                                     f"{why_not_writable(path)}.")
    if number == errno.ENOSPC:
        return RegistryStorageError(f"Cannot {doing} the registry {path}: no space left "
                                    "on device.")
    return RegistryStorageError(f"Cannot {doing} the registry {path}: {text.lower()}.")


def connect(path: str, readonly: bool) -> sqlite3.Connection:
    """A connection to ``path``; read-only ones never create nor change anything, and fall
    back to SQLite's ``immutable`` mode where the file's write-ahead-log index cannot be
    created (a read-only file system)."""
    options = dict(timeout=_BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
    if not readonly:
        return sqlite3.connect(path, **options)
    uri = "file:" + quote(os.path.abspath(path))
    conn = sqlite3.connect(uri + "?mode=ro", uri=True, **options)
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.OperationalError:
        conn.close()
    return sqlite3.connect(uri + "?mode=ro&immutable=1", uri=True, **options)


def damage(conn: sqlite3.Connection, path: str) -> RegistryDamagedError | None:
    """SQLite's ``PRAGMA integrity_check`` on an open database: the error to raise when it
    finds damage, else None.

    ``integrity_check`` rather than ``quick_check``: quick_check does not compare indexes
    with their tables, and an index that lost or changed a key is exactly the damage that
    makes lookups miss a row and inserts write a duplicate primary key. On this data the
    full check costs about 10% more (docs/bench_registry_check.py measures both).
    """
    try:
        rows = [r[0] for r in conn.execute("PRAGMA integrity_check(20)")]
    except sqlite3.DatabaseError as exc:
        translated = translate(exc, path, "read")
        if isinstance(translated, RegistryDamagedError):
            return translated
        raise translated from exc
    if rows == ["ok"]:
        return None
    first = " ".join(rows[0].split())
    more = f" and {len(rows) - 1} more problem(s)" if len(rows) > 1 else ""
    return RegistryDamagedError(f"The registry {path} is damaged (SQLite's integrity check: "
                                f"{first}{more}); {REPAIR_HINT}.")


def foreign(conn: sqlite3.Connection, path: str) -> RegistryDamagedError | None:
    """For a database without a schema version (``PRAGMA user_version`` 0): the error to
    raise when it holds tables all the same (another program's database: creating ours
    would fail on a name it uses, or mix with its data), else None."""
    try:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND name NOT LIKE 'sqlite%' ORDER BY name LIMIT 4")]
    except sqlite3.DatabaseError as exc:
        raise translate(exc, path, "read") from exc
    if not tables:
        return None
    return RegistryDamagedError(f"{path} is not a pyhost registry (it holds the tables "
                                f"{', '.join(tables)}, but no pyhost schema version); if it "
                                f"was one, {REPAIR_HINT}.")
