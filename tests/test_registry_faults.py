"""The registry under faults (issue 11): a damaged file is detected before it answers
wrongly, guids are the same plugin whatever their letter case, a read-only file system or a
full disk is named as such, another process's change is noticed, a setting write checks
"installed" in its own transaction, and a host dying inside a plugin's load is remembered."""
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from fsfaults import fill, remount, small_fs
from pyhost.host import registry as R
from pyhost.host.registry import PluginRecord, Registry


def rec(guid, **fields):
    base = dict(name=f"Plugin {guid}", version=1.0, path=f"/plugins/{guid}.so")
    base.update(fields)
    return PluginRecord(guid=guid, **base)


@pytest.fixture
def db(tmp_path):
    return tmp_path / "home" / "registry.sqlite3"


def _page_of(db, name):
    c = sqlite3.connect(db)
    page_size = c.execute("PRAGMA page_size").fetchone()[0]
    root = c.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (name,)).fetchone()[0]
    c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    c.close()
    return (root - 1) * page_size, page_size


def damage_guid_index(db, old, new):
    """Rewrites one key inside the guid index page: the page stays well-formed, but the
    index no longer matches the table (what a flipped sector or a bad copy leaves)."""
    offset, size = _page_of(db, "sqlite_autoindex_plugins_1")
    data = bytearray(db.read_bytes())
    page = bytes(data[offset:offset + size])
    at = page.find(old.encode())
    assert at >= 0 and len(old) == len(new)
    data[offset + at:offset + at + len(old)] = new.encode()
    db.write_bytes(bytes(data))


def test_damage_to_the_guid_index_is_refused_before_it_writes_a_duplicate(db):
    with Registry(db) as registry:
        for i in range(20):
            registry.add(rec("{%08d-aaaa}" % i))
    damage_guid_index(db, "{00000005-aaaa}", "{00000099-aaaa}")
    # What happened before: lookups through the damaged index miss the row, and add
    # writes a second row with the same primary key.
    with Registry(db, check=False) as unchecked:
        assert "{00000005-aaaa}" not in unchecked
        unchecked.add(rec("{00000005-aaaa}"))
        assert [p.guid for p in unchecked.plugins()].count("{00000005-aaaa}") == 2
    damage_guid_index(db, "{00000006-aaaa}", "{00000098-aaaa}")
    with pytest.raises(R.RegistryDamagedError) as refused:
        Registry(db)
    message = str(refused.value)
    assert "is damaged" in message and "pyhost repair" in message
    assert "\n" not in message


def test_a_garbled_page_is_refused_in_one_sentence(db):
    with Registry(db) as registry:
        for i in range(20):
            registry.add(rec("{%08d-bbbb}" % i))
            registry.set_setting("{%08d-bbbb}" % i, "k", "string", "v" * 50)
    offset, size = _page_of(db, "settings")
    data = bytearray(db.read_bytes())
    data[offset + 8:offset + size] = os.urandom(size - 8)
    db.write_bytes(bytes(data))
    with pytest.raises(R.RegistryDamagedError, match=r"is damaged .*pyhost repair"):
        Registry(db)


def test_a_file_that_is_not_a_database_names_repair(tmp_path):
    bogus = tmp_path / "registry.sqlite3"
    bogus.write_bytes(b"not SQLite " * 500)
    with pytest.raises(R.RegistryDamagedError, match="not a pyhost registry.*pyhost repair"):
        Registry(bogus)


# ---------------------------------------------------------------------------------------
# Letter case


def test_a_guid_in_another_letter_case_is_the_same_plugin(db):
    with Registry(db) as registry:
        registry.add(rec("{abcdef00-1111-2222-3333-444455556666}"))
        registry.set_setting("{abcdef00-1111-2222-3333-444455556666}", "n", "int", 5)
        upper = "{ABCDEF00-1111-2222-3333-444455556666}"
        with pytest.raises(R.DuplicatePluginError):
            registry.add(rec(upper))
        assert upper in registry
        assert registry.get(upper).guid == "{abcdef00-1111-2222-3333-444455556666}"
        assert registry.get_setting(upper, "n") == ("int", 5)
        # an update takes the new spelling, and the settings follow
        updated = registry.update(rec(upper, version=2.0))
        assert updated.guid == upper and len(registry) == 1
        assert registry.settings(upper) == {"n": ("int", 5)}
        registry.remove(upper.lower())
        assert len(registry) == 0 and registry.settings(upper) == {}


