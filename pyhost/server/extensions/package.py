"""An extension's package.json, judged as AirDC++ judges it, before anything is written.

Required: ``name`` (``airdcpp-`` and then npm's name characters: lowercase letters, digits,
``-``, ``.``, ``_``, ``~``; at most 214 characters, so that it is also a safe directory name
and URL segment), ``description``, ``version`` (strings), ``author`` (a string or an object
with a string ``name``), ``main`` (for installed packages: a relative path to a regular file
inside the package) and the ``airdcpp`` section with ``apiVersion`` (must be 1);
``minApiFeatureLevel`` (default 0) must not exceed the feature level pyhost claims and
``signalReady`` (default false) is a boolean. Optional: ``engines`` (an object whose keys are
engine names; none means ``node``; at least one must be an engine pyhost knows), ``os`` (a
list of platforms, node's names), ``homepage``, ``private``.
"""
from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Optional

API_VERSION = 1
DEFAULT_ENGINE = "node"
KNOWN_ENGINES = ("node", "python3")
MAX_PACKAGE_JSON = 1024 * 1024
NAME_PREFIX = "airdcpp-"
_NAME = re.compile(r"airdcpp-[a-z0-9][a-z0-9._~-]*")
MAX_NAME = 214


class PackageError(ValueError):
    """A package.json (or package) that cannot be used; the message is one sentence."""


@dataclass(frozen=True)
class PackageInfo:
    name: str
    description: str
    version: str
    author: str
    main: Optional[str]
    api_version: int
    min_feature_level: int = 0
    signal_ready: bool = False
    engines: tuple[str, ...] = (DEFAULT_ENGINE,)
    homepage: str = ""
    private: bool = False
    raw: dict = field(default_factory=dict, compare=False, repr=False)


def check_name(name: Any) -> str:
    if not isinstance(name, str) or not name:
        raise PackageError("package.json: 'name' must be a non-empty string.")
    if len(name) > MAX_NAME or not _NAME.fullmatch(name):
        raise PackageError(f"package.json: the name {name[:80]!r} is not an extension name "
                           f"(it must start with {NAME_PREFIX!r}, then lowercase letters, "
                           f"digits, '-', '.', '_' or '~'; at most {MAX_NAME} characters).")
    return name


def parse(data: Any, feature_level: int, *, managed: bool = True) -> PackageInfo:
    """The package of a package.json document; PackageError with what is wrong."""
    if not isinstance(data, dict):
        raise PackageError("package.json must be a JSON object.")
    name = check_name(data.get("name"))
    description = _string(data, "description")
    version = _string(data, "version")
    author = _author(data.get("author"))
    main = _main(data.get("main")) if managed else None
    engines = _engines(data.get("engines"), managed)
    if managed:
        _check_os(data.get("os"))
    section = data.get("airdcpp")
    if not isinstance(section, dict):
        raise PackageError("package.json: the 'airdcpp' section (an object with apiVersion) "
                           "is missing.")
    api_version = _integer(section, "apiVersion", None)
    if api_version != API_VERSION:
        raise PackageError(f"The extension needs Web API version {api_version}; pyhost "
                           f"speaks version {API_VERSION}.")
    level = _integer(section, "minApiFeatureLevel", 0)
    if level > feature_level:
        raise PackageError(f"The extension needs Web API feature level {level}; pyhost "
                           f"implements level {feature_level}.")
    signal_ready = section.get("signalReady", False)
    if not isinstance(signal_ready, bool):
        raise PackageError("package.json: airdcpp.signalReady must be true or false.")
    homepage = data.get("homepage", "")
    private = data.get("private", False)
    return PackageInfo(name, description, version, author, main, api_version, level,
                       signal_ready, engines, homepage if isinstance(homepage, str) else "",
                       private if isinstance(private, bool) else False, data)


def read_package_json(package_dir: Path) -> Any:
    path = package_dir / "package.json"
    try:
        if path.is_symlink() or not path.is_file():
            raise PackageError("The package has no package.json in its top directory.")
        if path.stat().st_size > MAX_PACKAGE_JSON:
            raise PackageError(f"package.json is larger than {MAX_PACKAGE_JSON} bytes.")
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PackageError(f"Cannot read package.json: {exc.strerror or exc}.") from None
    except UnicodeDecodeError:
        raise PackageError("package.json is not UTF-8 text.") from None
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise PackageError(f"package.json is not valid JSON ({exc}).") from None


def load(package_dir: Path, feature_level: int) -> PackageInfo:
    """The package in a directory (its package.json and its main file); PackageError."""
    info = parse(read_package_json(package_dir), feature_level)
    entry = entry_path(package_dir, info)
    if entry.is_symlink() or not entry.is_file():
        raise PackageError(f"The main file {info.main} named by package.json is not in the "
                           "package.")
    return info


def entry_path(package_dir: Path, info: PackageInfo) -> Path:
    return package_dir.joinpath(*PurePosixPath(info.main or "").parts)


def platform_name() -> str:
    """This system as node's process.platform names it (what package.json "os" lists)."""
    if sys.platform.startswith("linux"):
        return "linux"
    if sys.platform.startswith("freebsd"):
        return "freebsd"
    return sys.platform  # darwin, win32, ...


# ---- field checks ------------------------------------------------------------------------------

def _string(data: dict, key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise PackageError(f"package.json: {key!r} is required and must be a string.")
    return value


def _integer(data: dict, key: str, default: Optional[int]) -> int:
    value = data.get(key, default)
    if value is None:
        raise PackageError(f"package.json: airdcpp.{key} is required.")
    if isinstance(value, bool) or not isinstance(value, int):
        raise PackageError(f"package.json: airdcpp.{key} must be an integer.")
    return value


def _author(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("name"), str):
        return value["name"]
    raise PackageError("package.json: 'author' is required (a string, or an object with a "
                       "string 'name').")


def _main(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise PackageError("package.json: 'main' (the script to run) is required.")
    path = PurePosixPath(value.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or re.match(r"^[A-Za-z]:", value) or \
            "\x00" in value:
        raise PackageError(f"package.json: 'main' must be a path inside the package, not "
                           f"{value[:120]!r}.")
    parts = [p for p in path.parts if p not in ("", ".")]
    if not parts:
        raise PackageError("package.json: 'main' must name a file.")
    return "/".join(parts)


def _engines(value: Any, managed: bool) -> tuple[str, ...]:
    if value is None:
        return (DEFAULT_ENGINE,)
    if not isinstance(value, dict):
        raise PackageError("package.json: 'engines' must be an object (engine name: version).")
    names = tuple(k for k in value if isinstance(k, str) and k)
    if not names:
        return (DEFAULT_ENGINE,)
    if managed and not any(n in KNOWN_ENGINES for n in names):
        raise PackageError(f"The extension needs the engine {', '.join(names)}; pyhost runs "
                           f"{' and '.join(KNOWN_ENGINES)}.")
    return names


def _check_os(value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise PackageError("package.json: 'os' must be a list of platform names.")
    here = platform_name()
    if here not in value:
        raise PackageError(f"The extension does not support this platform ({here}; it lists "
                           f"{', '.join(value) or 'none'}).")
