"""Hostile packages: a corpus of malformed .dcext files, one per failure class, each refused
with one clear sentence, exit status 2, no file left and the registry unchanged; and a
property test mutating valid packages byte by byte.

Every corpus case runs twice: through the Python API (read_package must raise
InvalidPackageError with the case's code), and through the CLI (``python -m pyhost.cli
install``, as a user would) on a copy of a home that already has a package installed, so
"nothing changed" is checked against a real installation. A few cases are valid packages
that must still be refused (same or lower version, a binary whose guid or version differs
from info.xml, a plugin refusing ON_INSTALL, an update whose new version refuses to load):
those fail after files were written, and must be rolled back to exactly the state before.
"""
from __future__ import annotations

import io
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dcext_fixtures import (Raw, builds, info_xml, package_bytes, raw_zip,  # noqa: F401
                            zip_package)
from pyhost.packages import dcext
from pyhost import packages
from pyhost.packages.dcext import DcextError, InvalidPackageError, read_package
from pyhost.host.host import Host

OTHER = "{7d3c9a10-4b6e-4f0a-8c2d-00000000aaaa}"   # a plugin that is not installed
OTHER2 = "{7d3c9a10-4b6e-4f0a-8c2d-00000000bbbb}"
MiB = 1 << 20
NO_INIT_C = '__attribute__((visibility("default"))) int helper(void) { return 1; }\n'
DECORATED_C = ('__declspec(dllexport) void* __stdcall pluginInit(void* i) '
               '{ (void)i; return 0; }\n')
EXECUTABLE_C = ('__attribute__((visibility("default"))) void* pluginInit(void* i) '
                '{ (void)i; return 0; }\nint main(void) { return 0; }\n')


class Ctx:
    """What the case builders need: the test plugin's binary, info.xml, helpers."""

    def __init__(self, builds):
        self.builds = builds
        self.lib = builds.pkg_plugin("1.0", guid=OTHER).read_bytes()
        self.info = info_xml(uuid=OTHER)

    def members(self, **replace) -> dict:
        members = {"info.xml": self.info, "x64/plugin.so": self.lib}
        members.update({k.replace("__", "/"): v for k, v in replace.items()})
        return members

    def good(self, **kw) -> bytes:
        return zip_package(self.members(), **kw)

    def xml(self, text: str) -> bytes:
        return zip_package({"info.xml": text, "x64/plugin.so": self.lib})

    def info_with(self, **kw) -> str:
        return info_xml(**{"uuid": OTHER, **kw})

    def raw(self, *extra: Raw, plugin: Optional[dict] = None, **zip_kw) -> bytes:
        entries = [Raw(b"info.xml", self.info.encode()),
                   Raw(b"x64/plugin.so", self.lib, **(plugin or {}))]
        return raw_zip(entries + list(extra), **zip_kw)


def _tar_gz(ctx: Ctx) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, content in ctx.members().items():
            data = content.encode() if isinstance(content, str) else content
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _bzip2_entry(ctx: Ctx) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("info.xml", ctx.info, compress_type=zipfile.ZIP_DEFLATED)
        z.writestr("x64/plugin.so", ctx.lib, compress_type=zipfile.ZIP_BZIP2)
    return buffer.getvalue()


