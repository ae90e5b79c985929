/*
 * The floor: a bare C loop of indirect calls to the subscriber functions.
 *
 * The procs come in at run time from the bench plugin (another shared object, opened with
 * dlopen), so the compiler can neither inline nor hoist the calls; every call gets a fresh
 * `stop` flag as the ABI requires, and the results are combined so none is dead. Nothing
 * else happens: no lock, no snapshot, no break check, no epoch.
 */
#include "phb.h"

uint64_t phb_floor(const DCHOOK* procs, void* const* commons, size_t k, dcptr_t object,
                   dcptr_t data, uint64_t n)
{
    uint64_t handled = 0;
    for (uint64_t i = 0; i < n; ++i) {
        Bool stop = False;
        unsigned any = 0;
        for (size_t j = 0; j < k; ++j)
            any |= (unsigned)procs[j](object, data, commons[j], &stop);
        handled += any != 0;
    }
    return handled;
}

/* The floor as a firing loop (phb_fire_fn), for the thread runner: `set` is a phb_floor_set. */
uint64_t DCAPI phb_floor_fire(void* set, dcptr_t object, dcptr_t data, uint64_t n)
{
    const phb_floor_set* s = set;
    return phb_floor(s->procs, s->commons, s->k, object, data, n);
}
