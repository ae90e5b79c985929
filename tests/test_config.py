"""DCConfig through the ABI: the reference host's string semantics, CoreSetup, paths.

Settings are a per-plugin map of strings: every type written is read back as every other
type, and compared with an oracle written here in Python (C atoi / strtoll, BOOL = text !=
"0"), independent of the C conversions the host uses. The same facts are checked from
inside a compiled plugin by tests/test_conformance.py.
"""
import os
from pathlib import Path

import pytest

from pyhost.abi._ffi import ffi, lib
from pyhost.host.host import Host

DEV = "{5e1c7a0e-3b2d-4c1f-9a57-c0ffee000002}"
INT32 = (-2**31, 2**31 - 1)
INT64 = (-2**63, 2**63 - 1)

STRING, INT, BOOL, INT64_T = (lib.CFG_TYPE_STRING, lib.CFG_TYPE_INT, lib.CFG_TYPE_BOOL,
                              lib.CFG_TYPE_INT64)
READ_TYPES = {"STRING": STRING, "INT": INT, "BOOL": BOOL, "INT64": INT64_T}


# ---- the oracle: the C library's conversions, written out ---------------------------------

def strto(text: bytes, lo: int, hi: int) -> int:
    """strtol / strtoll(text, NULL, 10): spaces, one sign, digits; clamped to [lo, hi]."""
    i = 0
    while i < len(text) and text[i] in b" \t\n\v\f\r":
        i += 1
    sign = 1
    if i < len(text) and text[i] in b"+-":
        sign = -1 if text[i] == ord("-") else 1
        i += 1
    j = i
    while j < len(text) and 48 <= text[j] <= 57:
        j += 1
    if j == i:
        return 0
    return max(lo, min(hi, sign * int(text[i:j])))


def c_atoi(text: bytes) -> int:
    """glibc atoi: (int) strtol(text, NULL, 10) with a 64-bit long."""
    value = strto(text, *INT64)
    return (value + 2**31) % 2**32 - 2**31


def reference_read(text: bytes, kind: int):
    if kind == STRING:
        return text
    if kind == INT:
        return c_atoi(text)
    if kind == INT64_T:
        return strto(text, *INT64)
    return text != b"0"


# ---- helpers ----------------------------------------------------------------------------

def config_table(host):
    return ffi.cast("DCConfig*", host.bus.query_interface("generic.plugins.DCConfig", 1))


def value_of(cv):
    """A returned ConfigValue as (type, Python value); releases nothing."""
    if cv.type == STRING:
        return STRING, ffi.string(ffi.cast("ConfigStr*", cv).value)
    if cv.type == INT:
        return INT, ffi.cast("ConfigInt*", cv).value
    if cv.type == BOOL:
        return BOOL, ffi.cast("ConfigBool*", cv).value != 0
    return INT64_T, ffi.cast("ConfigInt64*", cv).value


def get(cfg, guid: str, key: str, kind: int):
    """get_cfg, released; None for NULL."""
    cv = cfg.get_cfg(guid.encode(), key.encode(), kind)
    if cv == ffi.NULL:
        return None
    try:
        return value_of(cv)
    finally:
        cfg.release(cv)


def put(cfg, guid: str, key: str, kind: int, value) -> None:
    keep = None
    if kind == STRING:
        cv = ffi.new("ConfigStr*")
        if value is not None:
            keep = ffi.new("char[]", value)
            cv.value = keep
    elif kind == INT:
        cv = ffi.new("ConfigInt*", {"value": value})
    elif kind == BOOL:
        cv = ffi.new("ConfigBool*", {"value": value})
    elif kind == INT64_T:
        cv = ffi.new("ConfigInt64*", {"value": value})
    else:
        cv = ffi.new("ConfigValue*")
    cv.type = kind
    cfg.set_cfg(guid.encode(), key.encode(), ffi.cast("ConfigValue*", cv))
    del keep


@pytest.fixture
def installed(host, sample):
    host.install(sample("dev_plugin"))
    return host


# ---- every type written, read back as every type -------------------------------------------

