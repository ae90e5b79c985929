"""Tests of pyhost/host/registry/ (the registry package): every operation and rule, persistence, errors, and the
SIGKILL crash test (a child process doing random registry operations is killed at a random
moment, then the registry must be intact and agree with the child's journal)."""

import importlib.util
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import types
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings as hyp_settings, strategies as st

REPO = Path(__file__).resolve().parent.parent
REGISTRY_DIR = REPO / "pyhost" / "host" / "registry"


def load_package_by_path(name, directory):
    """The registry package loaded from its directory under the module name ``name``,
    without importing pyhost (its modules import each other relatively)."""
    spec = importlib.util.spec_from_file_location(
        name, Path(directory) / "__init__.py", submodule_search_locations=[str(directory)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # relative imports and dataclasses look it up
    spec.loader.exec_module(module)
    return module


def _load_registry_module():
    """``pyhost.host.registry`` if the package imports; else the package, loaded by its path.

    (pyhost/__init__.py may import a compiled module that is not built yet.)
    """
    try:
        from pyhost.host import registry as module

        return module, "package"
    except Exception:
        return load_package_by_path("pyhost_registry_by_path", REGISTRY_DIR), "file"


R, IMPORTED_FROM = _load_registry_module()
Registry = R.Registry
PluginRecord = R.PluginRecord


def test_registry_package_imports_nothing_from_the_rest_of_pyhost():
    """Its modules import the standard library and each other (relatively), nothing else:
    the crash test's child loads the package by path, with no pyhost around it."""
    import ast

    modules = sorted(REGISTRY_DIR.glob("*.py"))
    assert {"__init__.py", "records.py", "schema.py", "store.py"} <= {m.name for m in modules}
    for module in modules:
        tree = ast.parse(module.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert node.level == 1 or not (node.module or "").startswith("pyhost"), \
                    (module.name, node.module)
            elif isinstance(node, ast.Import):
                assert not any(a.name.startswith("pyhost") for a in node.names), module.name


def test_the_package_loaded_by_path_is_the_registry_pyhost_imports(tmp_path):
    """What the crash child runs (the package loaded from its directory, by path) behaves as
    the imported package does: same public names, and a database one writes the other reads."""
    by_path = load_package_by_path("registry_by_path_check", REGISTRY_DIR)
    assert set(by_path.__all__) == set(R.__all__)
    db = tmp_path / "r.sqlite"
    with by_path.Registry(db) as registry:
        registry.add(by_path.PluginRecord(guid="{p}", name="P", version=1.0, path="/p.so"))
    with Registry(db) as registry:
        assert [p.guid for p in registry.plugins()] == ["{p}"]


def rec(guid="{guid-a}", **fields):
    base = dict(name=f"Plugin {guid}", version=1.0, path=f"/plugins/{guid}.so")
    base.update(fields)
    return PluginRecord(guid=guid, **base)


@pytest.fixture
def db(tmp_path):
    return tmp_path / "home" / "registry.sqlite"


@pytest.fixture
def reg(db):
    with Registry(db) as registry:
        yield registry


def guids(registry):
    return [p.guid for p in registry.plugins()]


def raw(db):
    """A plain sqlite3 connection on the same file, to look under (or behind) the API."""
    return sqlite3.connect(db, isolation_level=None)


# ---------------------------------------------------------------------------------------
# Opening, pragmas, lifecycle


def test_open_creates_file_and_parent_directory_with_wal_full_sync_and_foreign_keys(db):
    assert not db.parent.exists()
    with Registry(db) as registry:
        assert db.is_file()
        assert registry.journal_mode == "wal"
        conn = registry._conn  # the registry's own connection: per-connection pragmas
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert registry.check_integrity() == []
    c = raw(db)
    assert c.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # persistent in the file
    assert c.execute("PRAGMA user_version").fetchone()[0] == R.SCHEMA_VERSION == \
        len(R.MIGRATIONS)
    tables = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"plugins", "settings"} <= tables
    # settings deliberately have no foreign key to plugins
    assert c.execute("PRAGMA foreign_key_list(settings)").fetchall() == []
    c.close()


def test_close_is_idempotent_and_a_closed_registry_refuses_work(db):
    registry = Registry(db)
    assert "open" in repr(registry)
    registry.close()
    registry.close()
    assert "closed" in repr(registry)
    with pytest.raises(R.RegistryError, match="closed"):
        registry.plugins()
    with pytest.raises(R.RegistryError, match="closed"):
        registry.set_setting("g", "k", "int", 1)
    with Registry(db) as again:
        pass
    with pytest.raises(R.RegistryError):
        again.get("x")


def test_a_file_that_is_not_a_database_is_refused_clearly(tmp_path):
    bogus = tmp_path / "registry.sqlite"
    bogus.write_bytes(b"this is not SQLite at all, just some bytes " * 100)
    with pytest.raises(R.RegistryError, match="not a pyhost registry"):
        Registry(bogus)


def test_in_memory_registry_works(tmp_path):
    with Registry(":memory:") as registry:
        registry.add(rec("a"))
        assert guids(registry) == ["a"]
        assert registry.check_integrity() == []


# ---------------------------------------------------------------------------------------
# Schema version and migrations


def test_newer_schema_version_is_refused(db):
    Registry(db).close()
    c = raw(db)
    c.execute("PRAGMA user_version = 99")
    c.close()
    with pytest.raises(R.RegistryVersionError, match="schema version 99"):
        Registry(db)


def test_migration_hook_upgrades_an_older_database_and_keeps_its_data(db):
    with Registry(db) as registry:
        registry.add(rec("a"))
        registry.set_setting("a", "k", "string", "v")

    def add_notes(conn):
        conn.execute("CREATE TABLE notes (guid TEXT PRIMARY KEY, note TEXT)")
        conn.execute("INSERT INTO notes SELECT guid, 'migrated' FROM plugins")

    class RegistryV2(Registry):
        migrations = (*R.MIGRATIONS, add_notes)

    with RegistryV2(db) as registry:
        assert registry.schema_version == R.SCHEMA_VERSION + 1
        assert registry.check_integrity() == []
        assert guids(registry) == ["a"]
        assert registry.get_setting("a", "k") == ("string", "v")
    c = raw(db)
    assert c.execute("PRAGMA user_version").fetchone()[0] == R.SCHEMA_VERSION + 1
    assert c.execute("SELECT * FROM notes").fetchall() == [("a", "migrated")]
    c.close()
    # and the v1 code now refuses the v2 file instead of guessing
    with pytest.raises(R.RegistryVersionError):
        Registry(db)


def test_a_failing_migration_rolls_back_completely(db):
    Registry(db).close()

    def broken(conn):
        conn.execute("CREATE TABLE half_done (x)")
        raise RuntimeError("migration exploded")

    class Broken(Registry):
        migrations = (*R.MIGRATIONS, broken)

    with pytest.raises(RuntimeError, match="exploded"):
        Broken(db)
    c = raw(db)
    assert c.execute("PRAGMA user_version").fetchone()[0] == R.SCHEMA_VERSION
    assert c.execute("SELECT name FROM sqlite_master WHERE name='half_done'").fetchall() == []
    c.close()
    with Registry(db) as registry:
        assert registry.check_integrity() == []


def test_an_empty_file_is_migrated_from_version_zero(db):
    db.parent.mkdir(parents=True)
    db.write_bytes(b"")
    with Registry(db) as registry:
        assert registry.check_integrity() == []
        registry.add(rec("a"))


# ---------------------------------------------------------------------------------------
# Records


def test_plugin_record_is_frozen_keyword_only_and_normalises_version_and_path(tmp_path):
    r = PluginRecord(guid="g", name="n", version=2, path=tmp_path / "x.so")
    assert r.version == 2.0 and isinstance(r.version, float)
    assert r.path == str(tmp_path / "x.so")
    assert (r.kind, r.enabled, r.position, r.installed_at) == ("native", True, None, None)
    with pytest.raises(AttributeError):
        r.name = "other"
    with pytest.raises(TypeError):
        PluginRecord("g", "n", 1.0, path="p")  # keyword-only: 11 fields are too many to order


@pytest.mark.parametrize(
    "fields, message",
    [
        (dict(guid=""), "guid must not be empty"),
        (dict(guid=None), "guid must be a string"),
        (dict(guid="a\0b"), "guid must not contain a NUL"),
        (dict(name=3), "name .* must be a string"),
        (dict(version="1.0"), "version .* must be a number"),
        (dict(version=True), "version .* must be a number"),
        (dict(version=float("nan")), "finite"),
        (dict(version=float("inf")), "finite"),
        (dict(path=""), "path .* must not be empty"),
        (dict(path="/a\0b.so"), "path .* must not contain a NUL"),
        (dict(kind="java"), "'native' or 'python'"),
        (dict(enabled=1), "enabled flag .* True or False"),
        (dict(position=-1), "position"),
        (dict(author="bad \ud800 surrogate"), "lone surrogate"),
    ],
)
def test_plugin_record_validation(fields, message):
    base = dict(guid="g", name="n", version=1.0, path="/p.so")
    base.update(fields)
    with pytest.raises(R.InvalidValueError, match=message) as info:
        PluginRecord(**base)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, R.RegistryError)


# ---------------------------------------------------------------------------------------
# Plugins: add / get / plugins / update / remove


def test_add_appends_at_the_end_and_returns_the_stored_row(reg):
    a = reg.add(rec("a", author="Ann", description="d", website="https://x", kind="python"))
    b = reg.add(rec("b", enabled=False))
    c = reg.add(rec("c", position=17))  # a position given by the caller is ignored
    assert [a.position, b.position, c.position] == [0, 1, 2]
    assert guids(reg) == ["a", "b", "c"]
    assert reg.get("a") == a
    assert reg.get("b").enabled is False
    assert reg.get("c").position == 2
    assert a.installed_at and a.installed_at.endswith("+00:00")
    assert (a.author, a.description, a.website, a.kind) == ("Ann", "d", "https://x", "python")
    assert len(reg) == 3 and "a" in reg and "zz" not in reg and 5 not in reg


def test_add_keeps_a_given_install_time(reg):
    assert reg.add(rec("a", installed_at="2020-01-01T00:00:00+00:00")).installed_at == (
        "2020-01-01T00:00:00+00:00"
    )
    assert reg.get("a").installed_at == "2020-01-01T00:00:00+00:00"


def test_add_of_an_installed_guid_raises_and_changes_nothing(reg):
    reg.add(rec("a", name="first"))
    reg.add(rec("b"))
    with pytest.raises(R.DuplicatePluginError, match="already installed") as info:
        reg.add(rec("a", name="second"))
    assert isinstance(info.value, R.RegistryError)
    assert reg.get("a").name == "first"
    assert guids(reg) == ["a", "b"]
    assert reg.check_integrity() == []


def test_versions_are_stored_as_doubles_exactly(reg):
    for i, v in enumerate([0.1, 1.0, 2.5, 1e300, 5e-324, -3.75, 123456789.123456789]):
        reg.add(rec(f"g{i}", version=v))
        assert reg.get(f"g{i}").version == v


def test_update_replaces_metadata_and_keeps_enabled_position_install_time_and_settings(reg):
    reg.add(rec("a"))
    old = reg.add(rec("b", name="Old", version=1.0, author="x", description="y",
                      website="z", path="/old.so", kind="native"))
    reg.add(rec("c"))
    reg.set_enabled("b", False)
    reg.set_setting("b", "volume", "int", 7)
    new = reg.update(rec("b", name="New", version=2.5, author="X", description="Y",
                         website="Z", path="/new.so", kind="python", enabled=True,
                         position=0, installed_at="1999"))
    assert new == reg.get("b")
    assert (new.name, new.version, new.author, new.description, new.website, new.path,
            new.kind) == ("New", 2.5, "X", "Y", "Z", "/new.so", "python")
    assert new.enabled is False  # kept, not taken from the record
    assert new.position == 1
    assert new.installed_at == old.installed_at
    assert reg.get_setting("b", "volume") == ("int", 7)
    assert guids(reg) == ["a", "b", "c"]


def test_update_allows_any_version_the_policy_belongs_to_the_loader(reg):
    reg.add(rec("a", version=3.0))
    assert reg.update(rec("a", version=1.0)).version == 1.0


def test_update_of_an_unknown_guid_raises(reg):
    reg.add(rec("a"))
    with pytest.raises(R.UnknownPluginError):
        reg.update(rec("zz"))
    assert guids(reg) == ["a"]


@pytest.mark.parametrize("victim, rest", [("a", "bcd"), ("b", "acd"), ("d", "abc")])
def test_remove_compacts_positions(reg, victim, rest):
    for g in "abcd":
        reg.add(rec(g))
    removed = reg.remove(victim)
    assert removed.guid == victim
    plugins = reg.plugins()
    assert [p.guid for p in plugins] == list(rest)
    assert [p.position for p in plugins] == [0, 1, 2]
    assert reg.check_integrity() == []
    reg.add(rec("e"))
    assert reg.get("e").position == 3


def test_remove_everything_then_add_again(reg):
    for g in "abc":
        reg.add(rec(g))
    for g in "bca":
        reg.remove(g)
    assert reg.plugins() == [] and len(reg) == 0
    assert reg.add(rec("z")).position == 0


def test_remove_deletes_settings_unless_keep_settings(reg):
    reg.add(rec("a"))
    reg.add(rec("b"))
    for g in "ab":
        reg.set_setting(g, "k", "string", g)
    reg.remove("a")
    assert reg.settings("a") == {}
    reg.remove("b", keep_settings=True)
    assert reg.settings("b") == {"k": ("string", "b")}
    # a reinstall finds the kept settings again
    reg.add(rec("b"))
    assert reg.get_setting("b", "k") == ("string", "b")


def test_remove_of_an_unknown_guid_raises(reg):
    reg.set_setting("ghost", "k", "int", 1)
    with pytest.raises(R.UnknownPluginError):
        reg.remove("ghost")
    assert reg.get_setting("ghost", "k") == ("int", 1)  # nothing touched


def test_unknown_plugin_error_is_a_keyerror_with_a_one_sentence_message(reg):
    with pytest.raises(KeyError) as info:
        reg.get("{nope}")
    err = info.value
    assert isinstance(err, R.UnknownPluginError) and isinstance(err, R.RegistryError)
    assert err.guid == "{nope}"
    assert str(err) == "No plugin with guid '{nope}' is installed."


# ---------------------------------------------------------------------------------------
# Enabled flag and load order


def test_set_enabled(reg):
    reg.add(rec("a"))
    assert reg.set_enabled("a", False) is True
    assert reg.get("a").enabled is False
    assert reg.set_enabled("a", False) is False
    assert reg.set_enabled("a", True) is True
    assert reg.get("a").enabled is True
    with pytest.raises(R.UnknownPluginError):
        reg.set_enabled("zz", True)
    with pytest.raises(ValueError, match="True or False"):
        reg.set_enabled("a", 0)


def test_move_swaps_with_the_neighbour_and_is_a_no_op_at_the_ends(reg):
    for g in "abcd":
        reg.add(rec(g))
    assert reg.move("a", "up") is False
    assert reg.move("d", "down") is False
    assert guids(reg) == list("abcd")
    assert reg.move("c", "up") is True
    assert guids(reg) == list("acbd")
    assert reg.move("a", "down") is True
    assert guids(reg) == list("cabd")
    # walk d all the way to the front
    while reg.move("d", "up"):
        pass
    assert guids(reg) == list("dcab")
    assert [p.position for p in reg.plugins()] == [0, 1, 2, 3]
    assert reg.check_integrity() == []


def test_move_errors(reg):
    reg.add(rec("a"))
    assert reg.move("a", "up") is False and reg.move("a", "down") is False
    with pytest.raises(R.UnknownPluginError):
        reg.move("zz", "up")
    with pytest.raises(ValueError, match="'up' or 'down'"):
        reg.move("a", "sideways")


# ---------------------------------------------------------------------------------------
# Settings


def test_settings_round_trip_every_type_and_survive_a_reopen(db):
    values = {
        "s": ("string", "héllo wörld 日本語 🎉 \n\t\x00 end"),
        "empty": ("string", ""),
        "i": ("int", -123),
        "imin": ("int", -(2**31)),
        "imax": ("int", 2**31 - 1),
        "t": ("bool", True),
        "f": ("bool", False),
        "l": ("int64", 2**40),
        "lmin": ("int64", -(2**63)),
        "lmax": ("int64", 2**63 - 1),
        "numeric text": ("string", "00123"),  # text stays text, never coerced
    }
    with Registry(db) as registry:
        for key, (type_, value) in values.items():
            registry.set_setting("g", key, type_, value)
    with Registry(db) as registry:
        got = registry.settings("g")
        assert got == values
        assert list(got) == sorted(values)
        for key, (type_, value) in values.items():
            t, v = registry.get_setting("g", key)
            assert (t, v) == (type_, value) and type(v) is type(value)


@pytest.mark.parametrize(
    "type_, value, message",
    [
        ("int", 2**31, "outside the int range"),
        ("int", -(2**31) - 1, "outside the int range"),
        ("int", True, "must be an integer"),
        ("int", 1.0, "must be an integer"),
        ("int", "1", "must be an integer"),
        ("int64", 2**63, "outside the int64 range"),
        ("int64", -(2**63) - 1, "outside the int64 range"),
        ("int64", None, "must be an integer"),
        ("bool", 1, "True or False"),
        ("bool", "true", "True or False"),
        ("string", b"bytes", "must be a string"),
        ("string", None, "must be a string"),
        ("string", "lone \udc80 surrogate", "lone surrogate"),
        ("float", 1.0, "must be one of string, int, bool, int64"),
        ("INT", 1, "must be one of"),
    ],
)
def test_setting_values_are_validated(reg, type_, value, message):
    reg.set_setting("g", "k", "string", "before")
    with pytest.raises(ValueError, match=message) as info:
        reg.set_setting("g", "k", type_, value)
    assert isinstance(info.value, R.RegistryError)
    assert reg.get_setting("g", "k") == ("string", "before")


@pytest.mark.parametrize(
    "guid, key", [("", "k"), ("g", ""), (None, "k"), ("g", 5), ("g\0", "k"), ("g", "\0")]
)
def test_setting_guid_and_key_are_validated(reg, guid, key):
    with pytest.raises(ValueError):
        reg.set_setting(guid, key, "int", 1)


def test_set_setting_replaces_value_and_type(reg):
    reg.set_setting("g", "k", "int", 5)
    reg.set_setting("g", "k", "string", "five")
    assert reg.get_setting("g", "k") == ("string", "five")
    reg.set_setting("g", "k", "bool", False)
    assert reg.get_setting("g", "k") == ("bool", False)
    assert reg.settings("g") == {"k": ("bool", False)}


def test_settings_do_not_need_an_installed_plugin(reg):
    reg.set_setting("CoreSetup", "Nick", "string", "me")
    reg.set_setting("{not-installed}", "x", "int64", 1)
    assert reg.get_setting(R.CORE_SETUP_GUID, "Nick") == ("string", "me")
    assert reg.settings("{not-installed}") == {"x": ("int64", 1)}
    assert reg.plugins() == []


def test_settings_are_per_guid(reg):
    reg.set_setting("a", "k", "int", 1)
    reg.set_setting("b", "k", "int", 2)
    assert reg.get_setting("a", "k") == ("int", 1)
    assert reg.get_setting("b", "k") == ("int", 2)
    assert reg.get_setting("c", "k") is None
    assert reg.get_setting("a", "other") is None
    assert reg.settings("c") == {}


def test_remove_setting_and_remove_settings(reg):
    for key in "xyz":
        reg.set_setting("a", key, "int", 1)
    reg.set_setting("b", "x", "int", 1)
    assert reg.remove_setting("a", "x") is True
    assert reg.remove_setting("a", "x") is False
    assert reg.get_setting("a", "x") is None
    assert reg.remove_settings("a") == 2
    assert reg.remove_settings("a") == 0
    assert reg.settings("a") == {}
    assert reg.settings("b") == {"x": ("int", 1)}


@pytest.fixture(scope="module")
def shared_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("hyp") / "registry.sqlite"
    with Registry(path) as writer, Registry(path) as reader:
        yield writer, reader


@hyp_settings(max_examples=150, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    value=st.one_of(
        st.tuples(st.just("int64"), st.integers(-(2**63), 2**63 - 1)),
        st.tuples(st.just("int"), st.integers(-(2**31), 2**31 - 1)),
        st.tuples(st.just("string"), st.text()),
        st.tuples(st.just("bool"), st.booleans()),
    ),
    key=st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\0"),
                min_size=1, max_size=20),
)
def test_any_valid_value_round_trips_through_the_file(shared_db, value, key):
    writer, reader = shared_db
    writer.set_setting("{hyp}", key, *value)
    # read back through a second connection: the value went through the file
    got = reader.get_setting("{hyp}", key)
    assert got == value and type(got[1]) is type(value[1])