def _bomb_lying_about_compressed_size(ctx: Ctx) -> bytes:
    import zlib
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    stream = c.compress(b"\0" * (4 * MiB)) + c.flush()
    padded = stream + b"\0" * (4 * MiB // 90)  # declared ratio ~90:1, real ~1000:1
    return ctx.raw(Raw(b"bomb.bin", b"\0" * (4 * MiB), compressed=padded))


def _overlapping(ctx: Ctx) -> bytes:
    return ctx.raw(Raw(b"alias.so", ctx.lib, offset=0))  # info.xml's local header


def _pe_as_elf_x64(ctx: Ctx) -> bytes:
    return zip_package({"info.xml": ctx.info,
                        "x64/plugin.so": ctx.builds.chat_guard("pe-x64").read_bytes()})


def _pe_x86_decorated_only(ctx: Ctx) -> bytes:
    """A 32-bit DLL whose __stdcall pluginInit is exported only as "pluginInit@4"."""
    dll = ctx.builds.custom("decorated", DECORATED_C, platform="pe-x86",
                            args=["i686-w64-mingw32-gcc", "-shared"])
    return zip_package({"info.xml": ctx.info_with(plugins={
        "elf-x64": "x64/plugin.so", "pe-x86": "x86/plugin.dll"}),
        "x64/plugin.so": ctx.lib, "x86/plugin.dll": dll.read_bytes()})


def _elf32_as_elf_x64(ctx: Ctx) -> bytes:
    return zip_package({"info.xml": ctx.info,
                        "x64/plugin.so": ctx.builds.chat_guard("elf-x86").read_bytes()})


def _other_platforms_only(ctx: Ctx) -> bytes:
    found = {p: path for p, path in ctx.builds.available_chat_guards().items()
             if p != "elf-x64"}
    if not found:
        pytest.skip("no toolchain for a platform other than elf-x64")
    members = {"info.xml": info_xml(uuid="{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000001}",
                                    plugins={p: f"{p}/lib" for p in found})}
    members.update({f"{p}/lib": path.read_bytes() for p, path in found.items()})
    return zip_package(members)


@dataclass(frozen=True)
class Case:
    id: str
    build: Callable[[Ctx], bytes]
    code: Optional[str]    # InvalidPackageError.code from read_package; None: valid package
    message: str           # a regex the one-sentence message must match
    settings_may_change: frozenset = frozenset()


X = Raw  # short alias for the table below

CASES = [
    # -- not a ZIP, or not a plain one -------------------------------------------------
    Case("tar-gz-renamed", _tar_gz, "not-zip", r"not a ZIP archive: it is a gzip file"),
    Case("empty-file", lambda c: b"", "empty", r"the file is empty, not a ZIP archive"),
    Case("text-file", lambda c: b"just some text\n" * 20, "not-zip", r"not a ZIP archive\.$"),
    Case("bare-library", lambda c: c.lib, "not-zip", r"it is an ELF binary"),
    Case("truncated", lambda c: c.good()[: len(c.good()) // 2], "truncated",
         r"the ZIP archive is truncated"),
    Case("spanned-marker", lambda c: b"PK\x07\x08" + c.good(), "spanned",
         r"split or spanned ZIP archive"),
    Case("multi-disk", lambda c: c.raw(disk=1, cd_disk=1), "spanned",
         r"split or spanned ZIP archive \(it names more than one disk\)"),
    Case("data-before-first-entry", lambda c: c.raw(prefix=b"#!/bin/sh\nexit 0\n" * 4),
         "prepended", r"68 bytes of other data before its first entry"),
    Case("data-after-end", lambda c: c.raw(trailing=b"appended"), "trailing-data",
         r"data after the end of the ZIP archive"),
    Case("central-directory-misplaced", lambda c: c.raw(cd_offset_shift=-7), "layout",
         r"central directory is not where the end record says"),
    Case("empty-archive", lambda c: raw_zip([]), "empty-archive",
         r"the ZIP archive is empty"),
    # -- entries -------------------------------------------------------------------------
    Case("encrypted-entry", lambda c: c.raw(plugin={"flags": 1}), "encrypted",
         r'entry "x64/plugin.so" is encrypted'),
    Case("aes-encrypted-entry", lambda c: c.raw(plugin={"method": 99, "compressed": b"x" * 64}),
         "encrypted", r'entry "x64/plugin.so" is encrypted'),
    Case("bzip2-method", _bzip2_entry, "method",
         r"compression method 12 \(bzip2\); only stored \(0\) and DEFLATE \(8\)"),
    Case("streamed-data-descriptor", lambda c: c.raw(plugin={"flags": 8}), "streamed",
         r"streaming mode"),
    Case("non-ascii-name", lambda c: c.raw(X("données.txt".encode(), b"x", flags=0x800)),
         "non-ascii", r'entry name "donn\\xc3\\xa9es.txt" is not ASCII'),
    Case("control-character-name", lambda c: c.raw(X(b"evil\nname.txt", b"x")),
         "control-char", r'"evil\\x0aname.txt" contains a control character'),
    Case("absolute-path", lambda c: c.raw(X(b"/etc/cron.d/evil", b"x")), "absolute",
         r'entry "/etc/cron.d/evil" is an absolute path'),
    Case("dotdot-path", lambda c: c.raw(X(b"x64/../../evil.so", b"x")), "dotdot",
         r'entry "x64/../../evil.so" has a "\.\." component'),
    Case("drive-letter", lambda c: c.raw(X(b"C:/Windows/evil.dll", b"x")), "drive-letter",
         r'starts with a drive letter'),
    Case("backslash", lambda c: c.raw(X(b"x64\\evil.dll", b"x")), "backslash",
         r'contains a backslash'),
    Case("symlink-entry", lambda c: c.raw(X(b"link", b"/etc/passwd", external=0o120777 << 16)),
         "symlink", r'entry "link" is a symbolic link'),
    Case("device-entry", lambda c: c.raw(X(b"dev", b"", external=0o020644 << 16)),
         "special-file", r'entry "dev" is a special file'),
    Case("duplicate-name", lambda c: c.raw(X(b"x64/plugin.so", c.lib)), "duplicate",
         r'two entries named "x64/plugin.so"'),
    Case("case-duplicate", lambda c: c.raw(X(b"X64/Plugin.so", c.lib)), "case-duplicate",
         r'"x64/plugin.so" and "X64/Plugin.so" differ only in case'),
    Case("file-and-directory", lambda c: c.raw(X(b"x64", b"a file")), "file-and-dir",
         r'"x64" is both a file and a directory'),
    Case("directory-with-data", lambda c: c.raw(X(b"docs/", b"data")), "dir-data",
         r'directory entry "docs/" holds data'),
    Case("too-many-entries",
         lambda c: zip_package({**c.members(), **{f"f/{i}": b"" for i in range(1000)}},
                               method=zipfile.ZIP_STORED),
         "entry-count", r"1002 entries; the limit is 1000"),
    Case("declared-size-over-limit", lambda c: c.raw(X(b"huge.bin", b"x", usize=2**31)),
         "entry-size", r"declares 2147483648 bytes uncompressed"),
    Case("zip-bomb-ratio", lambda c: c.raw(X(b"bomb.bin", b"\0" * (8 * MiB))), "ratio",
         r'entry "bomb.bin" declares a compression ratio of \d+:1.*zip bomb'),
    Case("zip-bomb-lying-about-compressed-size", _bomb_lying_about_compressed_size, "ratio",
         r'entry "bomb.bin" inflates more than 100:1'),
    Case("inflates-beyond-declared-size", lambda c: c.raw(X(b"lie.bin", b"a" * 5000, usize=10)),
         "size-mismatch", r'inflates to more than the 10 bytes it declares'),
    Case("stored-size-mismatch",
         lambda c: c.raw(X(b"s.bin", b"abcdef", method=0, usize=3)),
         "size-mismatch", r'stored entry "s.bin" is 6 bytes but declares 3'),
    Case("crc-mismatch", lambda c: c.raw(plugin={"crc": 0x12345678}), "crc",
         r'"x64/plugin.so" fails its CRC check'),
    Case("corrupt-deflate", lambda c: c.raw(X(b"bad.bin", b"x" * 100,
                                              compressed=b"\xff" * 40)),
         "corrupt", r'compressed data of entry "bad.bin" is corrupt'),
    Case("overlapping-entries", _overlapping, "overlap", r"overlap \(a zip bomb technique\)"),
    Case("local-header-name-mismatch",
         lambda c: c.raw(plugin={"local_name": b"x64/plugin.sx"}), "header-mismatch",
         r'local header of entry "x64/plugin.so" names "x64/plugin.sx" instead'),
    # -- info.xml ------------------------------------------------------------------------
    Case("no-info-xml", lambda c: zip_package({"x64/plugin.so": c.lib}), "no-info",
         r"no info.xml at the root"),
    Case("info-xml-in-subdirectory",
         lambda c: zip_package({"pkg/info.xml": c.info, "x64/plugin.so": c.lib}), "no-info",
         r'info.xml must be at the root of the archive, not "pkg/info.xml"'),
    Case("info-xml-too-large",
         lambda c: c.xml(c.info.replace("</dcext>", "<!--" + "x" * 300_000 + "--></dcext>")),
         "info-size", r"info.xml is \d+ bytes; the limit is 262144"),
    Case("xml-not-well-formed", lambda c: c.xml(c.info.replace("</Name>", "</Nmae>")),
         "xml-syntax", r"info.xml is not well-formed XML \(mismatched tag: line 4, column \d+\)"),
    Case("xml-billion-laughs",
         lambda c: c.xml('<?xml version="1.0"?><!DOCTYPE dcext [<!ENTITY a "aaaa">'
                         '<!ENTITY b "&a;&a;&a;&a;">]>' + c.info.split("?>", 1)[1]
                         .replace("Package test plugin", "&b;")),
         "xml-dtd", r"document type declaration"),
    Case("xml-external-entity",
         lambda c: c.xml('<?xml version="1.0"?><!DOCTYPE dcext [<!ENTITY x SYSTEM '
                         '"file:///etc/passwd">]>' + c.info.split("?>", 1)[1]
                         .replace("pyhost tests", "&x;")),
         "xml-dtd", r"document type declaration"),
    Case("xml-wrong-root", lambda c: c.xml(c.info.replace("dcext>", "plugin>")), "xml-root",
         r"root element of info.xml is <plugin>, not <dcext>"),
    Case("xml-missing-uuid", lambda c: c.xml(re.sub(r"<UUID>.*</UUID>", "", c.info)),
         "xml-missing", r"info.xml has no <UUID>, which is required"),
    Case("xml-uuid-path-traversal",
         lambda c: c.xml(c.info.replace(OTHER, "../../../etc")), "xml-uuid",
         r'UUID "../../../etc" in info.xml is not a GUID'),
    Case("xml-unknown-platform",
         lambda c: c.xml(c.info.replace('"elf-x64"', '"elf-arm64"')), "xml-platform",
         r'unknown platform "elf-arm64"; the platform codes are elf-x64, elf-x86, pe-x64 '
         r"and pe-x86"),
    Case("xml-plugin-without-platform",
         lambda c: c.xml(c.info.replace(' Platform="elf-x64"', "")), "xml-platform",
         r'<Plugin> "x64/plugin.so" in info.xml has no Platform attribute'),
    Case("xml-two-plugins-one-platform",
         lambda c: c.xml(c.info.replace("</dcext>", '<Plugin Platform="elf-x64">x64/plugin.so'
                                                    "</Plugin></dcext>")),
         "xml-platform", r"two <Plugin> elements for elf-x64"),
    Case("xml-api-version-6", lambda c: c.xml(c.info_with(api="6")), "api-version",
         r"built for plugin API version 6; this host speaks version 8, and must be rebuilt "
         r"against the API 8 SDK \(state numbers and several tables changed\)"),
    Case("xml-version-not-a-number", lambda c: c.xml(c.info_with(version="1.2.3")),
         "xml-version", r'Version "1.2.3" in info.xml is not a decimal number'),
    Case("xml-unknown-element",
         lambda c: c.xml(c.info.replace("</dcext>", "<Script>rm -rf /</Script></dcext>")),
         "xml-unknown", r"unknown element <Script>"),
    Case("xml-elements-out-of-order",
         lambda c: c.xml(c.info.replace("<Author>pyhost tests</Author>", "")
                         .replace("</dcext>", "<Author>late</Author></dcext>")),
         "xml-schema", r"does not match the dcext schema at /dcext: Unexpected child with "
                       r"tag 'Author'"),
    # -- what info.xml names -------------------------------------------------------------
    Case("plugin-not-in-archive",
         lambda c: zip_package({"info.xml": c.info, "x64/other.so": c.lib}), "missing-file",
         r'info.xml names "x64/plugin.so" \(Plugin for elf-x64\), which is not in the '
         r"archive"),
    Case("file-not-in-archive",
         lambda c: c.xml(c.info_with(files=[("icons/missing.ico", None)])), "missing-file",
         r'"icons/missing.ico" \(File\), which is not in the archive'),
    Case("named-path-dotdot",
         lambda c: c.xml(c.info_with(files=[("data/../../x", None)])), "bad-named-path",
         r'info.xml names "data/../../x" \(File\), which has a "\.\." component'),
    Case("install-target-collision",
         lambda c: zip_package({"info.xml": c.info_with(files=[("plugin.so", None)]),
                                "x64/plugin.so": c.lib, "plugin.so": b"other"}),
         "target-collision", r'"x64/plugin.so" and "plugin.so" would both be installed as '
                             r'"plugin.so"'),
    # -- the binaries --------------------------------------------------------------------
    Case("elf-x64-entry-is-a-pe", _pe_as_elf_x64, "wrong-platform",
         r"declared elf-x64 but is a 64-bit PE \(Windows, x86-64\) library"),
    Case("elf-x64-entry-is-32-bit", _elf32_as_elf_x64, "wrong-platform",
         r"declared elf-x64 but is a 32-bit ELF \(i386\) library"),
    Case("plugin-not-a-binary",
         lambda c: zip_package({"info.xml": c.info, "x64/plugin.so": b"#!/bin/sh\n"}),
         "not-binary", r"plugin x64/plugin.so is not a plugin binary \(neither ELF nor PE\)"),
    Case("plugin-truncated-binary",
         lambda c: zip_package({"info.xml": c.info, "x64/plugin.so": c.lib[:3000]}),
         "not-binary", r"x64/plugin.so is a truncated or corrupt ELF file"),
    Case("plugin-without-pluginInit",
         lambda c: zip_package({"info.xml": c.info, "x64/plugin.so":
                                c.builds.custom("noinit", NO_INIT_C).read_bytes()}),
         "no-plugin-init", r'"x64/plugin.so" does not export pluginInit'),
    Case("pe-x86-exports-only-the-decorated-pluginInit", _pe_x86_decorated_only,
         "no-plugin-init", r'"x86/plugin.dll" exports pluginInit only under its '
                           r"stdcall-decorated name pluginInit@4, .*-Wl,--add-stdcall-alias"),
    Case("plugin-is-an-executable",
         lambda c: zip_package({"info.xml": c.info, "x64/plugin.so": c.builds.custom(
             "exe", EXECUTABLE_C, args=["gcc", "-no-pie"]).read_bytes()}),
         "not-library", r"is a 64-bit ELF \(x86-64\) executable, not a shared library"),
    # -- valid packages that must still be refused (CLI only) ----------------------------
    Case("not-compatible-with-this-host", _other_platforms_only, None,
         r"not compatible with this host, which needs a elf-x64 plugin"),
    Case("same-version-installed",
         lambda c: package_bytes(c.builds.pkg_plugin("1.0")), None,
         r"Package test plugin 1.0 is already installed; refusing version 1.0"),
    Case("lower-version",
         lambda c: package_bytes(c.builds.pkg_plugin("0.5"), version="0.5"), None,
         r"already installed; refusing version 0.5 \(an update needs a higher version\)"),
    Case("binary-guid-differs-from-info-xml",
         lambda c: package_bytes(c.builds.pkg_plugin("1.0", guid=OTHER), uuid=OTHER2), None,
         r"the plugin reports the guid \{7d3c9a10-4b6e-4f0a-8c2d-00000000aaaa\} but "
         r"info.xml says \{7d3c9a10-4b6e-4f0a-8c2d-00000000bbbb\}; nothing was installed"),
    Case("binary-version-differs-from-info-xml",
         lambda c: package_bytes(c.builds.pkg_plugin("1.0", guid=OTHER), uuid=OTHER,
                                 version="1.5"), None,
         r"the plugin reports version 1.0 but info.xml says 1.5; nothing was installed"),
    Case("plugin-refuses-on-install",
         lambda c: package_bytes(c.builds.pkg_plugin("1.0", guid=OTHER, refuse_load=True),
                                 uuid=OTHER), None,
         r"refused to install \(its main returned False for ON_INSTALL\); nothing was "
         r"installed"),
    Case("update-refuses-to-load",
         lambda c: package_bytes(c.builds.pkg_plugin("2.0", refuse_load=True), version="2.0"),
         None, r"the update was rolled back and Package test plugin 1.0 stays installed: Package "
               r"test plugin 2.0 refused to load \(its main returned False for ON_LOAD_RUNTIME\)",
         settings_may_change=frozenset({"last_state"})),
]
CODES = {c.code for c in CASES if c.code}


def test_the_corpus_covers_at_least_30_failure_classes():
    assert len({c.id for c in CASES}) == len(CASES) >= 60
    assert len(CODES) >= 30, sorted(CODES)


@pytest.fixture(scope="module")
def ctx(builds):
    return Ctx(builds)


def _build(case: Case, ctx: Ctx) -> bytes:
    return case.build(ctx)


@pytest.mark.parametrize("case", [c for c in CASES if c.code], ids=lambda c: c.id)
def test_read_package_refuses_each_case_with_one_sentence(case, ctx):
    data = _build(case, ctx)
    with pytest.raises(InvalidPackageError) as err:
        read_package(data, name="hostile.dcext")
    message = str(err.value)
    assert err.value.code == case.code, message
    assert message.startswith("hostile.dcext: ") and message.endswith(".")
    assert "\n" not in message and re.search(case.message, message), message


# -- through the CLI, on a home with a package installed ----------------------------------

def _listing(home: Path) -> dict:
    """Every file and directory under home (but the registry database files, compared on
    their own, and the inspection cache, which host start-up refreshes whatever comes next:
    here the copied home's plugin has a new path, so it is re-inspected at start)."""
    out = {}
    for path in sorted(home.rglob("*")):
        rel = path.relative_to(home).as_posix()
        if rel.startswith("registry.sqlite3") or rel == "inspected-binaries.json":
            continue
        out[rel] = "dir" if path.is_dir() else path.stat().st_size
    return out


def _registry(home: Path) -> tuple[list, list]:
    conn = sqlite3.connect(f"file:{home / 'registry.sqlite3'}?mode=ro", uri=True)
    try:
        plugins = conn.execute("SELECT * FROM plugins ORDER BY position").fetchall()
        rows = conn.execute("SELECT guid, key, type, value FROM settings "
                            "ORDER BY guid, key").fetchall()
    finally:
        conn.close()
    return plugins, rows


@pytest.fixture(scope="module")
def template_home(tmp_path_factory, builds):
    """A home with the test plugin 1.0 installed from a package, started once since."""
    home = tmp_path_factory.mktemp("template") / "home"
    with Host(home, timers=False) as host:
        packages.install(host, package_bytes(builds.pkg_plugin("1.0")), name="pkg.dcext")
    with Host(home, timers=False):
        pass
    return home


def _copy_home(template: Path, home: Path) -> None:
    """A copy of a home; the registry's absolute paths (and the plugin's own record of its
    install path) are rewritten to the copy, as if it had been installed there."""
    shutil.copytree(template, home)
    conn = sqlite3.connect(home / "registry.sqlite3")
    try:
        with conn:
            conn.execute("UPDATE plugins SET path = replace(path, ?, ?)",
                         (str(template), str(home)))
            conn.execute("UPDATE settings SET value = replace(value, ?, ?) "
                         "WHERE type = 'string'", (str(template), str(home)))
    finally:
        conn.close()


@dataclass
class CliResult:
    returncode: int
    stderr: str
    stdout: str
    before: dict
    after: dict
    registry_before: tuple
    registry_after: tuple
    home: Path


@pytest.fixture(scope="module")
def cli_results(tmp_path_factory, template_home, ctx):
    """Runs ``pyhost install`` on every case (in parallel: each has its own home copy)."""
    root = tmp_path_factory.mktemp("hostile")
    jobs, skipped = {}, {}
    for case in CASES:
        try:
            data = _build(case, ctx)
        except pytest.skip.Exception as exc:
            skipped[case.id] = str(exc)
            continue
        work = root / case.id
        work.mkdir()
        package = work / "hostile.dcext"
        package.write_bytes(data)
        home = work / "home"
        _copy_home(template_home, home)
        jobs[case.id] = (home, package)

    def run(item):
        case_id, (home, package) = item
        before, reg_before = _listing(home), _registry(home)
        done = subprocess.run([sys.executable, "-m", "pyhost.cli", "--home", str(home),
                               "install", str(package)],
                              cwd=home.parent, capture_output=True, text=True, timeout=300)
        return case_id, CliResult(done.returncode, done.stderr, done.stdout, before,
                                  _listing(home), reg_before, _registry(home), home)

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = dict(pool.map(run, jobs.items()))
    return results, skipped


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_cli_install_refuses_each_case_and_changes_nothing(case, cli_results):
    results, skipped = cli_results
    if case.id in skipped:
        pytest.skip(skipped[case.id])
    r = results[case.id]
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert r.stdout == ""
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr          # one sentence, no traceback, no plugin noise
    line = lines[0]
    assert line.startswith("pyhost: hostile.dcext: ") and line.endswith("."), line
    assert "Traceback" not in line and re.search(case.message, line), line
    assert r.after == r.before, "files were left behind or removed"
    plugins_before, settings_before = r.registry_before
    plugins_after, settings_after = r.registry_after
    assert plugins_after == plugins_before
    keep = [s for s in settings_after if s[1] not in case.settings_may_change]
    assert keep == [s for s in settings_before if s[1] not in case.settings_may_change]
    if case.settings_may_change:  # the rolled-back update: the old version runs again
        assert ("{7d3c9a10-4b6e-4f0a-8c2d-00000000d0c1}", "loaded_version", "string",
                "1.0") in settings_after


def test_the_cli_install_and_inspect_agree(cli_results, tmp_path, ctx):
    """inspect answers 2 with the same sentence for a case install refuses as invalid."""
    results, _ = cli_results
    case = next(c for c in CASES if c.id == "dotdot-path")
    package = tmp_path / "hostile.dcext"
    package.write_bytes(_build(case, ctx))
    done = subprocess.run([sys.executable, "-m", "pyhost.cli", "inspect", str(package)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stderr == results[case.id].stderr


# -- mutations --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def valid_members(builds):
    lib = builds.pkg_plugin("1.0", guid=OTHER).read_bytes()
    return {"info.xml": info_xml(uuid=OTHER, files=[("data/hello.txt", None)]).encode(),
            "x64/plugin.so": lib, "data/hello.txt": b"hello\n"}


@st.composite
def mutations(draw, members):
    """A valid package with its bytes mutated (flips, truncation, insertion, deletion), or
    one whose info.xml or binary was mutated before it was zipped (so the CRCs are right
    and the mutation reaches the XML parser, the schema and the binary inspection)."""
    if draw(st.integers(0, 2)) == 0:
        target = draw(st.sampled_from(["info.xml", "x64/plugin.so"]))
        members = dict(members, **{target: _mutate(draw, members[target])})
        return zip_package(members, method=draw(st.sampled_from([0, 8])))
    return _mutate(draw, zip_package(members, method=draw(st.sampled_from([0, 8]))))


def _mutate(draw, original: bytes) -> bytes:
    data = bytearray(original)
    n = len(data)

    def position():
        # half of the edits land in the headers: the first and the last few hundred bytes
        where = draw(st.sampled_from(["head", "tail", "anywhere"]))
        if where == "head":
            return draw(st.integers(0, min(n, 400) - 1))
        if where == "tail":
            return draw(st.integers(max(0, n - 400), n - 1))
        return draw(st.integers(0, n - 1))

    kind = draw(st.sampled_from(["bytes", "bytes", "truncate", "insert", "delete"]))
    if kind == "bytes":
        for _ in range(draw(st.integers(1, 6))):
            data[position()] = draw(st.integers(0, 255))
    elif kind == "truncate":
        data = data[:draw(st.integers(0, n - 1))]
    elif kind == "insert":
        i = position()
        data[i:i] = draw(st.binary(min_size=1, max_size=16))
    else:
        i = position()
        del data[i:i + draw(st.integers(1, 64))]
    return bytes(data)


def test_mutated_packages_are_valid_or_refused_with_one_sentence(valid_members):
    outcomes = {"valid": 0}

    @settings(max_examples=int(os.environ.get("PYHOST_MUTATION_EXAMPLES", "300")),
              deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(mutations(valid_members))
    def check(data):
        try:
            package = read_package(data, name="mutant.dcext")
        except DcextError as exc:  # anything else is a bug: an unhandled exception
            message = str(exc)
            assert message.startswith("mutant.dcext: ") and message.endswith(".")
            assert "\n" not in message and exc.code
            outcomes[exc.code] = outcomes.get(exc.code, 0) + 1
            return
        outcomes["valid"] += 1
        package.describe()
        package.to_dict()
        try:
            package.select()
        except dcext.IncompatiblePackageError:
            pass

    check()
    print(f"\nmutation outcomes: {dict(sorted(outcomes.items(), key=lambda kv: -kv[1]))}")
    assert len(outcomes) > 10  # the mutations reached many different checks
