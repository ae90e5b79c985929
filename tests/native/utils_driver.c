/*
 * Edge-of-buffer exercise of the DCUtils table (native/utils.c), built by
 * tests/test_utils_native.py with AddressSanitizer + UndefinedBehaviorSanitizer, once with
 * the platform wchar_t and once with -fshort-wchar (the 16-bit, surrogate-pair path).
 *
 * The contract is the reference host's: n counts elements of dst; a text conversion writes
 * the first min(len(result), n) elements of the result (no NUL) and returns that count;
 * to_base32 returns ceil(8n/5) and never writes; from_base32 fills exactly n bytes.
 *
 * Every destination is a heap block of exactly n elements (malloc(0) when n == 0) and every
 * source a heap block of exactly its string, so one element too far is an ASan report.
 * Each conversion runs with n from 0 to len + 2 (smaller than, equal to and larger than the
 * result); what it wrote is compared with the full result, and what it must not write is
 * checked through a copy of the buffer that carries sentinel elements after the n.
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

static void* xmalloc(size_t n)
{
    void* p = malloc(n);
    if (!p && n)
        abort();
    return p;
}

/* A heap copy of exactly `n` bytes, so over-reads are caught. */
static void* exact_copy(const void* src, size_t n)
{
    void* p = xmalloc(n);
    if (n)
        memcpy(p, src, n);
    return p;
}

static size_t min_size(size_t a, size_t b)
{
    return a < b ? a : b;
}

/* ---- one char-output conversion at every n ------------------------------------------- */

typedef size_t (DCAPI* char_conv)(char*, const void*, size_t);

/*
 * `src` is the exact-size source, `full` / `len` the expected whole result (no NUL).
 * For each n: an exact block of n bytes under ASan, then a block of n + 4 sentinel bytes
 * to see that only the first min(len, n) were written.
 */
static void check_char_conv(const char* what, char_conv f, const void* src, const char* full,
                            size_t len)
{
    for (size_t n = 0; n <= len + 2; n++) {
        size_t want = min_size(len, n);
        char* exact = xmalloc(n);
        size_t r = f(exact, src, n);
        CHECK(r == want, "%s: n=%zu returned %zu, expected %zu", what, n, r, want);
        CHECK(memcmp(exact, full, min_size(r, want)) == 0, "%s: n=%zu wrong text", what, n);
        free(exact);

        char* guarded = xmalloc(n + 4);
        memset(guarded, 'X', n + 4);
        r = f(guarded, src, n);
        CHECK(r == want && memcmp(guarded, full, want) == 0, "%s: n=%zu (guarded)", what, n);
        size_t touched = 0;
        for (size_t i = want; i < n + 4; i++)
            touched += guarded[i] != 'X';
        CHECK(touched == 0, "%s: n=%zu wrote %zu elements past the %zu copied (no NUL)", what,
              n, touched, want);
        free(guarded);
    }
    /* NULL dst: nothing written, 0 returned, whatever n */
    CHECK(f(NULL, src, 0) == 0 && f(NULL, src, len + 5) == 0, "%s: NULL dst", what);
}

static size_t DCAPI to_utf8_v(char* d, const void* s, size_t n) { return U->to_utf8(d, s, n); }
static size_t DCAPI from_utf8_v(char* d, const void* s, size_t n) { return U->from_utf8(d, s, n); }
static size_t DCAPI wcs_to_utf8_v(char* d, const void* s, size_t n)
{
    return U->wcs_to_utf8(d, s, n);
}

/* ---- utf8_to_wcs at every n ------------------------------------------------------------ */

