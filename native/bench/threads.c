/* Runs a firing loop on several threads at once and times them together. */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "phb.h"

uint64_t phb_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

typedef struct start_gate {
    pthread_mutex_t lock;
    pthread_cond_t open;
    int go;
} start_gate;

typedef struct worker {
    pthread_t thread;
    start_gate* gate;
    phb_fire_fn fire;
    void* hook;
    dcptr_t object;
    dcptr_t data;
    uint64_t n;
    uint64_t handled;
} worker;

static void* work(void* arg)
{
    worker* w = arg;
    pthread_mutex_lock(&w->gate->lock);
    while (!w->gate->go)
        pthread_cond_wait(&w->gate->open, &w->gate->lock);
    pthread_mutex_unlock(&w->gate->lock);
    if (w->n)
        w->handled = w->fire(w->hook, w->object, w->data, w->n);
    return NULL;
}

uint64_t phb_run_threads(phb_fire_fn fire, void* hook, dcptr_t object, void* const* datas,
                         uint64_t n, int threads, uint64_t* handled)
{
    if (!fire || threads < 1)
        return 0;
    worker* workers = calloc((size_t)threads, sizeof *workers);
    if (!workers)
        return 0;
    start_gate gate = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
    int started = 0;
    for (; started < threads; ++started) {
        worker* w = &workers[started];
        *w = (worker){.gate = &gate, .fire = fire, .hook = hook, .object = object,
                      .data = datas[started], .n = n};
        if (pthread_create(&w->thread, NULL, work, w) != 0)
            break;
    }
    int ok = started == threads;
    if (!ok)
        for (int t = 0; t < started; ++t)
            workers[t].n = 0; /* let the ones that started leave without firing */
    pthread_mutex_lock(&gate.lock);
    uint64_t t0 = phb_now_ns();
    gate.go = 1;
    pthread_cond_broadcast(&gate.open);
    pthread_mutex_unlock(&gate.lock);
    for (int t = 0; t < started; ++t)
        pthread_join(workers[t].thread, NULL);
    uint64_t elapsed = phb_now_ns() - t0;
    if (handled)
        for (int t = 0; t < started; ++t)
            handled[t] = workers[t].handled;
    pthread_cond_destroy(&gate.open);
    pthread_mutex_destroy(&gate.lock);
    free(workers);
    return ok ? (elapsed ? elapsed : 1) : 0;
}
