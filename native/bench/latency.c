/*
 * Per-call latency for `pyhost bench`'s isolation rows (pyhost/bench/isolation.py): calls
 * run(hook, object, data) n times from C and stores each call's duration, so percentiles
 * are of the calls themselves, with no Python between them.
 */
#include <stdint.h>
#include <time.h>

#include "phb.h"

static inline uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t phb_time_calls(phb_run_fn run, void* hook, dcptr_t object, dcptr_t data, uint64_t n,
                        uint64_t* ns)
{
    uint64_t handled = 0;
    for (uint64_t i = 0; i < n; ++i) {
        uint64_t start = now_ns();
        handled += run(hook, object, data) ? 1 : 0;
        if (ns)
            ns[i] = now_ns() - start;
    }
    return handled;
}
