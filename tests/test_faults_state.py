"""State and the registry under faults, as a user meets them (issue 11): a lost or damaged
registry never costs the installed packages and `pyhost repair` brings the rows back; a
read-only home still reads; a full disk refuses an install cleanly; a damaged inspection
cache is an empty one; a removal by another process is final; a UUID in another letter case
is the same plugin. Commands run as processes, on real files and real file systems."""
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from dcext_fixtures import PKG_GUID, builds, package_bytes, info_xml, zip_package  # noqa: F401
from fsfaults import fill, remount, small_fs
from pyhost.abi.paths import sample_plugin
from pyhost.host.host import Host
from pyhost.host.registry import Registry
from test_cli import NEUTRAL_DIR, PYHOST, pyhost
from test_registry_faults import damage_guid_index

DEV = "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000002}"


def ok(home, *args, **kw):
    result = pyhost(home, *args, **kw)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result


def refused(home, *args) -> str:
    result = pyhost(home, *args)
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.fixture
def two_packages(tmp_path, builds):
    """A home with a package installed (settings written by it), plus a bare library."""
    home = tmp_path / "home"
    package = tmp_path / "pkg.dcext"
    package.write_bytes(package_bytes(builds.pkg_plugin("1.0")))
    ok(home, "install", str(package))
    ok(home, "install", str(sample_plugin("dev_plugin")))
    ok(home, "config", PKG_GUID, "kept", "yes")
    return home


# ---------------------------------------------------------------------------------------
# A missing or empty registry next to installed packages


@pytest.mark.parametrize("loss", ["empty", "missing"])
def test_a_lost_registry_never_costs_the_packages(two_packages, loss):
    home = two_packages
    registry = home / "registry.sqlite3"
    before = files_under(home / "local")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{registry}{suffix}").unlink(missing_ok=True)
    if loss == "empty":
        registry.write_bytes(b"")
    # Before issue 11: `list` said "no plugins installed" and `run` deleted the package.
    for command in (["list"], ["run", "--seconds", "0"], ["install", "x.so"]):
        message = refused(home, *command)
        assert f"is {loss} but 1 installed package(s) exist under" in message
        assert "run `pyhost repair`" in message
    assert files_under(home / "local") == before
    assert registry.exists() == (loss == "empty")  # nothing was created either

    repaired = ok(home, "repair")
    assert f"The registry {registry} was {loss}; starting a new one." in repaired.stdout
    assert f"Rebuilt the row of Package test plugin 1.0 ({PKG_GUID})" in repaired.stdout
    listing = ok(home, "list").stdout
    assert "Package test plugin" in listing and "Dev plugin" not in listing  # a bare file
    # it loads and finds its files again; its settings were in the lost file
    ok(home, "run", "--seconds", "0")
    assert ok(home, "config", PKG_GUID, "data_file").stdout.strip() == "found"
    assert "kept" not in ok(home, "config", PKG_GUID).stdout
    assert ok(home, "repair").stdout.startswith("The registry is healthy")


def test_repair_can_move_the_packages_aside_instead(two_packages):
    home = two_packages
    (home / "registry.sqlite3").unlink()
    done = ok(home, "repair", "--move-aside", "--json")
    actions = json.loads(done.stdout)["actions"]
    assert any(a.startswith(f"Moved the package {PKG_GUID} aside to ") for a in actions)
    aside = home / "local" / "Plugins-set-aside"
    (moved,) = aside.iterdir()
    assert (next(moved.iterdir()) / "plugin.so").is_file()
    assert ok(home, "list").stdout.strip() == "no plugins installed"
    ok(home, "run", "--seconds", "0")
    assert moved.is_dir()  # nothing judged it unreferenced


# ---------------------------------------------------------------------------------------
# A damaged registry


