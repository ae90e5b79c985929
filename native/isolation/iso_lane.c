/*
 * The lane transport (iso_lane.h): waiting, messages, calls, lane servers, the ring.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "iso_lane.h"

/* Waiting for the peer: rounds of a sched_yield and a short spin, then a futex. When both
 * threads share a CPU the yield hands it to the peer at once (a spin would only delay the
 * answer); when each has its own, the yield returns at once and the spin catches the
 * answer within a few hundred nanoseconds. ROUNDS x (a yield + SPIN pauses) is about 20 us
 * of polling before a waiter sleeps. (Measured on a 2-vCPU VM: 0.4-0.7 us per round trip
 * on two CPUs, 2.2 us on one; a spin-first or spin-only wait made the shared case 3-6 us.) */
#define SPIN 8u
#define ROUNDS 48
/* Futex sleeps are cut in slices to re-check `dead`: marking an end dead wakes every waiter,
 * but one about to sleep may miss that wake. Idle threads wake once per slice. */
#define WAIT_SLICE_NS 250000000ull
static uint64_t slice_of(const iso_ep* ep) { (void)ep; return WAIT_SLICE_NS; }
#define MAX_DEPTH 32          /* lanes a thread can be inside at once (across peers) */

#if defined(__x86_64__) || defined(__i386__)
#  define cpu_relax() __builtin_ia32_pause()
#elif defined(__aarch64__)
#  define cpu_relax() __asm__ __volatile__("yield")
#else
#  define cpu_relax() ((void)0)
#endif

uint64_t iso_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static long futex_wait(_Atomic uint32_t* word, uint32_t expected, uint64_t timeout_ns)
{
    struct timespec ts = {(time_t)(timeout_ns / 1000000000ull), (long)(timeout_ns % 1000000000ull)};
    return syscall(SYS_futex, (uint32_t*)word, FUTEX_WAIT, expected, timeout_ns ? &ts : NULL,
                   NULL, 0);
}

