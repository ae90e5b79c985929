/*
 * The hook and subscription handles that are live (bus_internal.h), so destroy_hook and
 * release_hook can refuse a handle the bus did not hand out -- a double release, a stack
 * value, garbage -- without reading it. One process-wide set behind its own mutex (the ABI
 * functions carry no bus); it is never held while a bus lock is taken.
 *
 * A hook's handle is its address (run_hook takes it unchecked, on the hot path). A
 * subscription's handle is a token that is never reused (an odd number, so never an
 * address), so releasing a subscription twice is caught even when a newer subscription got
 * the same memory.
 */
#include <pthread.h>
#include <stdint.h>

#include "bus_internal.h"
#include "handle_set.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static phn_set live = PHN_SET_INIT;
static uintptr_t next_token = 1;

int phn_handle_add(const void* key, int kind, void* value)
{
    pthread_mutex_lock(&lock);
    phn_slot* slot = phn_set_find(&live, key) ? NULL : phn_set_insert(&live, key);
    if (slot) {
        slot->kind = (uint8_t)kind;
        slot->value = value;
    }
    pthread_mutex_unlock(&lock);
    return slot ? 0 : -1;
}

const void* phn_handle_token(int kind)
{
    const void* key = NULL;
    pthread_mutex_lock(&lock);
    for (;;) {
        uintptr_t t = next_token;
        next_token += 2;
        if (next_token == 1)   /* wrapped (32-bit): start over, skipping live tokens */
            next_token = 3;
        if (phn_set_find(&live, (const void*)t))
            continue;
        phn_slot* slot = phn_set_insert(&live, (const void*)t);
        if (slot) {
            slot->kind = (uint8_t)kind;
            key = (const void*)t;
        }
        break;
    }
    pthread_mutex_unlock(&lock);
    return key;
}

void phn_handle_publish(const void* key, void* value)
{
    pthread_mutex_lock(&lock);
    phn_slot* slot = phn_set_find(&live, key);
    if (slot)
        slot->value = value;
    pthread_mutex_unlock(&lock);
}

void* phn_handle_take(const void* key, int kind)
{
    void* value = NULL;
    pthread_mutex_lock(&lock);
    phn_slot* slot = phn_set_find(&live, key);
    if (slot && slot->kind == kind && slot->value) {
        value = slot->value;
        phn_set_erase(&live, slot);
    }
    pthread_mutex_unlock(&lock);
    return value;
}

void phn_handle_drop(const void* key)
{
    pthread_mutex_lock(&lock);
    phn_slot* slot = phn_set_find(&live, key);
    if (slot)
        phn_set_erase(&live, slot);
    pthread_mutex_unlock(&lock);
}
