/*
 * utils.h -- the DCUtils host service ("dcpp.utils.DCUtils", apiVersion 1).
 *
 * Pure functions: no allocation, no global state, safe from any thread. The contract is the
 * reference host's (DC++, core API 8), exactly, because plugins are written against it:
 *
 * ---- the text conversions: to_utf8, from_utf8, utf8_to_wcs, wcs_to_utf8 ----------------
 *
 *   size_t f(T* dst, const S* src, size_t n);
 *
 *   src  a NUL-terminated string (char, or wchar_t for wcs_to_utf8). NULL is read as "".
 *   n    a count of elements of dst (bytes; wchar_t for utf8_to_wcs), never of src.
 *
 *   Converts the whole of src, then writes the first min(len(result), n) elements of the
 *   result to dst -- strncpy / wcsncpy with that count -- and returns that count. NO
 *   terminating NUL is written and none is counted, and nothing past those elements is
 *   touched. A multi-byte character that does not fit whole is cut (its first bytes are
 *   written). The SDK's pattern is therefore
 *       s.resize(hint); s.resize(f(&s[0], src, hint));
 *   which leaves exactly the converted text in s (no trailing NUL). A NULL dst writes
 *   nothing and returns 0 (the reference would crash).
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
 * ---- base32: to_base32, from_base32 (RFC 4648 alphabet "A-Z2-7", no padding) -----------
 *
 *   size_t to_base32(char* dst, const uint8_t* src, size_t n);
 *     src holds n bytes. Returns the length of their encoding, ceil(8 * n / 5) (no NUL
 *     counted). The reference copies the encoding into dst only when n >= that length,
 *     i.e. only for n == 0 (an empty encoding): it never writes dst, and neither does this.
 *
 *   size_t from_base32(uint8_t* dst, const char* src, size_t n);
 *     n is the size of dst. Zero-fills the n bytes of dst, then decodes the NUL-terminated
 *     src into them (letters in either case; characters outside the alphabet -- '=',
 *     whitespace, '0', '1', '8', '9', ... -- are skipped) until src ends or the n bytes are
 *     full. Returns n. A 39-character TTH fills 24 bytes. The bits of a last character that
 *     straddles a byte boundary go into that last byte when it is within n.
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
