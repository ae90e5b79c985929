"""Inspect a plugin binary (ELF or PE) without loading it.

A plugin is checked before anything maps it into the process: a library built for another
platform, a truncated download or a file without ``pluginInit`` is refused with one clear
sentence instead of a dlopen error or a crash. Works on a path or on bytes, because .dcext
packages are checked in memory before anything is extracted.

This module imports nothing from the rest of pyhost, so it can be used (and tested) before
the native parts are built.
"""
from __future__ import annotations

import io
import os
import platform
import struct
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path
from typing import Union

import pefile
from elftools.elf.elffile import ELFFile

__all__ = [
    "PLATFORMS",
    "BinaryError",
    "BinaryInfo",
    "check_loadable",
    "host_platform",
    "inspect_binary",
]

#: The platform codes of the .dcext format (see docs/packages.md).
PLATFORMS = ("elf-x64", "elf-x86", "pe-x64", "pe-x86")

Source = Union[str, os.PathLike, bytes, bytearray, memoryview]

_ELF_MAGIC = b"\x7fELF"
_PE_MAGIC = b"MZ"

# Readable machine names, shared by both formats so that messages read the same.
_ELF_MACHINES = {
    "EM_X86_64": "x86-64", "EM_386": "i386", "EM_AARCH64": "aarch64", "EM_ARM": "arm",
    "EM_RISCV": "riscv", "EM_PPC64": "ppc64", "EM_PPC": "ppc", "EM_MIPS": "mips",
    "EM_S390": "s390", "EM_IA_64": "ia64", "EM_SPARCV9": "sparc64",
}
_PE_MACHINES = {0x8664: "x86-64", 0x14C: "i386", 0xAA64: "aarch64", 0x1C4: "arm", 0x200: "ia64"}

# (format, bits, machine) -> .dcext platform code.
_PLATFORM_CODES = {
    ("elf", 64, "x86-64"): "elf-x64",
    ("elf", 32, "i386"): "elf-x86",
    ("pe", 64, "x86-64"): "pe-x64",
    ("pe", 32, "i386"): "pe-x86",
}

# A host finds the plugin with GetProcAddress(h, "pluginInit"): only that exact name loads.
# i686 MinGW exports a __stdcall pluginInit as "pluginInit@4", MSVC as "_pluginInit@4"
# unless told otherwise; such a DLL does not load in the reference host.
_PE_INIT_NAME = "pluginInit"
_PE_DECORATED_INIT_NAMES = ("pluginInit@4", "_pluginInit@4")

_EXPORT_DIR = pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_EXPORT"]
_IMAGE_FILE_DLL = 0x2000


class BinaryError(ValueError):
    """A plugin binary is unreadable, corrupt, or cannot be loaded by this host."""


@dataclass(frozen=True)
class BinaryInfo:
    format: str                      # "elf" or "pe"
    bits: int                        # 32 or 64
    machine: str                     # readable CPU name: "x86-64", "i386", "aarch64", ...
    platform: str | None             # .dcext platform code; None if the format names none
    is_shared_library: bool          # ELF ET_DYN, or PE with the DLL flag
    plugin_init_symbol: str | None   # "pluginInit" when exported under that exact name
    # a 32-bit DLL that exports pluginInit only stdcall-decorated ("pluginInit@4"): the name
    decorated_plugin_init: str | None = None

    @property
    def exports_plugin_init(self) -> bool:
        return self.plugin_init_symbol is not None

    def missing_plugin_init(self, label: str) -> str:
        """The sentence that refuses a binary without a loadable pluginInit export."""
        if self.decorated_plugin_init is None:
            return f"{label} does not export pluginInit."
        return (f"{label} exports pluginInit only under its stdcall-decorated name "
                f"{self.decorated_plugin_init}, which hosts cannot find (they look up the "
                "exact name pluginInit): link it with -Wl,--add-stdcall-alias, or export "
                "pluginInit through a .def file.")

    def describe(self) -> str:
        """E.g. "a 32-bit ELF (i386) library" or "a 64-bit PE (Windows, x86-64) library"."""
        where = self.machine if self.format == "elf" else f"Windows, {self.machine}"
        what = "library" if self.is_shared_library else "executable"
        return f"a {self.bits}-bit {self.format.upper()} ({where}) {what}"


def inspect_binary(source: Source, *, name: str | None = None) -> BinaryInfo:
    """Describe the ELF or PE file at a path, or given as bytes, without loading it.

    ``name`` is what error messages call the file (default: the path, or "binary data").
    Raises BinaryError for anything that is not a readable ELF or PE file.
    """
    label, data = _read(source, name)
    if not data:
        raise BinaryError(f"{label} is empty.")
    if data.startswith(_ELF_MAGIC):
        kind, parse = "ELF", _inspect_elf
    elif data.startswith(_PE_MAGIC):
        kind, parse = "PE", _inspect_pe
    else:
        raise BinaryError(f"{label} is not a plugin binary (neither ELF nor PE).")
    try:
        return parse(data)
    # pyelftools and pefile raise a zoo of types on hostile input (ELFError, PEFormatError,
    # struct and construct errors, IndexError, ZeroDivisionError, ...): all mean "corrupt".
    except Exception as exc:
        raise BinaryError(f"{label} is a truncated or corrupt {kind} file.") from exc


