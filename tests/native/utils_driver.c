/*
 * Edge-of-buffer exercise of the DCUtils table (native/utils.c), built by
 * tests/test_utils_native.py with AddressSanitizer + UndefinedBehaviorSanitizer, once with
 * the platform wchar_t and once with -fshort-wchar (the 16-bit, surrogate-pair path).
 *
 * Every source and destination lives in a heap block of exactly the size the contract
 * allows (no NUL after a base32 source, destinations of exactly n elements, NULL when
 * n == 0), so any read or write one element too far is an ASan report. Each conversion is
 * run with every capacity from 0 to needed + 1 and the output is checked against the full
 * result: NUL-terminated, a prefix of it, cut on a character boundary, as long as fits.
 *
 * usage: utils_driver   (prints a summary; exit 0 when every check passed)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "utils.h"

static long checks;
static long failures;

#define CHECK(cond, ...)                                                                   \
    do {                                                                                   \
        checks++;                                                                          \
        if (!(cond)) {                                                                     \
            failures++;                                                                    \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                \
            fprintf(stderr, __VA_ARGS__);                                                  \
            fputc('\n', stderr);                                                           \
        }                                                                                  \
    } while (0)

static const DCUtils* U;

/* A heap copy of exactly `n` bytes (NULL when n == 0), so over-reads are caught. */
static void* exact_copy(const void* src, size_t n)
{
    if (n == 0)
        return NULL;
    void* p = malloc(n);
    if (!p)
        abort();
    memcpy(p, src, n);
    return p;
}

/* Length in bytes of the UTF-8 sequence starting with lead byte b (valid output only). */
static size_t utf8_len(unsigned char b)
{
    return b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
}

/* wchar_t elements of one character starting at w. */
static size_t wcs_unit_len(const wchar_t* w)
{
#if WCHAR_MAX <= 0xFFFF
    return ((uint16_t)*w >= 0xD800 && (uint16_t)*w <= 0xDBFF) ? 2 : 1;
#else
    (void)w;
    return 1;
#endif
}

/* ---- checks of one char-output conversion at every capacity --------------------------- */

/*
 * `src` is the exact-size source; `full` the expected result (NULL: trust the n == need
 * call). `unit` is 1 when every output character is one byte (from_utf8), else 0
 * (UTF-8 output).
 */
static void check_char_conv(const char* what, size_t (DCAPI* f)(char*, const void*, size_t),
                            const void* src, const char* expected, int one_byte_chars)
{
    size_t need = f(NULL, src, 0);
    CHECK(need >= 1, "%s: need %zu", what, need);

    char* full = malloc(need);
    if (!full)
        abort();
    CHECK(f(full, src, need) == need, "%s: exact fit", what);
    CHECK(full[need - 1] == '\0' && strlen(full) == need - 1, "%s: full result length", what);
    if (expected)
        CHECK(strcmp(full, expected) == 0, "%s: full result differs", what);
    /* A non-NULL dst with n == 0 must not be written either. */
    char sentinel = 'Z';
    CHECK(f(&sentinel, src, 0) == need && sentinel == 'Z', "%s: n == 0 wrote", what);

    for (size_t n = 0; n <= need + 1; n++) {
        char* dst = n ? malloc(n) : NULL;
        if (n && !dst)
            abort();
        if (dst)
            memset(dst, 'X', n);
        size_t r = f(dst, src, n);
        CHECK(r == need, "%s: n=%zu returned %zu, need %zu", what, n, r, need);
        if (n > 0) {
            const char* nul = memchr(dst, '\0', n);
            size_t len = nul ? (size_t)(nul - dst) : n;
            CHECK(len < n, "%s: n=%zu not NUL-terminated", what, n);
            if (len < n) {
                CHECK(memcmp(dst, full, len) == 0, "%s: n=%zu not a prefix", what, n);
                if (n >= need) {
                    CHECK(len == need - 1, "%s: n=%zu fits but truncated", what, n);
                } else if (one_byte_chars) {
                    CHECK(len == n - 1, "%s: n=%zu len %zu", what, n, len);
                } else {
                    /* whole characters only, and as many as fit */
                    unsigned char next = (unsigned char)full[len];
                    CHECK(next < 0x80 || next >= 0xC0, "%s: n=%zu split sequence", what, n);
                    CHECK(len + utf8_len(next) > n - 1, "%s: n=%zu stopped early", what, n);
                }
            }
        }
        free(dst);
    }
    free(full);
}

