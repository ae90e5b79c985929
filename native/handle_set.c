/* The address set of handle_set.h. */
#include <stdlib.h>

#include "handle_set.h"

static size_t home_of(const phn_set* set, const void* key)
{
    uint64_t h = (uint64_t)(uintptr_t)key;
    h ^= h >> 33;
    h *= UINT64_C(0xff51afd7ed558ccd);
    h ^= h >> 33;
    return (size_t)h & (set->capacity - 1);
}

phn_slot* phn_set_find(phn_set* set, const void* key)
{
    if (!set->capacity || !key)
        return NULL;
    for (size_t i = home_of(set, key);; i = (i + 1) & (set->capacity - 1)) {
        if (set->slots[i].key == key)
            return &set->slots[i];
        if (!set->slots[i].key)
            return NULL;
    }
}

static int grow(phn_set* set)
{
    size_t capacity = set->capacity ? set->capacity * 2 : 64;
    phn_slot* slots = calloc(capacity, sizeof *slots);
    if (!slots)
        return -1;
    phn_set old = *set;
    set->slots = slots;
    set->capacity = capacity;
    for (size_t i = 0; i < old.capacity; i++) {
        if (!old.slots[i].key)
            continue;
        size_t j = home_of(set, old.slots[i].key);
        while (slots[j].key)
            j = (j + 1) & (capacity - 1);
        slots[j] = old.slots[i];
    }
    free(old.slots);
    return 0;
}

phn_slot* phn_set_insert(phn_set* set, const void* key)
{
    if (!key || ((set->used + 1) * 2 > set->capacity && grow(set) != 0))
        return NULL;
    size_t i = home_of(set, key);
    while (set->slots[i].key)
        i = (i + 1) & (set->capacity - 1);
    set->slots[i] = (phn_slot){key, NULL, 0, 0, 0};
    set->used++;
    return &set->slots[i];
}

void phn_set_erase(phn_set* set, phn_slot* slot)
{
    size_t mask = set->capacity - 1;
    size_t hole = (size_t)(slot - set->slots);
    set->slots[hole].key = NULL;
    set->used--;
    /* Backward shift: move later members of the probe run into the hole when their home
     * slot does not lie (cyclically) between the hole and their current slot. */
    for (size_t i = (hole + 1) & mask; set->slots[i].key; i = (i + 1) & mask) {
        size_t home = home_of(set, set->slots[i].key);
        int stays = (hole <= i) ? (hole < home && home <= i) : (hole < home || home <= i);
        if (!stays) {
            set->slots[hole] = set->slots[i];
            set->slots[i].key = NULL;
            hole = i;
        }
    }
}
