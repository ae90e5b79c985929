"""The DCUtils host service (native/utils.c), called through the compiled cffi bridge.

Contract (see native/utils.h): the four text conversions take the capacity of dst as n,
return the size needed for the whole result including the NUL, write at most n elements,
always NUL-terminate when n > 0 and cut only on character boundaries. to_base32 and
from_base32 take the length of the input as n.

Python's own codecs are the oracle: base64.b32encode (padding stripped), bytes.decode
("utf-8", errors="replace") -- which substitutes maximal subparts as utils.c does -- and
Latin-1. The last tests build tests/native/utils_driver.c with ASan + UBSan and run it.
"""
import base64
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyhost.abi._ffi import ffi, lib

ROOT = Path(__file__).resolve().parents[1]
T = lib.phn_utils_table()
NULL = ffi.NULL
WCHAR_BITS = ffi.sizeof("wchar_t") * 8
WCHAR_INT = "uint32_t" if WCHAR_BITS == 32 else "uint16_t"
REPL = "\ufffd"

# text without NUL (it ends the C string) and without lone surrogates (not encodable)
texts = st.text(st.characters(blacklist_characters="\0", blacklist_categories=("Cs",)))
nul_free_bytes = st.binary(max_size=200).map(lambda b: b.replace(b"\0", b""))


# ---- helpers ---------------------------------------------------------------------------

def call_char(fn, src, n, guard=4):
    """Calls a char-output conversion with capacity n in a buffer of n + guard bytes.

    Returns (return value, bytes before the NUL or None, guard bytes)."""
    buf = ffi.new("char[]", n + guard)
    ffi.memmove(buf, b"\xaa" * (n + guard), n + guard)
    r = fn(buf if n else NULL, src, n)
    raw = ffi.buffer(buf, n + guard)[:]
    text = raw[: raw.index(b"\0")] if b"\0" in raw[:n] else None
    return r, text, raw[n:]


def call_wcs(src, n, guard=4):
    """utf8_to_wcs with capacity n; returns (ret, code units before the NUL or None, guard)."""
    buf = ffi.new("wchar_t[]", n + guard)
    units = ffi.cast(f"{WCHAR_INT}*", buf)
    for i in range(n + guard):
        units[i] = 0x58
    r = T.utf8_to_wcs(buf if n else NULL, src, n)
    out = [units[i] for i in range(n + guard)]
    text = out[: out.index(0)] if 0 in out[:n] else None
    return r, text, out[n:]


def units_of(s: str) -> list[int]:
    """The wchar_t code units of s on this platform."""
    if WCHAR_BITS == 32:
        return [ord(c) for c in s]
    data = s.encode("utf-16-le", "surrogatepass")
    return [int.from_bytes(data[i:i + 2], "little") for i in range(0, len(data), 2)]


def full_char(fn, src) -> bytes:
    need = fn(NULL, src, 0)
    r, text, _ = call_char(fn, src, need)
    assert r == need and text is not None and len(text) == need - 1
    return text


def utf8_to_wcs(src: bytes) -> str:
    need = T.utf8_to_wcs(NULL, src, 0)
    buf = ffi.new("wchar_t[]", need)
    assert T.utf8_to_wcs(buf, src, need) == need
    assert buf[need - 1] == "\0"
    return ffi.string(buf, need - 1) if need > 1 else ""


def wcs_buffer(values: list[int]):
    """A NUL-terminated wchar_t array holding raw values (even invalid ones)."""
    buf = ffi.new("wchar_t[]", len(values) + 1)
    raw = ffi.cast("int32_t*" if WCHAR_BITS == 32 else "uint16_t*", buf)
    for i, v in enumerate(values):
        raw[i] = v
    return buf


def b32(data: bytes) -> str:
    return base64.b32encode(data).decode().rstrip("=")


def to_base32(data: bytes) -> bytes:
    need = T.to_base32(NULL, data, len(data))
    buf = ffi.new("char[]", need + 4)
    ffi.memmove(buf, b"\xaa" * (need + 4), need + 4)
    assert T.to_base32(buf, data, len(data)) == need
    raw = ffi.buffer(buf, need + 4)[:]
    assert raw[need - 1:need] == b"\0" and raw[need:] == b"\xaa" * 4
    return raw[: need - 1]