WRITTEN = [
    (STRING, b"", b""), (STRING, b"abc", b"abc"), (STRING, b"42", b"42"),
    (STRING, b"  -17xyz", b"  -17xyz"), (STRING, b"+8", b"+8"), (STRING, b"0", b"0"),
    (STRING, b"00", b"00"), (STRING, b"1", b"1"), (STRING, b"false", b"false"),
    (STRING, b"true", b"true"), (STRING, b"4294967297", b"4294967297"),
    (STRING, b"-2147483649", b"-2147483649"), (STRING, b"99999999999999999999",
                                                b"99999999999999999999"),
    (STRING, b"-9223372036854775809", b"-9223372036854775809"),
    (STRING, b"\t\n 12", b"\t\n 12"), (STRING, "héllo".encode(), "héllo".encode()),
    (STRING, b" 12abc", b" 12abc"), (STRING, b"-0", b"-0"), (STRING, b"+0", b"+0"),
    (STRING, b"0 ", b"0 "), (STRING, b"+-3", b"+-3"), (STRING, b"0x1A", b"0x1A"),
    (STRING, b"1e3", b"1e3"), (STRING, b"-99999999999999999999",
                               b"-99999999999999999999"),
    (STRING, None, b""),                                   # NULL is stored as ""
    (INT, 0, b"0"), (INT, 7, b"7"), (INT, -1, b"-1"), (INT, INT32[0], b"-2147483648"),
    (INT, INT32[1], b"2147483647"),
    (INT64_T, 0, b"0"), (INT64_T, 2**40, b"1099511627776"),
    (INT64_T, INT64[0], b"-9223372036854775808"), (INT64_T, INT64[1], b"9223372036854775807"),
    (BOOL, 1, b"1"), (BOOL, 0, b"0"), (BOOL, 2, b"1"),
]


@pytest.mark.parametrize("kind,value,text", WRITTEN,
                         ids=[f"{k}-{v!r}" for k, v, _ in WRITTEN])
def test_every_type_written_reads_back_as_every_type(installed, kind, value, text):
    cfg = config_table(installed)
    put(cfg, DEV, "w", kind, value)
    for name, read_kind in READ_TYPES.items():
        assert get(cfg, DEV, "w", read_kind) == (read_kind, reference_read(text, read_kind)), \
            name


def test_a_missing_key_reads_as_the_empty_string_converted(installed):
    cfg = config_table(installed)
    before = lib.phn_cfg_live()
    assert get(cfg, DEV, "missing", STRING) == (STRING, b"")
    assert get(cfg, DEV, "missing", INT) == (INT, 0)
    assert get(cfg, DEV, "missing", INT64_T) == (INT64_T, 0)
    assert get(cfg, DEV, "missing", BOOL) == (BOOL, True)    # "" != "0"
    assert lib.phn_cfg_live() == before                       # each value released once


def test_bool_true_reads_as_string_1_and_false_reads_as_bool_true(installed):
    cfg = config_table(installed)
    put(cfg, DEV, "flag", BOOL, 1)
    assert get(cfg, DEV, "flag", STRING) == (STRING, b"1")
    put(cfg, DEV, "text", STRING, b"false")
    assert get(cfg, DEV, "text", BOOL) == (BOOL, True)


def test_unknown_and_remove_types_read_as_null_for_a_plugin(installed):
    cfg = config_table(installed)
    put(cfg, DEV, "k", STRING, b"v")
    assert get(cfg, DEV, "k", lib.CFG_TYPE_UNKNOWN) is None
    assert get(cfg, DEV, "k", lib.CFG_TYPE_REMOVE) is None


def test_remove_deletes_and_the_registry_keeps_the_written_type(installed):
    cfg = config_table(installed)
    put(cfg, DEV, "n", INT, 5)
    put(cfg, DEV, "b", BOOL, 1)
    put(cfg, DEV, "s", STRING, b"x")
    assert installed.registry.get_setting(DEV, "n") == ("int", 5)   # `pyhost config` view
    assert installed.registry.get_setting(DEV, "b") == ("bool", True)
    put(cfg, DEV, "s", lib.CFG_TYPE_REMOVE, None)
    assert installed.registry.get_setting(DEV, "s") is None
    assert get(cfg, DEV, "s", STRING) == (STRING, b"")


