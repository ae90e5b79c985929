/*
 * The bus without synchronisation: the floor the bus is held to.
 *
 * The same path as a plugin's DCHooks::run_hook on the bus, minus the synchronisation: the
 * firing loop calls run_hook through a table, run_hook checks the handle, loads the hook's
 * subscriber snapshot and runs the very same dispatch code as the bus (native/dispatch.h:
 * the same snapshot layout, the same one-subscriber path, the same loop). What it leaves out
 * is the epoch read section around the dispatch and the atomic load of the snapshot, so the
 * bus's time over this one is what its lock-free safety costs. It is not safe to bind or
 * release while it fires: the benchmark only binds before it fires.
 */
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "phb.h"

struct phb_nosync_hook {
    DCHOOK def_proc;
    phn_sub_array* subs;   /* a plain pointer: nothing publishes it concurrently */
};

phb_nosync_hook* phb_nosync_hook_new(DCHOOK def_proc)
{
    phb_nosync_hook* hook = calloc(1, sizeof *hook);
    if (hook)
        hook->def_proc = def_proc;
    return hook;
}

void phb_nosync_hook_free(phb_nosync_hook* hook)
{
    if (!hook)
        return;
    free(hook->subs);
    free(hook);
}

/* Builds a new snapshot with one more entry, as the bus's publish does. */
int phb_nosync_bind(phb_nosync_hook* hook, DCHOOK proc, void* common)
{
    if (!hook || !proc)
        return -1;
    size_t count = hook->subs ? hook->subs->count : 0;
    phn_sub_array* fresh = malloc(sizeof *fresh + (count + 1) * sizeof(phn_entry));
    if (!fresh)
        return -1;
    memset(&fresh->retire, 0, sizeof fresh->retire);
    if (count)
        memcpy(fresh->entries, hook->subs->entries, count * sizeof(phn_entry));
    fresh->entries[count] = (phn_entry){proc, common};
    fresh->count = (uint32_t)(count + 1);
    fresh->python_only = 0;
    free(hook->subs);
    hook->subs = fresh;
    return 0;
}

static Bool DCAPI nosync_run_hook(hookHandle handle, dcptr_t object, dcptr_t data)
{
    if (!handle)
        return False;
    const phb_nosync_hook* hook = handle;
    return phn_dispatch(hook->subs, hook->def_proc, object, data);
}

static const struct {
    Bool (DCAPI* run_hook)(hookHandle, dcptr_t, dcptr_t);
} nosync_table = {nosync_run_hook};

static const void* volatile nosync_table_ptr = &nosync_table; /* read at run time */

uint64_t DCAPI phb_nosync_fire(void* hook, dcptr_t object, dcptr_t data, uint64_t n)
{
    const __typeof__(nosync_table)* table = nosync_table_ptr;
    uint64_t handled = 0;
    for (uint64_t i = 0; i < n; ++i)
        handled += table->run_hook(hook, object, data) == True;
    return handled;
}
