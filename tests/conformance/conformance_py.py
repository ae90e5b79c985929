"""The Python conformance plugin: the reference host's facts seen from a Python plugin, through
the raw ABI of its core and through the typed ``settings`` mapping built on top of it.

Each check runs when the test fires "pyhost.test.conformance" with data = a char[1024]
holding "py.<fact>"; the answer ("ok" or what failed) is written back into that buffer.
"""
from pyhost.plugin import Plugin, ffi, hook, lib

GUID = "{c0f0a11e-5d6c-4e4b-9c1a-00000000c0c5}"
plugin = Plugin(guid=GUID, name="Python conformance", version=1.0,
                settings={"flag": False, "count": 0, "name": "anon"})

FACTS = {}


class Failed(Exception):
    pass


def expect(cond, what):
    if not cond:
        raise Failed(what)


def fact(fn):
    FACTS["py." + fn.__name__] = fn
    return fn


def _config():
    return ffi.cast("DCConfig*", plugin.query_interface("generic.plugins.DCConfig", 1))


def _get(config, guid, key, kind):
    value = config.get_cfg(guid.encode(), key.encode(), kind)
    if value == ffi.NULL:
        return None
    try:
        if value.type == lib.CFG_TYPE_STRING:
            return ffi.string(ffi.cast("ConfigStr*", value).value)
        if value.type == lib.CFG_TYPE_BOOL:
            return ffi.cast("ConfigBool*", value).value == 1
        return ffi.cast("ConfigInt*" if value.type == lib.CFG_TYPE_INT else "ConfigInt64*",
                        value).value
    finally:
        config.release(value)


@fact
def utils():
    u = plugin.utils
    buf = ffi.new("char[]", b"X" * 8)
    expect(u.to_utf8(buf, b"abc", 8) == 3, "to_utf8 returns 3 for abc")
    expect(ffi.buffer(buf, 8)[:] == b"abcXXXXX", "to_utf8 writes no NUL")
    expect(u.to_utf8(buf, b"abc", 2) == 2, "to_utf8 with n = 2 returns 2")
    tth = b"LWPNACQDBZRYXW3VHJVCJ64QBZNGHOHHHZWCLNQ"
    out = ffi.new("uint8_t[]", 24)
    expect(u.from_base32(out, tth, 24) == 24, "from_base32 returns n")
    expect(bytes(out)[:4] == bytes([0x5D, 0x9E, 0xD0, 0x0A]) and bytes(out)[-1] == 0xB6,
           "the TTH decodes into 24 bytes")
    expect(u.to_base32(ffi.NULL, bytes(out), 24) == 39, "to_base32 returns ceil(8n/5)")


@fact
def config():
    c = _config()
    expect(_get(c, GUID, "never.set", lib.CFG_TYPE_BOOL) is True, "a missing BOOL reads True")
    expect(_get(c, GUID, "never.set", lib.CFG_TYPE_STRING) == b"", "missing reads as ''")
    expect(_get(c, "CoreSetup", "NoSuchSetting", lib.CFG_TYPE_STRING) is None,
           "an unknown CoreSetup setting is NULL")
    expect(_get(c, "CoreSetup", "MaxHubs", lib.CFG_TYPE_STRING) == 0,
           "CoreSetup answers in the setting's own type")
    text = ffi.new("char[]", b"false")
    c.set_cfg(GUID.encode(), b"word", ffi.cast("ConfigValue*",
                                               ffi.new("ConfigStr*", [lib.CFG_TYPE_STRING, text])))
    expect(_get(c, GUID, "word", lib.CFG_TYPE_BOOL) is True, '"false" reads as BOOL True')


@fact
def settings():
    s = plugin.settings
    expect(s["flag"] is False, "an unset declared bool reads its default, not DCConfig's True")
    s["flag"] = True
    expect(_get(_config(), GUID, "flag", lib.CFG_TYPE_STRING) == b"1", "True is stored as 1")
    expect(s["flag"] is True, "and reads back True")
    s["flag"] = False
    expect(s["flag"] is False, "False reads back False")
    text = ffi.new("char[]", b" 12 apples")
    _config().set_cfg(GUID.encode(), b"count", ffi.cast(
        "ConfigValue*", ffi.new("ConfigStr*", [lib.CFG_TYPE_STRING, text])))
    expect(s["count"] == 12, "a declared int reads through DCConfig's own conversion")
    s["count"] = 2**40
    expect(s["count"] == 2**40, "a big int round trips")
    expect(s["name"] == "anon", "an unset declared str reads its default")
    s["free"] = 5
    expect(s["free"] == "5", "an undeclared key reads back as the text DCConfig keeps")
    del s["free"]
    expect("free" not in s, "deleted")


@hook("pyhost.test.conformance", raw=True)
def on_fact(obj, data):
    buffer = ffi.cast("char*", data)
    check = FACTS.get(ffi.string(buffer).decode())
    if check is None:
        return False
    try:
        check()
        answer = "ok"
    except Failed as exc:
        answer = f"FAIL: {exc}"
    encoded = answer.encode()[:1023] + b"\0"
    ffi.memmove(buffer, encoded, len(encoded))
    return True