static size_t DCAPI to_utf8_v(char* d, const void* s, size_t n) { return U->to_utf8(d, s, n); }
static size_t DCAPI from_utf8_v(char* d, const void* s, size_t n) { return U->from_utf8(d, s, n); }
static size_t DCAPI wcs_to_utf8_v(char* d, const void* s, size_t n)
{
    return U->wcs_to_utf8(d, s, n);
}

/* ---- utf8_to_wcs at every capacity ------------------------------------------------------ */

/* Expands code points to the wchar_t sequence of this platform (0-terminated, malloc'd). */
static wchar_t* wide_of(const uint32_t* cps, size_t count, size_t* out_len)
{
    wchar_t* w = malloc((2 * count + 1) * sizeof(wchar_t));
    if (!w)
        abort();
    size_t k = 0;
    for (size_t i = 0; i < count; i++) {
#if WCHAR_MAX <= 0xFFFF
        if (cps[i] > 0xFFFF) {
            w[k++] = (wchar_t)(0xD800 + ((cps[i] - 0x10000) >> 10));
            w[k++] = (wchar_t)(0xDC00 + ((cps[i] - 0x10000) & 0x3FF));
            continue;
        }
#endif
        w[k++] = (wchar_t)cps[i];
    }
    w[k] = 0;
    *out_len = k;
    return w;
}

static void check_utf8_to_wcs(const char* what, const char* utf8, const uint32_t* cps,
                              size_t count)
{
    char* src = exact_copy(utf8, strlen(utf8) + 1);
    size_t exp_len;
    wchar_t* expected = wide_of(cps, count, &exp_len);
    size_t need = U->utf8_to_wcs(NULL, src, 0);
    CHECK(need == exp_len + 1, "%s: need %zu, expected %zu", what, need, exp_len + 1);

    for (size_t n = 0; n <= need + 1; n++) {
        wchar_t* dst = n ? malloc(n * sizeof(wchar_t)) : NULL;
        if (n && !dst)
            abort();
        for (size_t i = 0; i < n; i++)
            dst[i] = L'X';
        size_t r = U->utf8_to_wcs(dst, src, n);
        CHECK(r == need, "%s: n=%zu returned %zu", what, n, r);
        if (n > 0) {
            size_t len = 0;
            while (len < n && dst[len])
                len++;
            CHECK(len < n, "%s: n=%zu not NUL-terminated", what, n);
            if (len < n) {
                CHECK(len <= exp_len && memcmp(dst, expected, len * sizeof(wchar_t)) == 0,
                      "%s: n=%zu not a prefix", what, n);
                if (n >= need)
                    CHECK(len == exp_len, "%s: n=%zu fits but truncated", what, n);
                else
                    CHECK(len + wcs_unit_len(expected + len) > n - 1,
                          "%s: n=%zu stopped early", what, n);
                CHECK(len == 0 || wcs_unit_len(dst + len - 1) == 1,
                      "%s: n=%zu split a surrogate pair", what, n);
            }
        }
        free(dst);
    }
    free(expected);
    free(src);
}

/* ---- base32 ---------------------------------------------------------------------------- */

