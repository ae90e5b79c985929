"""Building blocks for the .dcext tests: real plugin binaries for every platform code,
info.xml text, well-formed packages, and a raw ZIP writer for malformed ones.

Binaries are compiled once per test session:

- ``chat_guard(platform)``: sample_plugins/chat_guard.c (it depends on the SDK header only)
  built with gcc (elf-x64), gcc -m32 (elf-x86), x86_64-w64-mingw32-gcc (pe-x64) and
  i686-w64-mingw32-gcc (pe-x86). A missing toolchain skips the test that needs it, with
  the reason.
- ``pkg_plugin(version=..., ...)``: the small plugin below (PKG_PLUGIN_C) for this host, in
  as many versions and behaviours as the install/update tests need. It records which
  version was loaded and whether it finds its Files through get_install_path.
"""
from __future__ import annotations

import io
import shutil
import struct
import subprocess
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import pytest

from pyhost.abi.paths import sdk_include_dir

REPO = Path(__file__).resolve().parents[1]
CHAT_GUARD_C = REPO / "sample_plugins" / "chat_guard.c"
CHAT_GUARD_GUID = "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000001}"
PKG_GUID = "{7d3c9a10-4b6e-4f0a-8c2d-00000000d0c1}"

# platform code -> (compiler command, library suffix)
TOOLCHAINS = {
    "elf-x64": (["gcc", "-shared", "-fPIC"], ".so"),
    "elf-x86": (["gcc", "-m32", "-shared", "-fPIC"], ".so"),
    "pe-x64": (["x86_64-w64-mingw32-gcc", "-shared"], ".dll"),
    "pe-x86": (["i686-w64-mingw32-gcc", "-shared", "-Wl,--add-stdcall-alias"], ".dll"),
}

PKG_PLUGIN_C = r"""
/* A test plugin for the package tests. Macros: PKG_GUID, PKG_VERSION, PKG_REFUSE_LOAD
 * (False from every load state), PKG_REFUSE_UNLOAD (False from ON_UNLOAD: stays mapped).
 * At each load it stores, under its guid: "loaded_version" (its PKG_VERSION), "last_state",
 * "install_path" (DCConfig get_install_path) and "data_file" ("found" when
 * <install path>/data/hello.txt exists). */
#include <stdio.h>
#include "dcplugin.h"

#ifndef PKG_GUID
#define PKG_GUID "{7d3c9a10-4b6e-4f0a-8c2d-00000000d0c1}"
#endif
#ifndef PKG_VERSION
#define PKG_VERSION 1.0
#endif
#define STR_(x) #x
#define STR(x) STR_(x)

static DCConfigPtr config;

static void set_str(const char* key, const char* value)
{
    ConfigStr v;
    v.type = CFG_TYPE_STRING;
    v.value = value;
    config->set_cfg(PKG_GUID, key, (ConfigValuePtr)&v);
}

static Bool on_load(DCCorePtr core, const char* state)
{
    char file[4096];
    FILE* f;
    ConfigStrPtr path;
    config = (DCConfigPtr)core->query_interface(DCINTF_CONFIG, DCINTF_CONFIG_VER);
    if (!config)
        return False;
    set_str("loaded_version", STR(PKG_VERSION));
    set_str("last_state", state);
    path = config->get_install_path(PKG_GUID);
    set_str("install_path", path->value);
    snprintf(file, sizeof file, "%sdata/hello.txt", path->value);
    f = fopen(file, "rb");
    set_str("data_file", f ? "found" : "missing");
    if (f)
        fclose(f);
    config->release((ConfigValuePtr)path);
#ifdef PKG_REFUSE_LOAD
    return False;
#else
    return True;
#endif
}

static Bool DCAPI plugin_main(PluginState state, DCCorePtr core, dcptr_t data)
{
    (void)data;
    switch (state) {
    case ON_INSTALL: return on_load(core, "install");
    case ON_LOAD: return on_load(core, "load");
    case ON_LOAD_RUNTIME: return on_load(core, "load_runtime");
#ifdef PKG_REFUSE_UNLOAD
    case ON_UNLOAD: return False;
#endif
    default: return True;
    }
}

DCEXP DCMAIN DCAPI pluginInit(MetaDataPtr info)
{
    info->name = "Package test plugin";
    info->author = "pyhost tests";
    info->description = "Records which version was loaded";
    info->web = "https://example.invalid/pyhost";
    info->guid = PKG_GUID;
    info->apiVersion = DCAPI_CORE_VER;
    info->version = PKG_VERSION;
    return plugin_main;
}
"""


