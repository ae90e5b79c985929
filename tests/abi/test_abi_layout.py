"""Compile-time ABI layout check of sdk_headers/dcplugin.h (see abi_layout.c).

abi_layout.c holds the expected sizeof/offsetof/alignment of every struct and interface
table of the DC plugin ABI v8, written as literal numbers per target, plus enum values,
function signatures and guid strings. These tests compile it (syntax only, nothing is
linked or run) for every target whose compiler is available, and prove the check has teeth
by compiling it against mutated copies of the header and expecting the right assertion to
fire.
"""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
HEADER_DIR = REPO / "sdk_headers"
HEADER = HEADER_DIR / "dcplugin.h"
LAYOUT_C = HERE / "abi_layout.c"

C_FLAGS = ["-std=c11", "-Wall", "-Wextra", "-Werror", "-fsyntax-only"]
CXX_FLAGS = ["-std=c++11", "-Wall", "-Wextra", "-Werror", "-fsyntax-only"]

# A trivial program using the same system headers as dcplugin.h: if this does not compile
# for a target, the toolchain for it is missing (e.g. no gcc-multilib for -m32).
PROBE_SRC = "#include <stddef.h>\n#include <stdint.h>\n#include <wchar.h>\nint main(void) { return 0; }\n"


def _run(cmd):
    return subprocess.run(cmd, cwd=str(REPO), capture_output=True, text=True, timeout=120)


_probe_cache = {}


def _toolchain_problem(compiler):
    """None when `compiler` (an argv prefix) can compile a trivial C program, else why not."""
    key = tuple(compiler)
    if key not in _probe_cache:
        if shutil.which(compiler[0]) is None:
            _probe_cache[key] = "%s is not installed" % compiler[0]
        else:
            with tempfile.TemporaryDirectory() as tmp:
                src = Path(tmp) / "probe.c"
                src.write_text(PROBE_SRC)
                # -fsyntax-only, like the checks themselves: they need the target's headers
                # (gcc-multilib for -m32), not its assembler or linker.
                r = _run(list(compiler) + ["-fsyntax-only", str(src)])
            if r.returncode != 0:
                _probe_cache[key] = "`%s` cannot compile a trivial program: %s" % (
                    " ".join(compiler), (r.stderr or r.stdout).strip()[:500])
            else:
                _probe_cache[key] = None
    return _probe_cache[key]


def _require(compiler, always=False):
    problem = _toolchain_problem(compiler)
    if problem is None:
        return
    if always:
        pytest.fail(problem)  # the host x86-64 compilers must be there
    pytest.skip(problem)


# id -> (compiler argv, must always run)
C_TARGETS = {
    "gcc-x86_64": (["gcc"], True),
    "gcc-i386-m32": (["gcc", "-m32"], False),
    "mingw-x86_64": (["x86_64-w64-mingw32-gcc"], False),
    "mingw-i686": (["i686-w64-mingw32-gcc"], False),
}


def _fmt(cmd, r):
    return "$ %s\n(exit %d)\n%s%s" % (" ".join(cmd), r.returncode, r.stdout, r.stderr)


@pytest.mark.parametrize("target", list(C_TARGETS))
def test_layout_c(target):
    compiler, always = C_TARGETS[target]
    _require(compiler, always)
    cmd = list(compiler) + C_FLAGS + ["-I", str(HEADER_DIR), str(LAYOUT_C)]
    r = _run(cmd)
    assert r.returncode == 0, _fmt(cmd, r)


def test_header_is_valid_cxx11():
    _require(["g++"], always=True)
    cmd = ["g++", "-x", "c++"] + CXX_FLAGS + ["-pedantic", str(HEADER)]
    r = _run(cmd)
    assert r.returncode == 0, _fmt(cmd, r)


def test_layout_cxx11():
    """The same layout checks in C++ mode, plus the exact text of every guid macro."""
    _require(["g++"], always=True)
    cmd = ["g++", "-x", "c++"] + CXX_FLAGS + ["-I", str(HEADER_DIR), str(LAYOUT_C)]
    r = _run(cmd)
    assert r.returncode == 0, _fmt(cmd, r)


# ---- the check has teeth: a mutated copy of the header must fail to compile ------------

