/*
 * Stress driver for the isolation transport (native/isolation/iso_lane.c), run by
 * tests/test_isolation_native.py under ThreadSanitizer and under ASan + UBSan.
 *
 * Both ends live in this one process over one shared mapping: a "host" endpoint and a
 * "runner" endpoint, each with its doorbell thread and lane servers, exactly as across
 * processes (the code cannot tell). Workers on both sides then, at once:
 *   - call ECHO with small payloads and, now and then, payloads of several lane buffers
 *     (fragmented and reassembled), checking every byte that comes back;
 *   - call NEST(d): each side answers NEST(d) by calling the other side with NEST(d - 1)
 *     on the same lane, so calls nest back and forth d deep;
 *   - (host side) post fire-and-forget ADD records to the ring, which the runner side
 *     consumes on its own thread and before every CALL it serves.
 * At the end the ring is drained and every sum and count is checked; then both ends are
 * marked dead and every thread must leave (their references drop to the owners' own).
 *
 *   iso_lane_driver ROUNDS   prints "calls: N", "nested: N", "ring: N", "failures: 0"
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "isolation/iso_lane.h"

enum { OP_ECHO = 100, OP_NEST, OP_ADD };
#define WORKERS_HOST 3
#define WORKERS_RUNNER 2
#define BIG (3 * ISO_LANE_CAP + 12345)

static iso_ep host_ep, runner_ep;
static atomic_long failures, calls, nested, ring_sum, ring_count;
static pthread_mutex_t ring_lock = PTHREAD_MUTEX_INITIALIZER;

static void handle(iso_ep* ep, uint32_t op, iso_r* in, iso_w* out)
{
    switch (op) {
    case OP_ECHO: {
        uint32_t n = 0;
        const char* bytes = iso_r_bytes(in, &n);
        if (in->err) {
            atomic_fetch_add(&failures, 1);
            return;
        }
        iso_w_bytes(out, bytes, n);
        break;
    }
    case OP_NEST: {
        uint32_t depth = iso_r_u32(in);
        uint32_t result = 0;
        if (depth > 0) {  /* back to the other side, on the same lane */
            if (!iso_in_call(ep))
                atomic_fetch_add(&failures, 1);
            iso_w w;
            iso_msg reply;
            iso_w_init(&w);
            iso_msg_init(&reply);
            iso_w_u32(&w, depth - 1);
            if (iso_call(ep, OP_NEST, &w, &reply, 0) != ISO_OK) {
                atomic_fetch_add(&failures, 1);
            } else {
                iso_r r;
                iso_msg_reader(&reply, &r);
                result = iso_r_u32(&r) + 1;
            }
            iso_msg_free(&reply);
            iso_w_free(&w);
        }
        atomic_fetch_add(&nested, 1);
        iso_w_u32(out, result);
        break;
    }
    case OP_ADD:
        atomic_fetch_add(&ring_sum, (long)iso_r_u64(in));
        atomic_fetch_add(&ring_count, 1);
        break;
    default:
        atomic_fetch_add(&failures, 1);
    }
}

static void drain(iso_ep* ep)
{
    pthread_mutex_lock(&ring_lock);
    iso_ring_consume(ep);
    pthread_mutex_unlock(&ring_lock);
}

static void* consumer(void* unused)
{
    (void)unused;
    while (!iso_ep_is_dead(&runner_ep)) {
        iso_ring_wait(&runner_ep);
        drain(&runner_ep);
    }
    return NULL;
}

static void* doorbell(void* p)
{
    iso_doorbell_loop(p, NULL, 0);
    return NULL;
}

static int echo(iso_ep* ep, size_t n, unsigned seed)
{
    char* payload = malloc(n + 1);
    for (size_t i = 0; i < n; ++i)
        payload[i] = (char)('a' + (seed + i * 7) % 26);
    iso_w w;
    iso_msg reply;
    iso_w_init(&w);
    iso_msg_init(&reply);
    iso_w_bytes(&w, payload, (uint32_t)n);
    int ok = iso_call(ep, OP_ECHO, &w, &reply, 0) == ISO_OK;
    if (ok) {
        iso_r r;
        uint32_t got = 0;
        iso_msg_reader(&reply, &r);
        const char* back = iso_r_bytes(&r, &got);
        ok = !r.err && got == n && memcmp(back, payload, n) == 0;
    }
    iso_msg_free(&reply);
    iso_w_free(&w);
    free(payload);
    return ok;
}