def from_base32(text: bytes):
    """Returns (count when asked with NULL, count, written bytes, guard bytes)."""
    asked = T.from_base32(NULL, text, len(text))
    size = len(text) * 5 // 8
    buf = ffi.new("uint8_t[]", size + 4)
    ffi.memmove(buf, b"\xaa" * (size + 4), size + 4)
    r = T.from_base32(buf, text, len(text))
    raw = ffi.buffer(buf, size + 4)[:]
    return asked, r, raw[:size], raw[size:]


# ---- the table ---------------------------------------------------------------------------

def test_table():
    assert T.apiVersion == 1
    assert lib.phn_utils_table() == T   # one static table
    for name in ("to_utf8", "from_utf8", "utf8_to_wcs", "wcs_to_utf8", "to_base32",
                 "from_base32"):
        assert getattr(T, name) != NULL


# ---- base32 ------------------------------------------------------------------------------

RFC4648 = [(b"", b""), (b"f", b"MY"), (b"fo", b"MZXQ"), (b"foo", b"MZXW6"),
           (b"foob", b"MZXW6YQ"), (b"fooba", b"MZXW6YTB"), (b"foobar", b"MZXW6YTBOI")]


@pytest.mark.parametrize("raw,text", RFC4648)
def test_base32_rfc4648_vectors(raw, text):
    assert T.to_base32(NULL, raw, len(raw)) == len(text) + 1
    assert to_base32(raw) == text
    asked, r, out, guard = from_base32(text)
    assert asked == r == len(raw) and out == raw and guard == b"\xaa" * 4
    asked, r, out, _ = from_base32(text.lower())
    assert asked == r == len(raw) and out == raw


def test_base32_tth_shape():
    """A 24-byte Tiger hash is 39 chars, as in DC's TTH strings."""
    digest = bytes(range(24))
    text = to_base32(digest)
    assert len(text) == 39 and b"=" not in text
    assert from_base32(text)[2] == digest


def test_base32_empty_and_null():
    assert T.to_base32(NULL, NULL, 0) == 1
    buf = ffi.new("char[]", b"X")
    assert T.to_base32(buf, NULL, 0) == 1 and buf[0] == b"\0"
    assert T.from_base32(NULL, NULL, 0) == 0
    assert T.from_base32(NULL, b"", 0) == 0


def test_base32_decodes_only_n_chars():
    # n is the input length: the rest of the string is not read
    asked, r, out, _ = from_base32(b"MZXW6")
    assert r == 3 and out == b"foo"
    buf = ffi.new("uint8_t[]", 8)
    assert T.from_base32(buf, b"MZXW6YTBOI!!!", 10) == 6
    assert ffi.buffer(buf, 6)[:] == b"foobar"


def test_base32_mixed_case():
    asked, r, out, _ = from_base32(b"mZxW6yTbOi")
    assert r == 6 and out == b"foobar"


@pytest.mark.parametrize("bad", [b"=", b" ", b"\t", b"\n", b"0", b"1", b"8", b"9", b"@", b"[",
                                 b"`", b"{", b"-", b"\0", b"\x80", b"\xff", b"\xc3"])
@pytest.mark.parametrize("pos", [0, 3, 9])
def test_base32_invalid_character_returns_zero_and_writes_nothing(bad, pos):
    text = bytearray(b"MZXW6YTBOI")
    text[pos:pos + 1] = bad
    asked, r, out, guard = from_base32(bytes(text))
    assert asked == 0 and r == 0
    assert out + guard == b"\xaa" * (len(out) + 4)


def test_base32_padding_is_invalid():
    assert from_base32(b"MY======")[:2] == (0, 0)


def test_base32_trailing_bits_are_ignored():
    # "MZ" carries 10 bits: one byte, the two extra bits are dropped
    assert from_base32(b"MZ")[1:3] == (1, b"f")
    assert from_base32(b"M")[1] == 0          # 5 bits: no whole byte
    assert from_base32(b"MZXW6Y")[1:3] == (3, b"foo")


@settings(max_examples=300)
@given(st.binary(max_size=300))
def test_base32_matches_python_and_round_trips(data):
    text = to_base32(data)
    assert text.decode() == b32(data)
    assert len(text) == (len(data) * 8 + 4) // 5
    asked, r, out, guard = from_base32(text)
    assert asked == r == len(data) and out == data and guard == b"\xaa" * 4
    assert from_base32(text.lower())[2] == data


# ---- to_utf8 / from_utf8 (local charset = Latin-1) --------------------------------------

