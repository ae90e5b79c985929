"""pyhost.binary: ELF/PE inspection of real plugin binaries built by the local toolchains."""
from __future__ import annotations

import importlib.util
import platform
import random
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pefile
import pytest
from elftools.elf.elffile import ELFFile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "binary"


def _load_binary_module():
    """pyhost.host.binary from this tree, even while pyhost/__init__.py cannot be imported.

    binary.py imports nothing from pyhost, so when the package import fails (e.g. its compiled
    module is not built yet) or resolves to another copy, the file is loaded on its own.
    """
    path = REPO / "pyhost" / "host" / "binary.py"
    try:
        from pyhost.host import binary
        if Path(binary.__file__).resolve() == path.resolve():
            return binary
    except ImportError:
        pass
    spec = importlib.util.spec_from_file_location("pyhost_binary", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses looks the module up while it is executed
    spec.loader.exec_module(module)
    return module


binary = _load_binary_module()
BinaryError = binary.BinaryError
BinaryInfo = binary.BinaryInfo
inspect_binary = binary.inspect_binary
check_loadable = binary.check_loadable

# platform code -> (compiler command, file suffix, bits, machine)
TOOLCHAINS = {
    "elf-x64": (["gcc", "-shared", "-fPIC"], ".so", 64, "x86-64"),
    "elf-x86": (["gcc", "-m32", "-shared", "-fPIC"], ".so", 32, "i386"),
    "pe-x64": (["x86_64-w64-mingw32-gcc", "-shared"], ".dll", 64, "x86-64"),
    # i686 MinGW exports the __stdcall pluginInit only as "pluginInit@4" unless asked for the
    # undecorated alias, the name hosts look up (GetProcAddress(h, "pluginInit")).
    "pe-x86": (["i686-w64-mingw32-gcc", "-shared", "-Wl,--add-stdcall-alias"], ".dll", 32,
               "i386"),
}
ELF_PLATFORMS = ["elf-x64", "elf-x86"]


def _compile(cmd: list[str], source: Path, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*cmd, "-o", str(out), str(source)], capture_output=True, text=True)


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> dict[tuple[str, str], Path | str]:
    """(platform, source stem) -> built library, or the reason it could not be built.

    A missing or broken toolchain (probed with a trivial source) only skips its own cases;
    a fixture source that fails to build on a working toolchain is an error.
    """
    out = tmp_path_factory.mktemp("binaries")
    probe = out / "probe.c"
    probe.write_text("int probe(void) { return 0; }\n")
    result: dict[tuple[str, str], Path | str] = {}
    for code, (cmd, suffix, _, _) in TOOLCHAINS.items():
        stems = ["plugin", "noinit"] + (["hidden"] if code in ELF_PLATFORMS else [])
        reason = None
        if shutil.which(cmd[0]) is None:
            reason = f"{cmd[0]} is not installed"
        else:
            run = _compile(cmd, probe, out / f"probe-{code}{suffix}")
            if run.returncode != 0:
                last = (run.stderr.strip().splitlines() or ["no output"])[-1]
                reason = f"{' '.join(cmd)} cannot build a library here: {last}"
        for stem in stems:
            if reason is not None:
                result[code, stem] = reason
                continue
            target = out / f"{stem}-{code}{suffix}"
            run = _compile(cmd, FIXTURES / f"{stem}.c", target)
            assert run.returncode == 0, f"building {target.name} failed:\n{run.stderr}"
            result[code, stem] = target
    return result


@pytest.fixture
def lib(built):
    def get(code: str, stem: str = "plugin") -> Path:
        found = built[code, stem]
        if isinstance(found, str):
            pytest.skip(found)
        return found
    return get


@pytest.fixture
def host_is_elf_x64(monkeypatch):
    """check_loadable judges against the running host; pin it so the tests read the same
    everywhere (the real host_platform() is tested on its own)."""
    monkeypatch.setattr(binary, "host_platform", lambda: "elf-x64")


def assert_one_sentence(message: str, label: str) -> None:
    assert message.startswith(label), message
    assert message.endswith("."), message
    assert "\n" not in message, message


# --- recognition ---------------------------------------------------------------------------

