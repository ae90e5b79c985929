/*
 * The DCUtils host service: charset conversions and base32. See utils.h for the contract.
 *
 * Every text conversion runs one pass over src through a small output cursor that counts
 * the size needed for the whole result and copies whole characters for as long as they fit
 * in n - 1 elements; once one does not fit, nothing more is copied (so dst holds a prefix
 * of the result), but counting goes on to the end of src.
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

typedef struct {
    char* dst;    /* NULL when nothing may be written (dst NULL or n == 0) */
    size_t room;  /* elements available for text, the NUL excluded */
    size_t used;
    size_t need;  /* size of the whole result, NUL included */
    int full;     /* a character did not fit: copy nothing more */
} char_out;

typedef struct {
    wchar_t* dst;
    size_t room;
    size_t used;
    size_t need;
    int full;
} wchar_out;

static void char_out_init(char_out* o, char* dst, size_t n)
{
    o->dst = (dst && n) ? dst : NULL;
    o->room = o->dst ? n - 1 : 0;
    o->used = 0;
    o->need = 1;
    o->full = 0;
}

/* Appends one whole character of `len` (>= 1) bytes, or nothing if it does not fit. */
static void char_out_put(char_out* o, const char* s, size_t len)
{
    o->need += len;
    if (o->full)
        return;
    if (len > o->room - o->used) {
        o->full = 1;
        return;
    }
    memcpy(o->dst + o->used, s, len);
    o->used += len;
}

static size_t char_out_end(char_out* o)
{
    if (o->dst)
        o->dst[o->used] = '\0';
    return o->need;
}

static void wchar_out_init(wchar_out* o, wchar_t* dst, size_t n)
{
    o->dst = (dst && n) ? dst : NULL;
    o->room = o->dst ? n - 1 : 0;
    o->used = 0;
    o->need = 1;
    o->full = 0;
}

static void wchar_out_put(wchar_out* o, const wchar_t* s, size_t len)
{
    o->need += len;
    if (o->full)
        return;
    if (len > o->room - o->used) {
        o->full = 1;
        return;
    }
    memcpy(o->dst + o->used, s, len * sizeof(wchar_t));
    o->used += len;
}

static size_t wchar_out_end(wchar_out* o)
{
    if (o->dst)
        o->dst[o->used] = L'\0';
    return o->need;
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
    for (; *s; s++) {
        char buf[4];
        char_out_put(&o, buf, utf8_encode(*s, buf)); /* Latin-1: byte b is U+00b */
    }
    return char_out_end(&o);
}

static size_t DCAPI utils_from_utf8(char* dst, const char* src, size_t n)
{
    char_out o;
    char_out_init(&o, dst, n);
    const unsigned char* s = (const unsigned char*)(src ? src : "");
    while (*s) {
        uint32_t cp = utf8_decode(&s);
        char c = cp <= 0xFF ? (char)(unsigned char)cp : '?';
        char_out_put(&o, &c, 1);
    }
    return char_out_end(&o);
}

static size_t DCAPI utils_utf8_to_wcs(wchar_t* dst, const char* src, size_t n)
{
    wchar_out o;
    wchar_out_init(&o, dst, n);
    const unsigned char* s = (const unsigned char*)(src ? src : "");
    while (*s) {
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
    return wchar_out_end(&o);
}

static size_t DCAPI utils_wcs_to_utf8(char* dst, const wchar_t* src, size_t n)
{
    char_out o;
    char_out_init(&o, dst, n);
    const wchar_t* s = src ? src : L"";
    while (*s) {
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
    return char_out_end(&o);
}

/* ---- base32 (RFC 4648 alphabet, no padding) ------------------------------------------ */

static const char b32_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

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

static size_t DCAPI utils_to_base32(char* dst, const uint8_t* src, size_t n)
{
    size_t len = n / 5 * 8 + (n % 5 * 8 + 4) / 5; /* ceil(8n / 5) without overflow */
    if (dst) {
        uint32_t acc = 0;
        unsigned bits = 0;
        size_t o = 0;
        for (size_t i = 0; i < n; i++) {
            acc = (acc << 8) | src[i];
            bits += 8;
            while (bits >= 5) {
                bits -= 5;
                dst[o++] = b32_alphabet[(acc >> bits) & 31];
            }
            acc &= (1u << bits) - 1;
        }
        if (bits > 0)
            dst[o++] = b32_alphabet[(acc << (5 - bits)) & 31];
        dst[o] = '\0';
    }
    return len + 1;
}

static size_t DCAPI utils_from_base32(uint8_t* dst, const char* src, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (b32_value((unsigned char)src[i]) < 0)
            return 0;
    size_t out = n / 8 * 5 + n % 8 * 5 / 8; /* floor(5n / 8) without overflow */
    if (dst) {
        uint32_t acc = 0;
        unsigned bits = 0;
        size_t o = 0;
        for (size_t i = 0; i < n; i++) {
            acc = (acc << 5) | (uint32_t)b32_value((unsigned char)src[i]);
            bits += 5;
            if (bits >= 8) {
                bits -= 8;
                dst[o++] = (uint8_t)(acc >> bits);
                acc &= (1u << bits) - 1;
            }
        }
    }
    return out;
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