def test_to_utf8_vectors():
    assert full_char(T.to_utf8, b"") == b""
    assert full_char(T.to_utf8, b"hello") == b"hello"
    assert full_char(T.to_utf8, b"caf\xe9 \xff\x80") == "café \xff\x80".encode()
    assert T.to_utf8(NULL, b"\xe9", 0) == 3
    assert T.to_utf8(NULL, NULL, 0) == 1


def test_from_utf8_vectors():
    assert full_char(T.from_utf8, "café ÿ".encode()) == b"caf\xe9 \xff"
    assert full_char(T.from_utf8, "a€😀z".encode()) == b"a??z"
    assert full_char(T.from_utf8, b"ab\xe2\x82") == b"ab?"
    assert full_char(T.from_utf8, b"\xc0\xaf") == b"??"
    assert T.from_utf8(NULL, NULL, 0) == 1


def test_latin1_every_byte_round_trips():
    data = bytes(range(1, 256))
    utf8 = full_char(T.to_utf8, data)
    assert utf8 == data.decode("latin-1").encode()
    assert len(utf8) == 127 + 2 * 128
    assert full_char(T.from_utf8, utf8) == data


@settings(max_examples=300)
@given(nul_free_bytes)
def test_latin1_round_trip(data):
    utf8 = full_char(T.to_utf8, data)
    assert utf8 == data.decode("latin-1").encode("utf-8")
    assert full_char(T.from_utf8, utf8) == data


@settings(max_examples=300)
@given(texts)
def test_from_utf8_replaces_outside_latin1(text):
    expected = "".join(c if ord(c) < 256 else "?" for c in text).encode("latin-1")
    assert full_char(T.from_utf8, text.encode()) == expected


@settings(max_examples=300)
@given(nul_free_bytes)
def test_from_utf8_of_arbitrary_bytes(data):
    decoded = data.decode("utf-8", errors="replace")
    expected = "".join(c if ord(c) < 256 else "?" for c in decoded).encode("latin-1")
    assert full_char(T.from_utf8, data) == expected


# ---- utf8_to_wcs / wcs_to_utf8 -------------------------------------------------------------

def test_wchar_is_utf32_on_linux():
    if os.name == "posix":
        assert WCHAR_BITS == 32


def test_utf8_to_wcs_vectors():
    assert utf8_to_wcs(b"") == ""
    assert utf8_to_wcs("héllo €😀".encode()) == "héllo €😀"
    assert T.utf8_to_wcs(NULL, "a😀".encode(), 0) == (3 if WCHAR_BITS == 32 else 4)
    assert T.utf8_to_wcs(NULL, NULL, 0) == 1


INVALID_UTF8 = [
    (b"\x80", REPL), (b"\xbf\x80a", REPL * 2 + "a"),                  # stray continuations
    (b"\xc0\xaf", REPL * 2), (b"\xc1\xbf", REPL * 2),                 # overlong 2-byte
    (b"\xe0\x80\xaf", REPL * 3), (b"\xf0\x80\x80\xaf", REPL * 4),     # overlong 3/4-byte
    (b"\xed\xa0\x80", REPL * 3), (b"\xed\xbf\xbf", REPL * 3),         # surrogates
    (b"\xf4\x90\x80\x80", REPL * 4), (b"\xf5\x80", REPL * 2),         # > U+10FFFF
    (b"\xfe\xff", REPL * 2),
    (b"ab\xe2\x82", "ab" + REPL), (b"\xf0\x9f\x98", REPL),            # truncated at the end
    (b"\xe2\x82A", REPL + "A"), (b"\xf0\x9fB\xc3", REPL + "B" + REPL),  # truncated inside
]


@pytest.mark.parametrize("data,expected", INVALID_UTF8)
def test_invalid_utf8_becomes_replacement(data, expected):
    assert data.decode("utf-8", errors="replace") == expected   # same practice as CPython
    assert utf8_to_wcs(data) == expected
    assert full_char(T.from_utf8, data) == expected.replace(REPL, "?").encode("latin-1")


def test_wcs_to_utf8_vectors():
    assert full_char(T.wcs_to_utf8, "") == b""
    assert full_char(T.wcs_to_utf8, "héllo €😀") == "héllo €😀".encode()
    assert T.wcs_to_utf8(NULL, "😀", 0) == 5
    assert T.wcs_to_utf8(NULL, NULL, 0) == 1


