/*
 * Hooks and subscriptions. A hook's subscribers are published as an immutable array through
 * an atomic pointer: run_hook reads it inside an epoch read section (no lock, no allocation),
 * bind/release build a new array under the bus lock, publish it and retire the old one.
 */
#include <stdlib.h>
#include <string.h>

#include "bus_internal.h"
#include "dispatch.h"

struct phn_hook {
    phn_retired retire;
    phn_bus* bus;
    phn_hook* next_in_bucket;
    DCHOOK def_proc;
    _Atomic(phn_sub_array*) subs;  /* NULL: no subscribers */
    phn_sub* first;                /* bind order; owned under the bus lock */
    phn_sub* last;
    size_t count;
    char guid[];
};

struct phn_sub {
    phn_bus* bus;
    const void* token;             /* its handle (bus_handles.c) */
    phn_hook* hook;                /* NULL once the hook was destroyed */
    phn_sub* prev;
    phn_sub* next;
    DCHOOK proc;
    void* common;
};

static unsigned guid_bucket(const char* guid)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const unsigned char* p = (const unsigned char*)guid; *p; ++p)
        h = (h ^ *p) * 16777619u;
    return h % PHN_HOOK_BUCKETS;
}

static phn_hook* find_locked(phn_bus* bus, const char* guid)
{
    for (phn_hook* h = bus->buckets[guid_bucket(guid)]; h; h = h->next_in_bucket)
        if (strcmp(h->guid, guid) == 0)
            return h;
    return NULL;
}

/* The Python bridge's trampoline (phn_set_python_proc): snapshots made only of it are
 * marked, so a Python caller may keep the GIL across their dispatch. */
static _Atomic(DCHOOK) python_proc;

void phn_set_python_proc(DCHOOK proc)
{
    atomic_store_explicit(&python_proc, proc, memory_order_release);
}

/* Builds the array for the hook's current subscriber list and publishes it. */
static int publish_locked(phn_hook* hook)
{
    phn_sub_array* fresh = NULL;
    if (hook->count > 0) {
        if (hook->count > UINT32_MAX)
            return -1;
        fresh = malloc(sizeof *fresh + hook->count * sizeof(phn_entry));
        if (!fresh)
            return -1;
        DCHOOK python = atomic_load_explicit(&python_proc, memory_order_acquire);
        fresh->count = 0;
        fresh->python_only = python != NULL;
        for (phn_sub* s = hook->first; s; s = s->next) {
            fresh->entries[fresh->count++] = (phn_entry){s->proc, s->common};
            if (s->proc != python)
                fresh->python_only = 0;
        }
    }
    phn_sub_array* old = atomic_exchange_explicit(&hook->subs, fresh, memory_order_seq_cst);
    if (old)
        phn_retire(&hook->bus->retired, &old->retire, old);
    phn_reclaim(&hook->bus->retired);
    return 0;
}

hookHandle phn_create_hook(phn_bus* bus, const char* guid, DCHOOK def_proc)
{
    if (!bus || !guid)
        return NULL;
    size_t len = strlen(guid);
    phn_hook* hook = calloc(1, sizeof *hook + len + 1);
    if (!hook)
        return NULL;
    memcpy(hook->guid, guid, len + 1);
    hook->bus = bus;
    hook->def_proc = def_proc;
    pthread_mutex_lock(&bus->lock);
    if (find_locked(bus, guid) || phn_handle_add(hook, PHN_HANDLE_HOOK, hook) != 0) {
        pthread_mutex_unlock(&bus->lock);
        free(hook);
        return NULL;
    }
    unsigned b = guid_bucket(guid);
    hook->next_in_bucket = bus->buckets[b];
    bus->buckets[b] = hook;
    pthread_mutex_unlock(&bus->lock);
    return hook;
}

