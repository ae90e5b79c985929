/*
 * iso_lane.h -- the shared-memory transport between the host and one runner process.
 *
 * One memfd mapping holds ISO_LANES lanes per side and a one-way ring.
 *
 * A lane is a conversation slot: one message buffer and a `turn` word naming the side that
 * must act next. The side that starts a call (the lane's initiator) writes a CALL and gives
 * the turn away; the other side answers with a RETURN and gives it back. While a side waits
 * for its RETURN it may instead receive a CALL -- the other side calling back in the middle
 * of the call (a plugin calling DCHub.send_message inside a chat hook, which fires another
 * hook...) -- and serves it on the same lane before waiting again, so nested calls work to
 * any depth, in both directions, exactly like nested function calls in one process. A thread
 * that is inside a call on a lane keeps using that lane for every further call it makes to
 * the same peer (a thread-local stack of active lanes); a thread with no active lane takes a
 * free lane of its own side. Each lane initiated by one side is served on the other side by
 * a thread of its own, started on first use (the "doorbell").
 *
 * Waiting: rounds of sched_yield and a short spin (the peer usually answers within
 * microseconds), then a futex on the turn word. The futexes are process-shared (no
 * FUTEX_PRIVATE_FLAG).
 *
 * Messages longer than a lane's buffer are sent in fragments, each acknowledged.
 *
 * The ring carries fire-and-forget calls from the host to the runner (one producer lock on
 * the host, one consumer); the runner drains it before serving any lane CALL so a later
 * synchronous call never overtakes an earlier fire-and-forget one.
 *
 * Trust: the host never trusts what the runner wrote. It copies every message into private
 * memory before decoding it (iso_wire.h checks every length), keeps its own bookkeeping
 * (free lanes, dead flag) in private memory, and bounds every wait for the runner by the
 * call's deadline. The runner trusts the host.
 */
#ifndef PYHOST_ISO_LANE_H
#define PYHOST_ISO_LANE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "iso_proto.h"
#include "iso_wire.h"

enum { ISO_SIDE_HOST = 0, ISO_SIDE_RUNNER = 1 };

/* Results of iso_call and friends. */
#define ISO_OK 0
#define ISO_EDEAD (-1)     /* the peer is gone (or was killed) */
#define ISO_ETIMEOUT (-2)  /* the peer did not answer within the deadline */
#define ISO_EPROTO (-3)    /* the peer broke the protocol */
#define ISO_ENOMEM (-4)
#define ISO_EFULL (-5)     /* ring: the record can never fit */

enum { ISO_MSG_CALL = 1, ISO_MSG_RETURN = 2, ISO_MSG_ACK = 3 };
#define ISO_FLAG_MORE 1u

typedef struct iso_lane_shm {
    _Alignas(64) _Atomic uint32_t turn;      /* ISO_SIDE_* that must act next */
    _Atomic uint32_t sleeping;               /* bit (1 << side): that side waits in a futex */
    uint32_t kind;
    uint32_t op;
    uint32_t flags;
    uint32_t len;
    _Alignas(64) unsigned char buf[ISO_LANE_CAP];
} iso_lane_shm;

typedef struct iso_shm {
    uint32_t magic;
    uint32_t version;
    uint64_t size;
    /* doorbell[s]: lanes initiated by the other side that want a server thread on side s */
    _Alignas(64) _Atomic uint32_t doorbell[2];
    _Alignas(64) _Atomic uint64_t ring_head;      /* bytes written (host) */
    _Alignas(64) _Atomic uint64_t ring_tail;      /* bytes taken (runner) */
    _Atomic uint64_t ring_done;                   /* records processed (runner) */
    _Atomic uint64_t ring_busy_since;             /* CLOCK_MONOTONIC ns of the record in work, 0 */
    _Atomic uint32_t ring_wake;                   /* futex word bumped by the producer */
    _Atomic uint32_t ring_sleeping;               /* the consumer waits in a futex */
    iso_lane_shm lanes[2][ISO_LANES];             /* lanes[s]: lanes initiated by side s */
    _Alignas(64) unsigned char ring[ISO_RING_CAP];
} iso_shm;

/* A received message, copied out of shared memory (fragments joined). */
typedef struct iso_msg {
    unsigned char* p;
    size_t len;
    size_t cap;
    uint32_t kind;
    uint32_t op;
    unsigned char inline_buf[1024];
} iso_msg;

