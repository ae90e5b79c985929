"""The .dcext package format: read and validate a package in memory, describe it, pack one.

A .dcext file (see docs/packages.md for the format) is a ZIP archive
holding ``info.xml`` and the files it names: one plugin library per platform code and
optional extra files. Everything here works on bytes in memory; nothing touches the disk
except :func:`pack` writing its output, so a package is judged completely before an install
writes a single byte.

Validation is deliberately stricter than the ``zipfile`` module (which is lenient by design):

- the raw ZIP structure is parsed here: end record, central directory and every local header,
  which must agree with each other; no split/spanned archive, no data before the first entry
  or after the end record, no overlapping entries;
- entries: stored or DEFLATE only, no encryption, no data descriptors ("streaming"), ASCII
  names without control characters, relative normalised paths (no ``/x``, ``..``, ``C:``,
  backslashes), no symbolic links or other special files, no duplicate names (not even up to
  case), no name that is both a file and a directory;
- :class:`Limits` on the package size, the entry count, the name length, each entry's and the
  total uncompressed size and the compression ratio; the declared sizes are never trusted:
  every entry is inflated with a bounded output and its real size and CRC are checked;
- ``info.xml`` is parsed with defusedxml (no DTD, no entities, no external references) and
  validated against ``pyhost/schemas/dcext.xsd`` with xmlschema; ApiVersion must be 8;
- every path info.xml names is a safe path present in the archive, and no two files would be
  installed at the same place on any platform;
- every Plugin binary is inspected (pyhost.binary): its real format, class and machine must
  be its declared platform code's, it must be a shared library and export ``pluginInit``.

Every rejection is an :class:`InvalidPackageError` whose message is one sentence naming the
problem, and whose ``code`` names its class (for scripts and tests). A valid package with no
plugin for this host is not invalid: :meth:`Package.select` raises
:class:`IncompatiblePackageError` ("not compatible with this host").

The checks live in :mod:`~pyhost.packages.rules` (limits, errors), :mod:`~pyhost.packages.zip_reader`
(the ZIP container) and :mod:`~pyhost.packages.manifest` (info.xml); :mod:`~pyhost.packages.packer`
builds packages. This module ties them together and describes what a valid package holds.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Optional, Union

from pyhost.host import binary
from pyhost.host.binary import PLATFORMS, BinaryError, BinaryInfo
from pyhost.host.file_checks import FileTypeError, open_regular
from pyhost.host.plugin_files import is_guid
from pyhost.packages.manifest import API_VERSION, INFO_XML, SCHEMA_PATH, Info, parse_info
from pyhost.packages.python_package import is_python_entry, python_entry, python_source
from pyhost.packages.rules import (DEFAULT_LIMITS, DcextError, IncompatiblePackageError,
                                   InvalidPackageError, Limits, NotAZipError, _and, _one_line,
                                   _show, check_path)
from pyhost.packages.zip_reader import ZipReader, _Entry

__all__ = [
    "API_VERSION",
    "INFO_XML",
    "PLATFORMS",
    "SCHEMA_PATH",
    "DcextError",
    "FileEntry",
    "IncompatiblePackageError",
    "InvalidPackageError",
    "Limits",
    "NotAZipError",
    "Package",
    "PluginEntry",
    "Selection",
    "check_path",
    "is_guid",
    "read_package",
]

Source = Union[str, os.PathLike, bytes, bytearray, memoryview]

# ---------------------------------------------------------------------------------------
# What a package is


@dataclass(frozen=True)
class PluginEntry:
    """One ``<Plugin Platform="...">`` of info.xml, with what its binary really is."""

    platform: str
    path: str            # inside the archive
    size: int
    binary: BinaryInfo

    def to_dict(self) -> dict:
        b = self.binary
        return {"platform": self.platform, "path": self.path, "size": self.size,
                "format": b.format, "bits": b.bits, "machine": b.machine,
                "detected_platform": b.platform, "shared_library": b.is_shared_library,
                "exports_plugin_init": b.exports_plugin_init,
                "plugin_init_symbol": b.plugin_init_symbol}


@dataclass(frozen=True)
class FileEntry:
    """One ``<File>`` of info.xml; ``platform`` None = for every platform."""

    path: str
    platform: Optional[str]
    size: int

    def to_dict(self) -> dict:
        return {"path": self.path, "platform": self.platform, "size": self.size}


@dataclass(frozen=True)
class Selection:
    """What one platform installs from a package.

    ``files`` maps each target path, relative to the install directory, to the archive entry
    it comes from. Like DC++, the plugin library is installed by its file name at the top of
    the install directory (``library``) and the Files keep their relative paths, so a plugin
    finds them under DCConfig ``get_install_path``.
    """

    platform: str
    plugin: PluginEntry
    library: str
    files: Mapping[str, str]


@dataclass(frozen=True, eq=False)
class Package:
    """A package that passed every check. Build one with :func:`read_package`."""

    label: str
    uuid: str
    name: str
    version: str            # as written in info.xml, e.g. "2.3"
    version_number: float   # what hosts compare, e.g. 2.3
    api_version: int
    author: str
    description: str
    website: str
    plugins: tuple[PluginEntry, ...]
    files: tuple[FileEntry, ...]
    entries: tuple[str, ...]                 # every name in the archive, in archive order
    size: int                                # bytes of the .dcext file
    _contents: Mapping[str, bytes] = field(repr=False, default_factory=dict)

    @property
    def platforms(self) -> tuple[str, ...]:
        return tuple(p.platform for p in self.plugins)

    def plugin_for(self, platform: Optional[str]) -> Optional[PluginEntry]:
        return next((p for p in self.plugins if p.platform == platform), None)

    def read(self, path: str) -> bytes:
        """The content of an entry named in info.xml."""
        return self._contents[path]

    def select(self, platform: Optional[str] = None) -> Selection:
        """What ``platform`` (default: this host's) installs; IncompatiblePackageError if the
        package has no plugin for it."""
        platform = binary.host_platform() if platform is None else platform
        plugin = self.plugin_for(platform)
        if plugin is None:
            # A Python plugin runs on any platform: any code naming its .py entry will do
            # (pyhost.python_package, docs/python-plugins.md).
            entry = python_entry([(p.platform, p.path) for p in self.plugins], self.entries)
            if entry is not None:
                plugin = next(p for p in self.plugins if p.path == entry)
                platform = plugin.platform
        if plugin is None:
            have = _and(self.platforms)
            if platform is None:
                msg = (f"{self.label}: not compatible with this host, which is none of the "
                       f"plugin platforms (the package has {have}).")
            else:
                msg = (f"{self.label}: not compatible with this host, which needs a "
                       f"{platform} plugin (the package has {have} only).")
            raise IncompatiblePackageError(msg, "incompatible")
        return _selection(self.plugins, self.files, platform)

    def to_dict(self, platform: Optional[str] = None) -> dict:
        """Everything ``pyhost inspect --json`` prints, for ``platform`` (default: this host)."""
        platform = binary.host_platform() if platform is None else platform
        try:
            chosen = self.select(platform)
        except IncompatiblePackageError:
            chosen = None
        return {
            "valid": True, "file": self.label, "size": self.size,
            "uuid": self.uuid, "name": self.name, "version": self.version,
            "api_version": self.api_version, "author": self.author,
            "description": self.description, "website": self.website,
            "plugins": [dict(p.to_dict(), selected=chosen is not None
                             and p.platform == chosen.platform) for p in self.plugins],
            "files": [f.to_dict() for f in self.files],
            "host_platform": platform,
            "compatible": chosen is not None,
            "install": None if chosen is None else {
                "platform": chosen.platform, "plugin": chosen.plugin.path,
                "library": chosen.library, "files": dict(chosen.files)},
        }

    def describe(self, platform: Optional[str] = None) -> list[str]:
        """Human-readable lines for ``pyhost inspect``."""
        d = self.to_dict(platform)
        lines = [f"{self.label}: valid .dcext package ({len(self.entries)} entries, "
                 f"{self.size} bytes)"]
        for key, value in (("UUID", self.uuid), ("Name", self.name),
                           ("Version", self.version), ("ApiVersion", str(self.api_version)),
                           ("Author", self.author), ("Description", self.description),
                           ("Website", self.website)):
            if value:
                lines.append(f"  {key + ':':<13}{_one_line(value)}")
        lines.append("  Plugins:")
        width = max(len(p.path) for p in self.plugins)
        for p, pd in zip(self.plugins, d["plugins"]):
            init = ("exports " + p.binary.plugin_init_symbol if p.binary.exports_plugin_init
                    else "no pluginInit")
            mark = "  <- this host" if pd["selected"] else ""
            lines.append(f"    {p.platform:<8} {p.path:<{width}}  {p.binary.describe()}, "
                         f"{init}{mark}")
        if self.files:
            lines.append("  Files:")
            for f in self.files:
                lines.append(f"    {f.path}  ({f.platform or 'all platforms'}, {f.size} bytes)")
        if d["compatible"]:
            inst = d["install"]
            lines.append(f"  This host ({inst['platform']}) would load {inst['plugin']}, "
                         f"installed as {inst['library']} with {len(inst['files']) - 1} "
                         "other file(s).")
        else:
            lines.append(f"  This host ({platform or 'unknown platform'}) cannot load it: "
                         f"not compatible (the package has {_and(self.platforms)} only).")
        return lines


# ---------------------------------------------------------------------------------------
# Reading


def read_package(source: Source, *, limits: Optional[Limits] = None,
                 name: Optional[str] = None) -> Package:
    """Read and validate a package from a path or from bytes, entirely in memory.

    ``name`` is what messages call it (default: the file's name, or "package").
    Returns a :class:`Package`; raises :class:`InvalidPackageError` (one sentence) otherwise.
    """
    limits = DEFAULT_LIMITS if limits is None else limits
    if isinstance(source, (bytes, bytearray, memoryview)):
        label = name or "package"
        data = bytes(source)
    else:
        path = Path(source)
        label = name or path.name
        data = _read_file(path, label, limits)
    return _Reader(data, label, limits).read()


def _read_file(path: Path, label: str, limits: Limits) -> bytes:
    try:
        with open_regular(path, "package") as f:  # never blocks on a FIFO or a device
            st = os.fstat(f.fileno())
            if st.st_size > limits.max_package_size:
                raise InvalidPackageError(
                    f"{label}: the file is {st.st_size} bytes; the limit for a package is "
                    f"{limits.max_package_size}.", "package-size")
            data = f.read(limits.max_package_size + 1)
    except FileTypeError as exc:
        raise InvalidPackageError(f"{label}: not a regular file ({exc.kind}).",
                                  "not-file") from None
    except OSError as exc:
        raise InvalidPackageError(f"{label}: cannot be read ({exc.strerror or exc}).",
                                  "unreadable") from None
    if len(data) > limits.max_package_size:  # it grew while being read
        raise InvalidPackageError(f"{label}: the file is larger than the limit for a "
                                  f"package ({limits.max_package_size} bytes).", "package-size")
    return data


class _Reader(ZipReader):
    """One validation of one package: the checks, in order, each raising one sentence."""

    # -- the whole validation ------------------------------------------------------------
    def read(self) -> Package:
        if len(self.data) > self.limits.max_package_size:
            self.fail("package-size", f"the file is {len(self.data)} bytes; the limit for a "
                      f"package is {self.limits.max_package_size}")
        cd_offset, cd_end, count = self._find_end()
        entries = self._read_central_directory(cd_offset, cd_end, count)
        self._check_names(entries)
        self._check_local_headers(entries, cd_offset)
        by_name = {e.name: e for e in entries}

        info_entry = by_name.get(INFO_XML)
        if info_entry is None:
            self._no_info(entries)
        if info_entry.is_dir:
            self.fail("no-info", "info.xml is a directory")
        if info_entry.usize > self.limits.max_info_size:
            self.fail("info-size", f"info.xml is {info_entry.usize} bytes; the limit is "
                      f"{self.limits.max_info_size}")
        info = parse_info(self._inflate(info_entry), self.fail)

        named = self._check_named_paths(info, by_name)
        contents: dict[str, bytes] = {}
        for e in entries:          # every entry is inflated and checked, named or not
            if e.is_dir:
                continue
            content = self._inflate(e)
            if e.name in named:
                contents[e.name] = content
        total_u = sum(e.usize for e in entries)
        total_c = sum(e.csize for e in entries)
        if (total_u > self.limits.ratio_min_size
                and total_u > self.limits.max_total_ratio * max(total_c, 1)):
            self.fail("ratio", f"the archive inflates {total_u // max(total_c, 1)}:1 in total, "
                      f"more than the limit of {self.limits.max_total_ratio}:1 (a zip bomb?)")

        plugins = tuple(self._check_plugin(platform, path, contents[path])
                        for platform, path in info.plugins)
        files = tuple(FileEntry(path, platform, len(contents[path]))
                      for path, platform in info.files)
        for platform in PLATFORMS:
            if any(p.platform == platform for p in plugins):
                try:
                    _selection(plugins, files, platform)
                except _Collision as exc:
                    self.fail("target-collision", str(exc))
        return Package(
            label=self.label, uuid=info.uuid, name=info.name, version=info.version,
            version_number=float(info.version), api_version=info.api_version,
            author=info.author, description=info.description, website=info.website,
            plugins=plugins, files=files, entries=tuple(e.name for e in entries),
            size=len(self.data), _contents=contents)

    def _no_info(self, entries: list[_Entry]) -> None:
        for e in entries:
            if e.name.casefold() == INFO_XML:
                self.fail("no-info", f"there is no info.xml at the root of the archive (only "
                          f"{_show(e.name)}; names are case-sensitive)")
        nested = [e.name for e in entries if e.name.rsplit("/", 1)[-1] == INFO_XML]
        if nested:
            self.fail("no-info", f"info.xml must be at the root of the archive, not "
                      f"{_show(nested[0])}")
        self.fail("no-info", "there is no info.xml at the root of the archive")

    def _check_named_paths(self, info: Info, by_name: dict[str, _Entry]) -> set[str]:
        named = [(f"Plugin for {platform}", path) for platform, path in info.plugins]
        named += [("File", path) for path, _ in info.files]
        folded = {n.casefold(): n for n in by_name}
        for what, path in named:
            problem = check_path(path)
            if problem:
                self.fail("bad-named-path", f"info.xml names {_show(path)} ({what}), which "
                          f"{problem}")
            entry = by_name.get(path)
            if entry is None:
                dir_entry = by_name.get(path + "/")
                if dir_entry is not None:
                    self.fail("named-dir", f"info.xml names {_show(path)} ({what}), which is "
                              "a directory")
                hint = folded.get(path.casefold())
                extra = f" (it has {_show(hint)}; names are case-sensitive)" if hint else ""
                self.fail("missing-file", f"info.xml names {_show(path)} ({what}), which is "
                          f"not in the archive{extra}")
            if path == INFO_XML:
                self.fail("bad-named-path", f"info.xml names itself ({what})")
        return {path for _, path in named}

    def _check_plugin(self, platform: str, path: str, content: bytes) -> PluginEntry:
        if is_python_entry(path):  # a Python plugin's entry (pyhost.python_package)
            return PluginEntry(platform, path, len(content), python_source(platform))
        shown = _show(path)
        try:
            info = binary.inspect_binary(content, name=path)
        except BinaryError as exc:
            self.fail("not-binary", f"the {platform} plugin {str(exc).rstrip('.')}")
        except Exception as exc:  # defence in depth: binary.py promises BinaryError only
            self.fail("not-binary", f"the {platform} plugin {shown} cannot be read as a "
                      f"binary ({type(exc).__name__})")
        if info.platform != platform:
            self.fail("wrong-platform", f"the plugin {shown} is declared {platform} but is "
                      f"{info.describe()}")
        if not info.is_shared_library:
            self.fail("not-library", f"the {platform} plugin {shown} is {info.describe()}, "
                      "not a shared library")
        if not info.exports_plugin_init:
            self.fail("no-plugin-init", info.missing_plugin_init(
                f"the {platform} plugin {shown}").rstrip("."))
        return PluginEntry(platform, path, len(content), info)


class _Collision(Exception):
    pass


def _selection(plugins: Iterable[PluginEntry], files: Iterable[FileEntry],
               platform: str) -> Selection:
    plugin = next(p for p in plugins if p.platform == platform)
    # A Python entry keeps its path: the package's other modules sit next to it.
    library = plugin.path if is_python_entry(plugin.path) else plugin.path.rsplit("/", 1)[-1]
    targets: dict[str, str] = {library: plugin.path}
    for f in files:
        if f.platform not in (None, platform):
            continue
        if f.path in targets and targets[f.path] == f.path and f.path != plugin.path:
            raise _Collision(f"info.xml lists the File {_show(f.path)} twice for {platform}")
        targets.setdefault(f.path, f.path)
        if targets[f.path] != f.path:
            raise _Collision(f"on {platform}, {_show(targets[f.path])} and {_show(f.path)} "
                             f"would both be installed as {_show(f.path)}")
    folded: dict[str, str] = {}
    for target in targets:
        other = folded.setdefault(target.casefold(), target)
        if other != target:
            raise _Collision(f"on {platform}, {_show(other)} and {_show(target)} would be "
                             "installed at paths that differ only in case")
    for target in targets:
        parts = target.split("/")
        for i in range(1, len(parts)):
            if "/".join(parts[:i]).casefold() in folded:
                raise _Collision(f"on {platform}, {_show('/'.join(parts[:i]))} would be "
                                 "installed both as a file and as a directory")
    return Selection(platform, plugin, library, dict(targets))
