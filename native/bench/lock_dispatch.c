/*
 * Lock-per-dispatch: the reference host's hook dispatch, written by us in C.
 *
 * DC++'s PluginManager::runHook takes its hook lock for every event and walks the hook's
 * vector of subscriber records under it, calling each with (object, data, common, &bBreak)
 * and stopping when a subscriber sets bBreak; the default procedure runs only when there
 * are no subscribers. This is the same, with two choices that make the baseline faster,
 * never slower: a plain (non-recursive) pthread mutex, where DC++ uses a recursive one, and
 * the records stored contiguously, where DC++ keeps a vector of pointers to them.
 */
#include <pthread.h>
#include <stdlib.h>

#include "phb.h"

typedef struct phb_lock_sub {
    DCHOOK proc;
    void* common;
} phb_lock_sub;

struct phb_lock_hook {
    pthread_mutex_t lock;
    DCHOOK def_proc;
    phb_lock_sub* subs;
    size_t count;
    size_t capacity;
};

phb_lock_hook* phb_lock_hook_new(DCHOOK def_proc)
{
    phb_lock_hook* hook = calloc(1, sizeof *hook);
    if (!hook)
        return NULL;
    if (pthread_mutex_init(&hook->lock, NULL) != 0) {
        free(hook);
        return NULL;
    }
    hook->def_proc = def_proc;
    return hook;
}

void phb_lock_hook_free(phb_lock_hook* hook)
{
    if (!hook)
        return;
    pthread_mutex_destroy(&hook->lock);
    free(hook->subs);
    free(hook);
}

int phb_lock_bind(phb_lock_hook* hook, DCHOOK proc, void* common)
{
    if (!hook || !proc)
        return -1;
    pthread_mutex_lock(&hook->lock);
    if (hook->count == hook->capacity) {
        size_t capacity = hook->capacity ? hook->capacity * 2 : 4;
        phb_lock_sub* grown = realloc(hook->subs, capacity * sizeof *grown);
        if (!grown) {
            pthread_mutex_unlock(&hook->lock);
            return -1;
        }
        hook->subs = grown;
        hook->capacity = capacity;
    }
    hook->subs[hook->count++] = (phb_lock_sub){proc, common};
    pthread_mutex_unlock(&hook->lock);
    return 0;
}

Bool phb_lock_run_hook(phb_lock_hook* hook, dcptr_t object, dcptr_t data)
{
    Bool handled = False;
    Bool stop = False;
    pthread_mutex_lock(&hook->lock);
    if (hook->count == 0) {
        if (hook->def_proc)
            handled = hook->def_proc(object, data, NULL, &stop) ? True : False;
    } else {
        for (size_t i = 0; i < hook->count; ++i) {
            const phb_lock_sub* s = &hook->subs[i];
            if (s->proc(object, data, s->common, &stop))
                handled = True;
            if (stop)
                break;
        }
    }
    pthread_mutex_unlock(&hook->lock);
    return handled;
}

/* A plugin reaches run_hook through its DCHooks table; the firing loop does the same. */
static Bool DCAPI lock_run_hook_entry(hookHandle hook, dcptr_t object, dcptr_t data)
{
    return phb_lock_run_hook(hook, object, data);
}

static const struct {
    Bool (DCAPI* run_hook)(hookHandle, dcptr_t, dcptr_t);
} lock_table = {lock_run_hook_entry};

static const void* volatile lock_table_ptr = &lock_table; /* read at run time, like a plugin's */

uint64_t DCAPI phb_lock_fire(void* hook, dcptr_t object, dcptr_t data, uint64_t n)
{
    const __typeof__(lock_table)* table = lock_table_ptr;
    uint64_t handled = 0;
    for (uint64_t i = 0; i < n; ++i)
        handled += table->run_hook(hook, object, data) == True;
    return handled;
}