# ---------------------------------------------------------------------------------------
# Persistence and integrity checking


def test_everything_persists_across_reopen(db):
    with Registry(db) as registry:
        for g in "abcd":
            registry.add(rec(g, version=ord(g) / 7))
        registry.update(rec("b", name="B2", path="/b2.so", kind="python"))
        registry.set_enabled("c", False)
        registry.move("d", "up")
        registry.remove("a", keep_settings=True)
        registry.set_setting("a", "kept", "int64", -1)
        registry.set_setting("b", "s", "string", "ß")
        before = (registry.plugins(), registry.settings("a"), registry.settings("b"))
    with Registry(db) as registry:
        assert (registry.plugins(), registry.settings("a"), registry.settings("b")) == before
        assert guids(registry) == ["b", "d", "c"]
        assert registry.get("c").enabled is False
        assert registry.check_integrity() == []


def test_check_integrity_reports_each_kind_of_damage(db):
    with Registry(db) as registry:
        for g in "abc":
            registry.add(rec(g))
        registry.set_setting("a", "k", "int", 1)
    c = raw(db)
    c.execute("PRAGMA ignore_check_constraints = ON")  # forge what the schema forbids
    c.execute("UPDATE plugins SET position = 7 WHERE guid = 'c'")
    c.execute("UPDATE plugins SET enabled = 2 WHERE guid = 'b'")
    c.execute("UPDATE plugins SET kind = 'java' WHERE guid = 'a'")
    c.execute("UPDATE settings SET value = 4294967296 WHERE key = 'k'")
    c.execute("INSERT INTO settings VALUES ('a', 'weird', 'float', 1.5)")
    c.close()
    # Opening refuses the damaged file; the diagnosis opens it without that check.
    with pytest.raises(R.RegistryDamagedError, match="CHECK constraint failed"):
        Registry(db)
    with Registry(db, check=False) as registry:
        problems = registry.check_integrity()
    text = "\n".join(problems)
    # SQLite's integrity_check reports the violated CHECK constraints itself, and the
    # registry's own checks say which row and why
    assert "SQLite integrity check: CHECK constraint failed in settings" in text
    assert "SQLite integrity check: CHECK constraint failed in plugins" in text
    assert "positions are not exactly 0..2: [0, 1, 7]" in text
    assert "'b' has enabled flag 2" in text
    assert "unknown kind 'java'" in text
    assert "outside the int range" in text
    assert "unknown type 'float'" in text


