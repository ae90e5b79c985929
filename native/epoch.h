/*
 * Epoch-based reclamation for the hook bus.
 *
 * Readers (run_hook) announce the epoch they entered in a per-thread record with a plain
 * store; writers retire what they unpublished and free it once every reader that could still
 * hold it has left. The store/load ordering readers would need a full fence for is moved to
 * the writer with membarrier(2) where the kernel offers it (urcu's "memb" flavour), so the
 * read side costs a few ordinary instructions. Without membarrier, and under ThreadSanitizer,
 * readers use a sequentially consistent exchange instead.
 */
#ifndef PYHOST_EPOCH_H
#define PYHOST_EPOCH_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__SANITIZE_THREAD__)
#  define PHN_EPOCH_ALWAYS_FENCE 1
#elif defined(__has_feature)
#  if __has_feature(thread_sanitizer)
#    define PHN_EPOCH_ALWAYS_FENCE 1
#  endif
#endif

typedef struct phn_reader {
    /* 0 = not inside a read section. Written only by the owner thread; its own next
     * dispatch tests it to tell a nested dispatch (a subscriber firing a hook). */
    _Alignas(64) _Atomic uint64_t epoch;
    _Atomic int in_use;          /* 0 = free for the next thread that attaches */
    struct phn_reader* next;     /* global list; records are recycled, never freed */
} phn_reader;                    /* one cache line each: threads never share one */

/* Hidden: the read side reaches them without a GOT load (they never leave the library). */
#if defined(__GNUC__) && !defined(_WIN32)
#  define PHN_EPOCH_INTERNAL __attribute__((visibility("hidden")))
#else
#  define PHN_EPOCH_INTERNAL
#endif

extern PHN_EPOCH_INTERNAL _Atomic uint64_t phn_global_epoch;
extern PHN_EPOCH_INTERNAL int phn_epoch_fast_readers; /* set once at start-up: membarrier works */

/* The record the fast path reads. Every thread starts at phn_reader_unattached, whose epoch is
 * never 0, so the fast path's single test sends a thread without a record of its own to the
 * slow path too. It is switched to the thread's own record only when membarrier works: without
 * it every dispatch takes the slow path, which enters with a full fence. */
extern PHN_EPOCH_INTERNAL phn_reader phn_reader_unattached;
extern _Thread_local phn_reader* phn_tls_reader
    __attribute__((tls_model("initial-exec")));

/* Enters a read section on the fast path, with r = phn_tls_reader: returns 0 when the caller
 * must use phn_read_enter_slow instead (no record yet, no membarrier, or the thread is
 * already inside a read section: a subscriber firing a hook). Nesting is told by a load and
 * a predictable branch, not a counter, so back-to-back dispatches carry no data dependency
 * through memory (a counter's ++/-- would chain each dispatch to the previous one through
 * store-to-load forwarding). */
static inline int phn_read_try_enter(phn_reader* r)
{
    if (__builtin_expect(atomic_load_explicit(&r->epoch, memory_order_relaxed) != 0, 0))
        return 0;
    atomic_store_explicit(&r->epoch,
                          atomic_load_explicit(&phn_global_epoch, memory_order_acquire),
                          memory_order_relaxed);
    atomic_signal_fence(memory_order_seq_cst); /* the writer's membarrier orders it */
    return 1;
}

/* Leaves a section phn_read_try_enter entered. */
static inline void phn_read_exit_fast(phn_reader* r)
{
    atomic_store_explicit(&r->epoch, 0, memory_order_release);
}

/* The slow path: attaches the thread's record if needed. Returns the record when this call
 * entered a read section, NULL when the thread was already inside one; hand the result to
 * phn_read_exit. */
phn_reader* phn_read_enter_slow(void);

static inline void phn_read_exit(phn_reader* entered)
{
    if (entered)
        atomic_store_explicit(&entered->epoch, 0, memory_order_release);
}

/* A retired block waits in a per-owner list until no reader can still see it. The node is
 * embedded in the block itself, so retiring never allocates and cannot fail. */
typedef struct phn_retired {
    struct phn_retired* next;
    uint64_t stamp;
    void* block;   /* passed to free() */
} phn_retired;

typedef struct phn_retire_list {
    phn_retired* head;
    size_t count;
} phn_retire_list;

/* Writer side; the caller serialises calls on one list (the bus writer lock). */
void phn_retire(phn_retire_list* list, phn_retired* node, void* block);
size_t phn_reclaim(phn_retire_list* list);          /* frees what is safe; returns count */
void phn_reclaim_all_unsafe(phn_retire_list* list); /* only when no reader can exist */

#endif