def compile_plugin(platform: str, source: Path, out: Path, defines=()) -> Optional[str]:
    """Builds ``source`` for ``platform`` into ``out``; returns None, or why it cannot."""
    cmd, _ = TOOLCHAINS[platform]
    if shutil.which(cmd[0]) is None:
        return f"{cmd[0]} is not installed"
    args = cmd + [f"-I{sdk_include_dir()}", "-O1", "-o", str(out), str(source)]
    args += [f"-D{d}" for d in defines]
    done = subprocess.run(args, capture_output=True, text=True)
    if done.returncode != 0:
        first = (done.stderr.strip().splitlines() or ["no output"])[0]
        return f"{' '.join(cmd)} cannot build {source.name} here ({first})"
    return None


class Builds:
    """Compiled plugins, cached for the session."""

    def __init__(self, directory: Path):
        self.dir = directory
        self._cache: dict = {}
        (directory / "pkg_plugin.c").write_text(PKG_PLUGIN_C)

    def _build(self, key, platform, source, name, defines=()):
        if key not in self._cache:
            out = self.dir / (name + TOOLCHAINS[platform][1])
            self._cache[key] = compile_plugin(platform, source, out, defines) or out
        result = self._cache[key]
        if isinstance(result, str):
            pytest.skip(f"no {platform} build: {result}")
        return result

    def chat_guard(self, platform: str) -> Path:
        return self._build(("chat_guard", platform), platform, CHAT_GUARD_C,
                           f"chat_guard-{platform}")

    def available_chat_guards(self) -> dict[str, Path]:
        """Every platform whose toolchain works here (the others are simply absent)."""
        found = {}
        for platform in TOOLCHAINS:
            try:
                found[platform] = self.chat_guard(platform)
            except pytest.skip.Exception:
                pass
        return found

    def pkg_plugin(self, version: str = "1.0", *, guid: str = PKG_GUID,
                   refuse_load: bool = False, refuse_unload: bool = False,
                   platform: str = "elf-x64") -> Path:
        defines = [f"PKG_VERSION={version}", f'PKG_GUID="{guid}"']
        if refuse_load:
            defines.append("PKG_REFUSE_LOAD")
        if refuse_unload:
            defines.append("PKG_REFUSE_UNLOAD")
        tag = f"{version}-{guid.strip('{}')[-12:]}{'-rl' if refuse_load else ''}" \
              f"{'-ru' if refuse_unload else ''}-{platform}"
        return self._build(("pkg", tag), platform, self.dir / "pkg_plugin.c",
                           f"pkg_plugin-{tag}", defines)


    def custom(self, name: str, source: str, *, args=(), platform: str = "elf-x64") -> Path:
        """A C source (given as text) built with the compiler command ``args`` (default: the
        platform's shared-library command), e.g. a library without pluginInit or an
        executable."""
        key = ("custom", name, platform)
        if key not in self._cache:
            src = self.dir / f"{name}.c"
            src.write_text(source)
            cmd = list(args) or TOOLCHAINS[platform][0]
            out = self.dir / (name + TOOLCHAINS[platform][1])
            done = subprocess.run(cmd + ["-o", str(out), str(src)], capture_output=True,
                                  text=True)
            self._cache[key] = out if done.returncode == 0 else \
                f"{cmd[0]} cannot build {name} ({done.stderr.strip()[:200]})"
        result = self._cache[key]
        if isinstance(result, str):
            pytest.skip(result)
        return result


@pytest.fixture(scope="session")
def builds(tmp_path_factory) -> Builds:
    return Builds(tmp_path_factory.mktemp("dcext-builds"))


# ---------------------------------------------------------------------------------------
# info.xml and packages