V1 = ("guid, name, version, author, description, website, path, kind, enabled, position, "
      "installed_at")


def test_schema_rejects_invalid_rows_even_behind_the_api(db):
    Registry(db).close()
    c = raw(db)
    bad = [
        "INSERT INTO settings VALUES ('g', 'k', 'int', 4294967296)",
        "INSERT INTO settings VALUES ('g', 'k', 'bool', 2)",
        "INSERT INTO settings VALUES ('g', 'k', 'string', 5)",
        "INSERT INTO settings VALUES ('g', 'k', 'int', '5x')",
        f"INSERT INTO plugins ({V1}) VALUES ('g','n',1.0,'','','','/p','java',1,0,'t')",
        f"INSERT INTO plugins ({V1}) VALUES ('g','n',1.0,'','','','/p','native',3,0,'t')",
        f"INSERT INTO plugins ({V1}, load_state, load_pid, dependencies) "
        "VALUES ('g','n',1.0,'','','','/p','native',1,0,'t','dead',1,'[]')",
        f"INSERT INTO plugins ({V1}, isolated) "
        "VALUES ('g','n',1.0,'','','','/p','native',1,0,'t',2)",
    ]
    for statement in bad:
        with pytest.raises(sqlite3.IntegrityError):
            c.execute(statement)
    c.execute(f"INSERT INTO plugins ({V1}) VALUES ('g','n',1.0,'','','','/p','native',1,0,'t')")
    with pytest.raises(sqlite3.IntegrityError):  # positions are unique
        c.execute(f"INSERT INTO plugins ({V1}) VALUES ('h','n',1.0,'','','','/p','native',1,0,'t')")
    with pytest.raises(sqlite3.IntegrityError):  # guids are unique whatever their case
        c.execute(f"INSERT INTO plugins ({V1}) VALUES ('G','n',1.0,'','','','/p','native',1,5,'t')")
    c.close()