/* Expands code points to the wchar_t sequence of this platform (0-terminated, malloc'd). */
static wchar_t* wide_of(const uint32_t* cps, size_t count, size_t* out_len)
{
    wchar_t* w = xmalloc((2 * count + 1) * sizeof(wchar_t));
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
    size_t len;
    wchar_t* full = wide_of(cps, count, &len);
    for (size_t n = 0; n <= len + 2; n++) {
        size_t want = min_size(len, n);
        wchar_t* exact = xmalloc(n * sizeof(wchar_t));
        size_t r = U->utf8_to_wcs(exact, src, n);
        CHECK(r == want, "%s: utf8_to_wcs n=%zu returned %zu, expected %zu", what, n, r, want);
        CHECK(memcmp(exact, full, min_size(r, want) * sizeof(wchar_t)) == 0,
              "%s: utf8_to_wcs n=%zu wrong units", what, n);
        free(exact);

        wchar_t* guarded = xmalloc((n + 4) * sizeof(wchar_t));
        for (size_t i = 0; i < n + 4; i++)
            guarded[i] = L'X';
        U->utf8_to_wcs(guarded, src, n);
        size_t touched = 0;
        for (size_t i = want; i < n + 4; i++)
            touched += guarded[i] != L'X';
        CHECK(touched == 0, "%s: utf8_to_wcs n=%zu wrote past the %zu copied", what, n, want);
        free(guarded);
    }
    CHECK(U->utf8_to_wcs(NULL, src, len + 3) == 0, "%s: utf8_to_wcs NULL dst", what);
    free(full);
    free(src);
}

/* ---- base32 ----------------------------------------------------------------------------- */

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/* The test's own encoder (bit by bit): NUL-terminated upper-case text, malloc'd. */
static char* encode(const uint8_t* data, size_t n)
{
    size_t chars = (n * 8 + 4) / 5;
    char* out = xmalloc(chars + 1);
    for (size_t c = 0; c < chars; c++) {
        unsigned v = 0;
        for (size_t b = c * 5; b < c * 5 + 5; b++) {
            unsigned bit = b < n * 8 ? (data[b / 8] >> (7 - b % 8)) & 1u : 0u;
            v = (v << 1) | bit;
        }
        out[c] = alphabet[v];
    }
    out[chars] = '\0';
    return out;
}

/* What the reference leaves in n bytes: the 5-bit groups of the alphabet characters of
 * text, in order, as a bit string cut or zero-padded to 8n bits. */
static void expected_decode(const char* text, uint8_t* out, size_t n)
{
    memset(out, 0, n);
    size_t bit = 0;
    for (const char* p = text; *p && bit < n * 8; p++) {
        const char* at = strchr(alphabet, (*p >= 'a' && *p <= 'z') ? *p - 'a' + 'A' : *p);
        if (!*p || !at)
            continue;
        unsigned v = (unsigned)(at - alphabet);
        for (int k = 4; k >= 0 && bit < n * 8; k--, bit++)
            if ((v >> k) & 1u)
                out[bit / 8] |= (uint8_t)(0x80u >> (bit % 8));
    }
}

/* from_base32 of `text` (copied to an exact heap block) into exactly n bytes, compared
 * with the expectation; a second call into a guarded, pre-filled block checks that the
 * n bytes are zero-filled first and nothing after them is written. */
static void check_decode(const char* what, const char* text, size_t n)
{
    char* src = exact_copy(text, strlen(text) + 1);
    uint8_t* want = xmalloc(n);
    expected_decode(text, want, n);

    uint8_t* exact = xmalloc(n);
    size_t r = U->from_base32(exact, src, n);
    CHECK(r == n, "%s: from_base32 n=%zu returned %zu", what, n, r);
    CHECK(n == 0 || memcmp(exact, want, n) == 0, "%s: from_base32 n=%zu bytes differ", what, n);
    free(exact);

    uint8_t* guarded = xmalloc(n + 4);
    memset(guarded, 0xA5, n + 4);
    U->from_base32(guarded, src, n);
    CHECK(n == 0 || memcmp(guarded, want, n) == 0, "%s: n=%zu not zero-filled first", what, n);
    CHECK(guarded[n] == 0xA5 && guarded[n + 1] == 0xA5 && guarded[n + 2] == 0xA5 &&
              guarded[n + 3] == 0xA5,
          "%s: from_base32 n=%zu wrote past n", what, n);
    free(guarded);
    free(want);
    free(src);
}

static void check_to_base32(size_t n, const uint8_t* data)
{
    uint8_t* src = exact_copy(data, n);
    size_t len = (n * 8 + 4) / 5;
    /* the reference's contract: a dst of n elements is never written (n < len for n > 0) */
    char* exact = xmalloc(n);
    CHECK(U->to_base32(exact, src, n) == len, "to_base32 of %zu bytes: length", n);
    free(exact);
    char* guarded = xmalloc(len + 8);
    memset(guarded, 'X', len + 8);
    CHECK(U->to_base32(guarded, src, n) == len, "to_base32 of %zu bytes", n);
    size_t touched = 0;
    for (size_t i = 0; i < len + 8; i++)
        touched += guarded[i] != 'X';
    CHECK(touched == 0, "to_base32 of %zu bytes wrote %zu chars", n, touched);
    free(guarded);
    CHECK(U->to_base32(NULL, src, n) == len, "to_base32 NULL dst, %zu bytes", n);
    free(src);
}

