#define _GNU_SOURCE /* syscall() */
#include "epoch.h"

#include <linux/membarrier.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

_Atomic uint64_t phn_global_epoch = 1;
int phn_epoch_fast_readers = 0;
phn_reader phn_reader_unattached = {.epoch = UINT64_MAX, .in_use = 1};
_Thread_local phn_reader* phn_tls_reader __attribute__((tls_model("initial-exec"))) =
    &phn_reader_unattached;
/* The thread's own record, once it has one (the slow path's way to it). */
static _Thread_local phn_reader* tls_record __attribute__((tls_model("initial-exec")));

static _Atomic(phn_reader*) readers_head;
static pthread_key_t reader_key;
static pthread_once_t reader_once = PTHREAD_ONCE_INIT;

static void reader_detach(void* rec)
{
    phn_reader* r = rec;
    atomic_store_explicit(&r->epoch, 0, memory_order_release);
    atomic_store_explicit(&r->in_use, 0, memory_order_release);
}

static void epoch_init(void)
{
    pthread_key_create(&reader_key, reader_detach);
#ifndef PHN_EPOCH_ALWAYS_FENCE
    long have = syscall(__NR_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
    if (have > 0 && (have & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
        syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0)
        phn_epoch_fast_readers = 1;
#endif
}

/* Called from a library constructor so the mode never changes while readers run. */
__attribute__((constructor)) static void epoch_ctor(void)
{
    pthread_once(&reader_once, epoch_init);
}

/* First dispatch on a thread: take a free record or add one (once per thread, not per call). */
static phn_reader* attach(void)
{
    pthread_once(&reader_once, epoch_init);
    phn_reader* r;
    for (r = atomic_load_explicit(&readers_head, memory_order_acquire); r; r = r->next) {
        int expected = 0;
        if (atomic_compare_exchange_strong(&r->in_use, &expected, 1))
            break;
    }
    if (!r) {
        r = aligned_alloc(_Alignof(phn_reader), sizeof *r);
        if (!r)
            abort(); /* cannot dispatch safely without a record */
        memset(r, 0, sizeof *r);
        atomic_store_explicit(&r->in_use, 1, memory_order_relaxed);
        phn_reader* head = atomic_load_explicit(&readers_head, memory_order_relaxed);
        do {
            r->next = head;
        } while (!atomic_compare_exchange_weak_explicit(&readers_head, &head, r,
                                                        memory_order_release,
                                                        memory_order_relaxed));
    }
    tls_record = r;
    if (phn_epoch_fast_readers)
        phn_tls_reader = r;
    pthread_setspecific(reader_key, r);
    return r;
}

phn_reader* phn_read_enter_slow(void)
{
    phn_reader* r = tls_record;
    if (__builtin_expect(r == NULL, 0))
        r = attach();
    if (atomic_load_explicit(&r->epoch, memory_order_relaxed) != 0)
        return NULL; /* nested: the outer section protects this dispatch too */
    uint64_t e = atomic_load_explicit(&phn_global_epoch, memory_order_acquire);
#ifndef PHN_EPOCH_ALWAYS_FENCE
    if (phn_epoch_fast_readers) {
        atomic_store_explicit(&r->epoch, e, memory_order_relaxed);
        atomic_signal_fence(memory_order_seq_cst); /* the writer's membarrier orders it */
        return r;
    }
#endif
    atomic_exchange_explicit(&r->epoch, e, memory_order_seq_cst);
    return r;
}

void phn_retire(phn_retire_list* list, phn_retired* node, void* block)
{
    node->block = block;
    node->stamp = atomic_fetch_add_explicit(&phn_global_epoch, 1, memory_order_seq_cst);
    node->next = list->head;
    list->head = node;
    list->count++;
}

/* Smallest epoch any reader is in, or UINT64_MAX when nobody is reading. */
static uint64_t oldest_reader_epoch(void)
{
#ifndef PHN_EPOCH_ALWAYS_FENCE
    /* Makes every reader's epoch store visible before we scan (their half of the fence). */
    if (phn_epoch_fast_readers)
        syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
#endif
    uint64_t oldest = UINT64_MAX;
    for (phn_reader* r = atomic_load_explicit(&readers_head, memory_order_acquire); r;
         r = r->next) {
        uint64_t e = atomic_load_explicit(&r->epoch, memory_order_seq_cst);
        if (e != 0 && e < oldest)
            oldest = e;
    }
    return oldest;
}

size_t phn_reclaim(phn_retire_list* list)
{
    if (!list->head)
        return 0;
    uint64_t oldest = oldest_reader_epoch();
    size_t freed = 0;
    phn_retired** link = &list->head;
    while (*link) {
        phn_retired* node = *link;
        /* A reader that entered at epoch e may hold anything retired with stamp >= e. */
        if (node->stamp < oldest) {
            *link = node->next;
            free(node->block);
            freed++;
        } else {
            link = &node->next;
        }
    }
    list->count -= freed;
    return freed;
}

void phn_reclaim_all_unsafe(phn_retire_list* list)
{
    while (list->head) {
        phn_retired* node = list->head;
        list->head = node->next;
        free(node->block);
    }
    list->count = 0;
}
