/*
 * iso_ffi.h -- forwarding interface tables of any described signature, with libffi.
 *
 * A table's signature is a string of codes, one entry per function slot, separated by ';':
 * the result code, ':', then one code per parameter, e.g. "i:ii;s:i" for
 *   { uint32_t apiVersion; int (*add)(int, int); const char* (*describe)(int); }.
 * Codes (ISO_CODES): b/B int8/uint8, h/H int16/uint16, i/I int32/uint32, q/Q int64/uint64,
 * f float, d double, s const char* (copied across), v void (result only). Anything else a
 * signature may hold -- a pointer to data, a callback -- means nothing in another process,
 * so a table with such a slot is not forwarded at all (pyhost.abi.interfaces decides).
 *
 * iso_ftable: a table whose slots are libffi closures; each call encodes its arguments and
 * hands them to the owner's `call`, which sends them across and returns the peer's answer.
 * iso_ffi_invoke: the other end, calling a real function pointer from encoded arguments.
 *
 * A `const char*` result is copied into memory of the table, kept until the same slot has
 * returned ISO_FFI_KEEP more strings (callers copy it at once, as with any provider's
 * string whose lifetime the interface does not promise).
 */
#ifndef PYHOST_ISO_FFI_H
#define PYHOST_ISO_FFI_H

#include <stdint.h>

#include "iso_lane.h"

#define ISO_FFI_MAX_ARGS 16
#define ISO_FFI_MAX_SLOTS 256
#define ISO_FFI_KEEP 16

typedef struct iso_ftable iso_ftable;

/* Sends slot `slot` (1-based) with the encoded `args`; on ISO_OK `reply` holds the peer's
 * encoded result. */
typedef int (*iso_ftable_send)(iso_ftable* t, int slot, const char* slot_codes,
                               const iso_w* args, iso_msg* reply);

/* Number of slots in a signature string; -1 when it is malformed. */
int iso_sig_slots(const char* codes);
/* The codes of one slot (1-based) copied into buf; 0 on success. */
int iso_sig_slot(const char* codes, int slot, char* buf, size_t n);

iso_ftable* iso_ftable_new(const char* codes, uint32_t version, iso_ftable_send send, void* ctx);
void iso_ftable_free(iso_ftable* t);
void* iso_ftable_table(iso_ftable* t);       /* the DCInterface*-shaped table */
void* iso_ftable_ctx(iso_ftable* t);

/* Calls `fn` with arguments decoded from `args` by `slot_codes` ("i:ii") and encodes its
 * result into `out`. -1 on malformed codes or arguments (then `fn` is not called). */
int iso_ffi_invoke(void* fn, const char* slot_codes, iso_r* args, iso_w* out);

/* Closures of fixed signatures the host needs for runner function pointers. */
typedef struct iso_closure iso_closure;
/* void (*)(const char*): DCUI command callbacks. */
iso_closure* iso_closure_command(void (*handler)(void* ctx, const char* name), void* ctx);
/* Bool (*)(dcptr_t, dcptr_t, dcptr_t, Bool*): a hook's default procedure. */
iso_closure* iso_closure_hook(int (*handler)(void* ctx, void* obj, void* data, int* brk),
                              void* ctx);
void* iso_closure_fn(iso_closure* c);
void iso_closure_free(iso_closure* c);

#endif