def test_wcs_to_utf8_invalid_code_points():
    r = REPL.encode()
    if WCHAR_BITS == 32:
        values = [0x61, 0xD800, 0x62, 0xDFFF, 0x110000, -1, 0x7FFFFFFF, 0x10FFFF]
        expected = b"a" + r + b"b" + r + r + r + r + "\U0010ffff".encode()
    else:
        values = [0x61, 0xD800, 0x62, 0xDC00, 0xDBFF, 0xDFFF, 0xD83D]
        expected = b"a" + r + b"b" + r + "\U0010ffff".encode() + r
    assert full_char(T.wcs_to_utf8, wcs_buffer(values)) == expected


@settings(max_examples=300)
@given(texts)
def test_text_round_trip_utf8_wcs_utf8(text):
    utf8 = text.encode()
    assert utf8_to_wcs(utf8) == text
    assert T.utf8_to_wcs(NULL, utf8, 0) == len(units_of(text)) + 1
    assert full_char(T.wcs_to_utf8, text) == utf8


@settings(max_examples=300)
@given(nul_free_bytes)
def test_utf8_to_wcs_of_arbitrary_bytes(data):
    assert utf8_to_wcs(data) == data.decode("utf-8", errors="replace")


@settings(max_examples=200)
@given(st.lists(st.integers(-2**31, 2**31 - 1).filter(bool), max_size=30)
       if WCHAR_BITS == 32 else st.lists(st.integers(1, 0xFFFF), max_size=30))
def test_wcs_to_utf8_of_arbitrary_values(values):
    if WCHAR_BITS == 32:
        expected = "".join(chr(v) if 0 <= v <= 0x10FFFF and not 0xD800 <= v <= 0xDFFF
                           else REPL for v in values)
    else:
        raw = b"".join(v.to_bytes(2, "little") for v in values)
        expected = raw.decode("utf-16-le", errors="surrogatepass")
        expected = "".join(REPL if 0xD800 <= ord(c) <= 0xDFFF else c for c in expected)
    assert full_char(T.wcs_to_utf8, wcs_buffer(values)) == expected.encode()


# ---- the size contract: ask, exact fit, truncation ------------------------------------------

CHAR_CONVERSIONS = {
    "to_utf8": (lambda text: text.encode("latin-1", errors="replace").replace(b"\0", b""),
                lambda d, s, n: T.to_utf8(d, s, n)),
    "from_utf8": (lambda text: text.encode(), lambda d, s, n: T.from_utf8(d, s, n)),
    "wcs_to_utf8": (lambda text: text, lambda d, s, n: T.wcs_to_utf8(d, s, n)),
}


def check_char_truncation(fn, src, one_byte_chars):
    need = fn(NULL, src, 0)
    full = full_char(fn, src)
    assert len(full) == need - 1
    # a dst with n == 0 is not written either
    sentinel = ffi.new("char[]", b"Z")
    assert fn(sentinel, src, 0) == need and sentinel[0] == b"Z"
    for n in range(0, need + 2):
        r, text, guard = call_char(fn, src, n)
        assert r == need
        assert guard == b"\xaa" * 4, f"wrote past n={n}"
        if n == 0:
            assert text is None
            continue
        assert text is not None, f"n={n}: not NUL-terminated"
        assert full.startswith(text)
        if n >= need:
            assert text == full
        elif one_byte_chars:
            assert len(text) == n - 1
        else:
            text.decode("utf-8")                   # no split sequence
            nxt = full[len(text):].decode("utf-8")[:1]
            assert len(text) + len(nxt.encode()) > n - 1, f"n={n}: stopped early"


@pytest.mark.parametrize("name", sorted(CHAR_CONVERSIONS))
@settings(max_examples=60, deadline=None)
@given(text=texts.filter(lambda t: len(t) < 40))
def test_char_conversions_truncate_on_character_boundaries(name, text):
    make_src, fn = CHAR_CONVERSIONS[name]
    check_char_truncation(fn, make_src(text), name == "from_utf8")