Bool phn_destroy_hook(hookHandle handle)
{
    /* Only a live hook is read: anything else (destroyed, garbage) is refused. */
    phn_hook* hook = phn_handle_take(handle, PHN_HANDLE_HOOK);
    if (!hook)
        return False;
    phn_bus* bus = hook->bus;
    pthread_mutex_lock(&bus->lock);
    phn_hook** link = &bus->buckets[guid_bucket(hook->guid)];
    while (*link && *link != hook)
        link = &(*link)->next_in_bucket;
    if (!*link) {
        pthread_mutex_unlock(&bus->lock);
        return False;
    }
    *link = hook->next_in_bucket;
    /* Its subscriptions stay valid handles until released; release then answers 0. */
    while (hook->first) {
        phn_sub* s = hook->first;
        hook->first = s->next;
        s->hook = NULL;
        s->prev = NULL;
        s->next = bus->orphans;
        if (bus->orphans)
            bus->orphans->prev = s;
        bus->orphans = s;
    }
    hook->last = NULL;
    hook->count = 0;
    phn_sub_array* old = atomic_exchange_explicit(&hook->subs, NULL, memory_order_seq_cst);
    if (old)
        phn_retire(&bus->retired, &old->retire, old);
    phn_retire(&bus->retired, &hook->retire, hook);
    phn_reclaim(&bus->retired);
    pthread_mutex_unlock(&bus->lock);
    return True;
}

subsHandle phn_bind_hook(phn_bus* bus, const char* guid, DCHOOK proc, void* common)
{
    if (!bus || !guid || !proc)
        return NULL;
    phn_sub* sub = calloc(1, sizeof *sub);
    if (!sub)
        return NULL;
    sub->token = phn_handle_token(PHN_HANDLE_SUB); /* live once published below */
    if (!sub->token) {
        free(sub);
        return NULL;
    }
    sub->bus = bus;
    sub->proc = proc;
    sub->common = common;
    pthread_mutex_lock(&bus->lock);
    phn_hook* hook = find_locked(bus, guid);
    if (!hook) {
        pthread_mutex_unlock(&bus->lock);
        phn_handle_drop(sub->token);
        free(sub);
        return NULL;
    }
    sub->hook = hook;
    sub->prev = hook->last;
    if (hook->last)
        hook->last->next = sub;
    else
        hook->first = sub;
    hook->last = sub;
    hook->count++;
    if (publish_locked(hook) != 0) {
        hook->last = sub->prev;
        if (hook->last)
            hook->last->next = NULL;
        else
            hook->first = NULL;
        hook->count--;
        pthread_mutex_unlock(&bus->lock);
        phn_handle_drop(sub->token);
        free(sub);
        return NULL;
    }
    phn_handle_publish(sub->token, sub);
    pthread_mutex_unlock(&bus->lock);
    return (subsHandle)sub->token;
}

size_t phn_release_hook(subsHandle handle)
{
    size_t left = 0;
    phn_release_hook_checked(handle, &left);
    return left;
}

int phn_release_hook_checked(subsHandle handle, size_t* left_out)
{
    if (left_out)
        *left_out = 0;
    if (!handle)
        return 0; /* release_hook(NULL) answers 0, as in the reference */
    /* Only a live subscription is read: anything else (released, garbage) is refused. */
    phn_sub* sub = phn_handle_take(handle, PHN_HANDLE_SUB);
    if (!sub)
        return -1;
    phn_bus* bus = sub->bus;
    pthread_mutex_lock(&bus->lock);
    phn_hook* hook = sub->hook;
    size_t left = 0;
    if (!hook) {
        if (sub->prev)
            sub->prev->next = sub->next;
        else
            bus->orphans = sub->next;
        if (sub->next)
            sub->next->prev = sub->prev;
    } else {
        if (sub->prev)
            sub->prev->next = sub->next;
        else
            hook->first = sub->next;
        if (sub->next)
            sub->next->prev = sub->prev;
        else
            hook->last = sub->prev;
        hook->count--;
        /* Dispatch reads only the arrays, never the sub: it can go at once. */
        while (publish_locked(hook) != 0) {
            /* Out of memory for the smaller array: wait for reclamation to free some. */
            phn_reclaim(&bus->retired);
        }
        left = hook->count;
    }
    pthread_mutex_unlock(&bus->lock);
    free(sub);
    if (left_out)
        *left_out = left;
    return 0;
}

static inline Bool dispatch(phn_hook* hook, dcptr_t object, dcptr_t data)
{
    phn_sub_array* subs = atomic_load_explicit(&hook->subs, memory_order_seq_cst);
    return phn_dispatch(subs, hook->def_proc, object, data);
}

