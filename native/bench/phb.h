/*
 * pyhost_bench -- native baselines for `pyhost bench` (not part of the host).
 *
 * Three reference dispatchers the bus is measured against, all driven by a C loop:
 *   floor          a bare loop of indirect calls to the subscriber functions: what the
 *                  machine allows for "call k subscribers per event" with nothing else;
 *   nosync         the bus's own path (a table call, the snapshot, the same dispatch code)
 *                  without its synchronisation: what the bus would cost if it were unsafe;
 *   lock_dispatch  the reference host's design (DC++ PluginManager::runHook): a mutex taken
 *                  for every dispatch over a vector of subscriber records.
 * And a helper that runs any firing loop on several threads at once.
 *
 * The subscriber functions themselves are not here: the benchmark passes in the very
 * DCHOOK the bench plugin (sample_plugins/bench_firer.c) binds on the bus, so the work per
 * subscriber is the same machine code everywhere and no compiler can inline it.
 */
#ifndef PYHOST_BENCH_H
#define PYHOST_BENCH_H

#include <stdint.h>

#include "dcplugin.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A firing loop: fires `hook` n times with (object, data); returns how many were handled.
 * The bench plugin's fire() and phb_lock_fire() both have this shape. */
typedef uint64_t (DCAPI* phb_fire_fn)(void* hook, dcptr_t object, dcptr_t data, uint64_t n);

/* floor.c: n events, each calling procs[0..k) with (object, data, commons[j], &stop). */
uint64_t phb_floor(const DCHOOK* procs, void* const* commons, size_t k, dcptr_t object,
                   dcptr_t data, uint64_t n);

typedef struct phb_floor_set {
    const DCHOOK* procs;
    void* const* commons;
    size_t k;
} phb_floor_set;
uint64_t DCAPI phb_floor_fire(void* set, dcptr_t object, dcptr_t data, uint64_t n);

/* lock_dispatch.c: the lock-per-dispatch reference host. */
typedef struct phb_lock_hook phb_lock_hook;
phb_lock_hook* phb_lock_hook_new(DCHOOK def_proc);
void phb_lock_hook_free(phb_lock_hook* hook);
int phb_lock_bind(phb_lock_hook* hook, DCHOOK proc, void* common);  /* 0 on success */
Bool phb_lock_run_hook(phb_lock_hook* hook, dcptr_t object, dcptr_t data);
/* The firing loop over the lock host, calling run through a table like a plugin does. */
uint64_t DCAPI phb_lock_fire(void* hook, dcptr_t object, dcptr_t data, uint64_t n);

/* nosync.c: the bus's own path (table call, snapshot, native/dispatch.h) without the epoch
 * read section or atomics: the floor the bus is held to. Bind only while nothing fires. */
typedef struct phb_nosync_hook phb_nosync_hook;
phb_nosync_hook* phb_nosync_hook_new(DCHOOK def_proc);
void phb_nosync_hook_free(phb_nosync_hook* hook);
int phb_nosync_bind(phb_nosync_hook* hook, DCHOOK proc, void* common);  /* 0 on success */
uint64_t DCAPI phb_nosync_fire(void* hook, dcptr_t object, dcptr_t data, uint64_t n);

/* threads.c: starts `threads` threads that each run fire(hook, object, datas[t], n) and
 * returns the wall time in ns from the moment all of them are released until the last one
 * is done (0 if a thread could not be started). handled[t] gets each thread's result. */
uint64_t phb_run_threads(phb_fire_fn fire, void* hook, dcptr_t object, void* const* datas,
                         uint64_t n, int threads, uint64_t* handled);

/* latency.c: calls run(hook, object, data) n times; ns[i] (if not NULL) gets each call's
 * duration. Returns how many calls answered True. */
typedef Bool (DCAPI* phb_run_fn)(void* hook, dcptr_t object, dcptr_t data);
uint64_t phb_time_calls(phb_run_fn run, void* hook, dcptr_t object, dcptr_t data, uint64_t n,
                        uint64_t* ns);

/* Monotonic clock in ns, for timing inside C where Python's own overhead would show. */
uint64_t phb_now_ns(void);

#ifdef __cplusplus
}
#endif

#endif