@pytest.mark.parametrize("name", sorted(CHAR_CONVERSIONS))
def test_char_conversions_sizes(name):
    make_src, fn = CHAR_CONVERSIONS[name]
    src = make_src("aé€😀")
    need = fn(NULL, src, 0)
    assert need == {"to_utf8": 1 + 2 + 1 + 1 + 1, "from_utf8": 5,
                    "wcs_to_utf8": 1 + 2 + 3 + 4 + 1}[name]
    r, text, _ = call_char(fn, src, need)          # exact fit
    assert r == need and len(text) == need - 1
    r, text, _ = call_char(fn, src, need - 1)      # one short: the last character goes
    assert r == need and full_char(fn, src).startswith(text) and len(text) < need - 1
    r, text, _ = call_char(fn, src, 1)              # room for the NUL only
    assert r == need and text == b""
    check_char_truncation(fn, src, name == "from_utf8")


def test_wcs_truncation_exact_example():
    src = "aé😀".encode()
    n_units = len(units_of("aé😀"))
    need = T.utf8_to_wcs(NULL, src, 0)
    assert need == n_units + 1
    r, units, guard = call_wcs(src, need)
    assert r == need and units == units_of("aé😀")
    r, units, guard = call_wcs(src, need - 1)
    # the emoji (one unit, or a surrogate pair) does not fit: it is dropped whole
    assert r == need and units == units_of("aé") and guard == [0x58] * 4
    r, units, _ = call_wcs(src, 1)
    assert units == []


@settings(max_examples=100, deadline=None)
@given(texts.filter(lambda t: len(t) < 40))
def test_utf8_to_wcs_truncation(text):
    src = text.encode()
    full = units_of(text)
    need = T.utf8_to_wcs(NULL, src, 0)
    assert need == len(full) + 1
    for n in range(0, need + 2):
        r, units, guard = call_wcs(src, n)
        assert r == need and guard == [0x58] * 4
        if n == 0:
            assert units is None
            continue
        assert units is not None and full[: len(units)] == units
        if n >= need:
            assert units == full
        else:
            # never ends on a high surrogate, and stops only when the next char does not fit
            assert not (units and 0xD800 <= units[-1] <= 0xDBFF)
            nxt = 2 if 0xD800 <= full[len(units)] <= 0xDBFF else 1
            assert len(units) + nxt > n - 1


# ---- the sanitizer driver ---------------------------------------------------------------------

REPORT_MARKERS = ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer")
SANITIZER_ENV = {
    "ASAN_OPTIONS": "detect_leaks=1 halt_on_error=1 exitcode=67",
    "UBSAN_OPTIONS": "halt_on_error=1 print_stacktrace=1 exitcode=68",
}
needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")


def build_driver(tmp_path: Path, utils_c: Path, extra: list[str]) -> Path:
    exe = tmp_path / ("utils_driver" + "".join(extra).replace("-", "_"))
    cmd = ["gcc", "-std=c11", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-O1", "-g",
           "-fsanitize=address,undefined", "-fno-omit-frame-pointer", *extra,
           "-I", str(utils_c.parent), "-I", str(ROOT / "native"),
           "-I", str(ROOT / "sdk_headers"),
           str(utils_c), str(ROOT / "tests/native/utils_driver.c"), "-o", str(exe)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return exe


def run_driver(exe: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(exe)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **SANITIZER_ENV})


@needs_gcc
@pytest.mark.parametrize("extra", [[], ["-fshort-wchar"]], ids=["wchar_t", "short-wchar"])
def test_driver_under_asan_ubsan_is_clean(tmp_path, extra):
    """Every function at every buffer edge; -fshort-wchar takes the 16-bit (Windows) path."""
    exe = build_driver(tmp_path, ROOT / "native/utils.c", extra)
    result = run_driver(exe)
    output = result.stdout + result.stderr
    assert not any(m in output for m in REPORT_MARKERS), output
    assert result.returncode == 0, output
    assert f"wchar_t bits: {16 if extra else 32}" in result.stdout
    assert "failures: 0" in result.stdout


@needs_gcc
def test_driver_catches_a_one_past_write(tmp_path):
    """The harness has teeth: letting text fill all n elements overruns dst by the NUL."""
    source = (ROOT / "native/utils.c").read_text()
    needle = "o->room = o->dst ? n - 1 : 0;"
    assert source.count(needle) == 2
    broken = tmp_path / "utils.c"
    broken.write_text(source.replace(needle, "o->room = o->dst ? n : 0;", 1))
    shutil.copy(ROOT / "native/utils.h", tmp_path / "utils.h")
    result = run_driver(build_driver(tmp_path, broken, []))
    assert result.returncode != 0
    assert "heap-buffer-overflow" in result.stderr