def info_xml(*, uuid: str = PKG_GUID, name: str = "Package test plugin",
             version: str = "1.0", api: str = "8", plugins=None, files=(),
             extra: str = "", header: str = '<?xml version="1.0" encoding="utf-8"?>\n') -> str:
    """An info.xml; ``plugins`` maps platform -> path, ``files`` holds (path, platform)."""
    plugins = {"elf-x64": "x64/plugin.so"} if plugins is None else plugins
    lines = [header + "<dcext>", f"  <UUID>{uuid}</UUID>", f"  <Name>{name}</Name>",
             f"  <Version>{version}</Version>", f"  <ApiVersion>{api}</ApiVersion>",
             "  <Author>pyhost tests</Author>", extra]
    lines += [f'  <Plugin Platform="{p}">{path}</Plugin>' for p, path in plugins.items()]
    if files:
        lines.append("  <Files>")
        for path, platform in files:
            attr = f' Platform="{platform}"' if platform else ""
            lines.append(f"    <File{attr}>{path}</File>")
        lines.append("  </Files>")
    lines.append("</dcext>\n")
    return "\n".join(line for line in lines if line)


def zip_package(members: dict, *, method: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A well-formed ZIP of ``members`` (name -> bytes or str), info.xml first if present."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.create_system = 3
            info.external_attr = 0o100644 << 16
            info.compress_type = method
            archive.writestr(info, content.encode() if isinstance(content, str) else content)
    return buffer.getvalue()


def package_bytes(library: Path, *, version: str = "1.0", uuid: str = PKG_GUID,
                  method: int = zipfile.ZIP_DEFLATED, data_file: bool = True) -> bytes:
    """A valid single-platform (elf-x64) package of a pkg_plugin build."""
    files = [("data/hello.txt", None)] if data_file else []
    members = {"info.xml": info_xml(uuid=uuid, version=version, files=files),
               "x64/plugin.so": library.read_bytes()}
    if data_file:
        members["data/hello.txt"] = b"hello from the package\n"
    return zip_package(members, method=method)


# ---------------------------------------------------------------------------------------
# A raw ZIP writer, for archives zipfile would never write


@dataclass
class Raw:
    """One entry; every header field can be forced to a wrong value."""

    name: bytes
    data: bytes = b""
    method: int = 8
    flags: int = 0
    external: int = 0o100644 << 16
    made_by: int = (3 << 8) | 20
    crc: Optional[int] = None           # default: the real CRC
    usize: Optional[int] = None         # default: the real size
    csize: Optional[int] = None         # default: the real compressed size
    compressed: Optional[bytes] = None  # default: data, deflated when method is 8
    local_name: Optional[bytes] = None  # default: name
    offset: Optional[int] = None        # default: where its local header was written
    extra: bytes = field(default=b"")


def raw_zip(entries: list[Raw], *, prefix: bytes = b"", trailing: bytes = b"",
            comment: bytes = b"", disk: int = 0, cd_disk: int = 0,
            count_here: Optional[int] = None, cd_offset_shift: int = 0,
            cd_size_shift: int = 0) -> bytes:
    out = bytearray(prefix)
    central = bytearray()
    for e in entries:
        if e.compressed is not None:
            body = e.compressed
        elif e.method == 8:
            c = zlib.compressobj(9, zlib.DEFLATED, -15)
            body = c.compress(e.data) + c.flush()
        else:
            body = e.data
        crc = zlib.crc32(e.data) if e.crc is None else e.crc
        usize = len(e.data) if e.usize is None else e.usize
        csize = len(body) if e.csize is None else e.csize
        local_name = e.name if e.local_name is None else e.local_name
        offset = len(out) if e.offset is None else e.offset
        if e.offset is None:
            out += struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, e.flags, e.method, 0, 0x21,
                               crc, csize, usize, len(local_name), 0)
            out += local_name + body
        central += struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", e.made_by, 20, e.flags,
                               e.method, 0, 0x21, crc, csize, usize, len(e.name),
                               len(e.extra), 0, 0, 0, e.external, offset)
        central += e.name + e.extra
    cd_offset = len(out)
    out += central
    n = len(entries)
    out += struct.pack("<4sHHHHIIH", b"PK\x05\x06", disk, cd_disk,
                       n if count_here is None else count_here, n,
                       len(central) + cd_size_shift, cd_offset + cd_offset_shift, len(comment))
    out += comment + trailing
    return bytes(out)
