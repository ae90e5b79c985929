"""pyhost.packages: install, update and remove .dcext packages on a real Host; what lands
on disk, what the registry says, which code runs; recovery at start; the CLI round trip.

The SIGKILL crash test is in test_packages_crash.py; malformed packages in
test_dcext_hostile.py.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dcext_fixtures import (CHAT_GUARD_GUID, PKG_GUID, TOOLCHAINS, builds,  # noqa: F401
                            info_xml, package_bytes, zip_package)
from pyhost import packages
from pyhost.host import plugin_files
from pyhost.packages.dcext import IncompatiblePackageError
from pyhost.host.events import Category
from pyhost.host.host import Host
from pyhost.host.loader import PluginError
from pyhost.packages.installer import PackageError, plugins_root


def mapped(path) -> bool:
    return str(Path(path).resolve()) in Path("/proc/self/maps").read_text()


def tree(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() + ("/" if p.is_dir() else "")
                  for p in root.rglob("*")) if root.exists() else []


def setting(host, key):
    value = host.registry.get_setting(PKG_GUID, key)
    return None if value is None else value[1]


def pkg(builds, version="1.0", **kw) -> bytes:
    build_kw = {k: kw.pop(k) for k in ("refuse_load", "refuse_unload") if k in kw}
    return package_bytes(builds.pkg_plugin(version, **build_kw), version=version, **kw)


def pyhost(*args, cwd, home=None):
    argv = [sys.executable, "-m", "pyhost.cli"] + (["--home", str(home)] if home else [])
    return subprocess.run(argv + list(args), cwd=cwd, capture_output=True, text=True,
                          timeout=120)


# -- install ------------------------------------------------------------------------------

def test_install_picks_elf_x64_from_a_multi_platform_package(host, builds, tmp_path):
    found = builds.available_chat_guards()
    members = {"info.xml": info_xml(
        uuid=CHAT_GUARD_GUID, name="Chat guard",
        plugins={p: f"{p}/chat_guard{TOOLCHAINS[p][1]}" for p in found},
        files=[("icons/guard.ico", None), ("win/only.txt", "pe-x64"),
               ("linux/only.txt", "elf-x64")])}
    members.update({f"{p}/chat_guard{TOOLCHAINS[p][1]}": path.read_bytes()
                    for p, path in found.items()})
    members.update({"icons/guard.ico": b"ico", "win/only.txt": b"w", "linux/only.txt": b"l"})
    result = packages.install(host, zip_package(members), name="chat_guard.dcext")

    assert result.action == "installed" and result.selection.platform == "elf-x64"
    record = result.record
    root = plugins_root(host)
    version_dir = Path(record.path).parent
    assert version_dir.parent == (root / CHAT_GUARD_GUID).resolve()
    assert version_dir.name.startswith("1.0-")
    # the selected files, and the install note `pyhost repair` rebuilds a lost row from
    assert tree(version_dir) == [".pyhost-install.json", "chat_guard.so", "icons/",
                                 "icons/guard.ico", "linux/", "linux/only.txt"]
    assert json.loads((version_dir / ".pyhost-install.json").read_text()) == {
        "uuid": CHAT_GUARD_GUID, "name": "Chat guard", "version": "1.0",
        "platform": "elf-x64", "library": "chat_guard.so"}
    assert (version_dir / "chat_guard.so").read_bytes() == found["elf-x64"].read_bytes()
    assert host.loaded() == [CHAT_GUARD_GUID] and mapped(record.path)
    assert host.install_dir(CHAT_GUARD_GUID) == version_dir
    # the plugin works: chat_guard handles messages containing "spam"
    from pyhost.abi._ffi import ffi
    chat = host.hooks["dcpp.chat.onIncomingChat"]
    assert chat.run(None, ffi.new("char[]", b"buy spam")) is True
    assert tree(root) == [CHAT_GUARD_GUID + "/", f"{CHAT_GUARD_GUID}/{version_dir.name}/",
                          *[f"{CHAT_GUARD_GUID}/{version_dir.name}/{p}"
                            for p in tree(version_dir)]]
    assert result.message().startswith("installed Chat guard 1.0 ({5e1c7a0e")


def test_installed_plugin_finds_its_files_through_get_install_path(host, builds):
    result = packages.install(host, pkg(builds), name="pkg.dcext")
    assert setting(host, "last_state") == "install"
    assert setting(host, "install_path") == str(result.directory) + "/"
    assert setting(host, "data_file") == "found"
    assert (result.directory / "data" / "hello.txt").read_bytes() == b"hello from the package\n"
    assert oct((result.directory / "plugin.so").stat().st_mode & 0o777) == "0o755"


def test_a_package_for_other_platforms_is_not_compatible_and_writes_nothing(host, builds):
    found = {p: b for p, b in builds.available_chat_guards().items() if p != "elf-x64"}
    if not found:
        pytest.skip("no toolchain for a platform other than elf-x64")
    members = {"info.xml": info_xml(uuid=CHAT_GUARD_GUID, plugins={p: f"{p}.bin" for p in found})}
    members.update({f"{p}.bin": b.read_bytes() for p, b in found.items()})
    with pytest.raises(IncompatiblePackageError, match="not compatible with this host"):
        packages.install(host, zip_package(members))
    assert not (host.home / "local").exists() and host.plugins() == []


def test_a_bare_library_still_installs_and_remove_keeps_its_file(host, sample):
    record = host.install(sample("chat_guard"))
    packages.remove(host, record.guid)
    assert host.plugins() == [] and Path(record.path).is_file()


# -- update -------------------------------------------------------------------------------

def test_update_swaps_the_files_keeps_settings_and_runs_the_new_code(host, builds):
    first = packages.install(host, pkg(builds, "1.0"), name="v1.dcext")
    host.registry.set_setting(PKG_GUID, "user_choice", "int", 42)
    old_dir = first.directory
    assert setting(host, "loaded_version") == "1.0"

    second = packages.install(host, pkg(builds, "2.0"), name="v2.dcext")
    assert second.action == "updated" and second.previous_version == 1.0
    assert second.record.version == 2.0 and host.plugin(PKG_GUID).version == 2.0
    # the new library really runs: a same-path reload would have run 1.0 again (dlopen
    # hands back an already-loaded library for an identical path string)
    assert setting(host, "loaded_version") == "2.0"
    assert setting(host, "last_state") == "load_runtime"
    assert setting(host, "user_choice") == 42                      # settings kept
    assert setting(host, "install_path") == str(second.directory) + "/"
    assert not old_dir.exists() and not mapped(first.record.path)
    assert os.listdir(plugins_root(host) / PKG_GUID) == [second.directory.name]
    assert second.record.position == first.record.position and second.record.enabled
    kinds = [e.kind for e in host.events.poll(Category.PLUGIN)]
    assert kinds[-3:] == ["plugin_unloaded", "plugin_updated", "plugin_loaded"]
    assert second.message() == (f"updated Package test plugin from 1.0 to 2.0 ({PKG_GUID}) "
                                "from v2.dcext, elf-x64")


def test_a_package_installed_isolated_runs_and_updates_in_a_runner(host, builds):
    from isolation_helpers import mapped as mapped_anywhere, runner_pids
    first = packages.install(host, pkg(builds, "1.0"), name="v1.dcext", isolated=True)
    assert first.record.isolated and type(host._loaded[PKG_GUID].plugin).__name__ == \
        "IsolatedPlugin"
    assert setting(host, "loaded_version") == "1.0"
    assert setting(host, "install_path") == str(first.directory) + "/"
    assert not mapped(first.record.path) and mapped_anywhere(first.record.path)
    second = packages.install(host, pkg(builds, "2.0"), name="v2.dcext")
    assert second.action == "updated" and second.record.isolated  # stays isolated
    assert setting(host, "loaded_version") == "2.0"
    assert not mapped_anywhere(first.record.path) and len(runner_pids()) == 1


def test_update_of_a_stopped_host_loads_at_start(home, builds):
    with Host(home, timers=False) as h:
        packages.install(h, pkg(builds, "1.0"))
    h = Host(home, timers=False)  # not started: nothing loaded
    try:
        result = packages.install(h, pkg(builds, "2.0"))
        assert result.action == "updated" and not result.loaded
    finally:
        h.shutdown()
    with Host(home, timers=False) as h:
        assert h.loaded() == [PKG_GUID] and setting(h, "loaded_version") == "2.0"


@pytest.mark.parametrize("version", ["1.0", "0.9"])
def test_same_or_lower_version_is_refused_before_anything_is_written(host, builds, version):
    packages.install(host, pkg(builds, "1.0"))
    before = tree(host.home)
    with pytest.raises(PackageError, match=f"already installed; refusing version {version}"):
        packages.install(host, pkg(builds, version), name="again.dcext")
    assert tree(host.home) == before
    assert host.plugin(PKG_GUID).version == 1.0 and host.loaded() == [PKG_GUID]


def test_update_whose_new_version_refuses_to_load_is_rolled_back(host, builds):
    first = packages.install(host, pkg(builds, "1.0"))
    before = tree(plugins_root(host))
    with pytest.raises(PackageError, match="the update was rolled back and Package test "
                                           "plugin 1.0 stays installed"):
        packages.install(host, pkg(builds, "2.0", refuse_load=True), name="bad.dcext")
    assert tree(plugins_root(host)) == before
    record = host.plugin(PKG_GUID)
    assert record.version == 1.0 and record.path == first.record.path
    assert host.loaded() == [PKG_GUID] and setting(host, "loaded_version") == "1.0"


def test_old_version_refusing_to_unload_defers_the_update_to_the_next_start(home, builds):
    with Host(home, timers=False) as h:
        packages.install(h, pkg(builds, "1.0", refuse_unload=True))
        result = packages.install(h, pkg(builds, "2.0"), name="v2.dcext")
        assert result.action == "pending" and not result.loaded
        assert "version 1.0 refused to unload, so 2.0 loads at the next start" in \
            result.message()
        assert h.plugin(PKG_GUID).version == 2.0 and h.loaded() == []
        assert setting(h, "loaded_version") == "1.0"  # the old code is still the one mapped
        assert [p.name for p in (plugins_root(h) / PKG_GUID).iterdir()] == \
            [result.directory.name]
    with Host(home, timers=False) as h:
        assert h.loaded() == [PKG_GUID] and setting(h, "loaded_version") == "2.0"


def test_binary_not_matching_info_xml_is_rolled_back(host, builds):
    other = "{7d3c9a10-4b6e-4f0a-8c2d-00000000cccc}"
    data = package_bytes(builds.pkg_plugin("1.0"), uuid=other)
    with pytest.raises(PackageError, match="reports the guid .* but info.xml says"):
        packages.install(host, data, name="liar.dcext")
    assert host.plugins() == [] and tree(host.home / "local") == []
    assert not (host.home / "local").exists()


# -- remove -------------------------------------------------------------------------------

@pytest.mark.parametrize("keep_settings", [False, True])
def test_remove_sends_on_uninstall_and_deletes_files_and_rows(host, builds, keep_settings):
    result = packages.install(host, pkg(builds))
    removed = packages.remove(host, PKG_GUID, keep_settings=keep_settings)
    assert removed.guid == PKG_GUID and host.plugins() == [] and host.loaded() == []
    assert tree(plugins_root(host)) == []
    assert not mapped(result.record.path)
    assert bool(host.registry.settings(PKG_GUID)) is keep_settings
    with pytest.raises(PluginError, match="No plugin with guid"):
        packages.remove(host, PKG_GUID)


# -- recovery -----------------------------------------------------------------------------

def test_start_removes_staging_leftovers_and_unreferenced_versions(home, builds):
    with Host(home, timers=False) as h:
        result = packages.install(h, pkg(builds))
    root = home / "local" / "Plugins"
    stale = [root / ".staging" / "install-x" / "plugin.so", root / ".staging" / "trash-y" / "f",
             root / PKG_GUID / "0.5-deadbeef" / "plugin.so",
             root / "{7d3c9a10-4b6e-4f0a-8c2d-00000000eeee}" / "1.0-cafe" / "plugin.so"]
    for path in stale:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"left over")
    (root / "README").write_text("not ours: left alone")
    (root / "custom" / "x").mkdir(parents=True)  # not named by a UUID: not ours either
    with Host(home, timers=False) as h:
        assert h.loaded() == [PKG_GUID]
    assert tree(root) == ["README", "custom/", "custom/x/", f"{PKG_GUID}/",
                          f"{PKG_GUID}/{result.directory.name}/",
                          *[f"{PKG_GUID}/{result.directory.name}/{p}"
                            for p in tree(result.directory)]]


def test_recovery_never_deletes_the_files_of_a_moved_home(tmp_path, builds):
    """The registry stores absolute paths: after the home moved they point elsewhere, and
    the package files must survive (so the user can repair it), not be taken as leftovers."""
    old, new = tmp_path / "old", tmp_path / "new"
    with Host(old, timers=False) as h:
        result = packages.install(h, pkg(builds))
    old.rename(new)
    moved = new / result.directory.relative_to(old)
    with Host(new, timers=False) as h:
        assert h.loaded() == []  # its registry path is gone: reported, not loaded
        assert any("no such plugin file" in e.reason for e in h.events.poll(Category.ERROR))
    assert (moved / "plugin.so").is_file() and (moved / "data" / "hello.txt").is_file()


def test_update_of_a_disabled_plugin_keeps_it_disabled(host, builds):
    packages.install(host, pkg(builds, "1.0"))
    host.disable(PKG_GUID)
    result = packages.install(host, pkg(builds, "2.0"))
    assert result.action == "updated" and not result.loaded
    assert host.plugin(PKG_GUID).enabled is False and host.loaded() == []
    host.enable(PKG_GUID)
    assert setting(host, "loaded_version") == "2.0"


def test_recovery_waits_for_nobody_and_skips_while_another_process_operates(home, builds):
    with Host(home, timers=False) as h:
        packages.install(h, pkg(builds))
    leftover = home / "local" / "Plugins" / ".staging" / "install-z"
    leftover.mkdir(parents=True)
    with plugin_files.HomeLock(home):  # as another process in the middle of an install would
        h = Host(home, timers=False)
        h.start()
        h.shutdown()
        assert leftover.is_dir()
    with Host(home, timers=False):
        pass
    assert not leftover.exists()


# -- the command line ---------------------------------------------------------------------

def test_cli_pack_inspect_install_update_list_remove(tmp_path, builds):
    src = tmp_path / "src"
    (src / "x64").mkdir(parents=True)
    (src / "data").mkdir()
    (src / "x64" / "plugin.so").write_bytes(builds.pkg_plugin("1.0").read_bytes())
    (src / "data" / "hello.txt").write_text("hi\n")
    (src / "info.xml").write_text(info_xml(files=[("data/hello.txt", None)]))
    home = tmp_path / "home"

    out = pyhost("pack", str(src), "-o", str(tmp_path / "p1.dcext"), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    out = pyhost("inspect", str(tmp_path / "p1.dcext"), cwd=tmp_path)
    assert out.returncode == 0 and "<- this host" in out.stdout
    out = pyhost("install", str(tmp_path / "p1.dcext"), home=home, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(f"installed Package test plugin 1.0 ({PKG_GUID}) from "
                                 "p1.dcext, elf-x64")

    (src / "x64" / "plugin.so").write_bytes(builds.pkg_plugin("2.0").read_bytes())
    (src / "info.xml").write_text(info_xml(version="2.0", files=[("data/hello.txt", None)]))
    out = pyhost("pack", str(src), "-o", str(tmp_path / "p2.dcext"), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    out = pyhost("install", str(tmp_path / "p2.dcext"), "--json", home=home, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["action"] == "updated" and doc["version"] == 2.0 and doc["loaded"] is True
    assert doc["previous_version"] == 1.0 and doc["platform"] == "elf-x64"

    out = pyhost("install", str(tmp_path / "p1.dcext"), home=home, cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr == ("pyhost: p1.dcext: Package test plugin 2.0 is already installed; "
                          "refusing version 1.0 (an update needs a higher version).\n")

    out = pyhost("list", "--json", home=home, cwd=tmp_path)
    (row,) = json.loads(out.stdout)
    assert row["version"] == 2.0 and Path(row["path"]).is_file()

    out = pyhost("remove", PKG_GUID, home=home, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert tree(home / "local" / "Plugins") == []


def test_cli_install_dispatches_on_zip_content_too(tmp_path, builds):
    data = pkg(builds)
    path = tmp_path / "plugin.zip"
    path.write_bytes(data)
    out = pyhost("install", str(path), home=tmp_path / "home", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "from plugin.zip, elf-x64" in out.stdout


def test_cli_install_of_an_invalid_package_never_starts_the_host(tmp_path, builds):
    """Validation happens before any plugin code runs: a home with a plugin installed is
    not even loaded when the package is invalid."""
    home = tmp_path / "home"
    with Host(home, timers=False) as h:
        packages.install(h, pkg(builds))
        h.registry.set_setting(PKG_GUID, "last_state", "string", "marker")
    bad = tmp_path / "bad.dcext"
    bad.write_bytes(zip_package({"info.xml": "<dcext/>"}))
    out = pyhost("install", str(bad), home=home, cwd=tmp_path)
    assert out.returncode == 2 and "does not match the dcext schema" not in out.stdout
    from pyhost.host.registry import Registry
    with Registry(home / "registry.sqlite3") as r:
        assert r.get_setting(PKG_GUID, "last_state") == ("string", "marker")  # never loaded