void iso_msg_init(iso_msg* m);
void iso_msg_free(iso_msg* m);
static inline void iso_msg_reader(const iso_msg* m, iso_r* r) { iso_r_init(r, m->p, m->len); }

typedef struct iso_ep iso_ep;

/* Serves one CALL: reads its arguments from `in`, writes the RETURN payload to `out`. */
typedef void (*iso_handler)(iso_ep* ep, uint32_t op, iso_r* in, iso_w* out);

struct iso_ep {
    iso_shm* shm;
    int side;
    iso_handler handler;
    void* ctx;                          /* the owner's state (host channel, runner) */
    _Atomic int dead;                   /* private: set once the peer is gone */
    _Atomic uint32_t busy;              /* own-initiated lanes in use */
    _Atomic uint32_t announced;         /* own-initiated lanes the peer was told about */
    uint32_t started;                   /* peer-initiated lanes with a server thread */
    /* Called (once per failure) when a wait for the peer ran past its deadline; the host
     * kills the runner there. */
    void (*on_timeout)(iso_ep* ep);
    /* Called before a lane server serves a top-level CALL (the runner drains the ring). */
    void (*before_serve)(iso_ep* ep);
    /* Server threads hold a reference; the owner releases its own with iso_ep_unref. The
     * last reference calls `destroy`. */
    _Atomic int refs;
    void (*destroy)(iso_ep* ep);
    /* host: the ring's producer lock and counters */
    pthread_mutex_t ring_lock;
    uint64_t ring_head;                 /* private copy of what was written */
    uint64_t ring_posted;               /* records posted */
};

uint64_t iso_now_ns(void);

/* Lays out a fresh mapping of `size` bytes (>= sizeof(iso_shm)). */
void iso_shm_format(iso_shm* shm, uint64_t size);
/* Checks a mapping the peer formatted; 0 when it is usable. */
int iso_shm_check(const iso_shm* shm, uint64_t size);

void iso_ep_init(iso_ep* ep, iso_shm* shm, int side, iso_handler handler, void* ctx);
void iso_ep_ref(iso_ep* ep);
int iso_ep_tryref(iso_ep* ep);   /* 0 when the last reference is already gone */
void iso_ep_unref(iso_ep* ep);

/* Marks the peer dead and wakes every waiter (they return ISO_EDEAD). */
void iso_ep_mark_dead(iso_ep* ep);
static inline int iso_ep_is_dead(iso_ep* ep)
{
    return atomic_load_explicit(&ep->dead, memory_order_acquire) != 0;
}

/* Calls the peer: `op` with the payload in `args`; the RETURN lands in `reply`. While it
 * waits it serves the peer's nested CALLs. `budget_ns` bounds the time spent waiting for
 * the peer (time spent serving its nested calls is not counted); 0 = no deadline. */
int iso_call(iso_ep* ep, uint32_t op, const iso_w* args, iso_msg* reply, uint64_t budget_ns);

/* Whether this thread is inside a call on one of ep's lanes (a nested call would reuse it). */
int iso_in_call(iso_ep* ep);

/* The server loop of the lane `lane` initiated by the peer; returns when the peer is dead or
 * broke the protocol. Runs on its own thread (iso_start_server). */
void iso_serve_lane(iso_ep* ep, int lane);

/* Waits for the doorbell and starts a detached server thread for each newly used peer lane;
 * calls `tick` (if not NULL) at least every `tick_ns`. Returns when the peer is dead. */
void iso_doorbell_loop(iso_ep* ep, void (*tick)(iso_ep*), uint64_t tick_ns);

/* ---- the fire-and-forget ring (host -> runner) ----------------------------------------- */

/* Host: posts one record; waits (bounded by budget_ns) while the ring is full. */
int iso_ring_post(iso_ep* ep, uint32_t op, const iso_w* payload, uint64_t budget_ns);
/* Host: waits until the runner has processed every posted record. */
int iso_ring_drain(iso_ep* ep, uint64_t budget_ns);
/* Runner: processes the records posted so far with ep->handler (their output is dropped).
 * The caller serialises calls (one consumer). Returns how many it processed. */
size_t iso_ring_consume(iso_ep* ep);
/* Runner: blocks until at least one record is waiting (or the peer is dead). */
void iso_ring_wait(iso_ep* ep);

#endif