def test_version_1_databases_are_migrated_and_case_duplicates_merged(db):
    class RegistryV1(Registry):
        migrations = R.MIGRATIONS[:1]

    RegistryV1(db).close()
    c = sqlite3.connect(db, isolation_level=None)
    for position, (guid, version) in enumerate([("{aa}", 1.0), ("{b}", 1.0),
                                                ("{AA}", 2.0)]):  # v1 let a UUID in twice
        c.execute("INSERT INTO plugins VALUES (?, 'n', ?, '', '', '', '/p', 'native', 1, ?, "
                  "'t')", (guid, version, position))
    c.execute("INSERT INTO settings VALUES ('{aa}', 'old', 'int', 1)")
    c.execute("INSERT INTO settings VALUES ('{aa}', 'both', 'string', 'from the old row')")
    c.execute("INSERT INTO settings VALUES ('{AA}', 'both', 'string', 'from the new row')")
    c.close()
    with Registry(db) as registry:
        assert registry.check_integrity() == []
        plugins = registry.plugins()
        assert [(p.guid, p.version, p.position) for p in plugins] == [
            ("{AA}", 2.0, 0), ("{b}", 1.0, 1)]
        assert registry.settings("{aa}") == {"both": ("string", "from the new row"),
                                            "old": ("int", 1)}


# ---------------------------------------------------------------------------------------
# The file system


def test_a_read_only_file_system_is_named_and_reads_keep_working(tmp_path):
    with small_fs(tmp_path / "fs") as fs:
        path = fs / "home" / "registry.sqlite3"
        with Registry(path) as registry:
            registry.add(rec("{p}"))
            registry.set_setting("{p}", "k", "string", "v")
        remount(fs, "ro")
        with pytest.raises(R.RegistryReadOnlyError, match="read-only file system"):
            Registry(path)
        with Registry(path, readonly=True) as registry:
            assert [p.guid for p in registry.plugins()] == ["{p}"]
            assert registry.get_setting("{p}", "k") == ("string", "v")
            with pytest.raises(R.RegistryReadOnlyError, match="read-only file system"):
                registry.set_setting("{p}", "k", "string", "w")
        with pytest.raises(R.RegistryError, match="read-only file system"):
            Registry(fs / "elsewhere" / "registry.sqlite3")
        remount(fs, "rw")


def test_a_full_disk_is_named_and_the_registry_stays_intact(tmp_path):
    with small_fs(tmp_path / "fs", size_kib=512) as fs:
        path = fs / "registry.sqlite3"
        with Registry(path) as registry:
            registry.add(rec("{p}"))
            fill(fs)
            with pytest.raises(R.RegistryStorageError, match="no space left on device"):
                for i in range(1000):
                    registry.set_setting("{p}", f"k{i}", "string", "x" * 4000)
            assert registry.get("{p}").guid == "{p}"
        (fs / "filler").unlink()
        with Registry(path) as registry:
            assert registry.check_integrity() == []


# ---------------------------------------------------------------------------------------
# Other processes, installed-only writes, load states


def test_changes_committed_by_another_connection_are_noticed(db):
    with Registry(db) as mine, Registry(db) as theirs:
        assert mine.changed_elsewhere() is False  # the first call only takes a reference
        mine.add(rec("{mine}"))
        assert mine.changed_elsewhere() is False  # its own commits do not count
        theirs.add(rec("{theirs}"))
        assert mine.changed_elsewhere() is True
        assert mine.changed_elsewhere() is False


def test_setting_writes_can_require_an_installed_plugin_in_the_same_transaction(db):
    with Registry(db) as registry:
        assert registry.set_setting("{gone}", "k", "int", 1, if_installed=True) is False
        assert registry.get_setting("{gone}", "k") is None
        registry.add(rec("{here}"))
        assert registry.set_setting("{HERE}", "k", "int", 1, if_installed=True) is True
        registry.remove("{here}", keep_settings=True)
        assert registry.remove_setting("{here}", "k", if_installed=True) is False
        assert registry.get_setting("{here}", "k") == ("int", 1)
        assert registry.set_setting("{here}", "free", "int", 2) is True  # the default


