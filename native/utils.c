/*
 * The DCUtils host service: charset conversions and base32, with the reference host's exact
 * contract (see utils.h): n counts elements of dst, a conversion copies the first
 * min(len(result), n) elements of the result and returns that count, nothing else is ever
 * written (no NUL). Each conversion runs one pass over src and stops once dst is full.
 */
#include <stdint.h>
#include <string.h>
#include <wchar.h>

#include "utils.h"

#define REPLACEMENT 0xFFFDu

#if WCHAR_MAX <= 0xFFFF
#  define PHN_WCHAR16 1
#else
#  define PHN_WCHAR16 0
#endif

/* ---- output cursors ---------------------------------------------------------------- */

/*
 * The reference converts the whole source into a string, then strncpy's min(len, n) of it:
 * dst receives the first n elements of the result (a multi-byte character may be cut at the
 * end), never a NUL, and the call returns how many elements it wrote. A cursor writes that
 * prefix directly and stops the conversion once dst is full.
 */
typedef struct {
    char* dst;
    size_t n;     /* capacity in elements; 0 when dst is NULL */
    size_t used;
} char_out;

typedef struct {
    wchar_t* dst;
    size_t n;
    size_t used;
} wchar_out;

static void char_out_init(char_out* o, char* dst, size_t n)
{
    o->dst = dst;
    o->n = dst ? n : 0;
    o->used = 0;
}

static int char_out_full(const char_out* o)
{
    return o->used == o->n;
}

/* Appends the bytes of one character, as many as still fit. */
static void char_out_put(char_out* o, const char* s, size_t len)
{
    size_t room = o->n - o->used;
    if (len > room)
        len = room;
    memcpy(o->dst + o->used, s, len);
    o->used += len;
}

static void wchar_out_init(wchar_out* o, wchar_t* dst, size_t n)
{
    o->dst = dst;
    o->n = dst ? n : 0;
    o->used = 0;
}

static int wchar_out_full(const wchar_out* o)
{
    return o->used == o->n;
}

static void wchar_out_put(wchar_out* o, const wchar_t* s, size_t len)
{
    size_t room = o->n - o->used;
    if (len > room)
        len = room;
    memcpy(o->dst + o->used, s, len * sizeof(wchar_t));
    o->used += len;
}

/* ---- UTF-8 ------------------------------------------------------------------------- */

/*
 * Decodes one character at *ps (which must not point at the terminating NUL) and moves
 * *ps past it. An ill-formed sequence yields REPLACEMENT and *ps moves past its maximal
 * subpart (Unicode ch. 3, "U+FFFD substitution of maximal subparts"): at least one byte,
 * and never past a byte that cannot continue the sequence -- in particular never past
 * the NUL, so a sequence cut short by the end of the string is safe.
 */
static uint32_t utf8_decode(const unsigned char** ps)
{
    const unsigned char* s = *ps;
    unsigned b0 = s[0];
    unsigned lo = 0x80, hi = 0xBF; /* allowed range of the next byte */
    uint32_t cp;
    int more;

    if (b0 < 0x80) {
        *ps = s + 1;
        return b0;
    }
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        more = 1;
        cp = b0 & 0x1Fu;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        more = 2;
        cp = b0 & 0x0Fu;
        if (b0 == 0xE0)
            lo = 0xA0; /* no overlongs */
        else if (b0 == 0xED)
            hi = 0x9F; /* no surrogates */
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        more = 3;
        cp = b0 & 0x07u;
        if (b0 == 0xF0)
            lo = 0x90; /* no overlongs */
        else if (b0 == 0xF4)
            hi = 0x8F; /* nothing above U+10FFFF */
    } else { /* continuation byte, C0, C1, F5..FF */
        *ps = s + 1;
        return REPLACEMENT;
    }

    size_t i = 1;
    for (; more > 0; more--, i++) {
        unsigned b = s[i];
        if (b < lo || b > hi) {
            *ps = s + i;
            return REPLACEMENT;
        }
        cp = (cp << 6) | (b & 0x3Fu);
        lo = 0x80;
        hi = 0xBF;
    }
    *ps = s + i;
    return cp;
}

/* Encodes a valid code point (not a surrogate, <= U+10FFFF); returns its length. */
static size_t utf8_encode(uint32_t cp, char out[4])
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* ---- the text conversions ---------------------------------------------------------- */

static size_t DCAPI utils_to_utf8(char* dst, const char* src, size_t n)
{
    char_out o;
    char_out_init(&o, dst, n);
    const unsigned char* s = (const unsigned char*)(src ? src : "");
    for (; *s && !char_out_full(&o); s++) {
        char buf[4];
        char_out_put(&o, buf, utf8_encode(*s, buf)); /* Latin-1: byte b is U+00b */
    }
    return o.used;
}

