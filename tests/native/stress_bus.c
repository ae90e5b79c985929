/*
 * Concurrency stress of the hook bus, built by tests/test_native_stress.py under
 * ThreadSanitizer and under AddressSanitizer + UndefinedBehaviorSanitizer.
 *
 * Two threads fire the same hooks while a third binds and releases subscribers in a loop
 * and a fourth registers, queries and releases interfaces (a released handle must stay
 * dead while new registrations reuse its memory); some subscribers also bind and release
 * from inside a dispatch. Every subscriber checks
 * that its `common` still points at a live record, so a use-after-free of a subscriber
 * array shows up as a sanitizer report or a failed check.
 *
 * usage: stress_bus [events-per-firing-thread]   (prints a summary, exit 0 when clean)
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "pyhost_native.h"

#define HOOKS 4
#define MAGIC 0x5ca1ab1eu

static const char* guids[HOOKS] = {"stress.a", "stress.b", "stress.c", "stress.d"};
static phn_bus* bus;
static hookHandle hooks[HOOKS];
static long events_per_thread = 500000;
static atomic_long calls;
static atomic_int firing_done;
static atomic_int failures;

typedef struct record {
    unsigned magic;
} record;

static record records[64];

static Bool DCAPI counting_sub(dcptr_t object, dcptr_t data, dcptr_t common, Bool* bBreak)
{
    (void)object;
    (void)bBreak;
    record* r = common;
    if (r->magic != MAGIC || data != (dcptr_t)&events_per_thread)
        atomic_fetch_add(&failures, 1);
    atomic_fetch_add_explicit(&calls, 1, memory_order_relaxed);
    return False;
}

/* Binds a fresh subscriber and releases it again, from inside a dispatch. */
static Bool DCAPI churn_sub(dcptr_t object, dcptr_t data, dcptr_t common, Bool* bBreak)
{
    (void)object;
    (void)data;
    (void)bBreak;
    static _Thread_local unsigned n;
    if ((++n & 1023) == 0) {
        subsHandle s = phn_bind_hook(bus, guids[n % HOOKS], counting_sub, &records[n % 64]);
        if (!s)
            atomic_fetch_add(&failures, 1);
        else
            phn_release_hook(s);
    }
    record* r = common;
    if (r->magic != MAGIC)
        atomic_fetch_add(&failures, 1);
    return False;
}

static void* fire(void* arg)
{
    unsigned seed = (unsigned)(size_t)arg;
    for (long i = 0; i < events_per_thread; ++i) {
        seed = seed * 1103515245u + 12345u;
        phn_run_hook(hooks[(seed >> 16) % HOOKS], NULL, (dcptr_t)&events_per_thread);
    }
    return NULL;
}

static void* churn(void* arg)
{
    (void)arg;
    subsHandle live[32] = {0};
    unsigned seed = 7;
    long rounds = 0;
    while (!atomic_load(&firing_done)) {
        seed = seed * 1103515245u + 12345u;
        unsigned slot = (seed >> 16) % 32;
        if (live[slot]) {
            phn_release_hook(live[slot]);
            live[slot] = NULL;
        } else {
            live[slot] = phn_bind_hook(bus, guids[slot % HOOKS], counting_sub, &records[slot]);
            if (!live[slot])
                atomic_fetch_add(&failures, 1);
        }
        rounds++;
    }
    for (int i = 0; i < 32; ++i)
        if (live[i])
            phn_release_hook(live[i]);
    printf("churn rounds: %ld\n", rounds);
    return NULL;
}

#define INTFS 8
static DCInterface intf_tables[INTFS];
static const char* intf_guids[INTFS] = {"stress.i.0", "stress.i.1", "stress.i.2", "stress.i.3",
                                        "stress.i.4", "stress.i.5", "stress.i.6", "stress.i.7"};

static void* intf_churn(void* arg)
{
    (void)arg;
    intfHandle live[INTFS] = {0};
    intfHandle stale = NULL;
    unsigned seed = 11;
    long rounds = 0;
    while (!atomic_load(&firing_done)) {
        seed = seed * 1103515245u + 12345u;
        unsigned k = (seed >> 16) % INTFS;
        if (live[k]) {
            if (phn_release_interface(bus, live[k]) != True)
                atomic_fetch_add(&failures, 1);
            stale = live[k];
            live[k] = NULL;
        } else {
            if (k % 2) {
                live[k] = phn_register_interface(bus, intf_guids[k], &intf_tables[k]);
            } else {  /* held first (reserved: queries answer NULL), then given its table */
                live[k] = phn_register_interface(bus, intf_guids[k], phn_reserved_interface());
                if (!live[k] || phn_query_interface(bus, intf_guids[k], 0) != NULL ||
                    phn_fill_interface(bus, live[k], &intf_tables[k]) != True ||
                    phn_fill_interface(bus, live[k], &intf_tables[k]) != False)
                    atomic_fetch_add(&failures, 1);
            }
            if (!live[k] || phn_query_interface(bus, intf_guids[k], 1) != &intf_tables[k])
                atomic_fetch_add(&failures, 1);
            if (stale && phn_release_interface(bus, stale) != False)
                atomic_fetch_add(&failures, 1);  /* a stale handle released a newer one */
            if (phn_register_interface(bus, intf_guids[k], &intf_tables[(k + 1) % INTFS]))
                atomic_fetch_add(&failures, 1);  /* the first registration must win */
        }
        rounds++;
    }
    /* the live ones stay registered: phn_bus_free takes them back (LeakSanitizer checks) */
    printf("interface rounds: %ld\n", rounds);
    return NULL;
}

int main(int argc, char** argv)
{
    if (argc > 1)
        events_per_thread = atol(argv[1]);
    for (int i = 0; i < 64; ++i)
        records[i].magic = MAGIC;
    for (int i = 0; i < INTFS; ++i)
        intf_tables[i].apiVersion = 1;
    bus = phn_bus_new("stress");
    if (!bus)
        return 2;
    for (int i = 0; i < HOOKS; ++i)
        hooks[i] = phn_create_hook(bus, guids[i], NULL);
    subsHandle churner = phn_bind_hook(bus, guids[0], churn_sub, &records[0]);

    pthread_t f1, f2, c, ic;
    pthread_create(&c, NULL, churn, NULL);
    pthread_create(&ic, NULL, intf_churn, NULL);
    pthread_create(&f1, NULL, fire, (void*)1);
    pthread_create(&f2, NULL, fire, (void*)2);
    pthread_join(f1, NULL);
    pthread_join(f2, NULL);
    atomic_store(&firing_done, 1);
    pthread_join(c, NULL);
    pthread_join(ic, NULL);

    phn_release_hook(churner);
    size_t pending = phn_bus_pending_reclaim(bus); /* no reader left: all must be freed */
    for (int i = 0; i < HOOKS; ++i)
        phn_destroy_hook(hooks[i]);
    phn_bus_free(bus);

    printf("events: %ld, subscriber calls: %ld, pending after quiesce: %zu, failures: %d\n",
           2 * events_per_thread, atomic_load(&calls), pending, atomic_load(&failures));
    return (atomic_load(&failures) == 0 && pending == 0) ? 0 : 1;
}