def test_a_host_dying_in_a_load_state_is_remembered_until_enabled_again(db):
    with Registry(db) as registry:
        registry.add(rec("{p}"))
        assert registry.mark_loading("{nobody}", 1) is False
        assert registry.mark_loading("{p}", 4242) is True
        assert (registry.get("{p}").load_state, registry.get("{p}").load_pid) == ("loading",
                                                                                4242)
    with Registry(db) as registry:  # it survives the process: the next one sees it
        assert registry.get("{p}").load_state == "loading"
        assert registry.mark_crashed("{p}", 1) is False  # another pid: not what was seen
        assert registry.mark_crashed("{p}", 4242) is True
        assert registry.get("{p}").crashed
        assert registry.set_enabled("{p}", True) is True  # "try it again"
        assert registry.get("{p}").load_state is None
        registry.mark_loading("{p}", 7)
        registry.mark_loaded("{p}")
        assert registry.get("{p}").load_state is None


def test_the_salvage_copy_of_a_registry_is_not_needed_for_a_healthy_one(db):
    """A healthy file passes the check at every open, also with many rows."""
    with Registry(db) as registry:
        for i in range(200):
            registry.add(rec("{%04d}" % i))
    shutil.copy(db, db.with_name("copy.sqlite3"))
    with Registry(db.with_name("copy.sqlite3")) as copy:
        assert len(copy) == 200


def test_salvage_reads_around_a_garbled_page_and_never_writes_the_damaged_file(db):
    with Registry(db) as registry:
        for i in range(40):
            registry.add(rec("{%08d-cccc}" % i))
            registry.set_setting("{%08d-cccc}" % i, "k", "string", "v" * 200)
    offset, size = _page_of(db, "settings")
    data = bytearray(db.read_bytes())
    data[offset + 8:offset + size] = os.urandom(size - 8)  # the settings tree's root page
    db.write_bytes(bytes(data))
    damaged = db.read_bytes()
    saved = R.salvage(str(db))
    assert db.read_bytes() == damaged
    assert len(saved.records) == 40  # the plugins table is intact
    assert any("settings table is damaged" in p for p in saved.problems)
    aside = R.rebuild(str(db), saved, "test")
    assert aside == f"{db}.damaged-test" and Path(aside).read_bytes() == damaged
    with Registry(db) as registry:
        assert registry.check_integrity() == []
        assert [p.guid for p in registry.plugins()] == ["{%08d-cccc}" % i for i in range(40)]


def test_another_programs_sqlite_file_is_refused_untouched_and_repair_sets_it_aside(tmp_path):
    """A SQLite file with tables but no schema version is not a registry: opening it used
    to fail on 'table plugins already exists' (a sentence about nothing the user did) after
    switching the file to WAL; repair could not help either."""
    from pyhost.packages.repair import repair
    home = tmp_path / "home"
    home.mkdir()
    path = home / "registry.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE plugins (x)")
    conn.execute("INSERT INTO plugins VALUES (1)")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(R.RegistryDamagedError) as refused:
        Registry(path)
    assert "is not a pyhost registry (it holds the tables plugins, but no pyhost schema " \
        "version)" in str(refused.value)
    assert path.read_bytes() == before and not (home / "registry.sqlite3-wal").exists()
    report = repair(home)
    kept = [p for p in home.iterdir() if p.name.startswith("registry.sqlite3.damaged-")]
    assert len(kept) == 1 and kept[0].read_bytes() == before, report.actions
    with Registry(path) as fresh:
        assert fresh.plugins() == []


@pytest.mark.parametrize("kind", ["directory", "FIFO"])
def test_a_registry_path_that_is_no_file_is_named_as_such(tmp_path, kind):
    path = tmp_path / "registry.sqlite3"
    os.mkdir(path) if kind == "directory" else os.mkfifo(path)
    with pytest.raises(R.RegistryError) as refused:
        Registry(path)
    words = "a directory" if kind == "directory" else "a FIFO (named pipe)"
    assert str(refused.value) == f"Cannot open the registry {path}: it is {words}, not a file."
