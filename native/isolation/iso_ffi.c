/*
 * Forwarded interface tables and fixed-signature closures, with libffi (iso_ffi.h).
 */
#define _GNU_SOURCE
#include <ffi.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "iso_ffi.h"

typedef union iso_arg {
    int8_t b;
    uint8_t B;
    int16_t h;
    uint16_t H;
    int32_t i;
    uint32_t I;
    int64_t q;
    uint64_t Q;
    float f;
    double d;
    const char* s;
    ffi_arg widened;   /* libffi returns narrow integers widened to ffi_arg */
} iso_arg;

typedef struct iso_slot {
    char codes[ISO_FFI_MAX_ARGS + 3];
    char ret;
    int nargs;
    char args[ISO_FFI_MAX_ARGS];
    ffi_type* types[ISO_FFI_MAX_ARGS];
    ffi_cif cif;
    ffi_closure* closure;
    void* code;
    char* kept[ISO_FFI_KEEP];
    unsigned next_kept;
    struct iso_ftable* owner;
    int index;
} iso_slot;

struct iso_ftable {
    void** table;         /* [0] holds apiVersion in its low 32 bits, then the slots */
    int nslots;
    char* codes;
    iso_ftable_send send;
    void* ctx;
    pthread_mutex_t lock; /* the kept strings */
    iso_slot slots[];
};

static ffi_type* type_of(char c)
{
    switch (c) {
    case 'b': return &ffi_type_sint8;
    case 'B': return &ffi_type_uint8;
    case 'h': return &ffi_type_sint16;
    case 'H': return &ffi_type_uint16;
    case 'i': return &ffi_type_sint32;
    case 'I': return &ffi_type_uint32;
    case 'q': return &ffi_type_sint64;
    case 'Q': return &ffi_type_uint64;
    case 'f': return &ffi_type_float;
    case 'd': return &ffi_type_double;
    case 's': return &ffi_type_pointer;
    case 'v': return &ffi_type_void;
    default: return NULL;
    }
}

/* Parses one "r:args" entry of at most `n` characters. */
static int parse_slot(const char* p, size_t n, iso_slot* s)
{
    if (n < 2 || p[1] != ':' || n - 2 > ISO_FFI_MAX_ARGS || !type_of(p[0]))
        return -1;
    memset(s->codes, 0, sizeof s->codes);
    memcpy(s->codes, p, n);
    s->ret = p[0];
    s->nargs = (int)(n - 2);
    for (int i = 0; i < s->nargs; ++i) {
        char c = p[2 + i];
        if (c == 'v' || !type_of(c))
            return -1;
        s->args[i] = c;
        s->types[i] = type_of(c);
    }
    if (ffi_prep_cif(&s->cif, FFI_DEFAULT_ABI, (unsigned)s->nargs, type_of(s->ret),
                     s->nargs ? s->types : NULL) != FFI_OK)
        return -1;
    return 0;
}

int iso_sig_slots(const char* codes)
{
    if (!codes)
        return -1;
    int n = 0;
    const char* p = codes;
    while (*p) {
        const char* end = strchr(p, ';');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        iso_slot s;
        if (parse_slot(p, len, &s) != 0)
            return -1;
        if (++n > ISO_FFI_MAX_SLOTS)
            return -1;
        p += len;
        if (*p == ';')
            ++p;
    }
    return n;
}

int iso_sig_slot(const char* codes, int slot, char* buf, size_t n)
{
    const char* p = codes;
    for (int i = 1; p && *p; ++i) {
        const char* end = strchr(p, ';');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (i == slot) {
            if (len + 1 > n)
                return -1;
            memcpy(buf, p, len);
            buf[len] = 0;
            return 0;
        }
        p = end ? end + 1 : NULL;
    }
    return -1;
}

/* ---- values <-> wire ------------------------------------------------------------------- */

static void put_arg(iso_w* w, char c, const void* value)
{
    switch (c) {
    case 'b': iso_w_i64(w, *(const int8_t*)value); break;
    case 'B': iso_w_u64(w, *(const uint8_t*)value); break;
    case 'h': iso_w_i64(w, *(const int16_t*)value); break;
    case 'H': iso_w_u64(w, *(const uint16_t*)value); break;
    case 'i': iso_w_i64(w, *(const int32_t*)value); break;
    case 'I': iso_w_u64(w, *(const uint32_t*)value); break;
    case 'q': iso_w_i64(w, *(const int64_t*)value); break;
    case 'Q': iso_w_u64(w, *(const uint64_t*)value); break;
    case 'f': iso_w_f64(w, *(const float*)value); break;
    case 'd': iso_w_f64(w, *(const double*)value); break;
    case 's': iso_w_str(w, *(const char* const*)value); break;
    default: break;
    }
}