static uint32_t rng = 12345;
static uint8_t next_byte(void)
{
    rng = rng * 1103515245u + 12345u;
    return (uint8_t)(rng >> 16);
}

static void check_base32(void)
{
    static const char* rfc[][2] = {{"", ""},           {"f", "MY"},         {"fo", "MZXQ"},
                                   {"foo", "MZXW6"},   {"foob", "MZXW6YQ"}, {"fooba", "MZXW6YTB"},
                                   {"foobar", "MZXW6YTBOI"}};
    for (size_t i = 0; i < sizeof rfc / sizeof rfc[0]; i++) {
        size_t n = strlen(rfc[i][0]);
        char* mine = encode((const uint8_t*)rfc[i][0], n);
        CHECK(strcmp(mine, rfc[i][1]) == 0, "test encoder: %s", rfc[i][1]);
        free(mine);
        check_to_base32(n, (const uint8_t*)rfc[i][0]);
        uint8_t* out = xmalloc(n);
        char* src = exact_copy(rfc[i][1], strlen(rfc[i][1]) + 1);
        CHECK(U->from_base32(out, src, n) == n && memcmp(out, rfc[i][0], n) == 0,
              "from_base32(%s)", rfc[i][1]);
        free(src);
        free(out);
    }

    /* round trips, with every n around the data length, lower case, and noise skipped */
    for (size_t len = 0; len <= 40; len++) {
        for (int rep = 0; rep < 4; rep++) {
            uint8_t data[40];
            for (size_t i = 0; i < len; i++)
                data[i] = next_byte();
            check_to_base32(len, data);
            char* text = encode(data, len);
            size_t tn = strlen(text);

            uint8_t* back = xmalloc(len);
            char* src = exact_copy(text, tn + 1);
            CHECK(U->from_base32(back, src, len) == len && (len == 0 || !memcmp(back, data, len)),
                  "round trip of %zu bytes", len);
            free(src);
            free(back);

            for (size_t n = 0; n <= len + 2; n++)
                check_decode("round trip", text, n);

            char* lower = exact_copy(text, tn + 1);
            for (size_t i = 0; i < tn; i++)
                if (lower[i] >= 'A' && lower[i] <= 'Z')
                    lower[i] = (char)(lower[i] - 'A' + 'a');
            check_decode("lower case", lower, len);
            free(lower);

            /* characters outside the alphabet anywhere are skipped */
            static const char noise[] = "= \n0189@[`{-\x80\xff";
            char* noisy = xmalloc(2 * tn + 2);
            size_t k = 0;
            for (size_t i = 0; i < tn; i++) {
                noisy[k++] = noise[(i + (size_t)rep) % (sizeof noise - 1)];
                noisy[k++] = text[i];
            }
            noisy[k++] = '=';
            noisy[k] = '\0';
            check_decode("noise", noisy, len);
            uint8_t* out = xmalloc(len);
            char* nsrc = exact_copy(noisy, k + 1);
            CHECK(U->from_base32(out, nsrc, len) == len && (len == 0 || !memcmp(out, data, len)),
                  "noisy round trip of %zu bytes", len);
            free(nsrc);
            free(out);
            free(noisy);
            free(text);
        }
    }

    /* a TTH: 24 bytes, 39 characters, decoded into exactly 24 bytes */
    uint8_t tiger[24];
    for (size_t i = 0; i < 24; i++)
        tiger[i] = next_byte();
    char* tth = encode(tiger, 24);
    CHECK(strlen(tth) == 39, "TTH length %zu", strlen(tth));
    check_to_base32(24, tiger);
    CHECK(U->to_base32(NULL, tiger, 24) == 39, "to_base32 of a TTH");
    uint8_t* exact = xmalloc(24);
    char* src = exact_copy(tth, 40);
    CHECK(U->from_base32(exact, src, 24) == 24 && memcmp(exact, tiger, 24) == 0, "TTH decode");
    free(src);
    free(exact);
    for (size_t n = 0; n <= 26; n++)
        check_decode("TTH", tth, n);
    free(tth);

    /* the trailing bits: "MZ" is 10 bits, the last 2 land in byte 1 when n >= 2 */
    check_decode("MZ", "MZ", 2);
    {
        uint8_t two[2];
        CHECK(U->from_base32(two, "MZ", 2) == 2 && two[0] == 'f' && two[1] == 0x40, "MZ -> f@");
    }
    CHECK(U->from_base32(NULL, "MZXW6", 0) == 0, "from_base32 n == 0");
    CHECK(U->to_base32(NULL, NULL, 0) == 0, "to_base32 of nothing");
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
        check_char_conv(c->name, from_utf8_v, src, c->latin1, strlen(c->latin1));
        free(src);
        check_utf8_to_wcs(c->name, c->utf8, c->cps, c->count);

        /* code points -> wcs -> UTF-8 gives the well-formed re-encoding */
        size_t wl;
        wchar_t* w = wide_of(c->cps, c->count, &wl);
        wchar_t* wsrc = exact_copy(w, (wl + 1) * sizeof(wchar_t));
        char big[128];
        size_t ulen = U->wcs_to_utf8(big, wsrc, sizeof big);
        CHECK(ulen < sizeof big, "%s: re-encoding fits", c->name);
        char* utf8 = exact_copy(big, ulen);
        check_char_conv(c->name, wcs_to_utf8_v, wsrc, utf8, ulen);
        /* which, decoded again, gives the same code points */
        char* again = xmalloc(ulen + 1);
        memcpy(again, utf8, ulen);
        again[ulen] = '\0';
        check_utf8_to_wcs(c->name, again, c->cps, c->count);
        free(again);
        free(utf8);
        free(wsrc);
        free(w);
    }

    /* to_utf8: every Latin-1 byte, and mixes at every n */
    {
        char all[256];
        for (int b = 1; b < 256; b++)
            all[b - 1] = (char)b;
        all[255] = '\0';
        char expected[127 + 128 * 2];
        size_t k = 0;
        for (int b = 1; b < 256; b++) {
            if (b < 0x80) {
                expected[k++] = (char)b;
            } else {
                expected[k++] = (char)(0xC0 | (b >> 6));
                expected[k++] = (char)(0x80 | (b & 0x3F));
            }
        }
        char* src = exact_copy(all, 256);
        check_char_conv("to_utf8 all bytes", to_utf8_v, src, expected, sizeof expected);
        /* and back */
        char* utf8 = xmalloc(sizeof expected + 1);
        memcpy(utf8, expected, sizeof expected);
        utf8[sizeof expected] = '\0';
        char* back = xmalloc(255);
        CHECK(U->from_utf8(back, utf8, 255) == 255 && memcmp(back, all, 255) == 0,
              "Latin-1 round trip");
        free(back);
        free(utf8);
        free(src);

        const char* mixes[] = {"", "A", "\xE9", "a\xE9" "b\xFF", "\xFF\xFF\xFF", "x\xA0y"};
        const char* exp[] = {"", "A", "\xC3\xA9", "a\xC3\xA9" "b\xC3\xBF",
                             "\xC3\xBF\xC3\xBF\xC3\xBF", "x\xC2\xA0y"};
        for (size_t i = 0; i < sizeof mixes / sizeof mixes[0]; i++) {
            char* s = exact_copy(mixes[i], strlen(mixes[i]) + 1);
            check_char_conv("to_utf8", to_utf8_v, s, exp[i], strlen(exp[i]));
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
        check_char_conv("wcs_to_utf8 invalid", wcs_to_utf8_v, s, exp, strlen(exp));
        free(s);
    }

    /* NULL sources read as "" */
    {
        char one = 'Z';
        wchar_t wone = L'Z';
        CHECK(U->to_utf8(&one, NULL, 1) == 0 && U->from_utf8(&one, NULL, 1) == 0 &&
                  U->utf8_to_wcs(&wone, NULL, 1) == 0 && U->wcs_to_utf8(&one, NULL, 1) == 0 &&
                  one == 'Z' && wone == L'Z',
              "NULL sources");
    }

    check_base32();

    printf("wchar_t bits: %zu\n", sizeof(wchar_t) * 8);
    printf("checks: %ld\n", checks);
    printf("failures: %ld\n", failures);
    return failures ? 1 : 0;
}
