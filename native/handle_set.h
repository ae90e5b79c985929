/*
 * handle_set.h -- a set of addresses (or other pointer-sized keys) with a small payload:
 * what the host has handed out and not yet taken back.
 *
 * Checked releases use it: a release looks its argument up here WITHOUT reading the memory
 * it points to, so a double release, a stack struct or garbage is refused instead of
 * crashing. Open addressing with linear probing and backward-shift deletion (no
 * tombstones), grown at 50% load. No locking: every user guards its set with its own lock.
 */
#ifndef PYHOST_HANDLE_SET_H
#define PYHOST_HANDLE_SET_H

#include <stddef.h>
#include <stdint.h>

typedef struct phn_slot {
    const void* key;   /* NULL = empty slot (NULL is never a member) */
    void* value;
    uint32_t arena;
    uint8_t kind;
    uint8_t flag;
} phn_slot;

typedef struct phn_set {
    phn_slot* slots;
    size_t capacity;   /* a power of two, or 0 */
    size_t used;
} phn_set;

#define PHN_SET_INIT {NULL, 0, 0}

/* The member with this key, or NULL (also for key NULL). Never dereferences key. */
phn_slot* phn_set_find(phn_set* set, const void* key);
/* Adds a key that is not a member; returns its slot (key set, the rest zeroed) to fill in,
 * or NULL when memory is short. */
phn_slot* phn_set_insert(phn_set* set, const void* key);
/* Removes a member (a slot phn_set_find or phn_set_insert returned). */
void phn_set_erase(phn_set* set, phn_slot* slot);

#endif
