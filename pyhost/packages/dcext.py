"""The .dcext package format: read and validate a package in memory, describe it, pack one.

A .dcext file (see docs/packages.md and the format description in ABI.md) is a ZIP archive
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

This module imports nothing from pyhost but :mod:`pyhost.host.binary`, so it needs no native code.
"""
from __future__ import annotations

import functools
import io
import os
import re
import stat
import struct
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Optional, Union

from pyhost.host import binary
from pyhost.host.binary import PLATFORMS, BinaryError, BinaryInfo
from pyhost.host.plugin_files import is_guid
from pyhost.packages.python_package import is_python_entry, python_entry, python_source

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
    "pack",
    "read_package",
]

#: The plugin API version packages must declare (ABI v8).
API_VERSION = 8
#: The package description every archive holds at its root.
INFO_XML = "info.xml"
#: The XML schema info.xml is validated against (shipped inside the package).
SCHEMA_PATH = Path(__file__).resolve().with_name("schemas") / "dcext.xsd"

KiB = 1 << 10
MiB = 1 << 20

Source = Union[str, os.PathLike, bytes, bytearray, memoryview]


@dataclass(frozen=True)
class Limits:
    """Bounds every package must stay within; the defaults fit any real DC plugin many times
    over. Sizes are bytes; a ratio is uncompressed size / compressed size."""

    max_package_size: int = 64 * MiB    # the .dcext file itself
    max_entries: int = 1000             # entries in the archive, directories included
    max_name_length: int = 255          # bytes in one entry name
    max_entry_size: int = 64 * MiB      # one entry, uncompressed
    max_total_size: int = 128 * MiB     # all entries, uncompressed
    max_ratio: int = 100                # one entry (checked while it is being inflated)
    max_total_ratio: int = 50           # the whole archive
    ratio_min_size: int = 1 * MiB       # ratios are only checked above this uncompressed size
    max_info_size: int = 256 * KiB      # info.xml, uncompressed

    def __post_init__(self) -> None:
        for name, value in self.__dict__.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"Limits.{name} must be a positive integer, not {value!r}.")


DEFAULT_LIMITS = Limits()


# ---------------------------------------------------------------------------------------
# Errors


class DcextError(ValueError):
    """A package that cannot be used here; the message is one sentence.

    ``code`` names the kind of problem ("not-zip", "encrypted", "dotdot", ...): stable
    identifiers for scripts (``pyhost inspect --json``) and tests.
    """

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.code = code


class InvalidPackageError(DcextError):
    """The package breaks the format or one of pyhost's rules: no host may install it."""


class NotAZipError(InvalidPackageError):
    """The file is not a ZIP archive at all (a .tar.gz renamed to .dcext, a bare library...)."""


class IncompatiblePackageError(DcextError):
    """A valid package with no plugin for this host's platform."""


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
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise InvalidPackageError(f"{label}: not a regular file.", "not-file")
            if st.st_size > limits.max_package_size:
                raise InvalidPackageError(
                    f"{label}: the file is {st.st_size} bytes; the limit for a package is "
                    f"{limits.max_package_size}.", "package-size")
            data = f.read(limits.max_package_size + 1)
    except IsADirectoryError:
        raise InvalidPackageError(f"{label}: not a regular file.", "not-file") from None
    except OSError as exc:
        raise InvalidPackageError(f"{label}: cannot be read ({exc.strerror or exc}).",
                                  "unreadable") from None
    if len(data) > limits.max_package_size:  # it grew while being read
        raise InvalidPackageError(f"{label}: the file is larger than the limit for a "
                                  f"package ({limits.max_package_size} bytes).", "package-size")
    return data


_SIG_LOCAL = b"PK\x03\x04"
_SIG_CENTRAL = b"PK\x01\x02"
_SIG_END = b"PK\x05\x06"
_SIG_END64 = b"PK\x06\x06"
_SIG_LOCATOR64 = b"PK\x06\x07"
_SPAN_MARKERS = (b"PK\x07\x08", b"PK00")