# ---------------------------------------------------------------------------------------
# Threads


def test_many_threads_share_one_registry(db):
    errors = []
    with Registry(db) as registry:
        for g in "abcd":
            registry.add(rec(g))

        def writer(n):
            try:
                for i in range(25):
                    registry.set_setting(f"t{n}", f"k{i}", "int64", n * 1000 + i)
                    assert registry.get_setting(f"t{n}", f"k{i}") == ("int64", n * 1000 + i)
                    registry.move("abcd"[(n + i) % 4], "up" if i % 2 else "down")
                    registry.plugins()
            except BaseException as exc:  # surfaced below
                errors.append(exc)

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        for n in range(6):
            assert registry.settings(f"t{n}") == {
                f"k{i}": ("int64", n * 1000 + i) for i in range(25)
            }
        assert sorted(guids(registry)) == list("abcd")
        assert registry.check_integrity() == []


# ---------------------------------------------------------------------------------------
# The crash test
#
# The child is a small script (below) run by the same interpreter. It loads registry.py by
# its file path, opens the registry and loops forever: pick a random operation, append one
# JSON line describing it to the journal (flushed), perform it (one transaction), append
# "done" (flushed). The parent kills it with SIGKILL at a random moment, reopens the
# registry, and requires check_integrity() == [] and a state equal to the journal's: every
# "done" operation applied, the one in flight either entirely applied or not at all. The
# comparison is of the whole observable state (every plugin field, order, every setting),
# so an update half-applied, a remove whose settings survived, or a move that lost a
# plugin would all fail it.
#
# The same script doubles as the model of the registry's semantics: the parent loads it as
# a module and replays the journal with its Model.
#
# To extend it (e.g. plugin files on disk for install/update/remove): add an Op subclass
# with plan / execute / apply, and extend observe() and Model with the new state.

