/* Shared between the bus's own files; not part of the native API. */
#ifndef PYHOST_BUS_INTERNAL_H
#define PYHOST_BUS_INTERNAL_H

#include <pthread.h>

#include "epoch.h"
#include "pyhost_native.h"

#define PHN_HOOK_BUCKETS 64

typedef struct phn_hook phn_hook;
typedef struct phn_sub phn_sub;
typedef struct phn_intf phn_intf;
typedef struct phn_name phn_name;

struct phn_bus {
    pthread_mutex_t lock;          /* writers: hooks, subscriptions, interfaces, plugin set */
    int slot;                      /* index of this bus's ABI tables */
    DCCore core;
    DCHooks hooks;
    char* host_name;
    phn_hook* buckets[PHN_HOOK_BUCKETS];
    phn_sub* orphans;              /* subscriptions whose hook was destroyed, not yet released */
    phn_intf* interfaces;
    phn_name* plugins;
    phn_retire_list retired;
};

void phn_bus_hooks_free_all(phn_bus* bus);  /* bus.c: part of phn_bus_free */

/* bus_handles.c: the live hook and subscription handles (kinds PHN_HANDLE_HOOK / _SUB of
 * pyhost_native.h). Every function takes the set's own lock, never a bus lock. */
int phn_handle_add(const void* key, int kind, void* value);  /* 0, or -1 (live / no memory) */
/* Reserves a fresh token of `kind` (NULL when memory is short); it is not live until
 * phn_handle_publish gives it a value. */
const void* phn_handle_token(int kind);
void phn_handle_publish(const void* key, void* value);
/* Removes a live handle of `kind` and returns its value; NULL for anything else. */
void* phn_handle_take(const void* key, int kind);
void phn_handle_drop(const void* key);                       /* forget, whatever it is */

/* bus.c: phn_run_hook with the DCAPI convention, for the DCHooks tables (hidden, so the
 * tables point straight at it: no PLT hop on the hot path). */
#if defined(__GNUC__) && !defined(_WIN32)
__attribute__((visibility("hidden")))
#endif
Bool DCAPI phn_abi_run_hook(hookHandle hook, dcptr_t object, dcptr_t data);

#endif