static void get_arg(iso_r* r, char c, iso_arg* a)
{
    memset(a, 0, sizeof *a);
    switch (c) {
    case 'b': a->b = (int8_t)iso_r_i64(r); break;
    case 'B': a->B = (uint8_t)iso_r_u64(r); break;
    case 'h': a->h = (int16_t)iso_r_i64(r); break;
    case 'H': a->H = (uint16_t)iso_r_u64(r); break;
    case 'i': a->i = (int32_t)iso_r_i64(r); break;
    case 'I': a->I = (uint32_t)iso_r_u64(r); break;
    case 'q': a->q = iso_r_i64(r); break;
    case 'Q': a->Q = iso_r_u64(r); break;
    case 'f': a->f = (float)iso_r_f64(r); break;
    case 'd': a->d = iso_r_f64(r); break;
    case 's': a->s = iso_r_str(r); break;
    default: break;
    }
}

/* Writes a result the way libffi expects it: narrow integers widened to ffi_arg. */
static void store_result(char c, const iso_arg* a, void* ret)
{
    switch (c) {
    case 'b': *(ffi_sarg*)ret = a->b; break;
    case 'B': *(ffi_arg*)ret = a->B; break;
    case 'h': *(ffi_sarg*)ret = a->h; break;
    case 'H': *(ffi_arg*)ret = a->H; break;
    case 'i': *(ffi_sarg*)ret = a->i; break;
    case 'I': *(ffi_arg*)ret = a->I; break;
    case 'q': *(int64_t*)ret = a->q; break;
    case 'Q': *(uint64_t*)ret = a->Q; break;
    case 'f': *(float*)ret = a->f; break;
    case 'd': *(double*)ret = a->d; break;
    case 's': *(const char**)ret = a->s; break;
    default: break;
    }
}

static void load_result(char c, const void* ret, iso_arg* a)
{
    memset(a, 0, sizeof *a);
    switch (c) {
    case 'b': a->b = (int8_t)*(const ffi_sarg*)ret; break;
    case 'B': a->B = (uint8_t)*(const ffi_arg*)ret; break;
    case 'h': a->h = (int16_t)*(const ffi_sarg*)ret; break;
    case 'H': a->H = (uint16_t)*(const ffi_arg*)ret; break;
    case 'i': a->i = (int32_t)*(const ffi_sarg*)ret; break;
    case 'I': a->I = (uint32_t)*(const ffi_arg*)ret; break;
    case 'q': a->q = *(const int64_t*)ret; break;
    case 'Q': a->Q = *(const uint64_t*)ret; break;
    case 'f': a->f = *(const float*)ret; break;
    case 'd': a->d = *(const double*)ret; break;
    case 's': a->s = *(const char* const*)ret; break;
    default: break;
    }
}

static void put_value(iso_w* w, char c, const iso_arg* a) { put_arg(w, c, a); }

/* ---- tables of closures ------------------------------------------------------------- */

static void slot_entry(ffi_cif* cif, void* ret, void** args, void* user)
{
    (void)cif;
    iso_slot* s = user;
    iso_ftable* t = s->owner;
    iso_w w;
    iso_w_init(&w);
    for (int i = 0; i < s->nargs; ++i)
        put_arg(&w, s->args[i], args[i]);
    iso_msg reply;
    iso_msg_init(&reply);
    iso_arg result;
    memset(&result, 0, sizeof result);
    if (t->send(t, s->index, s->codes, &w, &reply) == ISO_OK && s->ret != 'v') {
        iso_r r;
        iso_msg_reader(&reply, &r);
        get_arg(&r, s->ret, &result);
        if (r.err) {
            memset(&result, 0, sizeof result);
        } else if (s->ret == 's' && result.s) {
            size_t n = strlen(result.s) + 1;
            char* copy = malloc(n);
            if (copy)
                memcpy(copy, result.s, n);
            pthread_mutex_lock(&t->lock);
            unsigned at = s->next_kept++ % ISO_FFI_KEEP;
            free(s->kept[at]);
            s->kept[at] = copy;
            pthread_mutex_unlock(&t->lock);
            result.s = copy;
        }
    }
    if (s->ret != 'v')
        store_result(s->ret, &result, ret);
    iso_msg_free(&reply);
    iso_w_free(&w);
}

