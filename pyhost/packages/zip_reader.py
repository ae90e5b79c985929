"""The raw ZIP structure of a package, parsed and checked here rather than by ``zipfile``
(which is lenient by design): end record, central directory and every local header must
agree; stored or DEFLATE only; every entry inflated with a bounded output and its size and
CRC checked. :class:`ZipReader` raises one sentence (``fail``) at the first problem.
"""
from __future__ import annotations

import stat
import struct
import zipfile
import zlib
from dataclasses import dataclass
from typing import Optional

from pyhost.packages.rules import (KiB, MiB, InvalidPackageError, Limits, NotAZipError, _show,
                                   check_path)

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


class ZipReader:
    """The ZIP-level checks of one package, each raising one sentence (``fail``); the
    package-level checks build on it (:class:`pyhost.packages.dcext._Reader`)."""

    def __init__(self, data: bytes, label: str, limits: Limits):
        self.data = data
        self.label = label
        self.limits = limits

    def fail(self, code: str, text: str, cls: type = InvalidPackageError):
        raise cls(f"{self.label}: {text}.", code)

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
