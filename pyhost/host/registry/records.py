"""Registry records and values: the errors the registry raises, ``PluginRecord`` (one row of
``plugins``) and the validation of every field and setting before it is stored."""

import dataclasses
import json
import math
import os
from collections.abc import Sequence
from datetime import datetime, timezone

#: The pseudo plugin guid under which the host keeps its own settings (ABI: ConfigType UNKNOWN).
CORE_SETUP_GUID = "CoreSetup"
#: What a plugin row's ``kind`` may be.
KINDS = ("native", "python")
#: The DC setting types (DCConfig ConfigType STRING, INT, BOOL, INT64).
SETTING_TYPES = ("string", "int", "bool", "int64")
#: A plugin row's ``load_state``: None (not being loaded), "loading" (a host process is in
#: the plugin's load state right now, or died there) or "crashed" (a host died there).
LOAD_STATES = (None, "loading", "crashed")

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


class RegistryDamagedError(RegistryError):
    """SQLite's integrity check failed, or SQLite reports the file as damaged: the registry
    is not read nor written until ``pyhost repair`` has recovered what it can."""


class RegistryReadOnlyError(RegistryError):
    """A write to a registry that can only be read (read-only file system, no permission)."""


class RegistryStorageError(RegistryError):
    """The file system refused the registry's file: no space left, an I/O error, ..."""


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
    load_state: str | None = None
    load_pid: int | None = None
    dependencies: tuple[str, ...] = ()
    isolated: bool = False  # runs in a process of its own (pyhost.host.isolation)

    @property
    def crashed(self) -> bool:
        """A host process died while this plugin was in a load state (ON_LOAD...)."""
        return self.load_state == "crashed"

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
        deps = self.dependencies
        if isinstance(deps, (str, bytes)) or not all(
                isinstance(d, str) and d for d in deps):
            raise InvalidValueError(
                f"The dependencies of plugin {self.guid!r} must be a sequence of guids, "
                f"not {deps!r}.")
        object.__setattr__(self, "dependencies", tuple(deps))
        for dep in self.dependencies:
            _check_text(f"A dependency of plugin {self.guid!r}", dep, empty_ok=False)
        if self.load_state not in LOAD_STATES:
            raise InvalidValueError(
                f"The load state of plugin {self.guid!r} must be None, 'loading' or "
                f"'crashed', not {self.load_state!r}."
            )
        if not isinstance(self.isolated, bool):
            raise InvalidValueError(f"The isolated flag of plugin {self.guid!r} must be True "
                                    f"or False, not {self.isolated!r}.")
        if self.load_pid is not None and (
            isinstance(self.load_pid, bool) or not isinstance(self.load_pid, int)
        ):
            raise InvalidValueError(
                f"The loading process of plugin {self.guid!r} must be a pid, "
                f"not {self.load_pid!r}."
            )


#: The columns every schema version has (what ``pyhost repair`` can salvage).
_BASE_COLUMNS = (
    "guid, name, version, author, description, website, path, kind, enabled, position, "
    "installed_at"
)
_PLUGIN_COLUMNS = _BASE_COLUMNS + ", load_state, load_pid, dependencies, isolated"


def _record_from_row(row: Sequence) -> PluginRecord:
    (guid, name, version, author, description, website, path, kind, enabled, position,
     installed_at, *later) = row
    load_state, load_pid, deps, *newer = later if later else (None, None, "[]")
    return PluginRecord(
        guid=guid, name=name, version=version, author=author, description=description,
        website=website, path=path, kind=kind, enabled=bool(enabled), position=position,
        installed_at=installed_at, load_state=load_state, load_pid=load_pid,
        dependencies=_dependencies_from_db(deps), isolated=bool(newer and newer[0]),
    )


def _dependencies_from_db(text: object) -> tuple[str, ...]:
    try:
        deps = json.loads(text) if isinstance(text, str) else []
    except ValueError:
        return ()
    return tuple(d for d in deps if isinstance(d, str) and d) if isinstance(deps, list) else ()


def _dependencies_to_db(deps: Sequence[str]) -> str:
    return json.dumps(list(deps))


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