def test_a_damaged_registry_is_refused_and_repair_recovers_what_can_be_read(two_packages):
    home = two_packages
    registry = home / "registry.sqlite3"
    with Registry(registry) as r:
        for i in range(30):  # enough rows for the guid index to be worth damaging
            r.add(r.get(DEV).__class__(guid="{%08d-0000-0000-0000-000000000000}" % i,
                                       name=f"Filler {i}", version=1.0,
                                       path=str(sample_plugin("dev_plugin")), enabled=False))
            r.set_setting("{%08d-0000-0000-0000-000000000000}" % i, "n", "int", i)
        settings = sum(len(r.settings(p.guid)) for p in r.plugins())
    damage_guid_index(registry, "{00000007-", "{00000099-")
    for command in (["list"], ["install", str(sample_plugin("chat_guard"))],
                    ["config", DEV, "x", "1"]):
        message = refused(home, *command)
        assert "is damaged (SQLite's integrity check:" in message
        assert "run `pyhost repair` to recover what can be read" in message

    done = ok(home, "repair").stdout
    assert f"Recovered 32 plugin row(s) and {settings} setting(s) into a new registry" in done
    aside = next(home.glob("registry.sqlite3.damaged-*"))
    assert f"the damaged file is kept as {aside}" in done
    with Registry(registry) as r:
        assert r.check_integrity() == []
        guids = [p.guid for p in r.plugins()]
        assert guids[:2] == [PKG_GUID, DEV] and len(guids) == len(set(guids)) == 32
        assert r.get_setting("{00000007-0000-0000-0000-000000000000}", "n") == ("int", 7)
        assert r.get_setting(PKG_GUID, "kept") == ("string", "yes")


# ---------------------------------------------------------------------------------------
# Read-only home, full disk


def test_a_read_only_home_keeps_reads_working(tmp_path):
    with small_fs(tmp_path / "fs", 4096) as fs:
        home = fs / "home"
        ok(home, "install", str(sample_plugin("dev_plugin")))
        remount(fs, "ro")
        try:
            assert "Dev plugin" in ok(home, "list").stdout
            assert ok(home, "config", DEV, "loads").stdout.strip() == "1"
            ran = ok(home, "run", "--seconds", "0")  # the plugin's writes are said once
            assert ran.stderr.count("not stored: Cannot write to the registry") == 1
            for command in (["install", str(sample_plugin("chat_guard"))],
                            ["config", DEV, "loads", "5"], ["disable", DEV]):
                message = refused(home, *command)
                assert "read-only file system" in message, message
                assert "not a pyhost registry" not in message
        finally:
            remount(fs, "rw")


def test_a_full_disk_during_a_package_install_is_a_clean_refusal(tmp_path, builds):
    big = tmp_path / "big.dcext"
    library = builds.pkg_plugin("1.0")
    big.write_bytes(zip_package({
        "info.xml": info_xml(files=[("data/hello.txt", None), ("data/blob.bin", None)]),
        "x64/plugin.so": library.read_bytes(), "data/hello.txt": b"hi\n",
        "data/blob.bin": os.urandom(3 << 20)}))
    with small_fs(tmp_path / "fs", 4096) as fs:
        home = fs / "home"
        ok(home, "install", str(sample_plugin("dev_plugin")))
        fill(fs, leave_bytes=1 << 20)  # room for the registry, not for the package
        before = files_under(home)
        message = refused(home, "install", str(big))
        assert message == ("pyhost: big.dcext: its files cannot be written (no space left "
                           "on device); nothing was installed.")
        assert files_under(home) == before
        assert [r.guid for r in Registry(home / "registry.sqlite3").plugins()] == [DEV]


# ---------------------------------------------------------------------------------------
# The inspection cache


@pytest.mark.parametrize("damage", ["deep", "huge-int", "fifo", "wrong-shapes"])
def test_a_damaged_inspection_cache_is_an_empty_cache(tmp_path, damage):
    home = tmp_path / "home"
    ok(home, "install", str(sample_plugin("dev_plugin")))
    cache = home / "inspected-binaries.json"
    cache.unlink()
    if damage == "deep":
        cache.write_text("[" * 100_000 + "]" * 100_000)
    elif damage == "huge-int":
        cache.write_text('{"x": [' + "9" * 5000 + "]}")
    elif damage == "fifo":
        os.mkfifo(cache)
    else:
        cache.write_text('{"a": 1, "b": [1, 2], "c": ["x", 1, 2, 3], "d": null}')
    assert "Dev plugin" in ok(home, "list").stdout
    ok(home, "run", "--seconds", "0")
    if damage != "fifo":  # rewritten, valid, after the successful start
        assert list(json.loads(cache.read_text())) == [str(sample_plugin("dev_plugin"))]