CHILD_SCRIPT = r'''
"""Crash-test child: random registry operations, journaled, until it is killed.

usage: python crash_child.py REGISTRY_PY DB_PATH JOURNAL_PATH SEED [STALL]

STALL (0..1): the probability of a pause of up to 2 ms before each SQL statement. Left to
itself the child spends nearly all its time in the fsync of COMMIT, so a kill would almost
always land there; the pauses move kills between the statements of one transaction too.
"""
import copy
import importlib.util
import json
import random
import sys

GUIDS = ["{crash-%02d}" % i for i in range(8)]
SETTING_GUIDS = GUIDS + ["CoreSetup"]          # settings may exist for any of these
KEYS = ["volume", "nick", "flag", "count", "ключ ✓"]
TEXT = ["", "a", "plain", "ünïcödé", "日本語", "🎉", "tab\tnl\n", "quote'\"", "nul\x00", " "]
META = ("name", "version", "author", "description", "website", "path", "kind")
FIELDS = ("guid",) + META + ("enabled", "installed_at")   # position is the list order


def load_registry(directory):
    """The registry package from its directory, imported by path (no pyhost needed)."""
    import os
    spec = importlib.util.spec_from_file_location(
        "_registry_under_test", os.path.join(directory, "__init__.py"),
        submodule_search_locations=[directory])
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def text(rng, pieces=TEXT):
    return "".join(rng.choice(pieces) for _ in range(rng.randint(0, 3)))


def random_value(rng, type_):
    if type_ == "string":
        return text(rng)
    if type_ == "bool":
        return rng.random() < 0.5
    bits = 31 if type_ == "int" else 63
    return rng.choice([-(2 ** bits), 2 ** bits - 1, 0, rng.randint(-(2 ** bits), 2 ** bits - 1)])


def random_metadata(rng):
    return {
        "name": "Plugin " + text(rng),
        "version": rng.choice([rng.uniform(0, 100), float(rng.randint(0, 9)), 1e300, 5e-324]),
        "author": text(rng),
        "description": text(rng),
        "website": rng.choice(["", "https://example.org/" + text(rng)]),
        "path": "/plugins/" + text(rng, [t for t in TEXT if "\0" not in t]) + ".so",
        "kind": rng.choice(["native", "python"]),
    }


def observe(registry):
    """The registry's whole observable state, in the same shape as Model.state()."""
    plugins = [{f: getattr(r, f) for f in FIELDS} for r in registry.plugins()]
    settings = {}
    for guid in SETTING_GUIDS:
        values = registry.settings(guid)
        if values:
            settings[guid] = {k: [t, v, type(v).__name__] for k, (t, v) in values.items()}
    return {"plugins": plugins, "settings": settings}


class Model:
    """What the registry must contain after a sequence of operations."""

    def __init__(self, state=None):
        state = copy.deepcopy(state or {"plugins": [], "settings": {}})
        self.plugins = state["plugins"]                       # list of dicts, load order
        self.settings = {g: {k: v[:2] for k, v in s.items()}  # guid -> key -> [type, value]
                         for g, s in state["settings"].items()}

    def state(self):
        return {
            "plugins": copy.deepcopy(self.plugins),
            "settings": {g: {k: [t, v, type(v).__name__] for k, (t, v) in s.items()}
                         for g, s in self.settings.items() if s},
        }

    def copy(self):
        return Model(self.state())

    def installed(self):
        return [p["guid"] for p in self.plugins]

    def find(self, guid):
        return next(i for i, p in enumerate(self.plugins) if p["guid"] == guid)

    def apply(self, op):
        if not op.get("expect"):          # an operation expected to fail changes nothing
            OPS[op["op"]].apply(self, op)


class Op:
    """One kind of operation: plan it (a JSON-able dict, or None if not possible now),
    execute it against the real registry, apply it to the Model."""
    weight = 1

    @staticmethod
    def plan(rng, model):
        raise NotImplementedError

    @staticmethod
    def execute(registry, module, op):
        raise NotImplementedError

    @staticmethod
    def apply(model, op):
        pass


class Add(Op):
    weight = 4

    @staticmethod
    def plan(rng, model):
        free = [g for g in GUIDS if g not in model.installed()]
        if not free:
            return None
        record = dict(random_metadata(rng), guid=rng.choice(free),
                      enabled=rng.random() < 0.8,
                      installed_at="2026-01-01T00:00:%09.6f+00:00" % rng.uniform(0, 60))
        return {"op": "add", "record": record}

    @staticmethod
    def execute(registry, module, op):
        registry.add(module.PluginRecord(**op["record"]))

    @staticmethod
    def apply(model, op):
        model.plugins.append({f: op["record"][f] for f in FIELDS})


class AddDuplicate(Op):
    @staticmethod
    def plan(rng, model):
        if not model.plugins:
            return None
        record = dict(random_metadata(rng), guid=rng.choice(model.installed()))
        return {"op": "add_duplicate", "record": record, "expect": "DuplicatePluginError"}

    execute = Add.execute


class Update(Op):
    weight = 5

    @staticmethod
    def plan(rng, model):
        if not model.plugins:
            return None
        # every metadata field changes at once: a torn update would show
        return {"op": "update", "guid": rng.choice(model.installed()),
                "meta": random_metadata(rng)}

    @staticmethod
    def execute(registry, module, op):
        registry.update(module.PluginRecord(guid=op["guid"], **op["meta"]))

    @staticmethod
    def apply(model, op):
        model.plugins[model.find(op["guid"])].update(op["meta"])


class UpdateUnknown(Op):
    @staticmethod
    def plan(rng, model):
        free = [g for g in GUIDS if g not in model.installed()]
        if not free:
            return None
        return {"op": "update_unknown", "guid": rng.choice(free),
                "meta": random_metadata(rng), "expect": "UnknownPluginError"}

    execute = Update.execute


class Remove(Op):
    weight = 2

    @staticmethod
    def plan(rng, model):
        if not model.plugins:
            return None
        return {"op": "remove", "guid": rng.choice(model.installed()),
                "keep_settings": rng.random() < 0.3}

    @staticmethod
    def execute(registry, module, op):
        registry.remove(op["guid"], keep_settings=op["keep_settings"])

    @staticmethod
    def apply(model, op):
        del model.plugins[model.find(op["guid"])]
        if not op["keep_settings"]:
            model.settings.pop(op["guid"], None)


class SetEnabled(Op):
    weight = 2

    @staticmethod
    def plan(rng, model):
        if not model.plugins:
            return None
        return {"op": "set_enabled", "guid": rng.choice(model.installed()),
                "enabled": rng.random() < 0.5}

    @staticmethod
    def execute(registry, module, op):
        registry.set_enabled(op["guid"], op["enabled"])

    @staticmethod
    def apply(model, op):
        model.plugins[model.find(op["guid"])]["enabled"] = op["enabled"]


class Move(Op):
    weight = 4

    @staticmethod
    def plan(rng, model):
        if not model.plugins:
            return None
        return {"op": "move", "guid": rng.choice(model.installed()),
                "direction": rng.choice(["up", "down"])}

    @staticmethod
    def execute(registry, module, op):
        registry.move(op["guid"], op["direction"])

    @staticmethod
    def apply(model, op):
        i = model.find(op["guid"])
        j = i - 1 if op["direction"] == "up" else i + 1
        if 0 <= j < len(model.plugins):
            model.plugins[i], model.plugins[j] = model.plugins[j], model.plugins[i]


class SetSetting(Op):
    weight = 6

    @staticmethod
    def plan(rng, model):
        type_ = rng.choice(["string", "int", "bool", "int64"])
        return {"op": "set_setting", "guid": rng.choice(SETTING_GUIDS),
                "key": rng.choice(KEYS), "type": type_, "value": random_value(rng, type_)}

    @staticmethod
    def execute(registry, module, op):
        registry.set_setting(op["guid"], op["key"], op["type"], op["value"])

    @staticmethod
    def apply(model, op):
        model.settings.setdefault(op["guid"], {})[op["key"]] = [op["type"], op["value"]]


class SetSettingInvalid(Op):
    @staticmethod
    def plan(rng, model):
        type_, value = rng.choice([("int", 2 ** 31), ("int64", -(2 ** 63) - 1), ("bool", 1)])
        return {"op": "set_setting_invalid", "guid": rng.choice(SETTING_GUIDS),
                "key": rng.choice(KEYS), "type": type_, "value": value,
                "expect": "InvalidValueError"}

    execute = SetSetting.execute


class RemoveSetting(Op):
    weight = 2

    @staticmethod
    def plan(rng, model):
        return {"op": "remove_setting", "guid": rng.choice(SETTING_GUIDS),
                "key": rng.choice(KEYS)}

    @staticmethod
    def execute(registry, module, op):
        registry.remove_setting(op["guid"], op["key"])

    @staticmethod
    def apply(model, op):
        model.settings.get(op["guid"], {}).pop(op["key"], None)


class RemoveSettings(Op):
    @staticmethod
    def plan(rng, model):
        return {"op": "remove_settings", "guid": rng.choice(SETTING_GUIDS)}

    @staticmethod
    def execute(registry, module, op):
        registry.remove_settings(op["guid"])

    @staticmethod
    def apply(model, op):
        model.settings.pop(op["guid"], None)


OPS = {
    "add": Add, "add_duplicate": AddDuplicate, "update": Update,
    "update_unknown": UpdateUnknown, "remove": Remove, "set_enabled": SetEnabled,
    "move": Move, "set_setting": SetSetting, "set_setting_invalid": SetSettingInvalid,
    "remove_setting": RemoveSetting, "remove_settings": RemoveSettings,
}


def plan(rng, model):
    names = list(OPS)
    weights = [OPS[n].weight for n in names]
    while True:
        op = OPS[rng.choices(names, weights)[0]].plan(rng, model)
        if op is not None:
            return op


def run(registry, module, op):
    """Execute op; an operation with "expect" must raise exactly that error."""
    try:
        OPS[op["op"]].execute(registry, module, op)
    except Exception as exc:
        if type(exc).__name__ != op.get("expect"):
            raise
    else:
        if op.get("expect"):
            raise AssertionError("expected %s from %r" % (op["expect"], op))


def main(argv):
    registry_dir, db_path, journal_path, seed = argv[1:5]
    stall = float(argv[5]) if len(argv) > 5 else 0.0
    module = load_registry(registry_dir)
    rng = random.Random(int(seed))
    registry = module.Registry(db_path)
    if stall:
        import time
        stall_rng = random.Random(int(seed) + 1)

        def pause(statement):
            if stall_rng.random() < stall:
                time.sleep(stall_rng.uniform(0, 0.002))

        registry._conn.set_trace_callback(pause)  # test-only peek at the private connection
    model = Model(observe(registry))
    with open(journal_path, "w", encoding="ascii") as journal:
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        while True:
            op = plan(rng, model)
            journal.write(json.dumps(op) + "\n")  # ensure_ascii: one line, ASCII only
            journal.flush()
            run(registry, module, op)
            model.apply(op)
            journal.write("done\n")
            journal.flush()


if __name__ == "__main__":
    main(sys.argv)
'''

