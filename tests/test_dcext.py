"""pyhost.dcext: the package format with real binaries for every platform code; pack,
inspect, selection of this host's plugin, limits, the schema.

The malformed-package corpus and the mutation property test are in test_dcext_hostile.py.
"""
from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from dcext_fixtures import (CHAT_GUARD_GUID, PKG_GUID, TOOLCHAINS, builds, info_xml,  # noqa: F401
                            zip_package)
from pyhost.packages import dcext
from pyhost.packages import manifest
from pyhost.packages.packer import pack
from pyhost.host.binary import host_platform
from pyhost.packages.dcext import (IncompatiblePackageError, InvalidPackageError, Limits, NotAZipError,
                          read_package)

EXPECTED = {  # platform code -> (format, bits, machine)
    "elf-x64": ("elf", 64, "x86-64"),
    "elf-x86": ("elf", 32, "i386"),
    "pe-x64": ("pe", 64, "x86-64"),
    "pe-x86": ("pe", 32, "i386"),
}


def pyhost(*args, cwd):
    """The CLI as a user runs it; cwd outside the checkout so the installed pyhost is used."""
    return subprocess.run([sys.executable, "-m", "pyhost.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def package_dir(tmp_path, builds, platforms, *, files=(), name="pkg") -> Path:
    """A directory to pack: info.xml + the chat_guard build of each platform."""
    d = tmp_path / name
    d.mkdir()
    plugins = {}
    for platform in platforms:
        lib = builds.chat_guard(platform)
        rel = f"{platform}/chat_guard{TOOLCHAINS[platform][1]}"
        (d / platform).mkdir()
        shutil.copy(lib, d / rel)
        plugins[platform] = rel
    for path, _ in files:
        (d / path).parent.mkdir(parents=True, exist_ok=True)
        (d / path).write_bytes(b"file " + path.encode())
    (d / "info.xml").write_text(info_xml(uuid=CHAT_GUARD_GUID, name="Chat guard",
                                         plugins=plugins, files=files))
    return d


# -- real binaries for every platform code ---------------------------------------------

def test_every_toolchain_builds_its_platform(builds):
    """Informational: which platform builds this machine has (missing ones are skipped)."""
    found = builds.available_chat_guards()
    assert "elf-x64" in found or host_platform() != "elf-x64"
    for platform, path in found.items():
        info = read_package(zip_package({
            "info.xml": info_xml(uuid=CHAT_GUARD_GUID, plugins={platform: "p/lib"}),
            "p/lib": path.read_bytes()})).plugins[0].binary
        assert (info.format, info.bits, info.machine) == EXPECTED[platform]


def test_multi_platform_package_packs_and_inspect_reads_each_binary(tmp_path, builds):
    platforms = list(builds.available_chat_guards())
    if len(platforms) < 4:
        missing = sorted(set(TOOLCHAINS) - set(platforms))
        pytest.skip(f"toolchains missing for {', '.join(missing)}")
    d = package_dir(tmp_path, builds, platforms,
                    files=[("icons/guard.ico", None), ("linux/helper.so.txt", "elf-x64"),
                           ("win/helper.txt", "pe-x64")])
    target, package = pack(d, tmp_path / "chat_guard.dcext")
    assert target == tmp_path / "chat_guard.dcext" and target.is_file()
    assert package.platforms == tuple(platforms)
    reread = read_package(target)
    for entry in reread.plugins:
        b = entry.binary
        assert (b.format, b.bits, b.machine) == EXPECTED[entry.platform]
        assert b.platform == entry.platform and b.is_shared_library and b.exports_plugin_init
    # 32-bit Windows: built with the undecorated alias, the name hosts look up
    assert reread.plugin_for("pe-x86").binary.plugin_init_symbol == "pluginInit"

    # this host picks its own platform, with the platform-independent and its own Files
    sel = reread.select()
    assert sel.platform == host_platform() == "elf-x64"
    assert sel.library == "chat_guard.so"
    assert sel.files == {"chat_guard.so": "elf-x64/chat_guard.so",
                         "icons/guard.ico": "icons/guard.ico",
                         "linux/helper.so.txt": "linux/helper.so.txt"}
    assert reread.select("pe-x64").files == {"chat_guard.dll": "pe-x64/chat_guard.dll",
                                             "icons/guard.ico": "icons/guard.ico",
                                             "win/helper.txt": "win/helper.txt"}

    out = pyhost("inspect", str(target), "--json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["valid"] and doc["compatible"] and doc["uuid"] == CHAT_GUARD_GUID
    by_platform = {p["platform"]: p for p in doc["plugins"]}
    for platform, (fmt, bits, machine) in EXPECTED.items():
        p = by_platform[platform]
        assert (p["format"], p["bits"], p["machine"]) == (fmt, bits, machine)
        assert p["exports_plugin_init"] is True and p["detected_platform"] == platform
        assert p["selected"] is (platform == "elf-x64")
    assert doc["install"]["plugin"] == "elf-x64/chat_guard.so"

    text = pyhost("inspect", str(target), cwd=tmp_path)
    assert text.returncode == 0
    assert "valid .dcext package" in text.stdout
    assert "32-bit PE (Windows, i386) library" in text.stdout
    assert "This host (elf-x64) would load elf-x64/chat_guard.so" in text.stdout


@pytest.mark.parametrize("impostor", ["pe-x64", "elf-x86", "pe-x86"])
def test_elf_x64_entry_that_is_another_platform_is_refused(tmp_path, builds, impostor):
    lib = builds.chat_guard(impostor)
    data = zip_package({"info.xml": info_xml(uuid=CHAT_GUARD_GUID,
                                             plugins={"elf-x64": "x64/chat_guard.so"}),
                        "x64/chat_guard.so": lib.read_bytes()})
    with pytest.raises(InvalidPackageError) as err:
        read_package(data, name="impostor.dcext")
    fmt, bits, machine = EXPECTED[impostor]
    assert err.value.code == "wrong-platform"
    assert str(err.value) == (
        f'impostor.dcext: the plugin "x64/chat_guard.so" is declared elf-x64 but is a '
        f"{bits}-bit {fmt.upper()} ({machine if fmt == 'elf' else 'Windows, ' + machine}) "
        "library.")
    path = tmp_path / "impostor.dcext"
    path.write_bytes(data)
    out = pyhost("inspect", str(path), cwd=tmp_path)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr == f"pyhost: {err.value}\n"


def test_package_without_this_hosts_platform_is_valid_but_incompatible(tmp_path, builds):
    others = [p for p in builds.available_chat_guards() if p != host_platform()]
    if not others:
        pytest.skip("no toolchain for a platform other than this host's")
    d = package_dir(tmp_path, builds, others)
    target, package = pack(d)  # packing for other platforms is fine
    assert target == tmp_path / "pkg.dcext"
    with pytest.raises(IncompatiblePackageError) as err:
        package.select()
    assert not isinstance(err.value, InvalidPackageError)
    assert err.value.code == "incompatible"
    assert "not compatible with this host, which needs a elf-x64 plugin" in str(err.value)
    out = pyhost("inspect", str(target), "--json", cwd=tmp_path)
    assert out.returncode == 0
    doc = json.loads(out.stdout)
    assert doc["valid"] is True and doc["compatible"] is False and doc["install"] is None
    out = pyhost("inspect", str(target), cwd=tmp_path)
    assert out.returncode == 0 and "cannot load it: not compatible" in out.stdout
    home = tmp_path / "home"
    out = pyhost("--home", str(home), "install", str(target), cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr.startswith("pyhost: pkg.dcext: not compatible with this host")
    assert not (home / "local").exists()


# -- pack ------------------------------------------------------------------------------

def test_pack_is_deterministic_and_holds_only_what_info_xml_names(tmp_path, builds):
    d = package_dir(tmp_path, builds, ["elf-x64"], files=[("data/a.txt", None)])
    (d / "notes.txt").write_text("not named, not packed")
    first, _ = pack(d, tmp_path / "a.dcext")
    second, _ = pack(d, tmp_path / "b.dcext")
    assert first.read_bytes() == second.read_bytes()
    assert sorted(zipfile.ZipFile(first).namelist()) == [
        "data/a.txt", "elf-x64/chat_guard.so", "info.xml"]
    assert oct(first.stat().st_mode & 0o777) == "0o644"


@pytest.mark.parametrize("breakage, message", [
    ("missing", r'info.xml names "elf-x64/chat_guard.so", which is not a file in'),
    ("wrong-binary", r"is declared elf-x64 but is a 64-bit PE"),
    ("api", r"built for plugin API version 7; this host speaks version 8"),
    ("dotdot", r'info.xml names "\.\./outside.txt", which has a "\.\." component'),
    ("no-info", r"there is no info.xml in this directory"),
])
def test_pack_refuses_what_inspect_would_reject_and_leaves_nothing(tmp_path, builds,
                                                                   breakage, message):
    d = package_dir(tmp_path, builds, ["elf-x64"])
    info = (d / "info.xml").read_text()
    if breakage == "missing":
        (d / "elf-x64" / "chat_guard.so").unlink()
    elif breakage == "wrong-binary":
        shutil.copy(builds.chat_guard("pe-x64"), d / "elf-x64" / "chat_guard.so")
    elif breakage == "api":
        (d / "info.xml").write_text(info.replace("<ApiVersion>8<", "<ApiVersion>7<"))
    elif breakage == "dotdot":
        (tmp_path / "outside.txt").write_text("x")
        (d / "info.xml").write_text(info.replace("</dcext>", "<Files><File>../outside.txt"
                                                             "</File></Files></dcext>"))
    else:
        (d / "info.xml").unlink()
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    with pytest.raises(InvalidPackageError, match=message):
        pack(d, out_dir / "x.dcext")
    assert list(out_dir.iterdir()) == []
    result = pyhost("pack", str(d), "-o", str(out_dir / "x.dcext"), cwd=tmp_path)
    assert result.returncode == 2 and list(out_dir.iterdir()) == []
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("pyhost: ")


def test_pack_cli_writes_next_to_the_directory_by_default(tmp_path, builds):
    d = package_dir(tmp_path, builds, ["elf-x64"])
    out = pyhost("pack", str(d), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "pkg.dcext").is_file()
    assert out.stdout.startswith("packed Chat guard 1.0 ({5e1c7a0e")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pkg", "pkg.dcext"]


# -- what a valid package may contain ------------------------------------------------

def test_comments_extra_fields_zip64_headers_and_unnamed_entries_are_accepted(builds):
    lib = builds.pkg_plugin("1.0").read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.comment = b"an archive comment"
        with z.open(zipfile.ZipInfo("info.xml"), "w", force_zip64=True) as f:
            f.write(info_xml().encode())
        entry = zipfile.ZipInfo("x64/plugin.so")
        entry.extra = b"\x99\x99\x02\x00ab"  # an unknown extra field: ignored
        entry.comment = b"an entry comment"
        with z.open(entry, "w") as f:
            f.write(lib)
        z.writestr("x64/", b"")                  # a directory entry
        z.writestr("README.txt", b"not named")   # not named by info.xml: not installed
    package = read_package(buffer.getvalue())
    assert package.entries == ("info.xml", "x64/plugin.so", "x64/", "README.txt")
    assert package.select().files == {"plugin.so": "x64/plugin.so"}


def test_info_xml_values_are_read_with_token_white_space():
    header = '<?xml version="1.0"?>'
    xml = (f"{header}<dcext>\n <UUID>\n  {PKG_GUID}\n </UUID><Name>  My   plugin </Name>"
           "<Version> 2.50 </Version><ApiVersion>8</ApiVersion>"
           "<Description>Line one\nline two</Description><Website>http://x.invalid</Website>"
           '<Plugin Platform="pe-x64"> p.dll </Plugin></dcext>')
    parsed = manifest.parse_info(xml.encode(), _raise)
    assert (parsed.uuid, parsed.name, parsed.version) == (PKG_GUID, "My plugin", "2.50")
    assert parsed.description == "Line one\nline two" and parsed.plugins == (("pe-x64", "p.dll"),)


def _raise(code, text):
    raise InvalidPackageError(text, code)


def test_the_format_descriptions_example_matches_the_schema():
    """The example of the format description is valid for the schema as written; only the
    host's own rule (ApiVersion 8) refuses its ApiVersion 6."""
    import xmlschema
    example = """<?xml version="1.0" encoding="utf-8" standalone="yes"?>
<dcext>
<UUID>{f62ed829-def5-4332-a0d7-84d2ec692006}</UUID>
<Name>Test plugin</Name>
<Version>2.3</Version>
<ApiVersion>6</ApiVersion>
<Author>Test team</Author>
<Description>Plugin to do X</Description>
<Website>http://example.com</Website>
<Plugin Platform="elf-x64">x64/TestPlugin.so</Plugin>
<Plugin Platform="elf-x86">x86/TestPlugin.so</Plugin>
<Plugin Platform="pe-x64">x64/TestPlugin.dll</Plugin>
<Plugin Platform="pe-x86">x86/TestPlugin.dll</Plugin>
<Files>
<File>icons/TestPlugin.ico</File>
<File>fonts/cool.font</File>
<File Platform="elf-x64">FasterHash.so</File>
</Files>
</dcext>"""
    schema = xmlschema.XMLSchema10(str(dcext.SCHEMA_PATH))
    assert schema.is_valid(example)
    assert not schema.is_valid(example.replace('"pe-x86"', '"arm64"'))
    assert not schema.is_valid(example.replace('"pe-x86"', '"pe-x64"'))  # one per platform
    assert not schema.is_valid(example.replace("<Name>Test plugin</Name>", ""))
    with pytest.raises(InvalidPackageError, match="API version 6") as err:
        manifest.parse_info(example.encode(), _raise)
    assert err.value.code == "api-version"


def test_the_schema_is_shipped_inside_the_installed_package():
    import pyhost
    assert dcext.SCHEMA_PATH.is_file()
    assert dcext.SCHEMA_PATH.is_relative_to(Path(pyhost.__file__).resolve().parent)


# -- limits -------------------------------------------------------------------------------

def test_limits_are_configurable(builds):
    lib = builds.pkg_plugin("1.0").read_bytes()
    data = zip_package({"info.xml": info_xml(), "x64/plugin.so": lib, "extra.txt": b"x"})
    assert read_package(data).name == "Package test plugin"
    cases = [
        (Limits(max_entries=2), "entry-count", "the archive has 3 entries; the limit is 2"),
        (Limits(max_entry_size=1000), "entry-size", "the limit for one entry is 1000"),
        (Limits(max_total_size=len(lib) + 10), "total-size", "in total"),
        (Limits(max_package_size=100), "package-size", "the limit for a package is 100"),
        (Limits(max_info_size=50), "info-size", "info.xml is"),
        (Limits(max_name_length=8), "name-length", "is 13 bytes long; the limit is 8"),
        (Limits(max_ratio=1, ratio_min_size=1), "ratio", "zip bomb"),
        (Limits(max_total_ratio=1, ratio_min_size=1, max_ratio=1000), "ratio", "in total"),
    ]
    for limits, code, text in cases:
        with pytest.raises(InvalidPackageError) as err:
            read_package(data, limits=limits)
        assert err.value.code == code and text in str(err.value), (limits, str(err.value))
    with pytest.raises(ValueError, match="max_entries must be a positive integer"):
        Limits(max_entries=0)


def test_package_size_is_checked_before_the_file_is_read(tmp_path):
    big = tmp_path / "big.dcext"
    with open(big, "wb") as f:
        f.truncate(2000)
    with pytest.raises(InvalidPackageError, match="the file is 2000 bytes; the limit") as err:
        read_package(big, limits=Limits(max_package_size=1000))
    assert err.value.code == "package-size"
    with pytest.raises(InvalidPackageError, match="cannot be read"):
        read_package(tmp_path / "missing.dcext")
    with pytest.raises(InvalidPackageError, match="not a regular file"):
        read_package(tmp_path)


def test_not_a_zip_is_its_own_error_class(tmp_path):
    import tarfile
    src = tmp_path / "info.xml"
    src.write_text(info_xml())
    tgz = tmp_path / "plugin.dcext"
    with tarfile.open(tgz, "w:gz") as tar:
        tar.add(src, arcname="info.xml")
    with pytest.raises(NotAZipError) as err:
        read_package(tgz)
    assert str(err.value) == ("plugin.dcext: not a ZIP archive: it is a gzip file "
                              "(a .tar.gz renamed?).")


@pytest.mark.parametrize("path, problem", [
    ("a/b.so", None), ("b.so", None), ("", "is empty"), ("/abs", "absolute"),
    ("a\\b", "backslash"), ("C:/x", "drive letter"), ("c:x", "drive letter"),
    ("ab:c", "colon"), ("../x", '".."'), ("a/../x", '".."'), ("a/./x", "normalised"),
    ("a//x", "normalised"), ("a/", "normalised"),
])
def test_check_path(path, problem):
    got = dcext.check_path(path)
    assert (got is None) if problem is None else (problem in got)
    assert dcext.check_path("dir/", allow_dir=True) is None
