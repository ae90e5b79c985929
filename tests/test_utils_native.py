"""The DCUtils host service (native/utils.c), called through the compiled cffi bridge.

The contract is the reference host's (see native/utils.h and docs/abi.md): n always counts
elements of dst. A text conversion writes the first min(len(result), n) elements of the
result -- no NUL, nothing after them -- and returns that count. to_base32 returns
ceil(8n/5) and never writes. from_base32 zero-fills exactly n bytes of dst, decodes the
NUL-terminated text into them (either case, characters outside the alphabet skipped) and
returns n.

Python's own codecs are the oracle: base64.b32encode (padding stripped), bytes.decode
("utf-8", errors="replace") -- which substitutes maximal subparts as utils.c does -- and
Latin-1. Every call is checked with n smaller than, equal to and larger than the result.
The last tests build tests/native/utils_driver.c with ASan + UBSan and run it.
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
GUARD = 4

# text without NUL (it ends the C string) and without lone surrogates (not encodable)
texts = st.text(st.characters(blacklist_characters="\0", blacklist_categories=("Cs",)))
nul_free_bytes = st.binary(max_size=200).map(lambda b: b.replace(b"\0", b""))


# ---- helpers ---------------------------------------------------------------------------

def call_char(fn, src, n):
    """A char-output conversion into n bytes followed by GUARD bytes, all pre-filled with
    0xAA. Returns (return value, the whole n + GUARD bytes)."""
    buf = ffi.new("char[]", n + GUARD)
    ffi.memmove(buf, b"\xaa" * (n + GUARD), n + GUARD)
    r = fn(buf, src, n)
    return r, ffi.buffer(buf, n + GUARD)[:]


def call_wcs(src, n):
    """utf8_to_wcs into n units plus GUARD, pre-filled with 'X': (ret, all the units)."""
    buf = ffi.new("wchar_t[]", n + GUARD)
    units = ffi.cast(f"{WCHAR_INT}*", buf)
    for i in range(n + GUARD):
        units[i] = 0x58
    r = T.utf8_to_wcs(buf, src, n)
    return r, [units[i] for i in range(n + GUARD)]


def units_of(s: str) -> list[int]:
    """The wchar_t code units of s on this platform."""
    if WCHAR_BITS == 32:
        return [ord(c) for c in s]
    data = s.encode("utf-16-le", "surrogatepass")
    return [int.from_bytes(data[i:i + 2], "little") for i in range(0, len(data), 2)]


def full_char(fn, src, room: int = 1200) -> bytes:
    """The whole result of a char-output conversion (the buffer is larger than needed)."""
    r, raw = call_char(fn, src, room)
    assert r < room
    assert raw[r:] == b"\xaa" * (room + GUARD - r)  # no NUL written after the text
    return raw[:r]


def utf8_to_wcs(src: bytes, room: int = 600) -> str:
    r, units = call_wcs(src, room)
    assert r < room and units[r:] == [0x58] * (room + GUARD - r)
    if WCHAR_BITS == 32:
        return "".join(chr(u) for u in units[:r])
    return b"".join(u.to_bytes(2, "little") for u in units[:r]).decode("utf-16-le")


def wcs_buffer(values: list[int]):
    """A NUL-terminated wchar_t array holding raw values (even invalid ones)."""
    buf = ffi.new("wchar_t[]", len(values) + 1)
    raw = ffi.cast("int32_t*" if WCHAR_BITS == 32 else "uint16_t*", buf)
    for i, v in enumerate(values):
        raw[i] = v
    return buf


def b32(data: bytes) -> str:
    return base64.b32encode(data).decode().rstrip("=")


ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def reference_decode(text: bytes, n: int) -> bytes:
    """What the reference leaves in n bytes: the 5-bit groups of the alphabet characters,
    in order, as one bit string cut or zero-padded to 8n bits."""
    bits = "".join(format(ALPHABET.index(chr(c).upper()), "05b") for c in text
                   if chr(c).upper() in ALPHABET and c < 128)
    bits = (bits + "0" * (8 * n))[: 8 * n]
    return bytes(int(bits[i:i + 8], 2) for i in range(0, 8 * n, 8))


def from_base32(text: bytes, n: int):
    """from_base32 into n bytes + GUARD pre-filled with 0xAA: (ret, n bytes, guard)."""
    buf = ffi.new("uint8_t[]", n + GUARD)
    ffi.memmove(buf, b"\xaa" * (n + GUARD), n + GUARD)
    r = T.from_base32(buf, text, n)
    raw = ffi.buffer(buf, n + GUARD)[:]
    return r, raw[:n], raw[n:]


# ---- the table ---------------------------------------------------------------------------

def test_table():
    assert T.apiVersion == 1
    assert lib.phn_utils_table() == T   # one static table
    for name in ("to_utf8", "from_utf8", "utf8_to_wcs", "wcs_to_utf8", "to_base32",
                 "from_base32"):
        assert getattr(T, name) != NULL


# ---- the count contract: min(len(result), n) elements, no NUL ----------------------------

CHAR_CONVERSIONS = {
    "to_utf8": (lambda text: text.encode("latin-1", errors="replace"),
                lambda text: text.encode("latin-1", errors="replace").decode("latin-1")
                .encode(), lambda d, s, n: T.to_utf8(d, s, n)),
    "from_utf8": (lambda text: text.encode(),
                  lambda text: "".join(c if ord(c) < 256 else "?" for c in text)
                  .encode("latin-1"), lambda d, s, n: T.from_utf8(d, s, n)),
    "wcs_to_utf8": (lambda text: text, lambda text: text.encode(),
                    lambda d, s, n: T.wcs_to_utf8(d, s, n)),
}


def check_every_n(fn, src, expected: bytes):
    """n smaller than, equal to and larger than the result: exactly min(len, n) bytes of
    the result are written, that count is returned, nothing else is touched."""
    for n in range(0, len(expected) + 3):
        r, raw = call_char(fn, src, n)
        want = min(len(expected), n)
        assert r == want, f"n={n}"
        assert raw[:r] == expected[:r], f"n={n}"
        assert raw[r:] == b"\xaa" * (n + GUARD - r), f"n={n}: wrote past the {r} copied"
    assert fn(NULL, src, 0) == 0
    assert fn(NULL, src, len(expected) + 5) == 0   # NULL dst: nothing written, 0


@pytest.mark.parametrize("name", sorted(CHAR_CONVERSIONS))
@settings(max_examples=60, deadline=None)
@given(text=texts.filter(lambda t: len(t) < 30))
def test_char_conversions_copy_min_of_len_and_n(name, text):
    make_src, oracle, fn = CHAR_CONVERSIONS[name]
    check_every_n(fn, make_src(text), oracle(text))


@pytest.mark.parametrize("name", sorted(CHAR_CONVERSIONS))
def test_char_conversions_cut_multibyte_characters_like_strncpy(name):
    make_src, oracle, fn = CHAR_CONVERSIONS[name]
    src, expected = make_src("aé€😀"), oracle("aé€😀")
    length = {"to_utf8": 1 + 2 + 1 + 1, "from_utf8": 4, "wcs_to_utf8": 1 + 2 + 3 + 4}[name]
    assert len(expected) == length
    r, raw = call_char(fn, src, length)                  # equal: the whole text, no NUL
    assert r == length and raw[:length] == expected and raw[length:] == b"\xaa" * GUARD
    r, raw = call_char(fn, src, length - 1)              # one short: the last byte goes
    assert r == length - 1 and raw[:r] == expected[:-1]
    if name == "wcs_to_utf8":                            # a 4-byte character cut after 2
        r, raw = call_char(fn, src, 1 + 2 + 3 + 2)
        assert raw[:r] == "aé€".encode() + "😀".encode()[:2]
    r, raw = call_char(fn, src, length + 10)             # larger: still only the text
    assert r == length and raw[length:] == b"\xaa" * (10 + GUARD)


def test_sdk_resize_pattern_leaves_no_trailing_nul():
    """The official C++ SDK: res.resize(hint); res.resize(util->to_utf8(&res[0], src, hint))."""
    for fn, src, text in [(T.to_utf8, b"abc", b"abc"), (T.from_utf8, b"abc", b"abc"),
                          (T.to_utf8, b"caf\xe9", "café".encode())]:
        hint = len(src) * 4
        res = ffi.new("char[]", hint)
        size = fn(res, src, hint)
        assert ffi.buffer(res, size)[:] == text and b"\0" not in ffi.buffer(res, size)[:]
    # "toUtf8(dir) + 'startup.lua'" keeps the file name
    res = ffi.new("char[]", 64)
    size = T.to_utf8(res, b"/home/u/", 64)
    assert ffi.buffer(res, size)[:] + b"startup.lua" == b"/home/u/startup.lua"


def test_utf8_to_wcs_every_n():
    src = "aé😀z".encode()
    full = units_of("aé😀z")
    for n in range(0, len(full) + 3):
        r, units = call_wcs(src, n)
        want = min(len(full), n)
        assert r == want and units[:r] == full[:r]
        assert units[r:] == [0x58] * (n + GUARD - r), f"n={n}"
    assert T.utf8_to_wcs(NULL, src, 10) == 0


@settings(max_examples=100, deadline=None)
@given(texts.filter(lambda t: len(t) < 30))
def test_utf8_to_wcs_copies_min_of_len_and_n(text):
    src, full = text.encode(), units_of(text)
    for n in range(0, len(full) + 3):
        r, units = call_wcs(src, n)
        assert r == min(len(full), n) and units[:r] == full[:r]
        assert units[r:] == [0x58] * (n + GUARD - r)


# ---- base32 ------------------------------------------------------------------------------

RFC4648 = [(b"", b""), (b"f", b"MY"), (b"fo", b"MZXQ"), (b"foo", b"MZXW6"),
           (b"foob", b"MZXW6YQ"), (b"fooba", b"MZXW6YTB"), (b"foobar", b"MZXW6YTBOI")]


@pytest.mark.parametrize("raw,text", RFC4648)
def test_base32_rfc4648_vectors(raw, text):
    assert T.to_base32(NULL, raw, len(raw)) == len(text)
    r, out, guard = from_base32(text, len(raw))
    assert r == len(raw) and out == raw and guard == b"\xaa" * GUARD
    assert from_base32(text.lower(), len(raw))[1] == raw


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=100))
def test_to_base32_returns_the_length_and_never_writes(data):
    length = (len(data) * 8 + 4) // 5
    assert length == len(b32(data))
    for n_dst in (0, len(data), length, length + 8):
        buf = ffi.new("char[]", n_dst + GUARD)
        ffi.memmove(buf, b"\xaa" * (n_dst + GUARD), n_dst + GUARD)
        assert T.to_base32(buf, data, len(data)) == length
        assert ffi.buffer(buf, n_dst + GUARD)[:] == b"\xaa" * (n_dst + GUARD)
    assert T.to_base32(NULL, data, len(data)) == length


def test_base32_tth_decodes_into_exactly_24_bytes():
    digest = bytes(range(1, 25))
    tth = b32(digest).encode()
    assert len(tth) == 39
    assert T.to_base32(NULL, digest, 24) == 39
    r, out, guard = from_base32(tth, 24)
    assert (r, out, guard) == (24, digest, b"\xaa" * GUARD)
    r, out, guard = from_base32(tth.lower(), 24)
    assert (r, out) == (24, digest)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64))
def test_from_base32_round_trips_at_every_n(data):
    text = b32(data).encode()
    for n in range(0, len(data) + 3):
        r, out, guard = from_base32(text, n)
        assert r == n and guard == b"\xaa" * GUARD, f"n={n}"
        assert out == reference_decode(text, n), f"n={n}"
        assert out[:len(data)] == data[:n]          # a prefix, zero-filled beyond
    assert from_base32(text.lower(), len(data))[1] == data


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=40), st.lists(st.sampled_from(
    [b"=", b" ", b"\t", b"\n", b"0", b"1", b"8", b"9", b"@", b"[", b"`", b"{", b"-",
     b"\x80", b"\xff", b"\xc3"]), max_size=20), st.randoms(use_true_random=False))
def test_from_base32_skips_characters_outside_the_alphabet(data, noise, rnd):
    text = bytearray(b32(data).encode())
    for junk in noise:
        pos = rnd.randint(0, len(text))
        text[pos:pos] = junk
    r, out, guard = from_base32(bytes(text), len(data))
    assert (r, out, guard) == (len(data), data, b"\xaa" * GUARD)


def test_from_base32_trailing_bits_and_padding():
    # "MZ" carries 10 bits: 'f' and then the 2 extra bits high in the next byte
    assert from_base32(b"MZ", 1)[:2] == (1, b"f")
    assert from_base32(b"MZ", 2)[:2] == (2, b"f\x40")
    assert from_base32(b"MY======", 1)[:2] == (1, b"f")     # '=' is skipped
    assert from_base32(b"", 3)[:2] == (3, b"\0\0\0")       # zero-filled
    assert from_base32(b"MZXW6YTBOI", 3)[:2] == (3, b"foo")  # stops when n bytes are full
    assert T.from_base32(NULL, b"MZXW6", 0) == 0


# ---- to_utf8 / from_utf8 (local charset = Latin-1) --------------------------------------

def test_to_utf8_vectors():
    assert full_char(T.to_utf8, b"") == b""
    assert full_char(T.to_utf8, b"hello") == b"hello"
    assert full_char(T.to_utf8, b"caf\xe9 \xff\x80") == "café \xff\x80".encode()
    assert full_char(T.to_utf8, NULL) == b""


def test_from_utf8_vectors():
    assert full_char(T.from_utf8, "café ÿ".encode()) == b"caf\xe9 \xff"
    assert full_char(T.from_utf8, "a€😀z".encode()) == b"a??z"
    assert full_char(T.from_utf8, b"ab\xe2\x82") == b"ab?"
    assert full_char(T.from_utf8, b"\xc0\xaf") == b"??"
    assert full_char(T.from_utf8, NULL) == b""


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
    assert utf8_to_wcs(NULL) == ""


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
    assert full_char(T.wcs_to_utf8, NULL) == b""


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


BREAKAGES = {
    # a character that does not fit whole is copied whole: past n
    "text": ("    if (len > room)\n        len = room;\n", "    (void)room;\n", 2),
    # from_base32 goes on after the n bytes are full
    "from_base32": ("if (++byte == n)\n                    break;", "++byte;", 1),
    # the NUL a C programmer would add after the text
    "nul": ("    return o.used;\n}\n\nstatic size_t DCAPI utils_from_utf8",
            "    if (o.dst) o.dst[o.used] = 0;\n    return o.used;\n}\n\n"
            "static size_t DCAPI utils_from_utf8", 1),
}


@needs_gcc
@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_driver_catches_writes_past_the_reference_contract(tmp_path, breakage):
    """The harness has teeth: each way of writing past what the reference writes is an
    ASan heap-buffer-overflow on the exactly sized buffers (or a failed check)."""
    needle, replacement, count = BREAKAGES[breakage]
    source = (ROOT / "native/utils.c").read_text()
    assert source.count(needle) == count, breakage
    broken = tmp_path / "utils.c"
    broken.write_text(source.replace(needle, replacement, 1))
    shutil.copy(ROOT / "native/utils.h", tmp_path / "utils.h")
    result = run_driver(build_driver(tmp_path, broken, []))
    assert result.returncode != 0
    assert "heap-buffer-overflow" in result.stderr