_END = struct.Struct("<4sHHHHIIH")               # end of central directory record, 22 bytes
_LOCATOR64 = struct.Struct("<4sIQI")             # ZIP64 end locator, 20 bytes
_END64 = struct.Struct("<4sQHHIIQQQQ")           # ZIP64 end record, 56 bytes
_CENTRAL = struct.Struct("<4sHHHHHHIIIHHHHHII")  # central directory header, 46 bytes
_LOCAL = struct.Struct("<4sHHHHHIIIHH")          # local file header, 30 bytes

_FLAG_ENCRYPTED = 0x0001
_FLAG_DESCRIPTOR = 0x0008
_FLAG_STRONG_ENCRYPTION = 0x0040
_FLAG_MASKED_HEADERS = 0x2000
_METHOD_NAMES = {1: "shrink", 2: "reduce", 3: "reduce", 4: "reduce", 5: "reduce",
                 6: "implode", 9: "Deflate64", 10: "PKWARE implode", 12: "bzip2", 14: "LZMA",
                 18: "IBM TERSE", 19: "LZ77", 20: "zstd", 93: "zstd", 94: "MP3", 95: "xz",
                 96: "JPEG", 97: "WavPack", 98: "PPMd"}
_METHOD_AES = 99

# Magic numbers of files people may mistake for a package.
_NOT_ZIP_MAGIC = (
    (b"\x1f\x8b", "a gzip file (a .tar.gz renamed?)"),
    (b"BZh", "a bzip2 file"),
    (b"\xfd7zXZ\x00", "an xz file"),
    (b"(\xb5/\xfd", "a zstd file"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"),
    (b"\x7fELF", "an ELF binary (install a bare library directly, or pack it)"),
    (b"MZ", "a Windows PE binary (pack it into a package first)"),
    (b"<?xml", "an XML file"),
)


@dataclass
class _Entry:
    raw_name: bytes
    name: str
    flags: int
    method: int
    crc: int
    csize: int
    usize: int
    offset: int          # of the local header
    external: int
    is_dir: bool
    data_start: int = 0


def _show(raw: Union[bytes, str]) -> str:
    """A name as it can be printed on one line: non-ASCII and control bytes escaped."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogateescape")
    out = []
    for b in raw:
        if 0x20 <= b < 0x7F and b not in (0x22, 0x5C):
            out.append(chr(b))
        elif b == 0x5C:
            out.append("\\")
        else:
            out.append(f"\\x{b:02x}")
    return '"' + "".join(out) + '"'


def _and(items: Iterable[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items) or "nothing"
    return ", ".join(items[:-1]) + " and " + items[-1]


def _one_line(text: str) -> str:
    return " ".join(text.split())


_DRIVE = re.compile(r"^[A-Za-z]:")


def check_path(path: str, *, allow_dir: bool = False) -> Optional[str]:
    """Why ``path`` is not a safe relative path inside a package, or None if it is.

    The answer completes a sentence such as 'entry "x" ...'.
    """
    if not path:
        return "is empty"
    if path.startswith("/"):
        return "is an absolute path"
    if "\\" in path:
        return "contains a backslash (the separator is /)"
    if _DRIVE.match(path):
        return "starts with a drive letter"
    if ":" in path:
        return "contains a colon"
    body = path[:-1] if allow_dir and path.endswith("/") else path
    parts = body.split("/")
    if ".." in parts:
        return 'has a ".." component'
    if any(p in ("", ".") for p in parts):
        return 'is not a normalised path (it has an empty or "." component)'
    return None


class _Reader:
    """One validation of one package: the checks, in order, each raising one sentence."""

    def __init__(self, data: bytes, label: str, limits: Limits):
        self.data = data
        self.label = label
        self.limits = limits

    def fail(self, code: str, text: str, cls: type = InvalidPackageError):
        raise cls(f"{self.label}: {text}.", code)

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
        info = _parse_info(self._inflate(info_entry), self.fail)

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

    # -- the ZIP container ---------------------------------------------------------------
    def _not_a_zip(self) -> None:
        data = self.data
        if not data:
            self.fail("empty", "the file is empty, not a ZIP archive", NotAZipError)
        if data.startswith(_SIG_LOCAL):
            self.fail("truncated", "the ZIP archive is truncated (its end record is missing)")
        if len(data) > 262 and data[257:262] == b"ustar":
            self.fail("not-zip", "not a ZIP archive: it is a tar archive", NotAZipError)
        for magic, what in _NOT_ZIP_MAGIC:
            if data.startswith(magic):
                self.fail("not-zip", f"not a ZIP archive: it is {what}", NotAZipError)
        self.fail("not-zip", "not a ZIP archive", NotAZipError)

    def _find_end(self) -> tuple[int, int, int]:
        """(central directory offset, where it must end, entry count) from the end record."""
        data = self.data
        if data[:4] in _SPAN_MARKERS:
            self.fail("spanned", "a split or spanned ZIP archive, which packages may not be")
        n = len(data)
        lowest = max(0, n - _END.size - 0xFFFF)
        pos = data.rfind(_SIG_END, lowest)
        saw_end = False
        while pos >= 0:  # the last signature whose comment ends exactly at the end of file
            if pos + _END.size <= n:
                saw_end = True
                if pos + _END.size + _END.unpack_from(data, pos)[7] == n:
                    break
            pos = data.rfind(_SIG_END, lowest, pos + 3)  # the one starting before pos
        if pos < 0:
            if saw_end and data.startswith(_SIG_LOCAL):
                self.fail("trailing-data", "there is data after the end of the ZIP archive "
                          "(or its end record is damaged)")
            self._not_a_zip()
        (_, disk, cd_disk, n_here, n_total, cd_size, cd_offset, _) = _END.unpack_from(data, pos)
        if disk != 0 or cd_disk != 0 or n_here != n_total:
            self.fail("spanned", "a split or spanned ZIP archive (it names more than one "
                      "disk), which packages may not be")
        cd_end = pos
        has_locator = pos >= _LOCATOR64.size and \
            data[pos - _LOCATOR64.size:pos - _LOCATOR64.size + 4] == _SIG_LOCATOR64
        if has_locator:
            loc = pos - _LOCATOR64.size
            _, loc_disk, end64, disks = _LOCATOR64.unpack_from(data, loc)
            if loc_disk != 0 or disks != 1:
                self.fail("spanned", "a split or spanned ZIP archive (its ZIP64 locator names "
                          f"{disks} disks), which packages may not be")
            if end64 + _END64.size > loc or data[end64:end64 + 4] != _SIG_END64:
                self.fail("end-record", "the ZIP64 end record is missing or damaged")
            (_, size64, _, _, disk, cd_disk, n_here, n_total, cd_size,
             cd_offset) = _END64.unpack_from(data, end64)
            if end64 + 12 + size64 != loc:
                self.fail("end-record", "the ZIP64 end record is damaged")
            if disk != 0 or cd_disk != 0 or n_here != n_total:
                self.fail("spanned", "a split or spanned ZIP archive (its ZIP64 end record "
                          "names more than one disk), which packages may not be")
            cd_end = end64
        elif 0xFFFF in (n_total,) or 0xFFFFFFFF in (cd_size, cd_offset):
            self.fail("end-record", "the ZIP end record is damaged (ZIP64 values without a "
                      "ZIP64 end record)")
        if n_total > self.limits.max_entries:
            self.fail("entry-count", f"the archive has {n_total} entries; the limit is "
                      f"{self.limits.max_entries}")
        if n_total == 0:
            self.fail("empty-archive", "the ZIP archive is empty (it has no info.xml)")
        if cd_offset + cd_size < cd_end:
            self.fail("layout", "the central directory is not where the end record says "
                      "(data was prepended to or inserted into the archive)")
        if cd_offset + cd_size > cd_end:
            self.fail("layout", "the central directory is not where the end record says "
                      "(the archive is truncated or damaged)")
        return cd_offset, cd_end, n_total

    def _read_central_directory(self, cd_offset: int, cd_end: int, count: int) -> list[_Entry]:
        data, limits = self.data, self.limits
        entries: list[_Entry] = []
        off = cd_offset
        total = 0
        for index in range(count):
            if off + _CENTRAL.size > cd_end or data[off:off + 4] != _SIG_CENTRAL:
                self.fail("central-directory", f"the central directory is damaged at entry "
                          f"{index + 1} of {count}")
            (_, made_by, _, flags, method, _, _, crc, csize, usize, nlen, xlen, clen, disk,
             _, external, offset) = _CENTRAL.unpack_from(data, off)
            name_start = off + _CENTRAL.size
            raw_name = data[name_start:name_start + nlen]
            extra = data[name_start + nlen:name_start + nlen + xlen]
            off = name_start + nlen + xlen + clen
            if off > cd_end:
                self.fail("central-directory", f"the central directory is damaged at entry "
                          f"{index + 1} of {count}")
            if 0xFFFFFFFF in (usize, csize, offset) or disk == 0xFFFF:
                usize, csize, offset, disk = self._zip64_extra(
                    raw_name, extra, usize, csize, offset, disk)
            shown = _show(raw_name)
            if disk != 0:
                self.fail("spanned", f"entry {shown} lives on another disk of a split "
                          "archive, which packages may not be")
            if flags & (_FLAG_ENCRYPTED | _FLAG_STRONG_ENCRYPTION | _FLAG_MASKED_HEADERS) \
                    or method == _METHOD_AES:
                self.fail("encrypted", f"entry {shown} is encrypted; packages may not be")
            if flags & _FLAG_DESCRIPTOR:
                self.fail("streamed", f"entry {shown} was written in streaming mode (sizes "
                          "in a data descriptor), which packages may not use")
            if method not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                what = _METHOD_NAMES.get(method, "unknown")
                self.fail("method", f"entry {shown} uses compression method {method} ({what}); "
                          "only stored (0) and DEFLATE (8) are allowed")
            name = self._check_name(raw_name)
            mode = external >> 16
            kind = stat.S_IFMT(mode)
            if kind == stat.S_IFLNK:
                self.fail("symlink", f"entry {shown} is a symbolic link; packages may not "
                          "hold links")
            if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
                self.fail("special-file", f"entry {shown} is a special file (device, pipe or "
                          "socket), not a regular file")
            is_dir = name.endswith("/")
            if kind == stat.S_IFDIR and not is_dir:
                self.fail("dir-name", f"entry {shown} is marked as a directory but its name "
                          "does not end with /")
            if is_dir and (usize or csize > 2):
                self.fail("dir-data", f"directory entry {shown} holds data")
            if usize > limits.max_entry_size:
                self.fail("entry-size", f"entry {shown} declares {usize} bytes uncompressed; "
                          f"the limit for one entry is {limits.max_entry_size}")
            total += usize
            if total > limits.max_total_size:
                self.fail("total-size", f"the entries declare more than "
                          f"{limits.max_total_size} bytes uncompressed in total (the limit)")
            if usize > limits.ratio_min_size and usize > limits.max_ratio * max(csize, 1):
                self.fail("ratio", f"entry {shown} declares a compression ratio of "
                          f"{usize // max(csize, 1)}:1, more than the limit of "
                          f"{limits.max_ratio}:1 (a zip bomb?)")
            entries.append(_Entry(raw_name, name, flags, method, crc, csize, usize, offset,
                                  external, is_dir))
        if off != cd_end:
            self.fail("central-directory", "the central directory is damaged (it is larger "
                      "than its entries)")
        return entries

    def _zip64_extra(self, raw_name, extra, usize, csize, offset, disk):
        pos = 0
        while pos + 4 <= len(extra):
            tag, size = struct.unpack_from("<HH", extra, pos)
            body = extra[pos + 4:pos + 4 + size]
            pos += 4 + size
            if tag != 0x0001:
                continue
            values = []
            fmt = []
            if usize == 0xFFFFFFFF:
                fmt.append("Q")
            if csize == 0xFFFFFFFF:
                fmt.append("Q")
            if offset == 0xFFFFFFFF:
                fmt.append("Q")
            if disk == 0xFFFF:
                fmt.append("I")
            need = struct.calcsize("<" + "".join(fmt))
            if len(body) < need:
                break
            values = list(struct.unpack_from("<" + "".join(fmt), body))
            if usize == 0xFFFFFFFF:
                usize = values.pop(0)
            if csize == 0xFFFFFFFF:
                csize = values.pop(0)
            if offset == 0xFFFFFFFF:
                offset = values.pop(0)
            if disk == 0xFFFF:
                disk = values.pop(0)
            return usize, csize, offset, disk
        self.fail("central-directory", f"entry {_show(raw_name)} has ZIP64 sizes but no "
                  "valid ZIP64 extra field")

    def _check_name(self, raw: bytes) -> str:
        shown = _show(raw)
        if not raw:
            self.fail("empty-name", "an entry has an empty name")
        if len(raw) > self.limits.max_name_length:
            self.fail("name-length", f"entry name {_show(raw[:40])}... is {len(raw)} bytes "
                      f"long; the limit is {self.limits.max_name_length}")
        try:
            name = raw.decode("ascii")
        except UnicodeDecodeError:
            self.fail("non-ascii", f"entry name {shown} is not ASCII; packages allow ASCII "
                      "names only")
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
            self.fail("control-char", f"entry name {shown} contains a control character")
        problem = check_path(name, allow_dir=True)
        if problem:
            code = {"is an absolute path": "absolute", 'has a ".." component': "dotdot",
                    "starts with a drive letter": "drive-letter"}.get(problem)
            if code is None:
                code = "backslash" if "backslash" in problem else "bad-path"
            self.fail(code, f"entry {shown} {problem}")
        return name

    def _check_names(self, entries: list[_Entry]) -> None:
        exact: set[str] = set()
        folded: dict[str, str] = {}
        files: set[str] = set()
        for e in entries:
            if e.name in exact:
                self.fail("duplicate", f"the archive has two entries named {_show(e.name)}")
            exact.add(e.name)
            key = e.name.rstrip("/")
            other = folded.get(key.casefold())
            if other is not None:
                if other.rstrip("/") == key:
                    self.fail("file-and-dir", f"{_show(key)} is both a file and a directory "
                              "in the archive")
                self.fail("case-duplicate", f"entries {_show(other)} and {_show(e.name)} "
                          "differ only in case")
            folded[key.casefold()] = e.name
            if not e.is_dir:
                files.add(key.casefold())
        for e in entries:
            parts = e.name.rstrip("/").split("/")
            for i in range(1, len(parts)):
                parent = "/".join(parts[:i]).casefold()
                if parent in files:
                    self.fail("file-and-dir", f"{_show('/'.join(parts[:i]))} is both a file "
                              "and a directory in the archive")

    def _check_local_headers(self, entries: list[_Entry], cd_offset: int) -> None:
        data = self.data
        ordered = sorted(entries, key=lambda e: e.offset)
        if ordered and ordered[0].offset != 0:
            self.fail("prepended", f"the archive has {ordered[0].offset} bytes of other data "
                      "before its first entry")
        previous: Optional[_Entry] = None
        previous_end = 0
        for e in ordered:
            shown = _show(e.raw_name)
            p = e.offset
            if p + _LOCAL.size > cd_offset or data[p:p + 4] != _SIG_LOCAL:
                self.fail("local-header", f"the local header of entry {shown} is missing or "
                          "damaged")
            if previous is not None and p < previous_end:
                self.fail("overlap", f"entries {_show(previous.raw_name)} and {shown} overlap "
                          "(a zip bomb technique)")
            (_, _, flags, method, _, _, crc, csize, usize, nlen,
             xlen) = _LOCAL.unpack_from(data, p)
            local_name = data[p + _LOCAL.size:p + _LOCAL.size + nlen]
            if local_name != e.raw_name:
                self.fail("header-mismatch", f"the local header of entry {shown} names "
                          f"{_show(local_name)} instead")
            if method != e.method or (flags ^ e.flags) & (_FLAG_ENCRYPTED | _FLAG_DESCRIPTOR):
                self.fail("header-mismatch", f"the local header of entry {shown} disagrees "
                          "with the central directory (method or flags)")
            if crc != e.crc or (csize != e.csize and csize != 0xFFFFFFFF) or \
                    (usize != e.usize and usize != 0xFFFFFFFF):
                self.fail("header-mismatch", f"the local header of entry {shown} disagrees "
                          "with the central directory (CRC or sizes)")
            e.data_start = p + _LOCAL.size + nlen + xlen
            end = e.data_start + e.csize
            if end > cd_offset:
                self.fail("layout", f"the data of entry {shown} runs into the central "
                          "directory (the archive is truncated or damaged)")
            previous, previous_end = e, end

    def _inflate(self, e: _Entry) -> bytes:
        """The entry's content, never more than it declares, CRC checked."""
        shown = _show(e.raw_name)
        limits = self.limits
        compressed = memoryview(self.data)[e.data_start:e.data_start + e.csize]
        if e.method == zipfile.ZIP_STORED:
            if e.csize != e.usize:
                self.fail("size-mismatch", f"stored entry {shown} is {e.csize} bytes but "
                          f"declares {e.usize}")
            content = bytes(compressed)
        else:
            d = zlib.decompressobj(-zlib.MAX_WBITS)
            chunks, produced, fed = [], 0, 0
            while True:  # small steps, so the checks run long before memory is at stake
                if d.unconsumed_tail:
                    piece = d.unconsumed_tail
                elif fed < len(compressed):
                    piece = compressed[fed:fed + 64 * KiB]
                    fed += len(piece)
                else:
                    break
                try:
                    out = d.decompress(piece, min(1 * MiB, e.usize + 1 - produced))
                except zlib.error:
                    self.fail("corrupt", f"the compressed data of entry {shown} is corrupt")
                produced += len(out)
                chunks.append(out)
                if produced > e.usize:
                    self.fail("size-mismatch", f"entry {shown} inflates to more than the "
                              f"{e.usize} bytes it declares")
                consumed = fed - len(d.unconsumed_tail) - len(d.unused_data)
                if produced > limits.ratio_min_size and \
                        produced > limits.max_ratio * max(consumed, 1):
                    self.fail("ratio", f"entry {shown} inflates more than "
                              f"{limits.max_ratio}:1 (a zip bomb?)")
                if d.eof:
                    break
            if not d.eof:
                self.fail("corrupt", f"the compressed data of entry {shown} is truncated")
            if d.unused_data or fed < len(compressed):
                self.fail("corrupt", f"entry {shown} has extra bytes after its compressed data")
            content = b"".join(chunks)
            if len(content) != e.usize:
                self.fail("size-mismatch", f"entry {shown} holds {len(content)} bytes but "
                          f"declares {e.usize}")
        if zlib.crc32(content) != e.crc:
            self.fail("crc", f"entry {shown} fails its CRC check (the archive is damaged)")
        return content

    # -- info.xml and what it names ------------------------------------------------------
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

    def _check_named_paths(self, info: "_Info", by_name: dict[str, _Entry]) -> set[str]:
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
            self.fail("no-plugin-init", f"the {platform} plugin {shown} does not export "
                      "pluginInit")
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


# ---------------------------------------------------------------------------------------
# info.xml

_ORDER = ("UUID", "Name", "Version", "ApiVersion", "Author", "Description", "Website",
          "Plugin", "Files")
_REQUIRED = ("UUID", "Name", "Version", "ApiVersion")
_VERSION = re.compile(r"[0-9]{1,9}(\.[0-9]{1,9})?")
_INTEGER = re.compile(r"[0-9]{1,9}")


@dataclass(frozen=True)
class _Info:
    uuid: str
    name: str
    version: str
    api_version: int
    author: str
    description: str
    website: str
    plugins: tuple[tuple[str, str], ...]            # (platform, path)
    files: tuple[tuple[str, Optional[str]], ...]    # (path, platform or None)


@functools.lru_cache(maxsize=1)
def _schema():
    import xmlschema  # imported on first use: it takes a few hundred milliseconds
    return xmlschema.XMLSchema10(str(SCHEMA_PATH))


def _token(text: Optional[str]) -> str:
    """xs:token's white space rule: trimmed, inner runs collapsed to one space."""
    return " ".join((text or "").split())


def _parse_info(raw: bytes, fail) -> _Info:
    """Parses info.xml safely and validates it; ``fail(code, text)`` raises."""
    import xml.etree.ElementTree as ET

    import defusedxml
    import defusedxml.ElementTree as SafeET

    try:
        root = SafeET.fromstring(raw, forbid_dtd=True, forbid_entities=True,
                                 forbid_external=True)
    except defusedxml.DTDForbidden:
        fail("xml-dtd", "info.xml has a document type declaration (<!DOCTYPE>), which could "
             "define entities; packages may not use one")
    except defusedxml.EntitiesForbidden:
        fail("xml-entities", "info.xml declares entities; packages may not")
    except defusedxml.ExternalReferenceForbidden:
        fail("xml-external", "info.xml refers to an external resource; packages may not")
    except ET.ParseError as exc:
        fail("xml-syntax", f"info.xml is not well-formed XML ({exc})")
    except (ValueError, LookupError, UnicodeError) as exc:
        fail("xml-syntax", f"info.xml cannot be decoded ({type(exc).__name__})")

    if root.tag != "dcext":
        fail("xml-root", f"the root element of info.xml is <{_one_line(str(root.tag))}>, "
             "not <dcext>")
    children = list(root)
    counts: dict[str, int] = {}
    for child in children:
        tag = child.tag if isinstance(child.tag, str) else "?"
        if tag not in _ORDER:
            fail("xml-unknown", f"info.xml has an unknown element <{_one_line(tag)}> in "
                 "<dcext>")
        counts[tag] = counts.get(tag, 0) + 1
    for tag in _REQUIRED:
        if tag not in counts:
            fail("xml-missing", f"info.xml has no <{tag}>, which is required")
    for tag, n in counts.items():
        if n > 1 and tag != "Plugin":
            fail("xml-duplicate", f"info.xml has {n} <{tag}> elements; one is allowed")
    if "Plugin" not in counts:
        fail("xml-no-plugin", "info.xml names no <Plugin>; a package needs at least one")
    values = {c.tag: _token(c.text) for c in children if c.tag in _ORDER}
    if not is_guid(values["UUID"]):
        fail("xml-uuid", f"the UUID {_show(values['UUID'][:60])} in info.xml is not a GUID "
             "such as {f62ed829-def5-4332-a0d7-84d2ec692006}")
    if not _VERSION.fullmatch(values["Version"]):
        fail("xml-version", f"the Version {_show(values['Version'][:60])} in info.xml is not "
             "a decimal number such as 1.0 or 2.3")
    if not _INTEGER.fullmatch(values["ApiVersion"]):
        fail("xml-api-version", f"the ApiVersion {_show(values['ApiVersion'][:60])} in "
             "info.xml is not an integer")
    seen_platforms: set[str] = set()
    for element, what in [(c, "Plugin") for c in children if c.tag == "Plugin"] + \
            [(f, "File") for c in children if c.tag == "Files" for f in c]:
        if what == "File" and element.tag != "File":
            fail("xml-unknown", f"info.xml has an unknown element <{_one_line(str(element.tag))}>"
                 " in <Files>")
        platform = element.get("Platform")
        path = _show(_token(element.text)[:80])
        if platform is None:
            if what == "Plugin":
                fail("xml-platform", f"the <Plugin> {path} in info.xml has no Platform "
                     "attribute")
            continue
        if platform not in PLATFORMS:
            fail("xml-platform", f"the <{what}> {path} in info.xml has the unknown platform "
                 f"{_show(platform[:40])}; the platform codes are {_and(PLATFORMS)}")
        if what == "Plugin":
            if platform in seen_platforms:
                fail("xml-platform", f"info.xml has two <Plugin> elements for {platform}")
            seen_platforms.add(platform)

    try:
        error = next(iter(_schema().iter_errors(root)), None)
    except Exception as exc:  # xmlschema failing on odd input is still a rejection
        fail("xml-schema", f"info.xml could not be checked against the dcext schema "
             f"({type(exc).__name__})")
    if error is not None:
        reason = _one_line(str(error.reason or error.message)).rstrip(".").replace(". ", "; ")
        fail("xml-schema", f"info.xml does not match the dcext schema at "
             f"{error.path or '/dcext'}: {reason}")

    api_version = int(values["ApiVersion"])
    if api_version != API_VERSION:
        fail("api-version", f"the package is built for plugin API version {api_version}; "
             f"this host speaks version {API_VERSION}")
    if float(values["Version"]) <= 0:
        fail("xml-version", "the Version in info.xml must be greater than 0")
    plugins = tuple((c.get("Platform"), _token(c.text)) for c in children if c.tag == "Plugin")
    files = tuple((_token(f.text), f.get("Platform"))
                  for c in children if c.tag == "Files" for f in c)
    return _Info(uuid=values["UUID"], name=values["Name"], version=values["Version"],
                 api_version=api_version, author=values.get("Author", ""),
                 description=(next((c.text or "" for c in children if c.tag == "Description"),
                                   "")).strip(),
                 website=values.get("Website", ""), plugins=plugins, files=files)


# ---------------------------------------------------------------------------------------
# Packing

_PACK_DATE = (1980, 1, 1, 0, 0, 0)  # fixed, so the same directory always packs the same bytes


def pack(directory: Union[str, os.PathLike], output: Union[str, os.PathLike, None] = None,
         *, limits: Optional[Limits] = None) -> tuple[Path, Package]:
    """Builds a package from ``directory`` (its info.xml and the files it names).

    Writes ``output`` (default: ``<directory>.dcext`` beside the directory) through a
    temporary file in the same directory that is validated exactly as ``read_package``
    would, then renamed into place; when validation fails nothing is left behind and
    InvalidPackageError is raised. Returns the output path and the package.
    """
    limits = DEFAULT_LIMITS if limits is None else limits
    directory = Path(directory)
    label = str(directory)
    if not directory.is_dir():
        raise InvalidPackageError(f"{label}: no such directory.", "pack-no-dir")
    info_path = directory / INFO_XML
    if not info_path.is_file():
        raise InvalidPackageError(f"{label}: there is no info.xml in this directory.",
                                  "no-info")
    raw_info = info_path.read_bytes()
    if len(raw_info) > limits.max_info_size:
        raise InvalidPackageError(f"{label}: info.xml is {len(raw_info)} bytes; the limit is "
                                  f"{limits.max_info_size}.", "info-size")

    def fail(code, text):
        raise InvalidPackageError(f"{label}: {text}.", code)

    info = _parse_info(raw_info, fail)
    names = [path for _, path in info.plugins] + [path for path, _ in info.files]
    members: dict[str, bytes] = {}
    for path in names:
        problem = check_path(path)
        if problem:
            fail("bad-named-path", f"info.xml names {_show(path)}, which {problem}")
        source = directory / path
        if not source.is_file():
            fail("missing-file", f"info.xml names {_show(path)}, which is not a file in "
                 f"{label}")
        if path not in members:
            members[path] = source.read_bytes()

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in [(INFO_XML, raw_info)] + sorted(members.items()):
            entry = zipfile.ZipInfo(name, date_time=_PACK_DATE)
            entry.create_system = 3  # Unix: the mode below is meaningful
            entry.external_attr = (stat.S_IFREG | 0o644) << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, content, compresslevel=9)
    data = buffer.getvalue()

    target = Path(output) if output is not None else \
        directory.resolve().parent / (directory.resolve().name + ".dcext")
    if not target.parent.is_dir():
        raise InvalidPackageError(f"{target}: cannot write there (no such directory).",
                                  "pack-output")
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                    suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        package = read_package(tmp, limits=limits, name=target.name)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target, package