static void check_base32_vector(const char* raw, const char* text)
{
    size_t n = strlen(raw), tn = strlen(text);
    uint8_t* src = exact_copy(raw, n);
    CHECK(U->to_base32(NULL, src, n) == tn + 1, "to_base32 size of \"%s\"", raw);
    char* dst = malloc(tn + 1);
    if (!dst)
        abort();
    CHECK(U->to_base32(dst, src, n) == tn + 1 && strcmp(dst, text) == 0,
          "to_base32(\"%s\") = \"%s\", expected \"%s\"", raw, dst, text);

    char* enc = exact_copy(text, tn); /* no NUL: from_base32 must read exactly tn chars */
    CHECK(U->from_base32(NULL, enc, tn) == n, "from_base32 size of \"%s\"", text);
    uint8_t* out = n ? malloc(n) : NULL;
    CHECK(U->from_base32(out, enc, tn) == n && (n == 0 || memcmp(out, raw, n) == 0),
          "from_base32(\"%s\")", text);
    free(out);
    free(enc);
    free(dst);
    free(src);
}

static uint32_t rng = 12345;
static uint8_t next_byte(void)
{
    rng = rng * 1103515245u + 12345u;
    return (uint8_t)(rng >> 16);
}

static void check_base32_round_trips(void)
{
    for (size_t len = 0; len <= 64; len++) {
        for (int rep = 0; rep < 8; rep++) {
            uint8_t tmp[64];
            for (size_t i = 0; i < len; i++)
                tmp[i] = next_byte();
            uint8_t* src = exact_copy(tmp, len);
            size_t need = U->to_base32(NULL, src, len);
            CHECK(need == (len * 8 + 4) / 5 + 1, "to_base32 size for %zu bytes", len);
            char* text = malloc(need);
            if (!text)
                abort();
            CHECK(U->to_base32(text, src, len) == need, "to_base32 return");
            CHECK(strlen(text) == need - 1, "to_base32 length for %zu bytes", len);

            char* enc = exact_copy(text, need - 1);
            size_t back = U->from_base32(NULL, enc, need - 1);
            CHECK(back == len, "from_base32 size %zu for %zu bytes", back, len);
            uint8_t* out = back ? malloc(back) : NULL;
            CHECK(U->from_base32(out, enc, need - 1) == len &&
                      (len == 0 || memcmp(out, tmp, len) == 0),
                  "round trip of %zu bytes", len);
            free(out);

            /* lower case decodes the same */
            for (size_t i = 0; i + 1 < need; i++)
                if (enc[i] >= 'A' && enc[i] <= 'Z')
                    enc[i] = (char)(enc[i] - 'A' + 'a');
            out = back ? malloc(back) : NULL;
            CHECK(U->from_base32(out, enc, need - 1) == len &&
                      (len == 0 || memcmp(out, tmp, len) == 0),
                  "lower-case round trip of %zu bytes", len);
            free(out);

            /* an invalid character anywhere: 0, nothing written */
            if (rep == 0 && need > 1) {
                static const char bad[] = {'=', ' ', '\n', '0', '1', '8', '9', '@', '[',
                                           '`', '{', '\0', (char)0x80, (char)0xFF};
                for (size_t pos = 0; pos + 1 < need; pos++) {
                    char saved = enc[pos];
                    enc[pos] = bad[pos % sizeof bad];
                    uint8_t* guard = malloc(len + 1);
                    if (!guard)
                        abort();
                    memset(guard, 0xA5, len + 1);
                    size_t r = U->from_base32(guard, enc, need - 1);
                    int untouched = 1;
                    for (size_t i = 0; i < len + 1; i++)
                        untouched &= guard[i] == 0xA5;
                    CHECK(r == 0 && untouched, "invalid char 0x%02x at %zu of %zu",
                          (unsigned char)enc[pos], pos, need - 1);
                    enc[pos] = saved;
                    free(guard);
                }
            }
            free(enc);
            free(text);
            free(src);
        }
    }
    CHECK(U->to_base32(NULL, NULL, 0) == 1, "to_base32 of nothing");
    char one = 'X';
    CHECK(U->to_base32(&one, NULL, 0) == 1 && one == '\0', "to_base32 of nothing writes NUL");
    CHECK(U->from_base32(NULL, NULL, 0) == 0, "from_base32 of nothing");
}

/* ---- main ------------------------------------------------------------------------------ */