static void futex_wake(_Atomic uint32_t* word)
{
    syscall(SYS_futex, (uint32_t*)word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/* ---- messages ------------------------------------------------------------------------- */

void iso_msg_init(iso_msg* m)
{
    m->p = m->inline_buf;
    m->len = 0;
    m->cap = sizeof m->inline_buf;
    m->kind = m->op = 0;
}

void iso_msg_free(iso_msg* m)
{
    if (m->p != m->inline_buf)
        free(m->p);
    iso_msg_init(m);
}

static int msg_append(iso_msg* m, const unsigned char* src, size_t n)
{
    if (m->len + n > m->cap) {
        size_t cap = m->cap * 2;
        while (cap < m->len + n)
            cap *= 2;
        unsigned char* fresh = malloc(cap);
        if (!fresh)
            return ISO_ENOMEM;
        memcpy(fresh, m->p, m->len);
        if (m->p != m->inline_buf)
            free(m->p);
        m->p = fresh;
        m->cap = cap;
    }
    memcpy(m->p + m->len, src, n);
    m->len += n;
    return ISO_OK;
}

/* ---- the shared mapping and the endpoint ---------------------------------------------- */

void iso_shm_format(iso_shm* shm, uint64_t size)
{
    memset(shm, 0, sizeof *shm);
    shm->magic = ISO_SHM_MAGIC;
    shm->version = ISO_PROTO_VERSION;
    shm->size = size;
    for (int s = 0; s < 2; ++s)
        for (int l = 0; l < ISO_LANES; ++l)
            atomic_store(&shm->lanes[s][l].turn, (uint32_t)s); /* at rest: the initiator's */
}

int iso_shm_check(const iso_shm* shm, uint64_t size)
{
    if (size < sizeof *shm || shm->magic != ISO_SHM_MAGIC || shm->version != ISO_PROTO_VERSION ||
        shm->size != size)
        return -1;
    return 0;
}

void iso_ep_init(iso_ep* ep, iso_shm* shm, int side, iso_handler handler, void* ctx)
{
    memset(ep, 0, sizeof *ep);
    ep->shm = shm;
    ep->side = side;
    ep->handler = handler;
    ep->ctx = ctx;
    atomic_store(&ep->refs, 1);
    pthread_mutex_init(&ep->ring_lock, NULL);
}

void iso_ep_ref(iso_ep* ep) { atomic_fetch_add(&ep->refs, 1); }

int iso_ep_tryref(iso_ep* ep)
{
    int refs = atomic_load(&ep->refs);
    while (refs > 0)
        if (atomic_compare_exchange_weak(&ep->refs, &refs, refs + 1))
            return 1;
    return 0;  /* already torn down: the mapping is gone */
}

void iso_ep_unref(iso_ep* ep)
{
    if (atomic_fetch_sub(&ep->refs, 1) == 1 && ep->destroy)
        ep->destroy(ep);
}

void iso_ep_mark_dead(iso_ep* ep)
{
    if (atomic_exchange(&ep->dead, 1))
        return;
    /* Waiters re-check `dead` whenever they wake; the words themselves are left alone. */
    for (int s = 0; s < 2; ++s)
        for (int l = 0; l < ISO_LANES; ++l)
            futex_wake(&ep->shm->lanes[s][l].turn);
    futex_wake(&ep->shm->doorbell[ep->side]);
    futex_wake(&ep->shm->ring_wake);
}

/* ---- waiting for the turn ------------------------------------------------------------- */

/* Waits until `me` holds the lane's turn. deadline: absolute CLOCK_MONOTONIC ns, 0 = none. */
static int lane_wait(iso_ep* ep, iso_lane_shm* l, uint64_t deadline)
{
    const uint32_t me = (uint32_t)ep->side;
    for (int round = 0; round < ROUNDS; ++round) {
        if (atomic_load_explicit(&l->turn, memory_order_acquire) == me)
            return ISO_OK;
        sched_yield();
        for (uint32_t i = 0; i < SPIN; ++i) {
            if (atomic_load_explicit(&l->turn, memory_order_acquire) == me)
                return ISO_OK;
            cpu_relax();
        }
    }
    const uint32_t bit = 1u << me;
    for (;;) {
        if (atomic_load_explicit(&l->turn, memory_order_seq_cst) == me)
            return ISO_OK;
        if (iso_ep_is_dead(ep))
            return ISO_EDEAD;
        uint64_t wait = slice_of(ep);
        if (deadline) {
            uint64_t now = iso_now_ns();
            if (now >= deadline)
                return ISO_ETIMEOUT;
            if (!wait || deadline - now < wait)
                wait = deadline - now;
        }
        /* Announce the sleep, then re-check: the giver stores turn and then reads sleeping
         * (both sequentially consistent), so one of us sees the other. */
        atomic_fetch_or_explicit(&l->sleeping, bit, memory_order_seq_cst);
        uint32_t seen = atomic_load_explicit(&l->turn, memory_order_seq_cst);
        if (seen != me)
            futex_wait(&l->turn, seen, wait);
        atomic_fetch_and_explicit(&l->sleeping, ~bit, memory_order_seq_cst);
    }
}

static void lane_give(iso_lane_shm* l, uint32_t to)
{
    atomic_store_explicit(&l->turn, to, memory_order_seq_cst);
    if (atomic_load_explicit(&l->sleeping, memory_order_seq_cst) & (1u << to))
        futex_wake(&l->turn);
}

/* ---- sending and receiving on a lane (the caller holds the turn) ------------------------ */

static int lane_send(iso_ep* ep, iso_lane_shm* l, uint32_t kind,
                     uint32_t op, const unsigned char* p, size_t n, uint64_t deadline)
{
    const uint32_t peer = (uint32_t)(1 - ep->side);
    size_t off = 0;
    for (;;) {
        size_t chunk = n - off < ISO_LANE_CAP ? n - off : ISO_LANE_CAP;
        if (chunk)
            memcpy(l->buf, p + off, chunk);
        l->kind = kind;
        l->op = op;
        l->len = (uint32_t)chunk;
        off += chunk;
        l->flags = off < n ? ISO_FLAG_MORE : 0;
        lane_give(l, peer);
        if (off >= n)
            return ISO_OK;
        int rc = lane_wait(ep, l, deadline);
        if (rc != ISO_OK)
            return rc;
        if (l->kind != ISO_MSG_ACK)
            return ISO_EPROTO;
    }
}

static int lane_recv(iso_ep* ep, iso_lane_shm* l, iso_msg* m,
                     uint64_t deadline)
{
    m->len = 0;
    for (;;) {
        uint32_t kind = l->kind, op = l->op, flags = l->flags, len = l->len;
        if (len > ISO_LANE_CAP || (kind != ISO_MSG_CALL && kind != ISO_MSG_RETURN))
            return ISO_EPROTO;
        if (msg_append(m, l->buf, len) != ISO_OK)
            return ISO_ENOMEM;
        m->kind = kind;
        m->op = op;
        if (!(flags & ISO_FLAG_MORE))
            return ISO_OK;
        if (m->len > (size_t)1 << 30)  /* a runner cannot make the host buffer without end */
            return ISO_EPROTO;
        l->kind = ISO_MSG_ACK;
        l->len = 0;
        l->flags = 0;
        lane_give(l, (uint32_t)(1 - ep->side));
        int rc = lane_wait(ep, l, deadline);
        if (rc != ISO_OK)
            return rc;
    }
}

/* ---- the thread's active lanes ---------------------------------------------------------- */

typedef struct active_lane {
    iso_ep* ep;
    int initiator;  /* which side's lane array */
    int lane;
} active_lane;

static _Thread_local active_lane active[MAX_DEPTH];
static _Thread_local int active_n;

static const active_lane* find_active(iso_ep* ep)
{
    for (int i = active_n - 1; i >= 0; --i)
        if (active[i].ep == ep)
            return &active[i];
    return NULL;
}

int iso_in_call(iso_ep* ep) { return find_active(ep) != NULL; }

static int push_active(iso_ep* ep, int initiator, int lane)
{
    if (active_n >= MAX_DEPTH)
        return -1;
    active[active_n++] = (active_lane){ep, initiator, lane};
    return 0;
}

static void pop_active(void) { --active_n; }

/* Takes a free lane of this side; rings the peer's doorbell the first time a lane is used. */
static int acquire_lane(iso_ep* ep, uint64_t deadline)
{
    for (unsigned tries = 0;; ++tries) {
        uint32_t busy = atomic_load(&ep->busy);
        for (int l = 0; l < ISO_LANES; ++l) {
            uint32_t bit = 1u << l;
            if (!(busy & bit) && !(atomic_fetch_or(&ep->busy, bit) & bit)) {
                if (!(atomic_fetch_or(&ep->announced, bit) & bit)) {
                    int peer = 1 - ep->side;
                    atomic_fetch_or(&ep->shm->doorbell[peer], bit);
                    futex_wake(&ep->shm->doorbell[peer]);
                }
                return l;
            }
        }
        if (iso_ep_is_dead(ep))
            return ISO_EDEAD;
        if (deadline && iso_now_ns() >= deadline)
            return ISO_ETIMEOUT;
        if (tries < 64) {
            sched_yield();
        } else {
            struct timespec ts = {0, 50000};
            nanosleep(&ts, NULL);
        }
    }
}

static void release_lane(iso_ep* ep, int lane) { atomic_fetch_and(&ep->busy, ~(1u << lane)); }

/* ---- calls ------------------------------------------------------------------------------- */

#define HOST_FRAGMENT_BUDGET_NS 10000000000ull

static int serve_one(iso_ep* ep, iso_lane_shm* l, iso_msg* call,
                     uint64_t deadline)
{
    iso_r in;
    iso_w out;
    iso_msg_reader(call, &in);
    iso_w_init(&out);
    ep->handler(ep, call->op, &in, &out);
    /* A long answer goes out in acknowledged fragments: the host never waits for a runner's
     * acknowledgement without a deadline. */
    if (!deadline && ep->side == ISO_SIDE_HOST && out.len > ISO_LANE_CAP)
        deadline = iso_now_ns() + HOST_FRAGMENT_BUDGET_NS;
    int rc = out.oom ? ISO_ENOMEM
                     : lane_send(ep, l, ISO_MSG_RETURN, call->op, out.p, out.len, deadline);
    iso_w_free(&out);
    return rc;
}

static void timed_out(iso_ep* ep)
{
    if (ep->on_timeout)
        ep->on_timeout(ep);
    iso_ep_mark_dead(ep);
}

static int call_locked(iso_ep* ep, uint32_t op, const iso_w* args, iso_msg* reply,
                       uint64_t budget_ns);

int iso_call(iso_ep* ep, uint32_t op, const iso_w* args, iso_msg* reply, uint64_t budget_ns)
{
    /* A reference for the call's duration: the mapping stays while this thread uses it,
     * even if the peer dies and the owner lets go meanwhile. */
    if (iso_ep_is_dead(ep) || !iso_ep_tryref(ep))
        return ISO_EDEAD;
    int rc = call_locked(ep, op, args, reply, budget_ns);
    iso_ep_unref(ep);
    return rc;
}

static int call_locked(iso_ep* ep, uint32_t op, const iso_w* args, iso_msg* reply,
                       uint64_t budget_ns)
{
    if (iso_ep_is_dead(ep))
        return ISO_EDEAD;
    if (args->oom)
        return ISO_ENOMEM;
    uint64_t deadline = budget_ns ? iso_now_ns() + budget_ns : 0;
    const active_lane* found = find_active(ep);
    int initiator, lane, acquired = 0;
    if (found) {
        initiator = found->initiator;
        lane = found->lane;
    } else {
        lane = acquire_lane(ep, deadline);
        if (lane < 0) {
            if (lane == ISO_ETIMEOUT)
                timed_out(ep);
            return lane;
        }
        initiator = ep->side;
        acquired = 1;
        if (push_active(ep, initiator, lane) != 0) {
            release_lane(ep, lane);
            return ISO_ENOMEM;
        }
    }
    iso_lane_shm* l = &ep->shm->lanes[initiator][lane];
    int rc = lane_send(ep, l, ISO_MSG_CALL, op, args->p, args->len, deadline);
    while (rc == ISO_OK) {
        rc = lane_wait(ep, l, deadline);
        if (rc != ISO_OK)
            break;
        rc = lane_recv(ep, l, reply, deadline);
        if (rc != ISO_OK || reply->kind == ISO_MSG_RETURN)
            break;
        /* A nested CALL from the peer: serve it here (its own nested calls use their own
         * buffers, so `reply` is free again afterwards); its time is not the peer's. */
        uint64_t started = deadline ? iso_now_ns() : 0;
        rc = serve_one(ep, l, reply, deadline);
        if (deadline)
            deadline += iso_now_ns() - started;
    }
    if (acquired) {
        pop_active();
        release_lane(ep, lane);
    }
    if (rc == ISO_ETIMEOUT)
        timed_out(ep);
    else if (rc == ISO_EPROTO && ep->side == ISO_SIDE_HOST)
        timed_out(ep);  /* a runner that breaks the protocol is stopped like a stuck one */
    return rc;
}

void iso_serve_lane(iso_ep* ep, int lane)
{
    const int initiator = 1 - ep->side;
    iso_lane_shm* l = &ep->shm->lanes[initiator][lane];
    if (push_active(ep, initiator, lane) != 0)
        return;
    iso_msg call;
    iso_msg_init(&call);
    for (;;) {
        if (lane_wait(ep, l, 0) != ISO_OK)
            break;
        uint64_t frag = ep->side == ISO_SIDE_HOST ? iso_now_ns() + HOST_FRAGMENT_BUDGET_NS : 0;
        if (lane_recv(ep, l, &call, frag) != ISO_OK || call.kind != ISO_MSG_CALL) {
            if (ep->side == ISO_SIDE_HOST)
                timed_out(ep);
            break;
        }
        if (ep->before_serve)
            ep->before_serve(ep);
        if (serve_one(ep, l, &call, 0) != ISO_OK)
            break;
        if (call.cap > 4 * sizeof call.inline_buf)
            iso_msg_free(&call);  /* do not keep a huge buffer for the lane's life */
    }
    iso_msg_free(&call);
    pop_active();
}

/* ---- the doorbell: one server thread per lane the peer uses ------------------------------ */

typedef struct server_arg {
    iso_ep* ep;
    int lane;
} server_arg;

static void* server_main(void* p)
{
    server_arg arg = *(server_arg*)p;
    free(p);
    iso_serve_lane(arg.ep, arg.lane);
    iso_ep_unref(arg.ep);
    return NULL;
}

static int start_server(iso_ep* ep, int lane)
{
    server_arg* arg = malloc(sizeof *arg);
    if (!arg)
        return -1;
    arg->ep = ep;
    arg->lane = lane;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t thread;
    iso_ep_ref(ep);
    /* Server threads take no signals: they belong to whoever runs the process's main. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&thread, &attr, server_main, arg);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        free(arg);
        iso_ep_unref(ep);
        return -1;
    }
    return 0;
}

void iso_doorbell_loop(iso_ep* ep, void (*tick)(iso_ep*), uint64_t tick_ns)
{
    _Atomic uint32_t* bell = &ep->shm->doorbell[ep->side];
    while (!iso_ep_is_dead(ep)) {
        uint32_t rung = atomic_load(bell);
        uint32_t fresh = rung & ~ep->started & ((1u << ISO_LANES) - 1);
        for (int l = 0; l < ISO_LANES; ++l)
            if ((fresh & (1u << l)) && start_server(ep, l) == 0)
                ep->started |= 1u << l;
        if (tick)
            tick(ep);
        if (!(rung & ~ep->started & ((1u << ISO_LANES) - 1)))
            futex_wait(bell, rung, tick ? tick_ns : slice_of(ep));
    }
}

/* ---- the ring ------------------------------------------------------------------------- */

#define RING_WRAP 0xFFFFFFFFu

static inline uint64_t align8(uint64_t n) { return (n + 7) & ~(uint64_t)7; }

static int ring_post(iso_ep* ep, uint32_t op, const iso_w* payload, uint64_t budget_ns);

int iso_ring_post(iso_ep* ep, uint32_t op, const iso_w* payload, uint64_t budget_ns)
{
    if (iso_ep_is_dead(ep) || !iso_ep_tryref(ep))
        return ISO_EDEAD;
    int rc = ring_post(ep, op, payload, budget_ns);
    iso_ep_unref(ep);
    return rc;
}

static int ring_post(iso_ep* ep, uint32_t op, const iso_w* payload, uint64_t budget_ns)
{
    iso_shm* shm = ep->shm;
    uint64_t need = 8 + align8(payload->len);
    if (payload->oom)
        return ISO_ENOMEM;
    if (need > ISO_RING_CAP / 2)
        return ISO_EFULL;
    uint64_t deadline = budget_ns ? iso_now_ns() + budget_ns : 0;
    pthread_mutex_lock(&ep->ring_lock);
    int rc = ISO_OK;
    for (unsigned tries = 0;; ++tries) {
        if (iso_ep_is_dead(ep)) {
            rc = ISO_EDEAD;
            break;
        }
        uint64_t head = ep->ring_head;
        uint64_t tail = atomic_load_explicit(&shm->ring_tail, memory_order_acquire);
        uint64_t pos = head % ISO_RING_CAP;
        uint64_t total = pos + need > ISO_RING_CAP ? (ISO_RING_CAP - pos) + need : need;
        if (head + total - tail <= ISO_RING_CAP) {
            if (total != need) {  /* does not fit before the end: mark a wrap */
                uint32_t wrap[2] = {RING_WRAP, 0};
                memcpy(shm->ring + pos, wrap, 8);
                pos = 0;
            }
            uint32_t header[2] = {(uint32_t)payload->len, op};
            memcpy(shm->ring + pos, header, 8);
            memcpy(shm->ring + pos + 8, payload->p, payload->len);
            ep->ring_head = head + total;
            ep->ring_posted++;
            atomic_store_explicit(&shm->ring_head, ep->ring_head, memory_order_seq_cst);
            if (atomic_load_explicit(&shm->ring_sleeping, memory_order_seq_cst)) {
                atomic_fetch_add(&shm->ring_wake, 1);
                futex_wake(&shm->ring_wake);
            }
            break;
        }
        if (deadline && iso_now_ns() >= deadline) {
            rc = ISO_ETIMEOUT;
            break;
        }
        if (tries < 256) {
            cpu_relax();
        } else {
            struct timespec ts = {0, 20000};
            nanosleep(&ts, NULL);
        }
    }
    pthread_mutex_unlock(&ep->ring_lock);
    if (rc == ISO_ETIMEOUT)
        timed_out(ep);
    return rc;
}

static int ring_drain(iso_ep* ep, uint64_t budget_ns);

int iso_ring_drain(iso_ep* ep, uint64_t budget_ns)
{
    if (iso_ep_is_dead(ep) || !iso_ep_tryref(ep))
        return ISO_EDEAD;
    int rc = ring_drain(ep, budget_ns);
    iso_ep_unref(ep);
    return rc;
}

static int ring_drain(iso_ep* ep, uint64_t budget_ns)
{
    pthread_mutex_lock(&ep->ring_lock);
    uint64_t posted = ep->ring_posted;
    pthread_mutex_unlock(&ep->ring_lock);
    uint64_t deadline = budget_ns ? iso_now_ns() + budget_ns : 0;
    for (unsigned tries = 0;; ++tries) {
        if (atomic_load_explicit(&ep->shm->ring_done, memory_order_acquire) >= posted)
            return ISO_OK;
        if (iso_ep_is_dead(ep))
            return ISO_EDEAD;
        if (deadline && iso_now_ns() >= deadline)
            return ISO_ETIMEOUT;
        if (tries < 1024) {
            cpu_relax();
        } else {
            struct timespec ts = {0, 20000};
            nanosleep(&ts, NULL);
        }
    }
}

size_t iso_ring_consume(iso_ep* ep)
{
    iso_shm* shm = ep->shm;
    uint64_t tail = atomic_load_explicit(&shm->ring_tail, memory_order_relaxed);
    size_t done = 0;
    iso_msg record;
    iso_msg_init(&record);
    for (;;) {
        uint64_t head = atomic_load_explicit(&shm->ring_head, memory_order_acquire);
        if (tail == head)
            break;
        uint64_t pos = tail % ISO_RING_CAP;
        uint32_t header[2];
        memcpy(header, shm->ring + pos, 8);
        if (header[0] == RING_WRAP) {
            tail += ISO_RING_CAP - pos;
            continue;
        }
        record.len = 0;
        msg_append(&record, shm->ring + pos + 8, header[0]);
        record.op = header[1];
        tail += 8 + align8(header[0]);
        atomic_store_explicit(&shm->ring_tail, tail, memory_order_release);
        atomic_store_explicit(&shm->ring_busy_since, iso_now_ns(), memory_order_relaxed);
        iso_r in;
        iso_w out;
        iso_msg_reader(&record, &in);
        iso_w_init(&out);
        ep->handler(ep, record.op, &in, &out);
        iso_w_free(&out);
        atomic_store_explicit(&shm->ring_busy_since, 0, memory_order_relaxed);
        atomic_fetch_add_explicit(&shm->ring_done, 1, memory_order_release);
        ++done;
    }
    iso_msg_free(&record);
    return done;
}

void iso_ring_wait(iso_ep* ep)
{
    iso_shm* shm = ep->shm;
    for (int round = 0; round < ROUNDS; ++round) {  /* as lane_wait polls */
        if (atomic_load_explicit(&shm->ring_head, memory_order_acquire) !=
            atomic_load_explicit(&shm->ring_tail, memory_order_relaxed))
            return;
        sched_yield();
        for (unsigned i = 0; i < SPIN; ++i) {
            if (atomic_load_explicit(&shm->ring_head, memory_order_acquire) !=
                atomic_load_explicit(&shm->ring_tail, memory_order_relaxed))
                return;
            cpu_relax();
        }
    }
    while (!iso_ep_is_dead(ep)) {
        uint32_t seen = atomic_load_explicit(&shm->ring_wake, memory_order_seq_cst);
        atomic_store_explicit(&shm->ring_sleeping, 1, memory_order_seq_cst);
        if (atomic_load_explicit(&shm->ring_head, memory_order_seq_cst) !=
            atomic_load_explicit(&shm->ring_tail, memory_order_relaxed)) {
            atomic_store(&shm->ring_sleeping, 0);
            return;
        }
        futex_wait(&shm->ring_wake, seen, slice_of(ep));
        atomic_store(&shm->ring_sleeping, 0);
    }
}