static size_t DCAPI utils_from_utf8(char* dst, const char* src, size_t n)
{
    char_out o;
    char_out_init(&o, dst, n);
    const unsigned char* s = (const unsigned char*)(src ? src : "");
    while (*s && !char_out_full(&o)) {
        uint32_t cp = utf8_decode(&s);
        char c = cp <= 0xFF ? (char)(unsigned char)cp : '?';
        char_out_put(&o, &c, 1);
    }
    return o.used;
}

static size_t DCAPI utils_utf8_to_wcs(wchar_t* dst, const char* src, size_t n)
{
    wchar_out o;
    wchar_out_init(&o, dst, n);
    const unsigned char* s = (const unsigned char*)(src ? src : "");
    while (*s && !wchar_out_full(&o)) {
        uint32_t cp = utf8_decode(&s);
#if PHN_WCHAR16
        if (cp > 0xFFFF) {
            cp -= 0x10000;
            wchar_t pair[2] = {(wchar_t)(0xD800 + (cp >> 10)), (wchar_t)(0xDC00 + (cp & 0x3FF))};
            wchar_out_put(&o, pair, 2);
            continue;
        }
#endif
        wchar_t w = (wchar_t)cp;
        wchar_out_put(&o, &w, 1);
    }
    return o.used;
}

static size_t DCAPI utils_wcs_to_utf8(char* dst, const wchar_t* src, size_t n)
{
    char_out o;
    char_out_init(&o, dst, n);
    const wchar_t* s = src ? src : L"";
    while (*s && !char_out_full(&o)) {
        uint32_t cp;
#if PHN_WCHAR16
        uint32_t u = (uint16_t)*s++;
        if (u >= 0xD800 && u <= 0xDBFF && (uint16_t)*s >= 0xDC00 && (uint16_t)*s <= 0xDFFF) {
            cp = 0x10000 + ((u - 0xD800) << 10) + ((uint32_t)(uint16_t)*s - 0xDC00);
            s++;
        } else if (u >= 0xD800 && u <= 0xDFFF) {
            cp = REPLACEMENT; /* unpaired surrogate */
        } else {
            cp = u;
        }
#else
        /* A negative (signed) wchar_t converts to a value above U+10FFFF. */
        cp = (uint32_t)*s++;
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            cp = REPLACEMENT;
#endif
        char buf[4];
        char_out_put(&o, buf, utf8_encode(cp, buf));
    }
    return o.used;
}

/* ---- base32 (RFC 4648 alphabet, no padding) ------------------------------------------ */

/* The 5-bit value of c, or -1 when c is not in the alphabet (either case). */
static int b32_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a';
    if (c >= '2' && c <= '7')
        return c - '2' + 26;
    return -1;
}

/*
 * The reference encodes, then copies the text (no NUL) only when n >= its length
 * ceil(8n / 5). That holds only for n == 0, whose encoding is empty: it never writes, and
 * neither does this. The length is all a caller gets.
 */
static size_t DCAPI utils_to_base32(char* dst, const uint8_t* src, size_t n)
{
    (void)dst;
    (void)src;
    return n / 5 * 8 + (n % 5 * 8 + 4) / 5; /* ceil(8n / 5) without overflow */
}

/*
 * Zero-fills dst[0..n), then ORs the 5-bit groups of src into it from the most significant
 * bit on, skipping characters outside the alphabet, until the NUL or until the n bytes are
 * full. A last group that straddles the end of dst leaves its high bits in the last byte.
 */
static size_t DCAPI utils_from_base32(uint8_t* dst, const char* src, size_t n)
{
    if (!dst || n == 0)
        return n;
    memset(dst, 0, n);
    if (!src)
        return n;
    size_t byte = 0;
    unsigned bit = 0; /* bits of dst[byte] already filled, 0..7 */
    for (const unsigned char* s = (const unsigned char*)src; *s; s++) {
        int v = b32_value(*s);
        if (v < 0)
            continue;
        if (bit <= 3) {
            dst[byte] |= (uint8_t)(v << (3 - bit));
            bit += 5;
            if (bit == 8) {
                bit = 0;
                if (++byte == n)
                    break;
            }
        } else {
            unsigned spill = bit - 3; /* bits of v that go to the next byte */
            dst[byte] |= (uint8_t)(v >> spill);
            if (++byte == n)
                break;
            dst[byte] |= (uint8_t)(v << (8 - spill));
            bit = spill;
        }
    }
    return n;
}

/* ---- the table ----------------------------------------------------------------------- */

static const DCUtils utils_table = {
    .apiVersion = DCINTF_DCPP_UTILS_VER,
    .to_utf8 = utils_to_utf8,
    .from_utf8 = utils_from_utf8,
    .utf8_to_wcs = utils_utf8_to_wcs,
    .wcs_to_utf8 = utils_wcs_to_utf8,
    .to_base32 = utils_to_base32,
    .from_base32 = utils_from_base32,
};

const DCUtils* phn_utils_table(void)
{
    return &utils_table;
}