struct utf8_case {
    const char* name;
    const char* utf8;
    uint32_t cps[16];
    size_t count;
    const char* latin1; /* expected from_utf8 */
};

int main(void)
{
    U = phn_utils_table();
    CHECK(U->apiVersion == 1, "apiVersion %u", (unsigned)U->apiVersion);

    static const struct utf8_case cases[] = {
        {"empty", "", {0}, 0, ""},
        {"ascii", "hello", {'h', 'e', 'l', 'l', 'o'}, 5, "hello"},
        {"latin1", "caf\xC3\xA9 \xC3\xBF", {'c', 'a', 'f', 0xE9, ' ', 0xFF}, 6, "caf\xE9 \xFF"},
        {"mixed widths", "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80z",
         {'a', 0xE9, 0x20AC, 0x1F600, 'z'}, 5, "a\xE9??z"},
        {"only 4-byte", "\xF0\x9F\x98\x80\xF0\x9F\x98\x81\xF4\x8F\xBF\xBF",
         {0x1F600, 0x1F601, 0x10FFFF}, 3, "???"},
        {"3-byte edges", "\xE0\xA0\x80\xEF\xBF\xBF\xED\x9F\xBF\xEE\x80\x80",
         {0x800, 0xFFFF, 0xD7FF, 0xE000}, 4, "????"},
        {"truncated 3 at end", "ab\xE2\x82", {'a', 'b', 0xFFFD}, 3, "ab?"},
        {"truncated 4 at end", "\xF0\x9F\x98", {0xFFFD}, 1, "?"},
        {"lone lead at end", "x\xC3", {'x', 0xFFFD}, 2, "x?"},
        {"truncated then ascii", "\xE2\x82" "A", {0xFFFD, 'A'}, 2, "?A"},
        {"stray continuation", "\x80\xBF" "a", {0xFFFD, 0xFFFD, 'a'}, 3, "??a"},
        {"overlong 2", "\xC0\xAF\xC1\xBF", {0xFFFD, 0xFFFD, 0xFFFD, 0xFFFD}, 4, "????"},
        {"overlong 3", "\xE0\x80\xAF", {0xFFFD, 0xFFFD, 0xFFFD}, 3, "???"},
        {"overlong 4", "\xF0\x80\x80\xAF", {0xFFFD, 0xFFFD, 0xFFFD, 0xFFFD}, 4, "????"},
        {"surrogate", "\xED\xA0\x80" "b", {0xFFFD, 0xFFFD, 0xFFFD, 'b'}, 4, "???b"},
        {"above 10FFFF", "\xF4\x90\x80\x80", {0xFFFD, 0xFFFD, 0xFFFD, 0xFFFD}, 4, "????"},
        {"F5..FF", "\xF5\xFE\xFF", {0xFFFD, 0xFFFD, 0xFFFD}, 3, "???"},
        {"bad second byte", "\xE2" "A\xF0\x9F" "B", {0xFFFD, 'A', 0xFFFD, 'B'}, 4, "?A?B"},
        {"U+FFFD itself", "\xEF\xBF\xBD", {0xFFFD}, 1, "?"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct utf8_case* c = &cases[i];
        char* src = exact_copy(c->utf8, strlen(c->utf8) + 1);
        check_char_conv(c->name, from_utf8_v, src, c->latin1, 1);
        free(src);
        check_utf8_to_wcs(c->name, c->utf8, c->cps, c->count);

        /* code points -> wcs -> UTF-8 gives the well-formed re-encoding */
        size_t wl;
        wchar_t* w = wide_of(c->cps, c->count, &wl);
        wchar_t* wsrc = exact_copy(w, (wl + 1) * sizeof(wchar_t));
        size_t need = U->wcs_to_utf8(NULL, wsrc, 0);
        char* utf8 = malloc(need);
        if (!utf8)
            abort();
        U->wcs_to_utf8(utf8, wsrc, need);
        check_char_conv(c->name, wcs_to_utf8_v, wsrc, utf8, 0);
        /* which, decoded again, gives the same code points */
        check_utf8_to_wcs(c->name, utf8, c->cps, c->count);
        free(utf8);
        free(wsrc);
        free(w);
    }

    /* to_utf8: every Latin-1 byte, and mixes at all capacities */
    {
        char all[256];
        for (int b = 1; b < 256; b++)
            all[b - 1] = (char)b;
        all[255] = '\0';
        char* src = exact_copy(all, 256);
        check_char_conv("to_utf8 all bytes", to_utf8_v, src, NULL, 0);
        CHECK(U->to_utf8(NULL, src, 0) == 127 + 128 * 2 + 1, "to_utf8 size of all bytes");
        /* and back */
        size_t need = U->to_utf8(NULL, src, 0);
        char* utf8 = malloc(need);
        char* back = malloc(256);
        if (!utf8 || !back)
            abort();
        U->to_utf8(utf8, src, need);
        CHECK(U->from_utf8(back, utf8, 256) == 256 && memcmp(back, all, 256) == 0,
              "Latin-1 round trip");
        free(back);
        free(utf8);
        free(src);

        const char* mixes[] = {"", "A", "\xE9", "a\xE9" "b\xFF", "\xFF\xFF\xFF", "x\xA0y"};
        const char* exp[] = {"", "A", "\xC3\xA9", "a\xC3\xA9" "b\xC3\xBF",
                             "\xC3\xBF\xC3\xBF\xC3\xBF", "x\xC2\xA0y"};
        for (size_t i = 0; i < sizeof mixes / sizeof mixes[0]; i++) {
            char* s = exact_copy(mixes[i], strlen(mixes[i]) + 1);
            check_char_conv("to_utf8", to_utf8_v, s, exp[i], 0);
            free(s);
        }
    }

    /* wcs_to_utf8: invalid code points become U+FFFD */
    {
#if WCHAR_MAX <= 0xFFFF
        static const wchar_t bad[] = {'a', 0xD800, 'b', 0xDC00, 0xDBFF, 0xDFFF, 0xD83D, 0};
        const char* exp = "a\xEF\xBF\xBD" "b\xEF\xBF\xBD\xF4\x8F\xBF\xBF\xEF\xBF\xBD";
#else
        static const wchar_t bad[] = {'a', (wchar_t)0xD800, 'b', (wchar_t)0xDFFF,
                                      (wchar_t)0x110000, (wchar_t)-1, (wchar_t)0x10FFFF, 0};
        const char* exp = "a\xEF\xBF\xBD" "b\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xF4\x8F\xBF\xBF";
#endif
        wchar_t* s = exact_copy(bad, sizeof bad);
        check_char_conv("wcs_to_utf8 invalid", wcs_to_utf8_v, s, exp, 0);
        free(s);
    }

    /* NULL sources read as "" */
    CHECK(U->to_utf8(NULL, NULL, 0) == 1 && U->from_utf8(NULL, NULL, 0) == 1 &&
              U->utf8_to_wcs(NULL, NULL, 0) == 1 && U->wcs_to_utf8(NULL, NULL, 0) == 1,
          "NULL sources");
    /* NULL dst with n > 0 is treated as n == 0 */
    CHECK(U->to_utf8(NULL, "\xE9", 5) == 3 && U->utf8_to_wcs(NULL, "ab", 5) == 3,
          "NULL dst with n > 0");

    static const char* rfc[][2] = {{"", ""},           {"f", "MY"},         {"fo", "MZXQ"},
                                   {"foo", "MZXW6"},   {"foob", "MZXW6YQ"}, {"fooba", "MZXW6YTB"},
                                   {"foobar", "MZXW6YTBOI"}};
    for (size_t i = 0; i < sizeof rfc / sizeof rfc[0]; i++)
        check_base32_vector(rfc[i][0], rfc[i][1]);
    check_base32_round_trips();

    printf("wchar_t bits: %zu\n", sizeof(wchar_t) * 8);
    printf("checks: %ld\n", checks);
    printf("failures: %ld\n", failures);
    return failures ? 1 : 0;
}