static int nest(iso_ep* ep, uint32_t depth)
{
    iso_w w;
    iso_msg reply;
    iso_w_init(&w);
    iso_msg_init(&reply);
    iso_w_u32(&w, depth);
    int ok = iso_call(ep, OP_NEST, &w, &reply, 0) == ISO_OK;
    if (ok) {
        iso_r r;
        iso_msg_reader(&reply, &r);
        ok = iso_r_u32(&r) == depth;
    }
    iso_msg_free(&reply);
    iso_w_free(&w);
    return ok;
}

typedef struct worker {
    iso_ep* ep;
    int rounds;
    int index;
} worker;

static void* work(void* p)
{
    worker* wk = p;
    for (int i = 0; i < wk->rounds; ++i) {
        int ok = echo(wk->ep, (size_t)(i % 97), (unsigned)(i + wk->index));
        ok &= nest(wk->ep, (uint32_t)(1 + i % 6));
        if (i % 50 == 7)
            ok &= echo(wk->ep, BIG, (unsigned)i);
        if (wk->ep == &host_ep) {
            iso_w w;
            iso_w_init(&w);
            iso_w_u64(&w, (uint64_t)i);
            ok &= iso_ring_post(&host_ep, OP_ADD, &w, 0) == ISO_OK;
            iso_w_free(&w);
        }
        if (!ok)
            atomic_fetch_add(&failures, 1);
        atomic_fetch_add(&calls, 1);
    }
    return NULL;
}

int main(int argc, char** argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 2000;
    size_t size = sizeof(iso_shm);
    iso_shm* shm = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shm == MAP_FAILED)
        return 2;
    iso_shm_format(shm, size);
    iso_ep_init(&host_ep, shm, ISO_SIDE_HOST, handle, NULL);
    iso_ep_init(&runner_ep, shm, ISO_SIDE_RUNNER, handle, NULL);
    runner_ep.before_serve = drain;
    pthread_t bells[2], ring;
    pthread_create(&bells[0], NULL, doorbell, &host_ep);
    pthread_create(&bells[1], NULL, doorbell, &runner_ep);
    pthread_create(&ring, NULL, consumer, NULL);

    pthread_t threads[WORKERS_HOST + WORKERS_RUNNER];
    worker workers[WORKERS_HOST + WORKERS_RUNNER];
    for (int t = 0; t < WORKERS_HOST + WORKERS_RUNNER; ++t) {
        workers[t] = (worker){t < WORKERS_HOST ? &host_ep : &runner_ep, rounds, t};
        pthread_create(&threads[t], NULL, work, &workers[t]);
    }
    for (int t = 0; t < WORKERS_HOST + WORKERS_RUNNER; ++t)
        pthread_join(threads[t], NULL);
    if (iso_ring_drain(&host_ep, 10000000000ull) != ISO_OK)
        atomic_fetch_add(&failures, 1);
    long expected = (long)WORKERS_HOST * rounds * (rounds - 1) / 2;
    if (atomic_load(&ring_count) != (long)WORKERS_HOST * rounds || atomic_load(&ring_sum) != expected)
        atomic_fetch_add(&failures, 1);

    /* Tear down: every server thread leaves once its end is dead. */
    iso_ep_mark_dead(&host_ep);
    iso_ep_mark_dead(&runner_ep);
    pthread_join(bells[0], NULL);
    pthread_join(bells[1], NULL);
    pthread_join(ring, NULL);
    for (int i = 0; i < 500 && (atomic_load(&host_ep.refs) > 1 || atomic_load(&runner_ep.refs) > 1); ++i) {
        struct timespec ms = {0, 10000000};
        nanosleep(&ms, NULL);
    }
    if (atomic_load(&host_ep.refs) != 1 || atomic_load(&runner_ep.refs) != 1)
        atomic_fetch_add(&failures, 1);
    printf("calls: %ld\nnested: %ld\nring: %ld\nfailures: %ld\n", atomic_load(&calls),
           atomic_load(&nested), atomic_load(&ring_count), atomic_load(&failures));
    munmap(shm, size);
    return atomic_load(&failures) == 0 ? 0 : 1;
}