def host_platform() -> str | None:
    """The .dcext platform code of the running Python, or None if it has none."""
    if sys.platform == "win32":
        # Names the interpreter's own build (win-amd64, win32, win-arm64), not the OS.
        return {"win-amd64": "pe-x64", "win32": "pe-x86"}.get(sysconfig.get_platform())
    if sys.platform.startswith("linux"):
        # machine() names the kernel; the pointer size tells a 32-bit Python on a 64-bit one.
        if platform.machine().lower() in ("x86_64", "amd64", "i386", "i486", "i586", "i686"):
            return "elf-x64" if struct.calcsize("P") == 8 else "elf-x86"
    return None


def check_loadable(source: Source, *, name: str | None = None) -> BinaryInfo:
    """Inspect a plugin binary and refuse it unless THIS host can load it as a plugin."""
    info = inspect_binary(source, name=name)
    label = _label(source, name)
    wanted = host_platform()
    if wanted is None:
        raise BinaryError(
            f"{label} cannot be loaded: this host is none of the plugin platforms "
            f"{', '.join(PLATFORMS)}."
        )
    if info.platform != wanted:
        raise BinaryError(f"{label} is {info.describe()}; this host needs {wanted}.")
    if not info.is_shared_library:
        raise BinaryError(f"{label} is {info.describe()}, not a shared library.")
    if not info.exports_plugin_init:
        raise BinaryError(info.missing_plugin_init(label))
    return info


def _label(source: Source, name: str | None) -> str:
    if name is not None:
        return name
    if isinstance(source, (bytes, bytearray, memoryview)):
        return "binary data"
    return os.fspath(source)


def _read(source: Source, name: str | None) -> tuple[str, bytes]:
    label = _label(source, name)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return label, bytes(source)
    try:
        return label, Path(source).read_bytes()
    except OSError as exc:
        raise BinaryError(f"{label} cannot be read ({exc.strerror or exc}).") from exc


def _inspect_elf(data: bytes) -> BinaryInfo:
    elf = ELFFile(io.BytesIO(data))
    # Read every header now: a file cut short fails here rather than inside dlopen. Each
    # header is parsed once (pyelftools re-parses on every iteration: it dominates load time).
    segments = list(elf.iter_segments())
    sections = list(elf.iter_sections())
    ends = [seg["p_offset"] + seg["p_filesz"] for seg in segments]
    ends += [sec["sh_offset"] + sec["sh_size"] for sec in sections
             if sec["sh_type"] != "SHT_NOBITS"]
    if max(ends, default=0) > len(data):
        raise ValueError("a segment or section extends past the end of the file")
    bits = elf.elfclass
    e_machine = elf["e_machine"]
    machine = _ELF_MACHINES.get(e_machine) or (
        e_machine.removeprefix("EM_").lower() if isinstance(e_machine, str)
        else f"unknown machine {e_machine:#x}")
    symbols = _elf_dynamic_symbols(sections, segments)
    init = next((sym.name for sym in symbols if _is_plugin_init(sym)), None)
    return BinaryInfo(
        format="elf", bits=bits, machine=machine,
        platform=_PLATFORM_CODES.get(("elf", bits, machine)),
        is_shared_library=elf["e_type"] == "ET_DYN",
        plugin_init_symbol=init,
    )


def _elf_dynamic_symbols(sections: list, segments: list):
    for section in sections:
        if section["sh_type"] == "SHT_DYNSYM":
            return section.iter_symbols()
    # Section headers are optional at run time (sstrip); the dynamic segment still has them.
    for segment in segments:
        if segment["p_type"] == "PT_DYNAMIC":
            return segment.iter_symbols()
    return iter(())


def _is_plugin_init(sym) -> bool:
    # Only what dlsym can find: defined, global or weak, visible outside the library.
    return (sym.name == "pluginInit"
            and sym["st_shndx"] != "SHN_UNDEF"
            and sym["st_info"]["type"] == "STT_FUNC"
            and sym["st_info"]["bind"] in ("STB_GLOBAL", "STB_WEAK")
            and sym["st_other"]["visibility"] in ("STV_DEFAULT", "STV_PROTECTED"))


def _inspect_pe(data: bytes) -> BinaryInfo:
    pe = pefile.PE(data=data, fast_load=True)  # fast_load: parse only what we ask for
    try:
        bits = {0x10B: 32, 0x20B: 64}[pe.OPTIONAL_HEADER.Magic]
        if any(s.PointerToRawData + s.SizeOfRawData > len(data) for s in pe.sections):
            raise ValueError("a section extends past the end of the file")
        machine_id = pe.FILE_HEADER.Machine
        machine = _PE_MACHINES.get(machine_id, f"unknown machine {machine_id:#x}")
        names = _pe_export_names(pe)
        return BinaryInfo(
            format="pe", bits=bits, machine=machine,
            platform=_PLATFORM_CODES.get(("pe", bits, machine)),
            is_shared_library=bool(pe.FILE_HEADER.Characteristics & _IMAGE_FILE_DLL),
            plugin_init_symbol=_PE_INIT_NAME if _PE_INIT_NAME in names else None,
            decorated_plugin_init=None if _PE_INIT_NAME in names else next(
                (n for n in _PE_DECORATED_INIT_NAMES if n in names), None),
        )
    finally:
        pe.close()


def _pe_export_names(pe: pefile.PE) -> set[str]:
    directory = pe.OPTIONAL_HEADER.DATA_DIRECTORY[_EXPORT_DIR]
    if not (directory.VirtualAddress and directory.Size):
        return set()
    pe.parse_data_directories(directories=[_EXPORT_DIR])
    exports = getattr(pe, "DIRECTORY_ENTRY_EXPORT", None)
    if exports is None:
        # pefile only warns when an export directory is unreadable; for us it is corrupt.
        raise ValueError("the export directory cannot be parsed")
    return {sym.name.decode("latin-1") for sym in exports.symbols if sym.name}
