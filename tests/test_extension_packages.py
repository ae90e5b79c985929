"""Extension packages: package.json judged as AirDC++ judges it, .tgz files in npm pack's
layout unpacked safely, and every refusal leaving the home exactly as it was. Through the
installer and through `pyhost extension install|list|remove|enable|disable` (exit 2 and one
sentence for a refused package)."""
import io
import json
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

from pyhost.server.api.system import API_FEATURE_LEVEL
from pyhost.server.extensions import installer, package
from pyhost.server.extensions.layout import Layout
from pyhost.server.extensions.package import PackageError
from test_cli import NEUTRAL_DIR, PYHOST

NAME = "airdcpp-test-ext"


def manifest(**changes) -> dict:
    data = {"name": NAME, "version": "1.2.3", "description": "A test", "author": "me",
            "main": "index.js", "airdcpp": {"apiVersion": 1, "minApiFeatureLevel": 4}}
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def make_tgz(path: Path, members: list, top: str = "package") -> Path:
    """members: (name, bytes) files, or (name, TarInfo-tweak) for special entries."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, content in members:
            if isinstance(content, bytes):
                info = tarfile.TarInfo(name)
                info.size = len(content)
                info.mode = 0o644
                tar.addfile(info, io.BytesIO(content))
            else:
                info = tarfile.TarInfo(name)
                content(info)
                tar.addfile(info)
    path.write_bytes(buffer.getvalue())
    return path


def good_members(data: dict = None, top: str = "package") -> list:
    return [(f"{top}/package.json", json.dumps(data or manifest()).encode()),
            (f"{top}/index.js", b"console.log('hi');\n")]


def snapshot(home: Path) -> set:
    return {str(p.relative_to(home)) for p in home.rglob("*")}


# ---- package.json --------------------------------------------------------------------------------

def test_a_valid_package_json():
    info = package.parse(manifest(author={"name": "Someone", "email": "x@y"},
                                  engines={"python3": ">=3.10", "node": ">=14"},
                                  airdcpp={"apiVersion": 1, "signalReady": True}), 7)
    assert (info.name, info.version, info.author, info.main) == (NAME, "1.2.3", "Someone",
                                                                 "index.js")
    assert info.engines == ("python3", "node")
    assert info.signal_ready and info.min_feature_level == 0
    assert package.parse(manifest(engines=None), 7).engines == ("node",)


@pytest.mark.parametrize("changes, message", [
    ({"name": None}, "'name' must be a non-empty string"),
    ({"name": "my-extension"}, "must start with 'airdcpp-'"),
    ({"name": "airdcpp-Upper"}, "is not an extension name"),
    ({"name": "airdcpp-../../x"}, "is not an extension name"),
    ({"name": "airdcpp-" + "x" * 220}, "at most 214"),
    ({"description": None}, "'description' is required"),
    ({"version": 1}, "'version' is required and must be a string"),
    ({"author": None}, "'author' is required"),
    ({"author": {"email": "x"}}, "'author' is required"),
    ({"main": None}, "'main' (the script to run) is required"),
    ({"main": "../outside.js"}, "'main' must be a path inside the package"),
    ({"main": "/etc/passwd"}, "'main' must be a path inside the package"),
    ({"airdcpp": None}, "the 'airdcpp' section"),
    ({"airdcpp": {}}, "airdcpp.apiVersion is required"),
    ({"airdcpp": {"apiVersion": 2}}, "needs Web API version 2; pyhost speaks version 1"),
    ({"airdcpp": {"apiVersion": "1"}}, "airdcpp.apiVersion must be an integer"),
    ({"airdcpp": {"apiVersion": 1, "minApiFeatureLevel": 8}},
     "needs Web API feature level 8; pyhost implements level 7"),
    ({"airdcpp": {"apiVersion": 1, "signalReady": "yes"}}, "signalReady must be true or false"),
    ({"engines": {"ruby": "3"}}, "needs the engine ruby; pyhost runs node and python3"),
    ({"engines": ["node"]}, "'engines' must be an object"),
    ({"os": ["win32"]}, "does not support this platform (linux"),
])
def test_package_json_refusals(changes, message):
    with pytest.raises(PackageError) as err:
        package.parse(manifest(**changes), 7)
    assert message in str(err.value)


def test_the_feature_level_pyhost_claims():
    assert API_FEATURE_LEVEL == 7  # signalReady needs 6, appPid 7: both implemented
    package.parse(manifest(airdcpp={"apiVersion": 1, "minApiFeatureLevel": 7}), 7)


# ---- archives ------------------------------------------------------------------------------------

def test_install_update_remove(tmp_path):
    home = tmp_path / "home"
    tgz = make_tgz(tmp_path / "a.tgz", good_members())
    info, updated = installer.install(home, tgz, 7)
    assert (info.name, updated) == (NAME, False)
    layout = Layout(home)
    root = layout.root(NAME)
    assert {p.name for p in root.iterdir()} == {"package", "logs", "settings"}
    assert (root / "package" / "index.js").read_bytes() == b"console.log('hi');\n"
    assert oct((root / "package" / "index.js").stat().st_mode & 0o777) == "0o644"
    (root / "settings" / "config.json").write_text("{}")
    (root / "logs" / "output.log").write_text("old run")
    newer = manifest(version="2.0.0")
    info, updated = installer.install(home, make_tgz(tmp_path / "b.tgz", [
        ("pkg/package.json", json.dumps(newer).encode()), ("pkg/index.js", b"//v2\n"),
        ("pkg/lib/", lambda i: setattr(i, "type", tarfile.DIRTYPE))], top="pkg"), 7)
    assert (info.version, updated) == ("2.0.0", True)
    assert (root / "package" / "index.js").read_bytes() == b"//v2\n"
    assert (root / "settings" / "config.json").exists() and (root / "logs" / "output.log").exists()
    assert [p.name for p in root.iterdir() if p.name.startswith(".")] == []
    layout.set_disabled(NAME, True)
    assert (root / "settings" / "DISABLED").exists() and layout.disabled(NAME)
    layout.set_disabled(NAME, False)
    assert not layout.disabled(NAME)
    installer.remove(home, NAME)
    assert layout.names() == [] and list((home / "extensions").iterdir()) == []


def test_install_from_a_directory_with_internal_links(tmp_path):
    src = tmp_path / "src"
    (src / "node_modules" / "dep").mkdir(parents=True)
    (src / "package.json").write_text(json.dumps(manifest()))
    (src / "index.js").write_text("//\n")
    (src / "node_modules" / "dep" / "cli.js").write_text("#!/usr/bin/env node\n")
    os.chmod(src / "node_modules" / "dep" / "cli.js", 0o755)
    (src / "node_modules" / ".bin").mkdir()
    os.symlink("../dep/cli.js", src / "node_modules" / ".bin" / "dep")
    (src / ".git").mkdir()
    (src / ".git" / "HEAD").write_text("ref")
    installer.install(tmp_path / "home", src, 7)
    pkg = Layout(tmp_path / "home").package(NAME)
    assert os.readlink(pkg / "node_modules" / ".bin" / "dep") == "../dep/cli.js"
    assert os.access(pkg / "node_modules" / "dep" / "cli.js", os.X_OK)
    assert not (pkg / ".git").exists()
    os.symlink("/etc/passwd", src / "leak")
    before = snapshot(tmp_path / "home")
    with pytest.raises(PackageError, match="points outside it"):
        installer.install(tmp_path / "home", src, 7)
    assert snapshot(tmp_path / "home") == before


def _link(target):
    def tweak(info):
        info.type, info.linkname = tarfile.SYMTYPE, target
    return tweak


def _hardlink(info):
    info.type, info.linkname = tarfile.LNKTYPE, "package/index.js"


def _fifo(info):
    info.type = tarfile.FIFOTYPE


def _device(info):
    info.type, info.devmajor, info.devminor = tarfile.CHRTYPE, 1, 3


HOSTILE = {
    "traversal": (good_members() + [("package/../../evil.js", b"x")], "leaves its directory"),
    "absolute": (good_members() + [("/tmp/evil.js", b"x")], "absolute path"),
    "symlink": (good_members() + [("package/link", _link("/etc/passwd"))], "symbolic link"),
    "inner symlink": (good_members() + [("package/link", _link("index.js"))], "symbolic link"),
    "hard link": (good_members() + [("package/hard", _hardlink)], "hard link"),
    "fifo": (good_members() + [("package/fifo", _fifo)], "device or FIFO"),
    "device": (good_members() + [("package/null", _device)], "device or FIFO"),
    "two tops": (good_members() + [("other/x.js", b"x")], "one top directory"),
    "top file": ([("package.json", json.dumps(manifest()).encode())], "one top directory"),
    "backslash": (good_members() + [("package\\..\\x", b"x")], "bad name"),
    "twice": (good_members() + [("package/index.js", b"again")], "twice"),
    "no package.json": ([("package/index.js", b"x")], "no package.json"),
    "bad json": ([("package/package.json", b"{nope"), ("package/index.js", b"x")],
                 "not valid JSON"),
    "missing main field": (good_members(manifest(main=None)), "'main' (the script to run)"),
    "missing main file": (good_members(manifest(main="dist/main.js")),
                          "main file dist/main.js named by package.json is not in the package"),
    "wrong api version": (good_members(manifest(airdcpp={"apiVersion": 0})),
                          "needs Web API version 0"),
    "too new": (good_members(manifest(airdcpp={"apiVersion": 1, "minApiFeatureLevel": 10})),
                "feature level 10"),
    "bad name": (good_members(manifest(name="evil/../../x")), "must start with 'airdcpp-'"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_packages_are_refused_leaving_nothing(tmp_path, case):
    members, message = HOSTILE[case]
    home = tmp_path / "home"
    home.mkdir()
    (home / "keep.txt").write_text("x")
    before = snapshot(home)
    with pytest.raises(PackageError) as err:
        installer.install(home, make_tgz(tmp_path / "p.tgz", members), 7)
    assert message in str(err.value)
    assert "\n" not in str(err.value)
    assert snapshot(home) == before
    assert not (tmp_path / "evil.js").exists() and not Path("/tmp/evil.js").exists()


def test_not_an_archive_and_limits(tmp_path):
    home = tmp_path / "home"
    (tmp_path / "x.tgz").write_bytes(b"PK\x03\x04 not a tar")
    with pytest.raises(PackageError, match="is not a .tgz package"):
        installer.install(home, tmp_path / "x.tgz", 7)
    from pyhost.server.extensions import archive
    big = make_tgz(tmp_path / "big.tgz", good_members() + [("package/big.bin", b"0" * 4096)])
    with pytest.raises(PackageError, match="unpacks to more than"):
        archive.unpack_tgz(big, _fresh(tmp_path / "u1"), archive.ArchiveLimits(max_total=4000))
    with pytest.raises(PackageError, match="more than 2 entries"):
        archive.unpack_tgz(big, _fresh(tmp_path / "u2"), archive.ArchiveLimits(max_members=2))
    assert not (home / "extensions").exists()


def _fresh(path: Path) -> Path:
    path.mkdir()
    return path


# ---- the command line ----------------------------------------------------------------------

def pyhost(home: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*PYHOST, "--home", str(home), *args], cwd=NEUTRAL_DIR,
                          capture_output=True, text=True, timeout=60)


def test_the_extension_commands(tmp_path):
    home = tmp_path / "home"
    tgz = make_tgz(tmp_path / "a.tgz", good_members())
    r = pyhost(home, "extension", "install", str(tgz))
    assert r.returncode == 0 and r.stdout.strip() == f"Installed extension {NAME} 1.2.3 (node).", r
    r = pyhost(home, "extension", "list", "--json")
    row = json.loads(r.stdout)[0]
    assert (row["name"], row["enabled"], row["state"], row["engines"]) == (NAME, True, "stopped",
                                                                           ["node"])
    assert pyhost(home, "extension", "disable", NAME).returncode == 0
    assert "[stopped, disabled]" in pyhost(home, "extension", "list").stdout
    assert pyhost(home, "extension", "enable", NAME).returncode == 0
    r = pyhost(home, "extension", "logs", NAME)
    assert r.returncode == 2 and "has no output.log yet" in r.stderr
    r = pyhost(home, "extension", "config", NAME)
    assert r.returncode == 2 and "has not defined its settings yet" in r.stderr
    r = pyhost(home, "extension", "start", NAME)
    assert r.returncode == 2 and "No pyhost is running with the home" in r.stderr
    r = pyhost(home, "extension", "remove", NAME)
    assert r.returncode == 0 and pyhost(home, "extension", "list").stdout.startswith("No ext")


@pytest.mark.parametrize("case", ["traversal", "symlink", "wrong api version", "bad json",
                                  "missing main file"])
def test_the_command_line_refuses_in_one_sentence(tmp_path, case):
    members, message = HOSTILE[case]
    home = tmp_path / "home"
    r = pyhost(home, "extension", "install", str(make_tgz(tmp_path / "p.tgz", members)))
    assert r.returncode == 2
    assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert "Traceback" not in r.stderr
    assert not (home / "extensions").exists()
    r = pyhost(home, "extension", "remove", "airdcpp-nothing")
    assert r.returncode == 2 and "There is no installed extension airdcpp-nothing" in r.stderr
