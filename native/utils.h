/*
 * utils.h -- the DCUtils host service ("dcpp.utils.DCUtils", apiVersion 1).
 *
 * Pure functions: no allocation, no global state, safe from any thread.
 *
 * ---- the text conversions: to_utf8, from_utf8, utf8_to_wcs, wcs_to_utf8 ----------------
 *
 *   size_t f(T* dst, const S* src, size_t n);
 *
 *   src  a NUL-terminated string (char, or wchar_t for wcs_to_utf8). NULL is read as "".
 *   n    the CAPACITY of dst, in elements of dst (bytes; wchar_t for utf8_to_wcs).
 *   dst  may be NULL when n == 0 (a NULL dst is always treated as n == 0).
 *
 *   Returns the size dst needs for the FULL result INCLUDING the terminating NUL, in
 *   elements of dst (always >= 1), whatever n is. The result was truncated iff the
 *   return value > n. Usual pattern: size = f(NULL, src, 0); buf = alloc(size);
 *   f(buf, src, size).
 *
 *   Writes at most n elements. When n > 0, dst is always NUL-terminated: it receives the
 *   longest prefix of whole characters that fits in n - 1 elements, then a NUL. A UTF-8
 *   sequence (or a UTF-16 surrogate pair where wchar_t is 16 bits) is never split.
 *   Nothing is written when n == 0.
 *
 *   to_utf8      local charset -> UTF-8. The local charset of pyhost is Latin-1
 *                (ISO-8859-1): each byte b becomes U+00b (1 or 2 UTF-8 bytes).
 *   from_utf8    UTF-8 -> Latin-1. Each character outside Latin-1 (> U+00FF), and each
 *                invalid UTF-8 sequence, becomes one '?'.
 *   utf8_to_wcs  UTF-8 -> wchar_t (UTF-32 when wchar_t is 32 bits, as on Linux; UTF-16
 *                with surrogate pairs when it is 16 bits, as on Windows).
 *   wcs_to_utf8  wchar_t -> UTF-8. Invalid code points (surrogates, > U+10FFFF, negative
 *                values; with 16-bit wchar_t: unpaired surrogates) become U+FFFD (EF BF BD).
 *
 *   Invalid UTF-8 input (stray continuation bytes, C0/C1/F5..FF, overlong forms, encoded
 *   surrogates, code points > U+10FFFF, sequences cut short) is replaced following the
 *   Unicode "maximal subpart" practice: each maximal ill-formed subpart becomes one U+FFFD
 *   (one '?' for from_utf8), and decoding resumes at the next byte that cannot continue
 *   it. E.g. "\xE2\x82" + "A" -> U+FFFD 'A'; "\xC0\xAF" -> U+FFFD U+FFFD.
 *
 * ---- base32: to_base32, from_base32 -----------------------------------------------------
 *
 *   Here n is the LENGTH OF THE INPUT, not the capacity of dst (this is how DC++ plugins
 *   call them). The caller asks the size first (dst == NULL) and provides a large enough
 *   dst. RFC 4648 alphabet "A-Z2-7", no padding (as in DC's TTH strings).
 *
 *   size_t to_base32(char* dst, const uint8_t* src, size_t n);
 *     Encodes the n bytes at src (src may be NULL when n == 0). Returns the text length
 *     + 1, i.e. ceil(8 * n / 5) + 1. When dst is not NULL writes exactly that many chars:
 *     the upper-case text and a NUL. The last character carries the remaining bits of the
 *     input padded with zero bits; no '=' padding is written.
 *
 *   size_t from_base32(uint8_t* dst, const char* src, size_t n);
 *     Decodes the n chars at src (src need not be NUL-terminated; src may be NULL when
 *     n == 0). Letters are case-insensitive. Returns the decoded byte count,
 *     floor(5 * n / 8), and writes exactly that many bytes to dst when dst is not NULL
 *     (no NUL is added). Trailing bits that do not make a whole byte are ignored.
 *     Any character outside the alphabet -- including whitespace, '=', and NUL -- makes it
 *     return 0 and write nothing (0 is also the answer for n == 0).
 */
#ifndef PYHOST_UTILS_H
#define PYHOST_UTILS_H

#include "dcplugin.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The static DCUtils table (apiVersion DCINTF_DCPP_UTILS_VER == 1). */
const DCUtils* phn_utils_table(void);

#ifdef __cplusplus
}
#endif

#endif