child = types.ModuleType("crash_child")
exec(compile(CHILD_SCRIPT, "crash_child.py", "exec"), child.__dict__)


def read_journal(path):
    """(operations marked done, the operation in flight or None)."""
    if not path.exists():
        return [], None
    lines = path.read_text(encoding="ascii").split("\n")
    lines.pop()  # after the last newline: nothing, or a line cut short (its op never began)
    done, in_flight = [], None
    for line in lines:
        if line == "done":
            assert in_flight is not None, f"'done' without an operation in {path}"
            done.append(in_flight)
            in_flight = None
        else:
            assert in_flight is None, f"two operations without 'done' between in {path}"
            in_flight = json.loads(line)
    return done, in_flight


def run_crash_rounds(tmp_path, *, rounds, fresh_db, wait_ready, delay, seed):
    """Kill a child doing random operations ``rounds`` times; check after each kill.

    The kill comes a random ``delay`` (min, max seconds) after the child reported it had
    opened the registry (``wait_ready``) or after it was spawned. With ``fresh_db`` every
    round starts without a database (kills land in its creation too); otherwise one
    database carries over from round to round, as a real user's does. Odd rounds make the
    child pause between SQL statements (see STALL in the script). Returns statistics.
    """
    script = tmp_path / "crash_child.py"
    script.write_text(CHILD_SCRIPT, encoding="utf-8")
    registry_dir = str(Path(R.__file__).resolve().parent)  # the very package the parent tests
    rng = random.Random(seed)
    stats = {"rounds": 0, "done_ops": 0, "in_flight_applied": 0, "in_flight_not_applied": 0,
             "killed_before_first_op": 0}
    model = child.Model()
    db = tmp_path / "registry.sqlite"
    for n in range(rounds):
        if fresh_db:
            db = tmp_path / f"fresh-{n}" / "registry.sqlite"
            db.parent.mkdir()
            model = child.Model()
        journal = tmp_path / f"journal-{n}.jsonl"
        where = f"round {n} (seed {seed}, journal {journal})"
        proc = subprocess.Popen(
            [sys.executable, str(script), registry_dir, str(db), str(journal), str(seed + n),
             "0.5" if n % 2 else "0"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        try:
            if wait_ready:
                line = proc.stdout.readline()
                if line != b"ready\n":
                    proc.kill()
                    proc.wait()
                    pytest.fail(f"child did not start in {where}: {proc.stderr.read().decode()}")
            time.sleep(rng.uniform(*delay))
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            _, err = proc.communicate()
        assert proc.returncode == -signal.SIGKILL, (
            f"child died by itself in {where}:\n{err.decode()}"
        )

        done, in_flight = read_journal(journal)
        for op in done:
            model.apply(op)
        stats["done_ops"] += len(done)
        if not done and in_flight is None:
            stats["killed_before_first_op"] += 1
        with Registry(db) as registry:
            problems = registry.check_integrity()
            assert problems == [], f"{where}: {problems}"
            actual = child.observe(registry)
        before = model.state()
        if in_flight is None:
            assert actual == before, f"{where}: registry differs from the journal"
        elif actual == before:
            stats["in_flight_not_applied"] += 1
        else:
            after = model.copy()
            after.apply(in_flight)
            assert actual == after.state(), (
                f"{where}: in-flight {in_flight} is neither fully applied nor absent;\n"
                f"registry: {actual}\nbefore:   {before}\nafter:    {after.state()}"
            )
            stats["in_flight_applied"] += 1
            model = after
        stats["rounds"] += 1
    return stats


def _seed():
    return int(os.environ.get("PYHOST_CRASH_SEED", random.randrange(2**31)))


def test_sigkill_at_random_moments_never_leaves_the_registry_inconsistent(tmp_path):
    rounds = int(os.environ.get("PYHOST_CRASH_ROUNDS", "80"))
    seed = _seed()
    started = time.monotonic()
    stats = run_crash_rounds(tmp_path, rounds=rounds, fresh_db=False, wait_ready=True,
                             delay=(0.0, 0.3), seed=seed)
    elapsed = time.monotonic() - started
    print(f"\ncrash test: seed {seed}, {elapsed:.1f} s, {stats}")
    assert stats["rounds"] == rounds >= 50
    # the kills must have landed among operations, not only around them (a loaded machine
    # can deschedule the child between "done" and its next operation, hence only half)
    assert stats["done_ops"] > rounds
    assert stats["in_flight_applied"] + stats["in_flight_not_applied"] >= rounds // 2


def test_sigkill_while_the_registry_is_being_created(tmp_path):
    seed = _seed()
    # the child needs ~0.1 s to start and open the registry on an idle machine
    stats = run_crash_rounds(tmp_path, rounds=20, fresh_db=True, wait_ready=False,
                             delay=(0.03, 0.25), seed=seed)
    print(f"\ncreation crash test: seed {seed}, {stats}")
    assert stats["rounds"] == 20


def test_the_model_agrees_with_the_registry_op_by_op():
    """The crash test's Model is the spec it checks against: validate it step by step."""
    rng = random.Random(1234)
    with Registry(":memory:") as registry:
        model = child.Model()
        seen = set()
        for _ in range(3000):
            op = child.plan(rng, model)
            child.run(registry, R, op)
            model.apply(op)
            seen.add(op["op"])
            assert child.observe(registry) == model.state(), op
        assert registry.check_integrity() == []
    assert seen == set(child.OPS)


def test_journal_reader_ignores_a_cut_last_line_and_finds_the_op_in_flight(tmp_path):
    j = tmp_path / "j"
    j.write_text('{"op": "a"}\ndone\n{"op": "b"}\n{"op": "c', encoding="ascii")
    assert read_journal(j) == ([{"op": "a"}], {"op": "b"})
    j.write_text('{"op": "a"}\ndone\n', encoding="ascii")
    assert read_journal(j) == ([{"op": "a"}], None)
    assert read_journal(tmp_path / "missing") == ([], None)
