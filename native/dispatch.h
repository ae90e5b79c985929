/*
 * The subscriber snapshot of a hook and the loop that calls it.
 *
 * Shared by the bus (bus.c), which reads the snapshot inside an epoch read section, and by
 * the benchmark's unsynchronised floor (native/bench/nosync.c), which runs this very code
 * with a plain pointer load and no read section: the difference between the two is the
 * price of the synchronisation and nothing else.
 */
#ifndef PYHOST_DISPATCH_H
#define PYHOST_DISPATCH_H

#include <stddef.h>

#include "dcplugin.h"
#include "epoch.h"

typedef struct phn_entry {
    DCHOOK proc;
    void* common;
} phn_entry;

/* Immutable once published. The header is 32 bytes, so the first two entries share its
 * cache line; the loop touches nothing but `count` and the entries. */
typedef struct phn_sub_array {
    uint32_t count;
    uint32_t python_only;          /* every entry is the Python bridge's trampoline */
    phn_retired retire;            /* the node that queues it for reclamation */
    phn_entry entries[];
} phn_sub_array;

/* Calls every subscriber of a snapshot in order, stopping when one sets *bBreak. Kept out
 * of line so the one-subscriber path below needs no registers saved around its call. */
static __attribute__((noinline, unused)) Bool phn_dispatch_all(const phn_entry* e,
                                                               const phn_entry* end,
                                                               dcptr_t object, dcptr_t data)
{
    Bool handled = False;
    Bool stop = False;
    for (; e != end; ++e) {
        if (e->proc(object, data, e->common, &stop))
            handled = True;
        if (stop)
            break;
    }
    return handled;
}

/* One event: the default procedure when there is no snapshot (no subscribers). */
static inline Bool phn_dispatch(const phn_sub_array* subs, DCHOOK def_proc, dcptr_t object,
                                dcptr_t data)
{
    Bool stop = False;
    if (__builtin_expect(subs == NULL, 0)) {
        if (def_proc)
            return def_proc(object, data, NULL, &stop) ? True : False;
        return False;
    }
    const phn_entry* e = subs->entries;
    /* One subscriber, the most common case: a plain call laid out as the straight path. */
    if (__builtin_expect(subs->count == 1, 1))
        return e->proc(object, data, e->common, &stop) ? True : False;
    return phn_dispatch_all(e, e + subs->count, object, data);
}

#endif
