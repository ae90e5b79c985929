/*
 * pyhost_native.h -- the native core of pyhost: hook bus and interface registry.
 *
 * Knows nothing of Python. A bus owns the hooks, their subscribers and the interface
 * registry behind one DCCore table and one DCHooks table. The ABI tables call into the
 * functions below; the Python bridge calls them directly (one compiled call each).
 *
 * Threads: every function may be called from any thread. phn_run_hook / phn_run_many take
 * no lock and allocate nothing (after a thread's first dispatch); the others serialise on
 * the bus's writer lock. Subscribers see a snapshot: a subscriber bound during a dispatch is
 * first called on the next event, and one released during a dispatch may still be called
 * for the current event if it comes later in the snapshot.
 */
#ifndef PYHOST_NATIVE_H
#define PYHOST_NATIVE_H

#include "dcplugin.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PHN_MAX_BUSES 16   /* live buses per process: each needs its own DCCore/DCHooks tables */

typedef struct phn_bus phn_bus;

/* One event of a batch for phn_run_many. */
typedef struct phn_event {
    dcptr_t object;
    dcptr_t data;
} phn_event;

/* NULL when PHN_MAX_BUSES buses are alive or memory is short. */
phn_bus* phn_bus_new(const char* host_name);
/* Frees every hook, subscription and registration. No dispatch may still be running. */
void phn_bus_free(phn_bus* bus);

DCCore* phn_bus_core(phn_bus* bus);
DCHooks* phn_bus_hooks(phn_bus* bus);

/* has_plugin() answers from this set, kept up to date by the host's loader. */
int phn_bus_set_plugin(phn_bus* bus, const char* guid, int present);

/* DCHooks, with the semantics of the ABI (see sdk_headers/dcplugin.h).
 *
 * Checked handles: destroy_hook and release_hook look their argument up among the handles
 * the bus handed out before reading it, so a hook destroyed twice, a subscription released
 * twice, a stack value or garbage is refused (False / 0) instead of crashing. A subscription handle is an opaque token, never reused. run_hook is
 * NOT checked: it is the hot path, and takes the hook's address as its handle. */
hookHandle phn_create_hook(phn_bus* bus, const char* guid, DCHOOK def_proc);
Bool phn_destroy_hook(hookHandle hook);
subsHandle phn_bind_hook(phn_bus* bus, const char* guid, DCHOOK proc, void* common);
Bool phn_run_hook(hookHandle hook, dcptr_t object, dcptr_t data);
size_t phn_release_hook(subsHandle sub);
/* release_hook that tells a refusal apart: 0 (and *left, when not NULL) when released or
 * sub is NULL, -1 when sub is not a live subscription. */
int phn_release_hook_checked(subsHandle sub, size_t* left);

#define PHN_HANDLE_HOOK 1   /* the kinds of handle bus_handles.c keeps */
#define PHN_HANDLE_SUB 2
#define PHN_HANDLE_INTF 3   /* reserved tokens only: the registry itself checks them */

/* For a caller that holds a lock subscribers may need (the Python bridge and its GIL):
 * phn_run_hook_gil fires one event like phn_run_hook, calling release() before the dispatch
 * and reacquire(its result) after it, unless every subscriber of the snapshot it fires is
 * the trampoline given to phn_set_python_proc (which takes that lock itself) or there is
 * nothing to call. */
typedef struct phn_gil_ops {
    void* (*release)(void);
    void (*reacquire)(void* state);
} phn_gil_ops;
Bool phn_run_hook_gil(hookHandle hook, dcptr_t object, dcptr_t data, const phn_gil_ops* gil);
void phn_set_python_proc(DCHOOK proc);

/* Fires `n` events in one call; results[i] gets each result when results is not NULL.
 * Returns how many events were handled. */
size_t phn_run_many(hookHandle hook, const phn_event* events, size_t n, Bool* results);

hookHandle phn_find_hook(phn_bus* bus, const char* guid);
size_t phn_hook_subscribers(hookHandle hook);
/* Blocks retired by bind/release that still wait for readers to leave (for tests). */
size_t phn_bus_pending_reclaim(phn_bus* bus);

/* DCCore interface registry. */
intfHandle phn_register_interface(phn_bus* bus, const char* guid, dcptr_t table);
DCInterface* phn_query_interface(phn_bus* bus, const char* guid, uint32_t version);
Bool phn_release_interface(phn_bus* bus, intfHandle handle);
/* Registering this table holds a guid (first registration wins) while queries answer NULL;
 * phn_fill_interface gives that registration its real table later, same handle. */
DCInterface* phn_reserved_interface(void);
Bool phn_fill_interface(phn_bus* bus, intfHandle handle, dcptr_t table);
Bool phn_has_plugin(phn_bus* bus, const char* guid);
const char* phn_host_name(phn_bus* bus);

/* ConfigValues for DCConfig: one block each, owned by the receiver until phn_cfg_release.
 * phn_cfg_copy and phn_cfg_release are the DCConfig table's copy and release. A release
 * is checked: a value that is not live (released already, on the stack, garbage) is
 * refused without being read. */
ConfigValue* phn_cfg_string(const char* value);
ConfigValue* phn_cfg_int(int32_t value);
ConfigValue* phn_cfg_bool(Bool value);
ConfigValue* phn_cfg_int64(int64_t value);
/* A stored setting's text as `type`, the reference's way: STRING as is, INT atoi, INT64
 * strtoll(text, NULL, 10), BOOL text != "0". NULL for any other type. */
ConfigValue* phn_cfg_from_text(const char* text, ConfigType type);
ConfigValue* DCAPI phn_cfg_copy(const ConfigValue* value);
void DCAPI phn_cfg_release(ConfigValue* value);
int phn_cfg_free(ConfigValue* value);  /* the release: 1 freed (or NULL), 0 refused */
long phn_cfg_live(void);     /* values allocated and not yet released (for leak tests) */

#ifdef __cplusplus
}
#endif

#endif