def test_set_cfg_for_a_guid_that_is_not_installed_is_ignored(installed):
    cfg = config_table(installed)
    put(cfg, "{not-installed}", "k", STRING, b"v")
    assert installed.registry.settings("{not-installed}") == {}
    assert get(cfg, "{not-installed}", "k", STRING) == (STRING, b"")
    installed.remove(DEV)
    put(cfg, DEV, "k", INT, 1)                  # removed: no longer installed
    assert installed.registry.settings(DEV) == {}


def test_settings_persist_across_restart(home, sample):
    with Host(home, timers=False) as h:
        h.install(sample("dev_plugin"))
        put(config_table(h), DEV, "n", INT64_T, -5)
    with Host(home, timers=False) as h:
        assert get(config_table(h), DEV, "n", INT64_T) == (INT64_T, -5)
        assert get(config_table(h), DEV, "n", STRING) == (STRING, b"-5")


# ---- CoreSetup ------------------------------------------------------------------------------

@pytest.mark.parametrize("asked", sorted(READ_TYPES) + ["UNKNOWN"])
def test_core_setup_answers_in_the_settings_own_type(host, asked):
    cfg = config_table(host)
    kind = READ_TYPES.get(asked, lib.CFG_TYPE_UNKNOWN)
    assert get(cfg, "CoreSetup", "Nick", kind) == (STRING, b"pyhost")
    assert get(cfg, "CoreSetup", "MaxHubs", kind) == (INT, 0)
    assert get(cfg, "CoreSetup", "TimestampsInChat", kind) == (BOOL, True)
    assert get(cfg, "CoreSetup", "NoSuchSetting", kind) is None


def test_core_setup_is_not_writable(host):
    cfg = config_table(host)
    put(cfg, "CoreSetup", "MaxHubs", INT, 3)
    assert host.registry.get_setting("CoreSetup", "MaxHubs") is None
    assert get(cfg, "CoreSetup", "MaxHubs", INT) == (INT, 0)


def test_copy_and_release_own_one_block_each(host):
    cfg = config_table(host)
    before = lib.phn_cfg_live()
    original = cfg.get_cfg(b"CoreSetup", b"Nick", lib.CFG_TYPE_UNKNOWN)
    copy = cfg.copy(original)
    assert copy != original and value_of(copy) == (STRING, b"pyhost")
    assert lib.phn_cfg_live() == before + 2
    cfg.release(original)
    cfg.release(copy)
    assert lib.phn_cfg_live() == before


# ---- paths ----------------------------------------------------------------------------------

PATH_KINDS = (lib.PATH_GLOBAL_CONFIG, lib.PATH_USER_CONFIG, lib.PATH_USER_LOCAL,
              lib.PATH_RESOURCES, lib.PATH_LOCALE)


def text_of(cfg, cs) -> str:
    try:
        return ffi.string(cs.value).decode()
    finally:
        cfg.release(ffi.cast("ConfigValue*", cs))


def test_paths_are_absolute_directories_with_a_separator_even_for_a_relative_home(
        tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with Host("relative-home", timers=False) as h:
        cfg = config_table(h)
        seen = set()
        for kind in PATH_KINDS:
            text = text_of(cfg, cfg.get_path(kind))
            assert os.path.isabs(text) and text.endswith(os.sep), text
            assert Path(text).is_dir()
            assert Path(text).is_relative_to(tmp_path / "relative-home")
            seen.add(text)
        assert len(seen) >= 4
        assert text_of(cfg, cfg.get_language()) == "en-US"
        monkeypatch.chdir("/")                      # still valid from anywhere
        assert Path(text_of(cfg, cfg.get_path(lib.PATH_USER_LOCAL))).is_dir()


def test_install_path_is_absolute_with_a_separator(installed, sample):
    cfg = config_table(installed)
    got = text_of(cfg, cfg.get_install_path(DEV.encode()))
    assert got == str(sample("dev_plugin").parent) + os.sep
    # any other guid: the reference's <USER_LOCAL path>Plugins/<guid>/
    local = text_of(cfg, cfg.get_path(lib.PATH_USER_LOCAL))
    assert text_of(cfg, cfg.get_install_path(b"{unknown}")) == local + "Plugins/{unknown}/"
