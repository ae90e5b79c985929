/*
 * iso_wire.h -- the byte encoding of isolation messages, shared by host and runner.
 *
 * A message payload is a sequence of little-endian fixed-size integers and length-prefixed
 * strings. The writer grows a heap buffer (with a small inline start); the reader never
 * reads past its end: every read checks the remaining length and, on a short or malformed
 * payload, sets `err` and returns zeros / NULL from then on. The host decodes everything a
 * runner sends with this reader, so a runner writing garbage gets refusals, never a host
 * crash.
 *
 * Strings: u32 length (ISO_NULL_STR for a NULL pointer), the bytes, then a NUL that the
 * reader checks is there, so a decoded string can be handed to C code as it is (it points
 * into the message buffer and lives as long as it).
 */
#ifndef PYHOST_ISO_WIRE_H
#define PYHOST_ISO_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ISO_NULL_STR 0xFFFFFFFFu
#define ISO_WIRE_INLINE 512

typedef struct iso_w {
    unsigned char* p;
    size_t len;
    size_t cap;
    int oom;
    unsigned char inline_buf[ISO_WIRE_INLINE];
} iso_w;

typedef struct iso_r {
    const unsigned char* p;
    const unsigned char* end;
    int err;
} iso_r;

static inline void iso_w_init(iso_w* w)
{
    w->p = w->inline_buf;
    w->len = 0;
    w->cap = sizeof w->inline_buf;
    w->oom = 0;
}

static inline void iso_w_reset(iso_w* w) { w->len = 0; }

static inline void iso_w_free(iso_w* w)
{
    if (w->p != w->inline_buf)
        free(w->p);
    iso_w_init(w);
}

static inline unsigned char* iso_w_room(iso_w* w, size_t n)
{
    if (w->oom)
        return NULL;
    if (w->len + n > w->cap) {
        size_t cap = w->cap * 2;
        while (cap < w->len + n)
            cap *= 2;
        unsigned char* fresh = malloc(cap);
        if (!fresh) {
            w->oom = 1;
            return NULL;
        }
        memcpy(fresh, w->p, w->len);
        if (w->p != w->inline_buf)
            free(w->p);
        w->p = fresh;
        w->cap = cap;
    }
    unsigned char* at = w->p + w->len;
    w->len += n;
    return at;
}

static inline void iso_w_raw(iso_w* w, const void* src, size_t n)
{
    unsigned char* at = iso_w_room(w, n);
    if (at && n)
        memcpy(at, src, n);
}

static inline void iso_w_u8(iso_w* w, uint8_t v) { iso_w_raw(w, &v, 1); }
static inline void iso_w_u32(iso_w* w, uint32_t v) { iso_w_raw(w, &v, 4); }
static inline void iso_w_u64(iso_w* w, uint64_t v) { iso_w_raw(w, &v, 8); }
static inline void iso_w_i32(iso_w* w, int32_t v) { iso_w_raw(w, &v, 4); }
static inline void iso_w_i64(iso_w* w, int64_t v) { iso_w_raw(w, &v, 8); }
static inline void iso_w_f64(iso_w* w, double v) { iso_w_raw(w, &v, 8); }
static inline void iso_w_ptr(iso_w* w, const void* p) { iso_w_u64(w, (uint64_t)(uintptr_t)p); }

/* n bytes as a string (a NUL is added); NULL src with ISO_NULL_STR length = NULL. */
static inline void iso_w_bytes(iso_w* w, const void* src, uint32_t n)
{
    iso_w_u32(w, n);
    if (n == ISO_NULL_STR)
        return;
    iso_w_raw(w, src, n);
    iso_w_u8(w, 0);
}

static inline void iso_w_str(iso_w* w, const char* s)
{
    if (!s) {
        iso_w_u32(w, ISO_NULL_STR);
        return;
    }
    size_t n = strlen(s);
    if (n >= ISO_NULL_STR)
        n = ISO_NULL_STR - 1;
    iso_w_bytes(w, s, (uint32_t)n);
}

static inline void iso_r_init(iso_r* r, const void* p, size_t n)
{
    r->p = p;
    r->end = r->p + n;
    r->err = 0;
}

static inline int iso_r_take(iso_r* r, void* dst, size_t n)
{
    if (r->err || (size_t)(r->end - r->p) < n) {
        r->err = 1;
        memset(dst, 0, n);
        return -1;
    }
    memcpy(dst, r->p, n);
    r->p += n;
    return 0;
}

static inline uint8_t iso_r_u8(iso_r* r) { uint8_t v; iso_r_take(r, &v, 1); return v; }
static inline uint32_t iso_r_u32(iso_r* r) { uint32_t v; iso_r_take(r, &v, 4); return v; }
static inline uint64_t iso_r_u64(iso_r* r) { uint64_t v; iso_r_take(r, &v, 8); return v; }
static inline int32_t iso_r_i32(iso_r* r) { int32_t v; iso_r_take(r, &v, 4); return v; }
static inline int64_t iso_r_i64(iso_r* r) { int64_t v; iso_r_take(r, &v, 8); return v; }
static inline double iso_r_f64(iso_r* r) { double v; iso_r_take(r, &v, 8); return v; }
static inline void* iso_r_ptr(iso_r* r) { return (void*)(uintptr_t)iso_r_u64(r); }

/* A string inside the buffer (NUL-terminated, checked), or NULL; *len gets its length. */
static inline const char* iso_r_bytes(iso_r* r, uint32_t* len)
{
    uint32_t n = iso_r_u32(r);
    if (len)
        *len = 0;
    if (r->err || n == ISO_NULL_STR)
        return NULL;
    if ((size_t)(r->end - r->p) < (size_t)n + 1 || r->p[n] != 0) {
        r->err = 1;
        return NULL;
    }
    const char* s = (const char*)r->p;
    r->p += (size_t)n + 1;
    if (len)
        *len = n;
    return s;
}

static inline const char* iso_r_str(iso_r* r) { return iso_r_bytes(r, NULL); }

#endif