@pytest.mark.parametrize("code", list(TOOLCHAINS))
def test_platform_recognized(lib, code):
    _, suffix, bits, machine = TOOLCHAINS[code]
    info = inspect_binary(lib(code))
    assert info.format == code.split("-")[0]
    assert (info.platform, info.bits, info.machine) == (code, bits, machine)
    assert info.is_shared_library
    assert info.exports_plugin_init
    assert info.plugin_init_symbol == "pluginInit" and info.decorated_plugin_init is None


@pytest.mark.parametrize("code", list(TOOLCHAINS))
def test_missing_plugin_init(lib, code):
    info = inspect_binary(lib(code, "noinit"))
    assert info.platform == code
    assert not info.exports_plugin_init
    assert info.plugin_init_symbol is None


@pytest.mark.parametrize("code", ELF_PLATFORMS)
def test_hidden_plugin_init_is_not_exported(lib, code):
    path = lib(code, "hidden")
    # The symbol really is in the file (in .symtab), just not visible to dlsym.
    with path.open("rb") as stream:
        symtab = ELFFile(stream).get_section_by_name(".symtab")
        assert symtab is not None and symtab.get_symbol_by_name("pluginInit")
    assert not inspect_binary(path).exports_plugin_init


@pytest.mark.parametrize("stem", ["plugin", "noinit"])
@pytest.mark.parametrize("code", list(TOOLCHAINS))
def test_bytes_and_path_agree(lib, code, stem):
    path = lib(code, stem)
    data = path.read_bytes()
    from_path = inspect_binary(path)
    assert inspect_binary(str(path)) == from_path
    assert inspect_binary(data) == from_path
    assert inspect_binary(bytearray(data)) == from_path
    assert inspect_binary(memoryview(data)) == from_path


def test_info_is_frozen(lib):
    info = inspect_binary(lib("elf-x64"))
    with pytest.raises(AttributeError):
        info.bits = 32


# --- host platform and check_loadable ------------------------------------------------------

def test_host_platform_is_a_known_code_or_none():
    assert binary.host_platform() in (*binary.PLATFORMS, None)


@pytest.mark.skipif(not (sys.platform.startswith("linux") and struct.calcsize("P") == 8
                         and platform.machine() == "x86_64"),
                    reason="only meaningful on 64-bit x86-64 Linux")
def test_host_platform_here():
    assert binary.host_platform() == "elf-x64"


def test_check_loadable_accepts_own_platform(lib, host_is_elf_x64):
    path = lib("elf-x64")
    info = check_loadable(path)
    assert info == inspect_binary(path)
    assert check_loadable(path.read_bytes(), name="plugin.so") == info


@pytest.mark.parametrize("code, expected", [
    ("elf-x86", "is a 32-bit ELF (i386) library; this host needs elf-x64."),
    ("pe-x64", "is a 64-bit PE (Windows, x86-64) library; this host needs elf-x64."),
    ("pe-x86", "is a 32-bit PE (Windows, i386) library; this host needs elf-x64."),
])
def test_check_loadable_rejects_other_platforms(lib, host_is_elf_x64, code, expected):
    path = lib(code)
    with pytest.raises(BinaryError) as caught:
        check_loadable(path)
    assert str(caught.value) == f"{path} {expected}"


@pytest.mark.parametrize("stem", ["noinit", "hidden"])
def test_check_loadable_rejects_missing_plugin_init(lib, host_is_elf_x64, stem):
    data = lib("elf-x64", stem).read_bytes()
    with pytest.raises(BinaryError, match=r"^plugin\.so does not export pluginInit\.$"):
        check_loadable(data, name="plugin.so")


def test_check_loadable_rejects_an_executable(lib, host_is_elf_x64):
    data = bytearray(lib("elf-x64").read_bytes())
    struct.pack_into("<H", data, 16, 2)  # e_type = ET_EXEC
    with pytest.raises(BinaryError) as caught:
        check_loadable(bytes(data), name="app")
    assert str(caught.value) == "app is a 64-bit ELF (x86-64) executable, not a shared library."


# --- 32-bit Windows: the export must carry the undecorated name ----------------------------

