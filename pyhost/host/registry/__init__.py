"""The persistent registry: installed plugins, their load order and their settings.

One SQLite database file (standard library ``sqlite3`` only) holds two tables:

``plugins``
    one row per installed plugin, keyed by its guid (compared without regard to ASCII
    letter case: a UUID in another case is the same plugin): the metadata its
    ``pluginInit`` reported (name, version, author, description, website, the guids it
    depends on), the loadable file (``path``), its ``kind`` (``'native'`` or
    ``'python'``), whether it is ``enabled``, its ``position`` in the user's load order
    (unique and dense: 0 .. n-1), when it was installed, and whether a host process is in
    (or died in) one of its load states (``load_state`` 'loading' by ``load_pid``, or
    'crashed').

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

Faults: every open runs SQLite's integrity check and refuses a damaged file
(RegistryDamagedError); a file system that refuses the file is named (read-only file
system, no space left on device); a read-only open serves reads where nothing may be
written; ``changed_elsewhere`` tells a running host that another process committed.

Threads: DCConfig calls arrive from plugin threads, so one connection is shared
(``check_same_thread=False``) and every use of it is serialised by one lock.

Modules: ``records`` (errors, PluginRecord, value checks), ``schema`` (tables and
migrations), ``opening`` (connecting, SQLite's failures in words, the integrity check at
open), ``store`` (the Registry and its operations), ``checks`` (the full diagnosis),
``salvage`` (reading what a damaged file still holds, for ``pyhost repair``).
This package imports nothing from the rest of pyhost (its modules import each other
relatively, so it can even be loaded by file path).
"""

from .records import (
    CORE_SETUP_GUID,
    KINDS,
    SETTING_TYPES,
    DuplicatePluginError,
    InvalidValueError,
    PluginRecord,
    RegistryDamagedError,
    RegistryError,
    RegistryReadOnlyError,
    RegistryStorageError,
    RegistryVersionError,
    UnknownPluginError,
)
from .opening import file_state
from .salvage import Salvaged, rebuild, salvage
from .schema import MIGRATIONS, SCHEMA_VERSION
from .store import Registry

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
    "RegistryDamagedError",
    "RegistryError",
    "RegistryReadOnlyError",
    "RegistryStorageError",
    "RegistryVersionError",
    "UnknownPluginError",
    "Salvaged",
    "file_state",
    "rebuild",
    "salvage",
]