# id -> (text in the header, replacement, compiler target, text expected in the error)
MUTATIONS = {
    # two fields of the same type swapped: only the offset checks can see it
    "swap-HubData-isOp-isSecure": (
        "    Bool isOp;\n    Bool isSecure;\n    Bool isManaged;\n} HubData",
        "    Bool isSecure;\n    Bool isOp;\n    Bool isManaged;\n} HubData",
        "gcc-x86_64", "offsetof(HubData, isOp)"),
    "swap-MetaData-numDependencies-apiVersion": (
        "    uint32_t numDependencies;\n    uint32_t apiVersion;",
        "    uint32_t apiVersion;\n    uint32_t numDependencies;",
        "gcc-x86_64", "offsetof(MetaData, numDependencies)"),
    # two function pointers with the same signature swapped
    "swap-DCHub-emulate-send_protocol_cmd": (
        "    void (DCAPI* emulate_protocol_cmd)(HubDataPtr hub, const char* cmd);\n"
        "    void (DCAPI* send_protocol_cmd)(HubDataPtr hub, const char* cmd);",
        "    void (DCAPI* send_protocol_cmd)(HubDataPtr hub, const char* cmd);\n"
        "    void (DCAPI* emulate_protocol_cmd)(HubDataPtr hub, const char* cmd);",
        "gcc-x86_64", "offsetof(DCHub, emulate_protocol_cmd)"),
    # a field missing from an interface table
    "drop-DCConfig-get_language": (
        "    ConfigStrPtr (DCAPI* get_language)(void);\n", "",
        "gcc-x86_64", "sizeof(DCConfig)"),
    # a parameter of the wrong width (size_t vs uint32_t is an ABI break on 64-bit)
    "DCConnection-send_udp_data-port-size_t": (
        "send_udp_data)(const char* ip, uint32_t port,",
        "send_udp_data)(const char* ip, size_t port,",
        "gcc-x86_64", "type of DCConnection.send_udp_data"),
    "DCHooks-release_hook-returns-uint32": (
        "    size_t (DCAPI* release_hook)(subsHandle hHook);",
        "    uint32_t (DCAPI* release_hook)(subsHandle hHook);",
        "gcc-x86_64", "type of DCHooks.release_hook"),
    # an enum value changed
    "QueuePrio-HIGHEST-6": (
        "PRIO_HIGHEST = 5", "PRIO_HIGHEST = 6",
        "gcc-x86_64", "PRIO_HIGHEST == 5"),
    # a field whose type only differs on 32-bit: uint64_t -> size_t is the same on x86-64
    "DataArray-size-as-size_t-i386": (
        "typedef struct DataArray { const void* pData; uint64_t size; }",
        "typedef struct DataArray { const void* pData; size_t size; }",
        "gcc-i386-m32", "sizeof(DataArray)"),
    # a packing pragma: breaks only where the natural alignment leaves padding
    "pack-ConfigInt64-win32": (
        "typedef struct ConfigInt64 { ConfigType type; int64_t value; } ConfigInt64, *ConfigInt64Ptr;",
        "#pragma pack(push, 4)\n"
        "typedef struct ConfigInt64 { ConfigType type; int64_t value; } ConfigInt64, *ConfigInt64Ptr;\n"
        "#pragma pack(pop)",
        "mingw-i686", "offsetof(ConfigInt64, value)"),
    # __stdcall missing on Win32: the calling convention is part of the checked types
    "no-stdcall-win32": (
        "#    define DCAPI __stdcall", "#    define DCAPI",
        "mingw-i686", "differs from the ABI"),
    # a guid with a typo (the C build checks lengths, so the typo changes the length)
    "guid-DCHub-typo": (
        '#define DCINTF_DCPP_HUBS "dcpp.network.DCHub"',
        '#define DCINTF_DCPP_HUBS "dcpp.network.DCHubs"',
        "gcc-x86_64", "length of DCINTF_DCPP_HUBS"),
}


@pytest.mark.parametrize("name", list(MUTATIONS))
def test_mutated_header_is_rejected(name, tmp_path):
    old, new, target, expected = MUTATIONS[name]
    compiler, always = C_TARGETS[target]
    _require(compiler, always)

    text = HEADER.read_text()
    assert text.count(old) == 1, "mutation %r no longer matches the header exactly once" % name
    mutated_dir = tmp_path / "sdk_headers"
    mutated_dir.mkdir()
    (mutated_dir / "dcplugin.h").write_text(text.replace(old, new))

    cmd = list(compiler) + C_FLAGS + ["-I", str(mutated_dir), str(LAYOUT_C)]
    r = _run(cmd)
    assert r.returncode != 0, "mutation %r was not caught:\n%s" % (name, _fmt(cmd, r))
    assert "static assertion failed" in r.stderr, _fmt(cmd, r)
    assert expected in r.stderr, _fmt(cmd, r)


def test_guid_typo_caught_in_cxx(tmp_path):
    """A same-length guid typo passes the C length check but not the C++ exact check."""
    _require(["g++"], always=True)
    old = '#define HOOK_TIMER_SECOND       "dcpp.timer.onSecond"'
    text = HEADER.read_text()
    assert text.count(old) == 1
    mutated_dir = tmp_path / "sdk_headers"
    mutated_dir.mkdir()
    (mutated_dir / "dcplugin.h").write_text(
        text.replace(old, old.replace("onSecond", "onSeconD")))
    cmd = ["g++", "-x", "c++"] + CXX_FLAGS + ["-I", str(mutated_dir), str(LAYOUT_C)]
    r = _run(cmd)
    assert r.returncode != 0, _fmt(cmd, r)
    assert "static assertion failed" in r.stderr, _fmt(cmd, r)
    assert "HOOK_TIMER_SECOND" in r.stderr, _fmt(cmd, r)