def _pe_x86(tmp_path: Path, *extra: str) -> Path:
    cmd = ["i686-w64-mingw32-gcc", "-shared"]
    if shutil.which(cmd[0]) is None:
        pytest.skip(f"{cmd[0]} is not installed")
    out = tmp_path / "plugin.dll"
    run = subprocess.run([*cmd, "-o", str(out), str(FIXTURES / "plugin.c"), *extra],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    return out


def test_pe_x86_exporting_only_the_decorated_name_is_refused_with_the_fix(tmp_path,
                                                                          monkeypatch):
    path = _pe_x86(tmp_path)  # no alias: the DLL exports pluginInit@4 only
    names = {e.name for e in pefile.PE(str(path)).DIRECTORY_ENTRY_EXPORT.symbols}
    assert names == {b"pluginInit@4"}
    info = inspect_binary(path)
    assert not info.exports_plugin_init and info.plugin_init_symbol is None
    assert info.decorated_plugin_init == "pluginInit@4"
    monkeypatch.setattr(binary, "host_platform", lambda: "pe-x86")
    with pytest.raises(BinaryError) as caught:
        check_loadable(path, name="plugin.dll")
    message = str(caught.value)
    assert_one_sentence(message, "plugin.dll exports pluginInit only under its "
                                 "stdcall-decorated name pluginInit@4")
    assert "-Wl,--add-stdcall-alias" in message and ".def file" in message


@pytest.mark.parametrize("fix", ["alias", "def"])
def test_pe_x86_fixed_either_way_exports_plugin_init(tmp_path, monkeypatch, fix):
    if fix == "alias":
        path = _pe_x86(tmp_path, "-Wl,--add-stdcall-alias")
    else:
        (tmp_path / "plugin.def").write_text("EXPORTS\n    pluginInit = pluginInit@4\n")
        path = _pe_x86(tmp_path, str(tmp_path / "plugin.def"))
    monkeypatch.setattr(binary, "host_platform", lambda: "pe-x86")
    info = check_loadable(path)
    assert info.plugin_init_symbol == "pluginInit" and info.decorated_plugin_init is None


def test_check_loadable_on_a_host_without_a_platform_code(lib, monkeypatch):
    monkeypatch.setattr(binary, "host_platform", lambda: None)
    with pytest.raises(BinaryError, match="none of the plugin platforms"):
        check_loadable(lib("elf-x64"), name="plugin.so")


# --- bad input -----------------------------------------------------------------------------

def _pe_export_directory(data: bytes) -> tuple[int, int]:
    """(file offset of the export data-directory entry, file offset of the export directory)."""
    pe = pefile.PE(data=data, fast_load=True)
    entry = pe.OPTIONAL_HEADER.DATA_DIRECTORY[pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_EXPORT"]]
    return entry.get_file_offset(), pe.get_offset_from_rva(entry.VirtualAddress)


def _patched(data: bytes, offset: int, value: int) -> bytes:
    patched = bytearray(data)
    struct.pack_into("<I", patched, offset, value)
    return bytes(patched)


def _export_names_out_of_image(data: bytes) -> bytes:
    _, directory = _pe_export_directory(data)
    return _patched(data, directory + 32, 0x7FFFFFF0)  # AddressOfNames


def _export_directory_out_of_image(data: bytes) -> bytes:
    entry, _ = _pe_export_directory(data)
    return _patched(data, entry, 0x7FFFFFF0)  # the data directory's VirtualAddress


def _export_directory_zeroed(data: bytes) -> bytes:
    _, directory = _pe_export_directory(data)
    return data[:directory] + bytes(40) + data[directory + 40:]


# name -> (platform whose plugin build it starts from, or None; how to make the bad bytes)
BAD_INPUTS = {
    "empty": (None, lambda _: b""),
    "random bytes": (None, lambda _: b"\x00" + random.Random(1).randbytes(4095)),
    "text file": (None, lambda _: b"This is not a plugin, just a README.\n" * 10),
    "ELF magic only": (None, lambda _: b"\x7fELF"),
    "ELF cut at 20": ("elf-x64", lambda d: d[:20]),
    "ELF cut at 64": ("elf-x64", lambda d: d[:64]),
    "ELF cut at 100": ("elf-x64", lambda d: d[:100]),
    "ELF cut in half": ("elf-x64", lambda d: d[: len(d) // 2]),
    "32-bit ELF cut at 52": ("elf-x86", lambda d: d[:52]),
    "ELF bad class": ("elf-x64", lambda d: d[:4] + b"\x07" + d[5:]),
    "MZ only": (None, lambda _: b"MZ"),
    "MZ header only": (None, lambda _: b"MZ" + bytes(62)),
    "DOS header pointing past the end": (None, lambda _: b"MZ" + bytes(58) + b"\xff\xff\x00\x00"),
    "PE cut after headers": ("pe-x64", lambda d: d[:1024]),
    "PE cut in half": ("pe-x64", lambda d: d[: len(d) // 2]),
    "PE export names out of image": ("pe-x64", _export_names_out_of_image),
    "PE export directory out of image": ("pe-x64", _export_directory_out_of_image),
    "PE export directory zeroed": ("pe-x64", _export_directory_zeroed),
    "PE32 export names out of image": ("pe-x86", _export_names_out_of_image),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_a_binary_error(lib, tmp_path, case):
    base, make = BAD_INPUTS[case]
    data = make(lib(base).read_bytes() if base else b"")
    with pytest.raises(BinaryError) as caught:
        inspect_binary(data, name="bad.so")
    assert_one_sentence(str(caught.value), "bad.so")
    # The same through a path: the message names the file.
    path = tmp_path / "bad.so"
    path.write_bytes(data)
    with pytest.raises(BinaryError) as caught:
        inspect_binary(path)
    assert_one_sentence(str(caught.value), str(path))


@pytest.mark.parametrize("data, reason", [
    (b"", "is empty."),
    (b"hello\n", "is not a plugin binary (neither ELF nor PE)."),
    (b"\x7fELF\x02\x01\x01", "is a truncated or corrupt ELF file."),
    (b"MZ", "is a truncated or corrupt PE file."),
])
def test_bad_input_messages(data, reason):
    with pytest.raises(BinaryError) as caught:
        inspect_binary(data, name="x.so")
    assert str(caught.value) == f"x.so {reason}"
    assert isinstance(caught.value, ValueError)


def test_unreadable_path(tmp_path):
    missing = tmp_path / "missing.so"
    with pytest.raises(BinaryError, match=r"missing\.so cannot be read"):
        inspect_binary(missing)
    with pytest.raises(BinaryError, match="cannot be read"):
        inspect_binary(tmp_path)  # a directory


def test_bytes_default_label():
    with pytest.raises(BinaryError, match=r"^binary data is empty\.$"):
        inspect_binary(b"")


# --- fuzzing -------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def corpus(built) -> list[bytes]:
    blobs = [p.read_bytes() for p in built.values() if isinstance(p, Path)]
    if not blobs:
        pytest.skip("no toolchain could build a binary")
    return blobs


@settings(max_examples=200, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_mutated_binaries_only_give_info_or_binary_error(corpus, data):
    blob = data.draw(st.sampled_from(corpus), label="binary")
    size = len(blob)
    # Most of a library is code nobody parses: aim mostly at the headers at the start and
    # the tables near the end (ELF section headers), some anywhere.
    position = st.one_of(st.integers(0, min(size, 1024) - 1),
                         st.integers(max(0, size - 4096), size - 1),
                         st.integers(0, size - 1))
    flips = data.draw(st.lists(st.tuples(position, st.integers(1, 255)), max_size=8), label="flips")
    cut = data.draw(st.none() | st.integers(0, size), label="cut")
    mutated = bytearray(blob)
    for offset, mask in flips:
        mutated[offset] ^= mask
    if cut is not None:
        del mutated[cut:]
    try:
        info = inspect_binary(bytes(mutated), name="fuzzed.so")
    except BinaryError as error:
        assert_one_sentence(str(error), "fuzzed.so")
    else:
        assert isinstance(info, BinaryInfo)
        assert info.bits in (32, 64) and info.platform in (*binary.PLATFORMS, None)