iso_ftable* iso_ftable_new(const char* codes, uint32_t version, iso_ftable_send send, void* ctx)
{
    int n = iso_sig_slots(codes);
    if (n < 0)
        return NULL;
    iso_ftable* t = calloc(1, sizeof *t + (size_t)n * sizeof(iso_slot));
    if (!t)
        return NULL;
    t->nslots = n;
    t->send = send;
    t->ctx = ctx;
    t->codes = strdup(codes);
    t->table = calloc((size_t)n + 1, sizeof(void*));
    pthread_mutex_init(&t->lock, NULL);
    if (!t->codes || !t->table) {
        iso_ftable_free(t);
        return NULL;
    }
    *(uint32_t*)t->table = version;
    for (int i = 0; i < n; ++i) {
        iso_slot* s = &t->slots[i];
        char buf[ISO_FFI_MAX_ARGS + 3];
        if (iso_sig_slot(codes, i + 1, buf, sizeof buf) != 0 ||
            parse_slot(buf, strlen(buf), s) != 0) {
            iso_ftable_free(t);
            return NULL;
        }
        s->owner = t;
        s->index = i + 1;
        s->closure = ffi_closure_alloc(sizeof(ffi_closure), &s->code);
        if (!s->closure ||
            ffi_prep_closure_loc(s->closure, &s->cif, slot_entry, s, s->code) != FFI_OK) {
            iso_ftable_free(t);
            return NULL;
        }
        t->table[i + 1] = s->code;
    }
    return t;
}

void iso_ftable_free(iso_ftable* t)
{
    if (!t)
        return;
    for (int i = 0; i < t->nslots; ++i) {
        if (t->slots[i].closure)
            ffi_closure_free(t->slots[i].closure);
        for (int k = 0; k < ISO_FFI_KEEP; ++k)
            free(t->slots[i].kept[k]);
    }
    pthread_mutex_destroy(&t->lock);
    free(t->table);
    free(t->codes);
    free(t);
}

void* iso_ftable_table(iso_ftable* t) { return t->table; }
void* iso_ftable_ctx(iso_ftable* t) { return t->ctx; }

int iso_ffi_invoke(void* fn, const char* slot_codes, iso_r* args, iso_w* out)
{
    iso_slot s;
    if (!fn || !slot_codes || parse_slot(slot_codes, strlen(slot_codes), &s) != 0)
        return -1;
    iso_arg values[ISO_FFI_MAX_ARGS];
    void* pointers[ISO_FFI_MAX_ARGS];
    for (int i = 0; i < s.nargs; ++i) {
        get_arg(args, s.args[i], &values[i]);
        pointers[i] = &values[i];
    }
    if (args->err)
        return -1;
    union {
        ffi_arg widened;
        int64_t q;
        double d;
        void* p;
    } ret;
    memset(&ret, 0, sizeof ret);
    ffi_call(&s.cif, FFI_FN(fn), &ret, s.nargs ? pointers : NULL);
    if (s.ret != 'v') {
        iso_arg result;
        load_result(s.ret, &ret, &result);
        put_value(out, s.ret, &result);
    }
    return 0;
}

/* ---- fixed-signature closures ---------------------------------------------------------- */

struct iso_closure {
    ffi_cif cif;
    ffi_type* types[4];
    ffi_closure* closure;
    void* code;
    void* ctx;
    void (*command)(void* ctx, const char* name);
    int (*hook)(void* ctx, void* obj, void* data, int* brk);
};

static void command_entry(ffi_cif* cif, void* ret, void** args, void* user)
{
    (void)cif;
    (void)ret;
    iso_closure* c = user;
    c->command(c->ctx, *(const char**)args[0]);
}

static void hook_entry(ffi_cif* cif, void* ret, void** args, void* user)
{
    (void)cif;
    iso_closure* c = user;
    int* brk = *(int**)args[3];
    int handled = c->hook(c->ctx, *(void**)args[0], *(void**)args[1], brk);
    *(ffi_sarg*)ret = handled ? 1 : 0;
}

static iso_closure* closure_new(unsigned nargs, ffi_type* ret,
                                void (*entry)(ffi_cif*, void*, void**, void*), void* ctx)
{
    iso_closure* c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->ctx = ctx;
    for (unsigned i = 0; i < nargs; ++i)
        c->types[i] = &ffi_type_pointer;
    c->closure = ffi_closure_alloc(sizeof(ffi_closure), &c->code);
    if (!c->closure || ffi_prep_cif(&c->cif, FFI_DEFAULT_ABI, nargs, ret, c->types) != FFI_OK ||
        ffi_prep_closure_loc(c->closure, &c->cif, entry, c, c->code) != FFI_OK) {
        iso_closure_free(c);
        return NULL;
    }
    return c;
}

iso_closure* iso_closure_command(void (*handler)(void* ctx, const char* name), void* ctx)
{
    iso_closure* c = closure_new(1, &ffi_type_void, command_entry, ctx);
    if (c)
        c->command = handler;
    return c;
}

iso_closure* iso_closure_hook(int (*handler)(void* ctx, void* obj, void* data, int* brk),
                              void* ctx)
{
    iso_closure* c = closure_new(4, &ffi_type_sint32, hook_entry, ctx);
    if (c)
        c->hook = handler;
    return c;
}

void* iso_closure_fn(iso_closure* c) { return c->code; }

void iso_closure_free(iso_closure* c)
{
    if (!c)
        return;
    if (c->closure)
        ffi_closure_free(c->closure);
    free(c);
}