# ---------------------------------------------------------------------------------------
# Another process removes a plugin that runs here


def test_a_removal_by_another_process_is_final(tmp_path):
    home = tmp_path / "home"
    ok(home, "install", str(sample_plugin("dev_plugin")))
    proc = subprocess.Popen([*PYHOST, "--home", str(home), "run"], cwd=NEUTRAL_DIR,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        while "running Dev plugin" not in proc.stderr.readline():
            assert proc.poll() is None
        time.sleep(1.5)  # its timer has written last_tick by now
        ok(home, "remove", DEV)
        time.sleep(2.5)  # a few more ticks: before issue 11 they wrote the settings back
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "Dev plugin was removed by another pyhost process; unloading it" in err
    with Registry(home / "registry.sqlite3") as registry:
        assert registry.plugins() == [] and registry.settings(DEV) == {}


def test_a_plugin_writes_no_setting_once_another_process_removed_it(home, sample):
    """The DCConfig side: the write checks "installed" in its own transaction."""
    from pyhost.abi._ffi import ffi, lib
    with Host(home, timers=False) as host:
        host.install(sample("dev_plugin"))
        with Registry(home / "registry.sqlite3") as elsewhere:
            elsewhere.remove(DEV)
        table = ffi.cast("DCConfig*", host.bus.query_interface("generic.plugins.DCConfig", 1))
        value = ffi.new("ConfigInt*", {"type": lib.CFG_TYPE_INT, "value": 7})
        table.set_cfg(DEV.encode(), b"late", ffi.cast("ConfigValue*", value))
        assert host.registry.get_setting(DEV, "late") is None
        host.tick()  # the next timer tick notices, and unloads it
        assert host.loaded() == []


# ---------------------------------------------------------------------------------------
# Letter case


def test_a_package_uuid_in_another_letter_case_is_the_same_plugin(tmp_path, builds):
    home = tmp_path / "home"
    upper = PKG_GUID.upper()
    for version, uuid in (("1.0", PKG_GUID), ("2.0", upper)):
        path = tmp_path / f"p{version}.dcext"
        path.write_bytes(package_bytes(builds.pkg_plugin(version, guid=uuid), version=version,
                                       uuid=uuid))
        ok(home, "install", str(path))
        ok(home, "config", uuid, f"set_by_{version[0]}", "1")
    plugins = json.loads(ok(home, "list", "--json").stdout)
    assert [(p["guid"], p["version"]) for p in plugins] == [(upper, 2.0)]
    settings = json.loads(ok(home, "config", PKG_GUID.lower(), "--json").stdout)["settings"]
    assert {"set_by_1", "set_by_2"} <= set(settings)
    assert refused(home, "install", str(tmp_path / "p1.0.dcext")).endswith(
        "refusing version 1.0 (an update needs a higher version).")
    packages_dirs = list((home / "local" / "Plugins").iterdir())
    assert [p.name for p in packages_dirs] == [PKG_GUID]  # one directory, the first spelling


def test_a_running_host_unloads_a_plugin_another_process_disabled(home, sample):
    with Host(home, timers=False) as host:
        host.install(sample("dev_plugin"))
        host.install(sample("chat_guard"))
        host.tick()
        assert len(host.loaded()) == 2
        with Registry(home / "registry.sqlite3") as elsewhere:
            elsewhere.set_enabled(DEV, False)
        host.tick()
        assert host.loaded() == ["{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000001}"]
        unloaded = [e for e in host.events.poll() if e.kind == "plugin_unloaded"]
        assert [e.name for e in unloaded] == ["Dev plugin"]
        host.tick()  # nothing changed since: nothing more happens
        assert len(host.loaded()) == 1