/* The rare cases (a thread's first dispatch, a nested dispatch, no membarrier) out of line,
 * so the fast path below saves one register and needs no test after the call. */
static __attribute__((noinline)) Bool run_hook_slow(phn_hook* hook, dcptr_t object,
                                                    dcptr_t data)
{
    phn_reader* r = phn_read_enter_slow();
    Bool handled = dispatch(hook, object, data);
    phn_read_exit(r);
    return handled;
}

static inline Bool run_hook(hookHandle handle, dcptr_t object, dcptr_t data)
{
    if (!handle)
        return False;
    phn_reader* r = phn_tls_reader;
    if (__builtin_expect(!phn_read_try_enter(r), 0))
        return run_hook_slow(handle, object, data);
    Bool handled = dispatch(handle, object, data);
    phn_read_exit_fast(r);
    return handled;
}

Bool phn_run_hook(hookHandle handle, dcptr_t object, dcptr_t data)
{
    return run_hook(handle, object, data);
}

/* The DCHooks tables' run_hook: the same body, so a plugin's call lands here directly
 * instead of going through a wrapper and the PLT. */
Bool DCAPI phn_abi_run_hook(hookHandle handle, dcptr_t object, dcptr_t data)
{
    return run_hook(handle, object, data);
}

Bool phn_run_hook_gil(hookHandle handle, dcptr_t object, dcptr_t data,
                      const phn_gil_ops* gil)
{
    if (!handle)
        return False;
    phn_hook* hook = handle;
    phn_reader* r = phn_tls_reader;
    int fast = phn_read_try_enter(r);
    if (!fast)
        r = phn_read_enter_slow();
    phn_sub_array* subs = atomic_load_explicit(&hook->subs, memory_order_seq_cst);
    Bool handled;
    if (subs ? subs->python_only : hook->def_proc == NULL) {
        handled = phn_dispatch(subs, hook->def_proc, object, data);
    } else {
        void* state = gil->release();
        handled = phn_dispatch(subs, hook->def_proc, object, data);
        gil->reacquire(state);
    }
    if (fast)
        phn_read_exit_fast(r);
    else
        phn_read_exit(r);
    return handled;
}

size_t phn_run_many(hookHandle handle, const phn_event* events, size_t n, Bool* results)
{
    if (!handle)
        return 0;
    size_t handled = 0;
    for (size_t i = 0; i < n; ++i) {
        /* One read section per event so writers can reclaim between events. */
        Bool res = run_hook(handle, events[i].object, events[i].data);
        if (results)
            results[i] = res;
        handled += res == True;
    }
    return handled;
}

hookHandle phn_find_hook(phn_bus* bus, const char* guid)
{
    if (!bus || !guid)
        return NULL;
    pthread_mutex_lock(&bus->lock);
    phn_hook* hook = find_locked(bus, guid);
    pthread_mutex_unlock(&bus->lock);
    return hook;
}

size_t phn_hook_subscribers(hookHandle handle)
{
    phn_hook* hook = handle;
    if (!hook)
        return 0;
    pthread_mutex_lock(&hook->bus->lock);
    size_t n = hook->count;
    pthread_mutex_unlock(&hook->bus->lock);
    return n;
}

size_t phn_bus_pending_reclaim(phn_bus* bus)
{
    pthread_mutex_lock(&bus->lock);
    phn_reclaim(&bus->retired);
    size_t n = bus->retired.count;
    pthread_mutex_unlock(&bus->lock);
    return n;
}

void phn_bus_hooks_free_all(phn_bus* bus)
{
    for (int b = 0; b < PHN_HOOK_BUCKETS; ++b) {
        while (bus->buckets[b]) {
            phn_hook* hook = bus->buckets[b];
            bus->buckets[b] = hook->next_in_bucket;
            phn_handle_drop(hook);
            while (hook->first) {
                phn_sub* s = hook->first;
                hook->first = s->next;
                phn_handle_drop(s->token);
                free(s);
            }
            free(atomic_load(&hook->subs));
            free(hook);
        }
    }
    while (bus->orphans) {
        phn_sub* s = bus->orphans;
        bus->orphans = s->next;
        phn_handle_drop(s->token);
        free(s);
    }
    phn_reclaim_all_unsafe(&bus->retired);
}
