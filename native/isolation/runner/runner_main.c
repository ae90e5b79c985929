/*
 * pyhost-runner's entry point: attach to the host, then serve it.
 *
 *   pyhost-runner SOCKET_FD HOST_PID
 *
 * The host started us with one end of a socketpair as SOCKET_FD; it sends the shared
 * memory (a memfd, SCM_RIGHTS) over it. We die with the host: PR_SET_PDEATHSIG (set again
 * here, checked against getppid so a host that died before it took effect is noticed), and
 * a thread that exits the moment the socket reports end of file -- which is also how the
 * host asks us to leave after ISO_OP_SHUTDOWN.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "runner.h"

runner R;

int runner_call(uint32_t op, const iso_w* args, iso_msg* reply, iso_r* r)
{
    int rc = iso_call(&R.ep, op, args, reply, 0);
    if (rc != ISO_OK)
        reply->len = 0;
    iso_msg_reader(reply, r);
    if (rc != ISO_OK)
        r->err = 1;
    return rc;
}

static int receive_memory(int sock, int* fd, uint64_t* size)
{
    char hello[16];
    struct iovec io = {hello, sizeof hello};
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int))];
    } control;
    struct msghdr msg = {0};
    msg.msg_iov = &io;
    msg.msg_iovlen = 1;
    msg.msg_control = control.buf;
    msg.msg_controllen = sizeof control.buf;
    ssize_t n;
    do {
        n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n != (ssize_t)sizeof hello || memcmp(hello, "PYISO1\0\0", 8) != 0)
        return -1;
    struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
    if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
        return -1;
    memcpy(fd, CMSG_DATA(c), sizeof(int));
    memcpy(size, hello + 8, sizeof *size);
    return 0;
}

static void* watch_host(void* p)
{
    int sock = (int)(intptr_t)p;
    char byte;
    for (;;) {
        ssize_t n = read(sock, &byte, 1);
        if (n == 0 || (n < 0 && errno != EINTR))
            break;
    }
    /* The host closed its end: it asked us to go (after SHUTDOWN), or it died. A normal
     * exit, so sanitizer builds still report leaks. */
    exit(0);
    return NULL;
}

static void drain_ring(iso_ep* ep)
{
    if (atomic_load_explicit(&ep->shm->ring_head, memory_order_acquire) ==
        atomic_load_explicit(&ep->shm->ring_tail, memory_order_acquire))
        return;
    pthread_mutex_lock(&R.ring_lock);
    iso_ring_consume(ep);
    pthread_mutex_unlock(&R.ring_lock);
}

static void* consume_ring(void* p)
{
    iso_ep* ep = p;
    for (;;) {
        iso_ring_wait(ep);
        pthread_mutex_lock(&R.ring_lock);
        iso_ring_consume(ep);
        pthread_mutex_unlock(&R.ring_lock);
    }
    return NULL;
}

static int start_thread(void* (*fn)(void*), void* arg)
{
    pthread_t thread;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&thread, &attr, fn, arg);
    pthread_attr_destroy(&attr);
    return rc;
}

int main(int argc, char** argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: pyhost-runner SOCKET_FD HOST_PID (started by pyhost)\n");
        return 2;
    }
    int sock = atoi(argv[1]);
    pid_t host = (pid_t)atol(argv[2]);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != host)
        _exit(70);  /* the host is already gone */

    int memfd;
    uint64_t size;
    if (receive_memory(sock, &memfd, &size) != 0) {
        fprintf(stderr, "pyhost-runner: no shared memory from the host\n");
        return 71;
    }
    iso_shm* shm = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
    close(memfd);
    if (shm == MAP_FAILED || iso_shm_check(shm, size) != 0) {
        fprintf(stderr, "pyhost-runner: the shared memory is not usable\n");
        return 72;
    }
    iso_ep_init(&R.ep, shm, ISO_SIDE_RUNNER, runner_handle, &R);
    R.ep.before_serve = drain_ring;
    pthread_mutex_init(&R.ring_lock, NULL);
    if (start_thread(watch_host, (void*)(intptr_t)sock) != 0 ||
        start_thread(consume_ring, &R.ep) != 0) {
        fprintf(stderr, "pyhost-runner: cannot start threads\n");
        return 73;
    }
    iso_doorbell_loop(&R.ep, NULL, 0);
    return 0;
}
